//! `eventcast bridge`: two LANs (two ports) joined through a real
//! nats-server, as a user runs it.

use std::net::{Ipv4Addr, UdpSocket};
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::support::{self, eventcast, listen, signal, stderr_lines};

// The bridge's own tests use all of it (`restart`); these, part.
#[allow(dead_code)]
#[path = "../../../bridge/tests/nats/server.rs"]
mod server;

/// A running `eventcast bridge` that said "bridging".
struct Running {
    child: Child,
    stderr: mpsc::Receiver<String>,
}

fn bridge(args: &[&str]) -> Running {
    let mut child = eventcast()
        .arg("bridge")
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start eventcast bridge");
    let stderr = stderr_lines(&mut child);
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut before = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match stderr.recv_timeout(left) {
            Ok(line) if line.starts_with("bridging") => break,
            Ok(line) => before.push(line),
            Err(_) => panic!("bridge {args:?} never said \"bridging\"; stderr: {before:?}"),
        }
    }
    Running { child, stderr }
}

impl Running {
    /// SIGTERM, then its exit status and the rest of its stderr.
    fn terminate(mut self) -> (std::process::ExitStatus, String) {
        signal(self.child.id(), "TERM");
        let deadline = Instant::now() + support::LIMIT;
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                break status;
            }
            assert!(
                Instant::now() < deadline,
                "bridge did not exit after SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(20));
        };
        let mut rest = Vec::new();
        while let Ok(line) = self.stderr.recv_timeout(Duration::from_secs(5)) {
            rest.push(line);
        }
        (status, rest.join("\n"))
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
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

        let (status, stderr) = a.terminate();
        assert!(status.success(), "{status:?}: {stderr}");
        assert!(
            stderr.contains("bridge stopped: 1 events"),
            "the counts on stderr: {stderr}"
        );
        let (status, stderr) = b.terminate();
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
