//! Tests of `lib.rs`.

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
            let genuine = inode_var_matches(Some(&v), own) && !host_netns_inodes().contains(&own);
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
