//! `eventcast bridge`: two LANs (two ports) joined through a real
//! nats-server, as a user runs it.

use std::net::{Ipv4Addr, UdpSocket};
use std::time::Duration;

use crate::support::{self, eventcast, listen, start_cmd, Finished, Started, Stdout};

// The bridge's own tests use all of it (`restart`); these, part.
#[allow(dead_code)]
#[path = "../../../bridge/tests/nats/server.rs"]
mod server;

/// Starts `eventcast bridge ARGS...` and waits until it says "bridging".
fn bridge(args: &[&str]) -> Started {
    let mut cmd = eventcast();
    cmd.arg("bridge").args(args);
    start_cmd(cmd, Stdout::Null, "bridging", Duration::from_secs(20))
}

fn free_port() -> u16 {
    UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0))
        .and_then(|s| s.local_addr())
        .expect("a free port")
        .port()
}

#[test]
fn an_event_crosses_from_one_lan_to_the_other() {
    netns_test::run(|| {
        let nats = server::NatsServer::start("");
        let url = nats.url();
        let (lan_a, lan_b) = (free_port().to_string(), free_port().to_string());
        let a = bridge(&[
            "--nats", &url, "--site", "a", "--port", &lan_a, "--ttl", "0",
        ]);
        let b = bridge(&[
            "--nats", &url, "--site", "b", "--port", &lan_b, "--ttl", "0",
        ]);
        let listener = listen(&["--port", &lan_b, "greet", "--count", "1", "--timeout", "20"]);
        support::emit(lan_a.parse().expect("port"), &["greet", "hello", "42"]);
        let heard = listener.finish();
        assert!(heard.status.success(), "{heard:?}");
        let line: serde_json::Value = serde_json::from_str(heard.stdout.trim()).expect("JSON");
        assert_eq!(line["event"], "greet");
        assert_eq!(line["args"], serde_json::json!(["hello", 42]));

        let Finished { status, stderr, .. } = a.terminate();
        assert!(status.success(), "{status:?}: {stderr}");
        assert!(
            stderr.contains("bridge stopped: 1 events"),
            "the counts on stderr: {stderr}"
        );
        let Finished { status, stderr, .. } = b.terminate();
        assert!(status.success(), "{status:?}: {stderr}");
        assert!(
            stderr.contains("1 (") && stderr.contains("from NATS"),
            "{stderr}"
        );
    });
}

#[test]
fn bad_bridge_options_are_usage_errors() {
    let done = support::run(
        {
            let mut cmd = eventcast();
            cmd.args(["bridge", "--port", "41234"])
                .env_remove("EVENTCAST_NATS");
            cmd
        },
        b"",
    );
    assert_eq!(done.status.code(), Some(2), "{done:?}");
    assert!(done.stderr.contains("--nats"), "{}", done.stderr);
    let mut cmd = eventcast();
    cmd.args([
        "bridge",
        "--nats",
        "nats://127.0.0.1:1",
        "--subject-prefix",
        "a b",
    ]);
    let done = support::run(cmd, b"");
    assert_eq!(done.status.code(), Some(2), "{done:?}");
    assert!(done.stderr.contains("a b"), "{}", done.stderr);
}

#[test]
fn a_bad_setting_is_refused_before_the_bridge_joins_its_lan() {
    netns_test::run(|| {
        for (args, says) in [
            (
                vec!["bridge", "--nats", "nats://127.0.0.1:4222", "bad*"],
                "bad*",
            ),
            (vec!["bridge", "--nats", "nats://127.0.0.1:4222,"], "--nats"),
            (
                vec![
                    "bridge",
                    "--nats",
                    "tls://127.0.0.1:4222",
                    "--nats-tls-ca",
                    "/nonexistent/ca.pem",
                ],
                "/nonexistent/ca.pem",
            ),
        ] {
            let done: Finished = support::run_args(&args);
            assert!(!done.status.success(), "{args:?}: {done:?}");
            assert!(done.stderr.contains(says), "{args:?}: {}", done.stderr);
            assert!(!done.stderr.contains("LAN on"), "{args:?}: {}", done.stderr);
        }
    });
}
