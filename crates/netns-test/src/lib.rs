//! Test support: runs a socket test inside a private network namespace, never
//! on the host's network.
//!
//! Every test that sends a datagram or joins a multicast group wraps its body
//! in [`run`]:
//!
//! ```no_run
//! #[test]
//! fn sends_and_receives() {
//!     netns_test::run(|| {
//!         let sock = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind");
//!         // ... only ever runs inside a private network namespace ...
//!         # let _ = sock;
//!     });
//! }
//! ```
//!
//! For async tests, use a plain `#[test]` and build the runtime inside the
//! body. With the `tokio` feature, `block_on` does that (the crate is
//! std-only without it):
//!
//! ```ignore
//! #[test]
//! fn async_round_trip() {
//!     netns_test::run(|| {
//!         netns_test::block_on(async {
//!             // ... async socket test ...
//!         })
//!     });
//! }
//! ```
//!
//! (Not `#[tokio::test]`: [`run`] takes a plain closure, and starting a
//! runtime inside `#[tokio::test]`'s runtime panics.)
//!
//! # How it works
//!
//! `scripts/netns CMD...` runs `CMD` in a fresh network namespace (loopback
//! with multicast, a veth pair `ve0`/`ve1`; see the script) and exports
//! `EVENTCAST_NETNS_INODE`, the inode number of that namespace.
//! [`in_private_netns`] checks that variable against the namespace the
//! process really is in.
//!
//! * If the whole test run already is inside such a namespace
//!   (`scripts/netns cargo test --offline`), [`run`] simply calls the body.
//! * Otherwise (a plain `cargo test`), [`run`] re-executes the current test
//!   binary through `scripts/netns` with only this one test selected
//!   (`<test name> --exact --nocapture --test-threads=1 --include-ignored`),
//!   forwards the child's output and fails unless the child reports exactly
//!   `1 passed`. The body never runs on the host's network: if no namespace
//!   can be made, the test fails.
//!
//! The test's name is taken from the name of the current thread: libtest runs
//! every test on a thread named after the test's full path (`tests::foo`),
//! also with `--test-threads=1`. Call [`run`] on that thread (not on a thread
//! you spawned); where the name cannot be known, [`run`] fails loudly, and
//! [`run_named`] takes the name explicitly.
//!
//! A test that binds a fixed port uses [`run_alone`]: it is always
//! re-executed in a namespace of its own (nested inside the run's, when
//! the whole run shares one), so that tests in parallel never share the
//! port.
//!
//! `NETNS_LOSS=PERCENT` in the environment is passed on to `scripts/netns`,
//! which then drops that share of incoming UDP datagrams in each namespace.
//! [`run_with_loss`] sets it for one test: its body runs in a namespace
//! that drops that share of incoming UDP datagrams, whatever the rest of
//! the run does.
//!
//! Making a namespace needs `unshare` (root, or unprivileged user namespaces)
//! and iproute2 (`ip`).

use std::ffi::OsStr;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::process::{Command, Stdio};

/// The environment variable `scripts/netns` sets to the inode number of the
/// network namespace it made.
pub const INODE_VAR: &str = "EVENTCAST_NETNS_INODE";

/// Set by [`run`] on the child it re-executes, so that a child that finds
/// itself outside a private namespace fails instead of re-executing again.
const REEXEC_VAR: &str = "EVENTCAST_NETNS_REEXEC";

/// The environment variable `scripts/netns` reads: the share of incoming
/// UDP datagrams its namespace drops, in percent.
pub const LOSS_VAR: &str = "NETNS_LOSS";

/// Path of the script that makes the namespaces.
const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../scripts/netns");

/// The inode number of the network namespace this process is in.
fn own_netns_inode() -> Option<u64> {
    // `metadata` follows the `net:[NNN]` link to the namespace itself.
    std::fs::metadata("/proc/self/ns/net").ok().map(|m| m.ino())
}

/// The inode numbers of the network namespaces of pid 1 (the host's or the
/// container's init) and pid 2 (`kthreadd`, always in the kernel's initial
/// namespace), as far as this process may read them: namespaces that are
/// certainly not private ones. (Reading them needs ptrace rights, so as an
/// unprivileged user this is usually empty.)
fn host_netns_inodes() -> Vec<u64> {
    ["/proc/1/ns/net", "/proc/2/ns/net"]
        .iter()
        .filter_map(|p| std::fs::metadata(p).ok().map(|m| m.ino()))
        .collect()
}

