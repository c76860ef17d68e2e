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
mod tests {
    use super::*;
    use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6, UdpSocket};
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::time::Duration;

    const TIMEOUT: Duration = Duration::from_secs(5);

    /// Receives on `sock` until `payload` arrives (other datagrams are skipped).
    fn recv_payload(sock: &UdpSocket, payload: &[u8]) -> SocketAddr {
        sock.set_read_timeout(Some(TIMEOUT))
            .expect("set_read_timeout");
        let mut buf = [0u8; 1500];
        loop {
            let (n, from) = sock.recv_from(&mut buf).expect("datagram within 5 s");
            if &buf[..n] == payload {
                return from;
            }
        }
    }

    /// What `run` relies on: libtest runs each test on a thread named after
    /// the test's full path (checked on every run, whatever --test-threads).
    #[test]
    fn libtest_names_the_thread_after_the_test() {
        assert_eq!(
            std::thread::current().name(),
            Some("tests::libtest_names_the_thread_after_the_test")
        );
    }

    /// (a) Inside `run`: the namespace made for us, with exactly lo, ve0, ve1.
    #[test]
    fn body_runs_in_private_netns_with_lo_ve0_ve1_only() {
        run(|| {
            assert!(in_private_netns());
            let mut names: Vec<String> = std::fs::read_dir("/sys/class/net")
                .expect("read /sys/class/net")
                .map(|e| {
                    e.expect("dir entry")
                        .file_name()
                        .to_string_lossy()
                        .into_owned()
                })
                .collect();
            names.sort();
            assert_eq!(names, ["lo", "ve0", "ve1"]);
        });
    }

    /// (b) Unicast UDP over 127.0.0.1 works inside.
    #[test]
    fn loopback_udp_round_trip() {
        run(|| {
            let rx = UdpSocket::bind("127.0.0.1:0").expect("bind receiver");
            let tx = UdpSocket::bind("127.0.0.1:0").expect("bind sender");
            let payload = b"netns-test loopback";
            tx.send_to(payload, rx.local_addr().expect("local_addr"))
                .expect("send_to");
            let from = recv_payload(&rx, payload);
            assert_eq!(from, tx.local_addr().expect("local_addr"));
        });
    }

    /// (c) IPv4 multicast works inside, on 127.0.0.1 via the 224.0.0.0/4 route on lo.
    #[test]
    fn ipv4_multicast_on_loopback() {
        run(|| {
            for group in [Ipv4Addr::new(239, 255, 0, 1), Ipv4Addr::new(224, 0, 0, 1)] {
                let rx = UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0)).expect("bind receiver");
                rx.join_multicast_v4(&group, &Ipv4Addr::LOCALHOST)
                    .unwrap_or_else(|e| panic!("join {group} on 127.0.0.1: {e}"));
                let port = rx.local_addr().expect("local_addr").port();

                let tx = UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0)).expect("bind sender");
                tx.set_multicast_loop_v4(true).expect("multicast loop");
                tx.set_multicast_ttl_v4(0).expect("multicast ttl");
                let payload = format!("netns-test multicast {group}");
                tx.send_to(payload.as_bytes(), SocketAddrV4::new(group, port))
                    .unwrap_or_else(|e| panic!("send to {group}: {e}"));
                recv_payload(&rx, payload.as_bytes());
                rx.leave_multicast_v4(&group, &Ipv4Addr::LOCALHOST)
                    .expect("leave");
            }
        });
    }

    /// IPv6 link-local multicast works inside on ve0 (as scripts/netns promises).
    #[test]
    fn ipv6_link_local_multicast_on_ve0() {
        run(|| {
            let ifindex: u32 = std::fs::read_to_string("/sys/class/net/ve0/ifindex")
                .expect("ve0 ifindex")
                .trim()
                .parse()
                .expect("ifindex is a number");
            let group = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0xec, 0x1);
            let rx = UdpSocket::bind((Ipv6Addr::UNSPECIFIED, 0)).expect("bind receiver");
            rx.join_multicast_v6(&group, ifindex).expect("join on ve0");
            let port = rx.local_addr().expect("local_addr").port();

            let tx = UdpSocket::bind((Ipv6Addr::UNSPECIFIED, 0)).expect("bind sender");
            tx.set_multicast_loop_v6(true).expect("multicast loop");
            let payload = b"netns-test multicast v6";
            tx.send_to(payload, SocketAddrV6::new(group, port, 0, ifindex))
                .expect("send to ff02::ec:1%ve0");
            recv_payload(&rx, payload);
        });
    }

    /// The loss hits each datagram of a UDP GSO send (`UDP_SEGMENT`), not
    /// the whole send: 40 sends of 50 datagrams at 50% lose about half of
    /// each, where a whole send kept or lost would leave a multiple of 50.
    #[cfg(target_os = "linux")]
    #[test]
    fn run_with_loss_drops_each_datagram_of_a_gso_send() {
        use std::os::fd::AsRawFd;
        run_with_loss(50, || {
            let rx = UdpSocket::bind("127.0.0.1:0").expect("bind receiver");
            // Loopback hands a datagram over within the send: a short wait
            // after each send's last is plenty.
            rx.set_read_timeout(Some(std::time::Duration::from_millis(20)))
                .expect("set_read_timeout");
            let tx = UdpSocket::bind("127.0.0.1:0").expect("bind sender");
            let segment: libc::c_int = 1000;
            // SAFETY: a valid descriptor, and an option value of the size
            // given, alive for the call.
            let set = unsafe {
                libc::setsockopt(
                    tx.as_raw_fd(),
                    libc::SOL_UDP,
                    libc::UDP_SEGMENT,
                    (&raw const segment).cast(),
                    std::mem::size_of_val(&segment) as libc::socklen_t,
                )
            };
            assert_eq!(set, 0, "UDP_SEGMENT: {}", std::io::Error::last_os_error());
            let to = rx.local_addr().expect("local_addr");
            let (mut got, mut whole) = (0, true);
            let mut buf = [0u8; 2048];
            for _ in 0..40 {
                tx.send_to(&[7; 50 * 1000], to).expect("send_to");
                let mut this = 0;
                while this < 50 && rx.recv_from(&mut buf).is_ok() {
                    this += 1;
                }
                whole &= this == 0 || this == 50;
                got += this;
            }
            assert!(
                !whole,
                "every send arrived whole or not at all ({got} of 2000)"
            );
            assert!((600..1400).contains(&got), "{got} of 2000 arrived");
        });
    }

    /// With `run_with_loss`, the namespace drops about that share of
    /// incoming UDP datagrams (and `run` inside it would not add any).
    #[test]
    fn run_with_loss_drops_that_share() {
        run_with_loss(50, || {
            assert!(in_private_netns());
            assert_eq!(current_loss(), 50);
            let rx = UdpSocket::bind("127.0.0.1:0").expect("bind receiver");
            rx.set_read_timeout(Some(std::time::Duration::from_millis(200)))
                .expect("set_read_timeout");
            let tx = UdpSocket::bind("127.0.0.1:0").expect("bind sender");
            let to = rx.local_addr().expect("local_addr");
            for i in 0..400u32 {
                tx.send_to(&i.to_be_bytes(), to).expect("send_to");
            }
            let mut got = 0;
            let mut buf = [0u8; 16];
            while rx.recv_from(&mut buf).is_ok() {
                got += 1;
            }
            // 400 at 50%: 200 expected; far outside 120..280 is no chance.
            assert!((120..280).contains(&got), "{got} of 400 arrived");
        });
    }

    /// (d) In the plain test process. When `cargo test` runs on the host,
    /// `EVENTCAST_NETNS_INODE` is unset and this must be false. When the whole
    /// run is inside `scripts/netns` the variable is set and names this
    /// namespace, so it must be true. (A forged variable is covered by
    /// `forged_inode_var_does_not_run_body_in_place`.)
    #[test]
    fn in_private_netns_follows_the_variable() {
        match std::env::var_os(INODE_VAR) {
            None => assert!(!in_private_netns()),
            Some(v) => {
                let own = own_netns_inode().expect("own netns inode");
                let genuine =
                    inode_var_matches(Some(&v), own) && !host_netns_inodes().contains(&own);
                assert_eq!(
                    in_private_netns(),
                    genuine,
                    "{INODE_VAR}={v:?}, own inode {own}"
                );
            }
        }
    }

    #[test]
    fn inode_var_must_name_exactly_this_namespace() {
        let own = 4026532246;
        assert!(!inode_var_matches(None, own));
        assert!(!inode_var_matches(Some(OsStr::new("")), own));
        assert!(!inode_var_matches(Some(OsStr::new("1")), own));
        assert!(!inode_var_matches(
            Some(OsStr::new("net:[4026532246]")),
            own
        ));
        assert!(!inode_var_matches(Some(OsStr::new("4026532247")), own));
        assert!(inode_var_matches(Some(OsStr::new("4026532246")), own));
        assert!(inode_var_matches(Some(OsStr::new("4026532246\n")), own));
    }

    #[test]
    fn summary_must_say_exactly_one_passed() {
        let ok = "running 1 test\ntest a ... ok\n\ntest result: ok. 1 passed; 0 failed; \
                  0 ignored; 0 measured; 9 filtered out; finished in 0.01s\n";
        assert!(exactly_one_passed(ok));
        assert!(!exactly_one_passed(
            "running 0 tests\n\ntest result: ok. 0 passed; 0 failed; 0 ignored; 0 measured; \
             10 filtered out; finished in 0.00s\n"
        ));
        assert!(!exactly_one_passed(
            "test result: ok. 2 passed; 0 failed; 0 ignored; 0 measured; 8 filtered out\n"
        ));
        assert!(!exactly_one_passed(
            "test result: FAILED. 0 passed; 1 failed; 0 ignored; 0 measured; 9 filtered out\n"
        ));
        assert!(!exactly_one_passed(""));
    }

    /// Outside a namespace, `run` on a thread that is not a test's must fail
    /// and must not call the body.
    #[test]
    fn run_on_unnamed_thread_fails_loudly_outside_netns() {
        static RAN: AtomicBool = AtomicBool::new(false);
        let joined = std::thread::Builder::new()
            .spawn(|| run(|| RAN.store(true, Ordering::SeqCst)))
            .expect("spawn")
            .join();
        if in_private_netns() {
            assert!(joined.is_ok() && RAN.load(Ordering::SeqCst));
        } else {
            let err = joined.expect_err("run must panic on an unnamed thread");
            let msg = err
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| err.downcast_ref::<&str>().copied())
                .unwrap_or_default();
            assert!(msg.contains("cannot tell which test"), "{msg}");
            assert!(!RAN.load(Ordering::SeqCst), "body ran on the host");
        }
    }

    /// Helper for `forged_inode_var_does_not_run_body_in_place`: prints the
    /// network namespace its body ran in.
    #[test]
    #[ignore = "helper, started by forged_inode_var_does_not_run_body_in_place"]
    fn probe_body_netns() {
        run(|| {
            println!(
                "PROBE_BODY_NETNS={}",
                own_netns_inode().expect("own netns inode")
            );
        });
    }

    /// A wrong `EVENTCAST_NETNS_INODE` must not make `run` call the body in
    /// place: the body still ends up in a namespace of its own.
    #[test]
    fn forged_inode_var_does_not_run_body_in_place() {
        let own = own_netns_inode().expect("own netns inode");
        let mut forgeries = vec!["1".to_owned(), "garbage".to_owned()];
        if host_netns_inodes().contains(&own) {
            // On the host: even the host namespace's true inode is no pass.
            forgeries.push(own.to_string());
        }
        let exe = std::env::current_exe().expect("current_exe");
        for forged in forgeries {
            let out = Command::new(&exe)
                .args([
                    "tests::probe_body_netns",
                    "--exact",
                    "--nocapture",
                    "--include-ignored",
                    "--test-threads=1",
                ])
                .env(INODE_VAR, &forged)
                .env_remove(REEXEC_VAR)
                .stdin(Stdio::null())
                .output()
                .expect("start probe");
            let stdout = String::from_utf8_lossy(&out.stdout);
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(
                out.status.success() && exactly_one_passed(&stdout),
                "probe with {INODE_VAR}={forged} failed:\n{stdout}\n{stderr}"
            );
            let body_netns: Vec<u64> = stdout
                .lines()
                .filter_map(|l| l.split_once("PROBE_BODY_NETNS=").map(|(_, v)| v))
                .map(|v| v.parse().expect("inode"))
                .collect();
            assert_eq!(body_netns.len(), 1, "body ran once:\n{stdout}");
            assert_ne!(
                body_netns[0], own,
                "with {INODE_VAR}={forged} the body ran in place:\n{stdout}"
            );
            assert!(!host_netns_inodes().contains(&body_netns[0]));
        }
    }
}
