//! `keys`: the node's keyring, listed and changed while it runs, so that a
//! group rotates its key without a restart (docs/SECURITY.md, "Rotating
//! keys"). Keys are shown by fingerprint only; a key is added from a file,
//! never typed into the session.

use std::path::PathBuf;

use crate::{Fingerprint, KeyInfo, Secret};

use crate::repl::cmd::context::{Context, Spec};
use crate::repl::tokens::Token;

pub(super) const SPEC: Spec = Spec {
    name: "keys",
    usage: "keys [add-file PATH | primary FINGERPRINT | remove FINGERPRINT]",
    about: "the keyring, by fingerprint: which key seals, datagrams each sealed this \
            run; `add-file PATH` adds the key in a file of the node's host (as \
            --key-file reads it; a node's first key also seals), `primary` seals with \
            a key of the ring, `remove` drops one (not the primary). For a rotation, \
            do each step on every node before the next: add, primary, remove",
};

/// A parsed `keys`.
#[derive(Debug)]
pub(crate) enum Keys {
    List,
    AddFile(PathBuf),
    Primary(Fingerprint),
    Remove(Fingerprint),
}

impl Keys {
    /// Parses the words after `keys`; the error is the line to show.
    pub(super) fn parse(words: &[Token], usage: &str) -> Result<Self, String> {
        let fingerprint = |word: &Token| {
            word.as_str().parse::<Fingerprint>().map_err(|_| {
                format!(
                    "{:?} is not a fingerprint: 16 hex digits, as `keys` lists them",
                    word.as_str().chars().take(40).collect::<String>()
                )
            })
        };
        let verb = words.first().map(|w| w.as_str().to_ascii_lowercase());
        match (verb.as_deref(), words.get(1), words.len()) {
            (None, _, _) => Ok(Keys::List),
            (Some("add-file"), Some(path), 2) => Ok(Keys::AddFile(path.as_str().into())),
            (Some("primary"), Some(word), 2) => fingerprint(word).map(Keys::Primary),
            (Some("remove"), Some(word), 2) => fingerprint(word).map(Keys::Remove),
            _ => Err(format!("usage: {usage}")),
        }
    }

    pub(super) async fn run(self, cx: &mut Context<'_>) -> Result<String, String> {
        let keys = cx.node.keys();
        match self {
            Keys::List => {
                let list = keys.list().await.map_err(|e| e.to_string())?;
                Ok(listing(&list))
            }
            Keys::AddFile(path) => {
                let secret = read_key_file(path.clone()).await?;
                let added = keys.add(secret).await.map_err(|e| e.to_string())?;
                // Added whatever the listing says: a failed listing only
                // leaves the key's role unsaid.
                let sealing = keys
                    .list()
                    .await
                    .ok()
                    .map(|list| list.iter().any(|k| k.fingerprint == added && k.primary));
                Ok(format!(
                    "ok: added {added} from {}{}",
                    path.display(),
                    match sealing {
                        Some(true) => {
                            " (the only key: it seals, and unencrypted datagrams are refused)"
                        }
                        Some(false) => " (it opens; `keys primary` makes it seal)",
                        None => "",
                    }
                ))
            }
            Keys::Primary(fingerprint) => {
                keys.set_primary(fingerprint)
                    .await
                    .map_err(|e| e.to_string())?;
                Ok(format!("ok: {fingerprint} seals from now on"))
            }
            Keys::Remove(fingerprint) => {
                keys.remove(fingerprint).await.map_err(|e| e.to_string())?;
                Ok(format!("ok: removed {fingerprint}: it opens nothing more"))
            }
        }
    }
}

