//! `eventcast listen` and `eventcast emit`, driven as a user would, each in
//! a private network namespace.

use std::net::SocketAddr;

use crate::support::{emit, listen, listen_to_closed_stdout, signal, start, LIMIT};

#[test]
fn emitted_arguments_arrive_as_relaxed_extended_json() {
    netns_test::run(|| {
        let listener = listen(&["--count", "1", "--timeout", "10"]);
        assert!(listener.ready.contains("random port"), "{}", listener.ready);
        let port = listener.port();
        emit(
            port,
            &[
                "greet",
                "hello",
                "5",
                r#""x""#,
                r#"{"$date":"2013-10-28T22:40:00Z"}"#,
                "[1,2]",
                r#"{"b":1,"a":{"c":true}}"#,
                r#"{"$regularExpression":{"pattern":"^a+","options":"i"}}"#,
                "-5",
                "1.5",
                "null",
                "",
            ],
        );
        let done = listener.finish();
        assert!(done.status.success(), "{done:?}");
        let lines: Vec<&str> = done.stdout.lines().collect();
        assert_eq!(lines.len(), 1, "{done:?}");
        let line = lines[0];

        // Exactly this, in this order, up to the sender's id.
        let prefix = concat!(
            r#"{"event":"greet","args":["hello",5,"x",{"$date":"2013-10-28T22:40:00Z"},"#,
            r#"[1,2],{"b":1,"a":{"c":true}},"#,
            r#"{"$regularExpression":{"pattern":"^a+","options":"i"}},-5,1.5,null,""],"#,
            r#""sender":""#
        );
        assert!(line.starts_with(prefix), "{line}");

        let value: serde_json::Value = serde_json::from_str(line).expect("one JSON object");
        let object = value.as_object().expect("an object");
        assert_eq!(object.len(), 4, "{line}");
        let sender = object["sender"].as_str().expect("sender is a string");
        assert_eq!(sender.len(), 16, "{sender}");
        assert!(
            sender
                .chars()
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()),
            "{sender}"
        );
        let from: SocketAddr = object["from"]
            .as_str()
            .expect("from is a string")
            .parse()
            .expect("from is IP:PORT");
        // The emitter binds the group's port too.
        assert_eq!(from.port(), port);
    });
}