/// Whether `var` (the value of [`INODE_VAR`]) names the namespace `own`.
fn inode_var_matches(var: Option<&OsStr>, own: u64) -> bool {
    var.and_then(OsStr::to_str)
        .and_then(|s| s.trim().parse::<u64>().ok())
        .is_some_and(|inode| inode == own)
}

/// True only if this process runs inside the network namespace that
/// `scripts/netns` made for it.
///
/// That is: the environment variable `EVENTCAST_NETNS_INODE` holds the inode
/// number of the namespace this process is in (`/proc/self/ns/net`), and that
/// namespace is not the one of pid 1 or pid 2 (checked where this process may
/// read those, e.g. as root). A missing, malformed or stale value (inherited
/// from another namespace, or forged) gives `false`.
pub fn in_private_netns() -> bool {
    let Some(own) = own_netns_inode() else {
        return false;
    };
    if !inode_var_matches(std::env::var_os(INODE_VAR).as_deref(), own) {
        return false;
    }
    // Belt and braces: never the host's own namespace, whatever the variable says.
    !host_netns_inodes().contains(&own)
}

/// Runs `future` to completion on a multi-threaded tokio runtime (two
/// workers) built now: call it inside [`run`]'s closure, so that the
/// runtime and every socket it opens live in the namespace.
#[cfg(feature = "tokio")]
pub fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("netns_test: cannot build a tokio runtime")
        .block_on(future)
}

/// Runs `body` inside a private network namespace; use it inside a normal
/// `#[test]` function, on the thread libtest runs the test on.
///
/// If [`in_private_netns`] is true, `body` runs right here. Otherwise the
/// current test binary is re-executed through `scripts/netns` with only this
/// test selected (the test's name is the current thread's name), its output
/// is forwarded, and this function panics unless that child exited
/// successfully with exactly `1 passed`; `body` itself is then not called in
/// this process.
///
/// # Panics
///
/// If the test fails in the child; if the test's name cannot be told from the
/// thread name (then use [`run_named`]); if `scripts/netns` cannot make a
/// namespace (needs `unshare` — root or unprivileged user namespaces — and
/// iproute2). It never falls back to running `body` on the host's network.
pub fn run(body: impl FnOnce()) {
    if in_private_netns() {
        body();
        return;
    }
    reexec_this_test("run", None);
}

/// Re-executes the test this thread runs (libtest names the thread after
/// it) through `scripts/netns`, for `caller` (which of this crate's
/// functions asks); see [`reexec`].
fn reexec_this_test(caller: &str, loss: Option<u8>) {
    let thread = std::thread::current();
    match thread.name() {
        Some(name) if name != "main" => reexec(name, loss),
        other => panic!(
            "netns_test::{caller}: cannot tell which test this is (thread name {other:?}), so \
             it cannot re-execute it in a private network namespace. Call {caller}() directly \
             in the #[test] fn (libtest names the test's thread after the test), not on \
             another thread, or use netns_test::run_named(\"module::test_name\", ...)."
        ),
    }
}

/// Like [`run`], but `body` runs in a private network namespace that drops
/// `percent` of the incoming UDP datagrams at random (nftables, see
/// `scripts/netns`; multicast looped back on `lo` is dropped once, for
/// every receiving socket at once).
///
/// If this process already is in a private namespace made with exactly
/// that loss (`NETNS_LOSS=percent scripts/netns cargo test ...`), `body`
/// runs right here; otherwise the test is re-executed in a namespace of
/// its own with [`LOSS_VAR`] set (from inside another private namespace
/// too: namespaces nest).
///
/// # Panics
///
/// As [`run`]; also if `percent` is over 100, or if the namespace cannot be
/// given the loss (`nft` missing: `apt-get install -y nftables`).
pub fn run_with_loss(percent: u8, body: impl FnOnce()) {
    assert!(
        percent <= 100,
        "netns_test::run_with_loss: {percent}% is no share"
    );
    if in_private_netns() && current_loss() == percent {
        body();
        return;
    }
    reexec_this_test("run_with_loss", Some(percent));
}