/// One line per key: `FINGERPRINT  primary (seals and opens)  sealed N`, or
/// `opens only` in place of the role.
fn listing(keys: &[KeyInfo]) -> String {
    if keys.is_empty() {
        return "no keys: nothing is encrypted (`keys add-file PATH` adds one)".to_owned();
    }
    keys.iter()
        .map(|k| {
            let role = if k.primary {
                "primary (seals and opens)"
            } else {
                "opens only"
            };
            format!("{}  {role}  sealed {}", k.fingerprint, k.sealed)
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Reads a key file as `--key-file` does (one trailing line break
/// ignored), but only a regular file (no pipes), of at most
/// [`MAX_KEY_FILE`](crate::MAX_KEY_FILE) bytes, off the session's task.
/// The error names the file and never shows its contents; the bytes read
/// are wiped when dropped.
async fn read_key_file(path: PathBuf) -> Result<Secret, String> {
    let shown = path.display().to_string();
    // Only a regular file: a FIFO or a device could hold the session.
    let bytes = tokio::task::spawn_blocking(move || {
        crate::read_key_file(&path, crate::KeyFileKinds::RegularOnly)
    })
    .await
    .map_err(|_| format!("cannot read the key file {shown}"))?
    .map_err(|e| e.to_string())?;
    // Borrowed, not copied: the only copy is the one wiped.
    let text = std::str::from_utf8(&bytes).map_err(|_| {
        format!("key file {shown}: not text; it holds a passphrase, or `raw:` and 32 hex digits")
    })?;
    Secret::parse(text).map_err(|e| format!("key file {shown}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::repl::tokens;

    fn parse(line: &str) -> Result<Keys, String> {
        Keys::parse(&tokens::split(line).unwrap(), SPEC.usage)
    }

    #[test]
    fn only_a_small_regular_text_file_is_read() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        let dir = std::env::temp_dir().join(format!("eventcast-keyring-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("key");
        std::fs::write(&file, "raw:00112233445566778899aabbccddeeff\n").unwrap();
        assert!(matches!(
            rt.block_on(read_key_file(file.clone())),
            Ok(Secret::Raw(_))
        ));
        // A FIFO is refused before it is opened: opening it would wait
        // for a writer (the session, and a node stopping, with it).
        let fifo = dir.join("fifo");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status();
        assert!(made.is_ok_and(|s| s.success()), "mkfifo");
        let limit = std::time::Duration::from_secs(5);
        let read =
            rt.block_on(async { tokio::time::timeout(limit, read_key_file(fifo.clone())).await });
        let Ok(read) = read else {
            // Let the reader's open return (a writer comes and goes), so
            // that the test fails rather than hangs.
            drop(std::fs::OpenOptions::new().write(true).open(&fifo));
            panic!("reading a FIFO waited for a writer");
        };
        let err = read.unwrap_err();
        assert!(err.contains("not a regular file"), "{err}");
        let err = rt.block_on(read_key_file(dir.clone())).unwrap_err();
        assert!(err.contains("not a regular file"), "{err}");
        std::fs::write(&file, vec![b'x'; 5000]).unwrap();
        let err = rt.block_on(read_key_file(file.clone())).unwrap_err();
        assert!(err.contains("more than 4096 bytes"), "{err}");
        std::fs::write(&file, [0xff, 0xfe, 0x80]).unwrap();
        let err = rt.block_on(read_key_file(file)).unwrap_err();
        assert!(err.contains("not text"), "{err}");
        let err = rt.block_on(read_key_file(dir.join("missing"))).unwrap_err();
        assert!(err.starts_with("cannot read the key file"), "{err}");
        std::fs::remove_dir_all(&dir).ok();
        // Not waiting for a reader still blocked on the FIFO, should one be.
        rt.shutdown_background();
    }

    #[test]
    fn the_forms_parse_and_a_bad_fingerprint_is_named() {
        assert!(matches!(parse(""), Ok(Keys::List)));
        assert!(
            matches!(parse("add-file /etc/key"), Ok(Keys::AddFile(p)) if p == std::path::Path::new("/etc/key"))
        );
        let fp = "0123456789abcdef";
        assert!(
            matches!(parse(&format!("primary {fp}")), Ok(Keys::Primary(f)) if f.to_string() == fp)
        );
        assert!(matches!(
            parse(&format!("REMOVE {fp}")),
            Ok(Keys::Remove(_))
        ));
        let err = parse("primary 0123").unwrap_err();
        assert!(err.contains("\"0123\" is not a fingerprint"), "{err}");
        for bad in [
            "add-file",
            "primary",
            "remove a b",
            "rotate",
            "add-file a b",
        ] {
            assert!(parse(bad).unwrap_err().starts_with("usage: keys"), "{bad}");
        }
    }
}