#[test]
fn listen_prints_only_the_named_events() {
    netns_test::run(|| {
        let listener = listen(&["wanted", "also", "--count", "3", "--timeout", "10"]);
        assert!(
            listener.ready.contains("only wanted, also"),
            "{}",
            listener.ready
        );
        let port = listener.port();
        emit(port, &["--linger", "0", "other", "1"]);
        emit(port, &["--linger", "0", "wanted", "2"]);
        emit(port, &["--linger", "0", "other", "3"]);
        emit(port, &["--linger", "0", "also", "4"]);
        emit(port, &["--linger", "0", "wanted", "5"]);
        let done = listener.finish();
        assert!(done.status.success(), "{done:?}");
        let got: Vec<(String, i64)> = done
            .stdout
            .lines()
            .map(|line| {
                let v: serde_json::Value = serde_json::from_str(line).expect("JSON");
                (
                    v["event"].as_str().expect("event").to_owned(),
                    v["args"][0].as_i64().expect("one number"),
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                ("wanted".into(), 2),
                ("also".into(), 4),
                ("wanted".into(), 5)
            ]
        );
    });
}

#[test]
fn listen_takes_patterns() {
    netns_test::run(|| {
        let listener = listen(&["sensor.*", "job.**", "--count", "3", "--timeout", "10"]);
        assert!(
            listener.ready.contains("only sensor.*, job.**"),
            "{}",
            listener.ready
        );
        let port = listener.port();
        for name in [
            "other",
            "sensor.a",
            "sensor.a.b",
            "job",
            "sensors.x",
            "job.x.y",
        ] {
            emit(port, &["--linger", "0", name]);
        }
        let done = listener.finish();
        assert!(done.status.success(), "{done:?}");
        let got: Vec<String> = done
            .stdout
            .lines()
            .map(|line| {
                let v: serde_json::Value = serde_json::from_str(line).expect("JSON");
                v["event"].as_str().expect("event").to_owned()
            })
            .collect();
        assert_eq!(got, ["sensor.a", "job", "job.x.y"]);
    });
}

#[test]
fn listen_refuses_a_bad_pattern_before_it_starts() {
    netns_test::run(|| {
        let mut cmd = crate::support::eventcast();
        cmd.args(["listen", "ok", "sensor*"]);
        let done = crate::support::run(cmd, b"");
        assert_eq!(done.status.code(), Some(2), "{done:?}");
        assert_eq!(done.stdout, "");
        assert!(
            done.stderr
                .contains("bad event pattern \"sensor*\": segment 1"),
            "{done:?}"
        );
        assert!(!done.stderr.contains("listening"), "{done:?}");
    });
}

#[test]
fn timeout_before_count_exits_1() {
    netns_test::run(|| {
        let listener = listen(&["--count", "2", "--timeout", "1.5"]);
        emit(listener.port(), &["--linger", "0", "only-one"]);
        let done = listener.finish();
        assert_eq!(done.status.code(), Some(1), "{done:?}");
        assert_eq!(done.stdout.lines().count(), 1, "{done:?}");
        assert!(done.stderr.contains("1 of 2 events"), "{done:?}");
        assert!(done.stderr.starts_with("eventcast: "), "{done:?}");
    });
}

#[test]
fn timeout_without_count_exits_0() {
    netns_test::run(|| {
        let done = listen(&["--timeout", "0.3"]).finish();
        assert_eq!(done.status.code(), Some(0), "{done:?}");
        assert_eq!(done.stdout, "");
        assert_eq!(done.stderr, "");
    });
}

#[test]
fn sigterm_and_ctrl_c_stop_listen_cleanly() {
    netns_test::run(|| {
        for sig in ["TERM", "INT"] {
            let listener = start(&["listen", "--port", "41234"], "listening");
            emit(41234, &["--linger", "0", "before", sig]);
            // Printed before the signal goes: a line still on its way when
            // the listener is told to stop is not owed.
            let line = listener.next_line(LIMIT);
            assert!(line.is_some_and(|l| l.contains("before")), "SIG{sig}");
            signal(listener.pid(), sig);
            let done = listener.finish();
            assert_eq!(done.status.code(), Some(0), "SIG{sig}: {done:?}");
            assert_eq!(done.stdout, "", "SIG{sig}: {done:?}");
            assert_eq!(done.stderr, "", "SIG{sig}");
        }
    });
}

#[test]
fn closed_stdout_ends_listen_quietly() {
    netns_test::run(|| {
        // With --count: a timeout would exit 1, so 0 means the closed pipe.
        let listener = listen_to_closed_stdout(&["--count", "1", "--timeout", "10"]);
        emit(listener.port(), &["--linger", "0", "nobody-reads-this"]);
        let done = listener.finish();
        assert_eq!(done.status.code(), Some(0), "{done:?}");
        assert_eq!(done.stderr, "", "no complaint about the closed pipe");
    });
}

#[test]
fn protocol_errors_go_to_stderr_one_line_each() {
    netns_test::run(|| {
        // It ends on the event emitted after the bad datagrams, so it has
        // read them all (not on a timeout that a loaded machine may beat).
        let listener = listen(&["--count", "1", "--timeout", "10"]);
        let socket = std::net::UdpSocket::bind("0.0.0.0:0").expect("bind");
        socket.set_multicast_ttl_v4(0).expect("ttl");
        // The eventcast magic, then a protocol version from the future.
        for _ in 0..3 {
            socket
                .send_to(&[0xEC, 0xA5, 9, 0, 0, 0], ("224.0.0.1", listener.port()))
                .expect("send");
        }
        emit(listener.port(), &["--linger", "0", "after"]);
        let done = listener.finish();
        assert_eq!(done.status.code(), Some(0), "{done:?}");
        assert_eq!(done.stdout.lines().count(), 1, "{done:?}");
        let lines: Vec<&str> = done.stderr.lines().collect();
        assert_eq!(lines.len(), 1, "reported once per sender: {done:?}");
        assert!(lines[0].starts_with("eventcast: "), "{done:?}");
        assert!(lines[0].contains("protocol version 9"), "{done:?}");
    });
}
