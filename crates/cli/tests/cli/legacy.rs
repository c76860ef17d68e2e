//! `--protocol legacy-v3`: `listen`, `emit` and `demo` speak eventcast
//! 0.1.x's protocol, driven through the binary as a user would, each in a
//! private network namespace.

use crate::support::{emit, eventcast, listen, listen_with_env, run};

#[test]
fn legacy_listen_hears_legacy_emit() {
    netns_test::run(|| {
        let listener = listen(&[
            "--protocol",
            "legacy-v3",
            "--max-payload-size",
            "256",
            "--count",
            "2",
            "--timeout",
            "10",
        ]);
        let port = listener.port();
        let long = "y".repeat(3000);
        let legacy = ["--protocol", "legacy-v3", "--max-payload-size", "256"];
        emit(
            port,
            &[
                &legacy[..],
                &[
                    "greet",
                    "hello",
                    "5",
                    r#"{"$date":"2013-10-28T22:40:00Z"}"#,
                    r#"{"$regularExpression":{"pattern":"^a+","options":"i"}}"#,
                    "null",
                ],
            ]
            .concat(),
        );
        // segmented: 3000 bytes in 256-byte pieces
        emit(port, &[&legacy[..], &["long", &long]].concat());
        let done = listener.finish();
        assert!(done.status.success(), "{done:?}");
        let lines: Vec<&str> = done.stdout.lines().collect();
        assert_eq!(lines.len(), 2, "{done:?}");
        assert!(
            lines[0].starts_with(concat!(
                r#"{"event":"greet","args":["hello",5,{"$date":"2013-10-28T22:40:00Z"},"#,
                r#"{"$regularExpression":{"pattern":"^a+","options":"i"}},null],"sender":""#
            )),
            "{}",
            lines[0]
        );
        let long_line: serde_json::Value = serde_json::from_str(lines[1]).expect("JSON");
        assert_eq!(long_line["event"], "long");
        assert_eq!(long_line["args"][0], long.as_str());
        let sender = long_line["sender"].as_str().expect("sender");
        assert_eq!(sender.len(), 16, "{sender}");
    });
}

#[test]
fn legacy_encryption_through_the_flag_and_the_environment() {
    netns_test::run(|| {
        let listener = listen_with_env(
            &[("EVENTCAST_INSECURE_LEGACY_KEY", "NSA-KEY")],
            &["--protocol", "legacy-v3", "--count", "1", "--timeout", "10"],
        );
        let port = listener.port();
        // a native node and a keyless legacy node are not heard, and said so
        emit(port, &["native-event"]);
        emit(port, &["--protocol", "legacy-v3", "unencrypted"]);
        emit(
            port,
            &[
                "--protocol",
                "legacy-v3",
                "--insecure-legacy-key",
                "NSA-KEY",
                "secret",
                "[1,2]",
            ],
        );
        let done = listener.finish();
        assert!(done.status.success(), "{done:?}");
        let lines: Vec<&str> = done.stdout.lines().collect();
        assert_eq!(lines.len(), 1, "{done:?}");
        assert!(
            lines[0].starts_with(r#"{"event":"secret","args":[[1,2]],"#),
            "{}",
            lines[0]
        );
        assert!(done.stderr.contains("native protocol"), "{}", done.stderr);
        assert!(done.stderr.contains("unencrypted"), "{}", done.stderr);
        assert!(!done.stderr.contains("NSA-KEY"), "{}", done.stderr);
    });
}

#[test]
fn a_key_without_the_legacy_protocol_is_a_usage_error() {
    // refused before anything is opened
    let mut cmd = eventcast();
    cmd.args(["emit", "--insecure-legacy-key", "k", "e"]);
    let done = run(cmd, b"");
    assert_eq!(done.status.code(), Some(2), "{done:?}");
    assert!(done.stderr.contains("legacy-v3"), "{}", done.stderr);
}

#[test]
fn the_retransmission_event_name_is_refused() {
    netns_test::run(|| {
        let mut cmd = eventcast();
        cmd.args(["emit", "--protocol", "legacy-v3", "__ec_retx", "1"]);
        let done = run(cmd, b"");
        assert_eq!(done.status.code(), Some(1), "{done:?}");
        assert!(done.stderr.contains("reserved"), "{}", done.stderr);
    });
}

/// 40 events of 1 MiB on stdin: more than the 32 MiB send queue. Each
/// event's bytes must come back to the queue once its datagrams are out,
/// or `emit --stdin` waits for room for ever (it did, in legacy mode only).
#[test]
fn legacy_emit_stdin_gets_past_the_send_queue() {
    netns_test::run(|| {
        let big = "x".repeat(1 << 20);
        let line = format!("{{\"event\":\"big\",\"args\":[\"{big}\"]}}\n");
        let input = line.repeat(40);
        let mut cmd = eventcast();
        cmd.args([
            "emit",
            "--protocol",
            "legacy-v3",
            "--port",
            "41999",
            "--stdin",
        ]);
        // run() fails the test if the binary has not exited within its limit.
        let done = run(cmd, input.as_bytes());
        assert!(done.status.success(), "{done:?}");
        assert_eq!(done.stderr, "");
    });
}

#[test]
fn the_demo_runs_in_legacy_mode() {
    netns_test::run(|| {
        let mut cmd = eventcast();
        cmd.args(["demo", "--protocol", "legacy-v3"]);
        let done = run(cmd, b"");
        assert!(done.status.success(), "{done:?}");
        for name in ["alice", "bob", "carol"] {
            assert!(done.stdout.contains(name), "{name}: {}", done.stdout);
        }
        assert!(
            done.stdout.contains("nothing lost, nothing dropped"),
            "{}",
            done.stdout
        );
        assert_eq!(done.stderr, "");
    });
}

#[test]
fn help_mentions_the_protocol_options() {
    for sub in ["listen", "emit", "demo"] {
        let mut cmd = eventcast();
        cmd.args([sub, "--help"]);
        let done = run(cmd, b"");
        assert!(done.status.success());
        for needle in [
            "--protocol",
            "legacy-v3",
            "--insecure-legacy-key",
            "INSECURE",
        ] {
            assert!(
                done.stdout.contains(needle),
                "{sub}: {needle}: {}",
                done.stdout
            );
        }
    }
}