/// The loss the namespace this process runs in was made with, as
/// `scripts/netns` was told (0 when not told).
fn current_loss() -> u8 {
    std::env::var(LOSS_VAR)
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0)
}

/// Like [`run`], but `body` always runs in a namespace of its own, never
/// one it shares with other tests: for a test that binds a fixed port
/// (eventcast 0.1.2's captures name theirs), which tests running in
/// parallel in one namespace (`scripts/netns cargo test ...`) would
/// share. The test is re-executed in a fresh namespace (nested, from
/// inside another private one) unless this process is such a re-execution.
///
/// # Panics
///
/// As [`run`].
pub fn run_alone(body: impl FnOnce()) {
    if in_private_netns() && std::env::var_os(REEXEC_VAR).is_some() {
        body();
        return;
    }
    reexec_this_test("run_alone", None);
}

/// Like [`run`], with the test's full name (as `cargo test -- --list` shows
/// it, e.g. `tests::foo`) given instead of taken from the thread's name.
///
/// # Panics
///
/// As [`run`]; a wrong `name` selects no test in the child, which fails too.
pub fn run_named(name: &str, body: impl FnOnce()) {
    if in_private_netns() {
        body();
    } else {
        reexec(name, None);
    }
}

const NEEDS: &str = "socket tests run only inside a private network namespace, made by \
                     scripts/netns; that needs `unshare` (util-linux) with root or unprivileged \
                     user namespaces, and iproute2 (`ip`)";

/// Re-executes the current test binary through `scripts/netns`, running only
/// test `name` (with `loss`: in a namespace that drops that share of UDP);
/// panics unless exactly that one test passed there.
fn reexec(name: &str, loss: Option<u8>) {
    if std::env::var_os(REEXEC_VAR).is_some() && !in_private_netns() {
        panic!(
            "netns_test: this process was re-executed through scripts/netns but is still not \
             in a private network namespace ({INODE_VAR}={:?}, /proc/self/ns/net inode {:?}); \
             refusing to run the test on the host's network or to re-execute again",
            std::env::var_os(INODE_VAR),
            own_netns_inode(),
        );
    }
    let exe = std::env::current_exe()
        .unwrap_or_else(|e| panic!("netns_test: cannot find the current test binary: {e}"));
    let mut command = Command::new(SCRIPT);
    if let Some(percent) = loss {
        command.env(LOSS_VAR, percent.to_string());
    }
    let output = command
        .arg(&exe)
        .arg(name)
        .args([
            "--exact",
            "--nocapture",
            "--test-threads=1",
            "--include-ignored",
        ])
        .env(REEXEC_VAR, "1")
        .env_remove(INODE_VAR)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "netns_test: cannot start {} (resolved: {}): {e}\n{NEEDS}",
                SCRIPT,
                Path::new(SCRIPT)
                    .canonicalize()
                    .map_or_else(|e| format!("<{e}>"), |p| p.display().to_string()),
            )
        });
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    // Forward the child's output: libtest captures it like the test's own,
    // and shows it when the test fails or with --nocapture.
    print!("{stdout}");
    eprint!("{stderr}");

    if output.status.code() == Some(125) && stderr.lines().any(|l| l.starts_with("netns: ")) {
        panic!(
            "netns_test: scripts/netns could not make a network namespace for test `{name}`.\n\
             {NEEDS}.\n--- its stderr ---\n{stderr}"
        );
    }
    if !output.status.success() || !exactly_one_passed(&stdout) {
        panic!(
            "netns_test: test `{name}` did not pass exactly once in its private network \
             namespace ({}; expected `test result: ok. 1 passed`)\n\
             --- child command ---\n{SCRIPT} {} {name} --exact --nocapture --test-threads=1 \
             --include-ignored\n--- child stdout ---\n{stdout}\n--- child stderr ---\n{stderr}",
            output.status,
            exe.display(),
        );
    }
}

/// Whether libtest's last summary line says exactly one test passed, none failed.
fn exactly_one_passed(stdout: &str) -> bool {
    stdout
        .lines()
        .rev()
        .find(|l| l.starts_with("test result: "))
        .is_some_and(|l| l.starts_with("test result: ok. 1 passed; 0 failed;"))
}

#[cfg(test)]
mod tests;
