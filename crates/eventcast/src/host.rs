//! This host's name: the REPL's prompt shows it and the legacy protocol
//! writes it into every meta.

/// This host's name as the kernel reports it (`gethostname`); when that
/// fails or is empty, `$COMPUTERNAME`, then `$HOSTNAME`, then `localhost`.
/// Never empty.
pub(crate) fn hostname() -> String {
    or_fallback(kernel_hostname(), |var| std::env::var(var).ok())
}

/// `gethostname`, where there is one.
fn kernel_hostname() -> Option<String> {
    #[cfg(unix)]
    {
        let mut buf = [0u8; 256];
        // SAFETY: `buf` is valid for writes of `buf.len()` bytes; the call
        // writes at most that many and does not keep the pointer.
        let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
        if rc == 0 {
            let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
            return Some(String::from_utf8_lossy(&buf[..end]).into_owned());
        }
    }
    None
}

/// The kernel's name unless it is missing or empty, else the first
/// non-empty variable of `env`, else `localhost`.
fn or_fallback(kernel: Option<String>, env: impl Fn(&str) -> Option<String>) -> String {
    let non_empty = |name: &String| !name.is_empty();
    kernel
        .filter(non_empty)
        .or_else(|| env("COMPUTERNAME").filter(non_empty))
        .or_else(|| env("HOSTNAME").filter(non_empty))
        .unwrap_or_else(|| "localhost".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_kernels_name_else_the_environments_else_localhost() {
        // What the kernel reports for this UTS namespace, where it says.
        if let Ok(name) = std::fs::read_to_string("/proc/sys/kernel/hostname") {
            let name = name.trim_end_matches('\n');
            if !name.is_empty() {
                assert_eq!(hostname(), name);
            }
        }
        let env = |var: &str| match var {
            "COMPUTERNAME" => Some(String::new()),
            "HOSTNAME" => Some("from-env".to_owned()),
            _ => None,
        };
        assert_eq!(or_fallback(Some("box".to_owned()), env), "box");
        assert_eq!(or_fallback(Some(String::new()), env), "from-env");
        assert_eq!(or_fallback(None, env), "from-env");
        assert_eq!(or_fallback(None, |_| None), "localhost");
    }
}
