//! `eventcast emit --stdin`: one event per line, in order; a 1 MiB argument;
//! a burst that `listen` holds while its reader falls behind, up to
//! `--subscription-bytes`.

use crate::support::{eventcast, listen, listen_read_late, run, Finished, Started};

#[test]
fn stdin_lines_arrive_in_order_and_bad_lines_are_reported() {
    netns_test::run(|| {
        let listener = listen(&["--count", "4", "--timeout", "10"]);
        let input = concat!(
            "{\"event\":\"first\",\"args\":[1,\"one\"]}\n",
            "this is not JSON\n",
            "\n",
            "{\"event\":\"second\"}\n",
            "{\"event\":\"third\",\"args\":[{\"$date\":\"2013-10-28T22:40:00Z\"}]}\n",
            "{\"args\":[]}\n",
            "{\"event\":\"fourth\",\"args\":[{\"$numberLong\":\"7\"},[true,null]]}",
        );
        let mut cmd = eventcast();
        cmd.args(["emit", "--stdin", "--port", &listener.port().to_string()]);
        let sent = run(cmd, input.as_bytes());
        assert_eq!(sent.status.code(), Some(1), "{sent:?}");
        let complaints: Vec<&str> = sent.stderr.lines().collect();
        assert_eq!(complaints.len(), 3, "{sent:?}");
        assert!(
            complaints[0].starts_with("eventcast: stdin line 2: "),
            "{sent:?}"
        );
        assert!(
            complaints[1].starts_with("eventcast: stdin line 6: "),
            "{sent:?}"
        );
        assert!(
            complaints[1].contains("event"),
            "names the missing field: {sent:?}"
        );
        assert_eq!(
            complaints[2],
            "eventcast: 2 bad line(s) on stdin were not sent"
        );

        let done = listener.finish();
        assert!(done.status.success(), "{done:?}");
        let events: Vec<String> = done
            .stdout
            .lines()
            .map(|line| {
                let v: serde_json::Value = serde_json::from_str(line).expect("JSON");
                format!("{} {}", v["event"].as_str().expect("event"), v["args"])
            })
            .collect();
        assert_eq!(
            events,
            [
                r#"first [1,"one"]"#,
                "second []",
                r#"third [{"$date":"2013-10-28T22:40:00Z"}]"#,
                "fourth [7,[true,null]]",
            ]
        );
    });
}

#[test]
fn one_mebibyte_argument_arrives_whole() {
    netns_test::run(|| {
        let listener = listen(&["--count", "1", "--timeout", "10"]);
        // Too long for one command-line argument on some systems: use stdin.
        let big: String = (0..1 << 20)
            .map(|i| (b'a' + (i % 26) as u8) as char)
            .collect();
        let line = format!("{{\"event\":\"big\",\"args\":[\"{big}\",2]}}\n");
        let mut cmd = eventcast();
        cmd.args(["emit", "--stdin", "--port", &listener.port().to_string()]);
        let sent = run(cmd, line.as_bytes());
        assert!(sent.status.success(), "{:?}", sent.stderr);

        let done = listener.finish();
        assert!(done.status.success(), "{:?}", done.stderr);
        let v: serde_json::Value = serde_json::from_str(done.stdout.trim_end()).expect("JSON");
        assert_eq!(v["event"], "big");
        let arg = v["args"][0].as_str().expect("a string");
        assert_eq!(arg.len(), 1 << 20);
        assert!(arg == big, "the argument arrived changed");
        assert_eq!(v["args"][1], 2);
    });
}

/// While nobody reads `listen`'s output, its pipe fills and its writes
/// block; the burst waits in its subscription (bounded in bytes, not in
/// events) and comes out whole and in order once the reader catches up.
#[test]
fn a_burst_waits_for_a_reader_that_falls_behind() {
    const EVENTS: usize = 20_000;
    netns_test::run(|| {
        let listener = listen_read_late(&["--count", &EVENTS.to_string(), "--timeout", "12"]);
        let done = burst_to(listener, EVENTS, ",\"abcdefghijklmnopqrstuvwxyz\"");
        assert!(done.status.success(), "{}", done.stderr);
        assert!(!done.stderr.contains("dropped"), "{}", done.stderr);
        let ticks: Vec<i64> = done
            .stdout
            .lines()
            .map(|line| {
                let v: serde_json::Value = serde_json::from_str(line).expect("JSON");
                v["args"][0].as_i64().expect("a number")
            })
            .collect();
        assert_eq!(ticks.len(), EVENTS);
        assert!(ticks.iter().enumerate().all(|(i, &n)| n == i as i64));
    });
}

/// `--subscription-bytes` bounds what `listen` holds for a late reader:
/// with room for a few hundred events, most of the burst is dropped, and
/// `listen` says how many.
#[test]
fn a_small_subscription_drops_and_says_so() {
    const EVENTS: usize = 10_000;
    netns_test::run(|| {
        // Only the timeout ends it (the dropped events are never printed):
        // room for a debug-build `emit --stdin` on a loaded machine.
        let listener = listen_read_late(&["--subscription-bytes", "200K", "--timeout", "10"]);
        let done = burst_to(listener, EVENTS, "");
        let printed = done.stdout.lines().count();
        let dropped: usize = done
            .stderr
            .lines()
            .find_map(|line| {
                line.strip_prefix("eventcast: ")?
                    .strip_suffix(" events dropped because the output did not keep up")
            })
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no count of dropped events: {}", done.stderr));
        assert!(printed < EVENTS / 2, "{printed} printed");
        assert_eq!(printed + dropped, EVENTS, "{}", done.stderr);
    });
}

/// Sends `events` events `tick` (arguments: their number, then `more`)
/// through `emit --stdin` to `listener`, and waits for it to exit.
fn burst_to(listener: Started, events: usize, more: &str) -> Finished {
    let input: String = (0..events)
        .map(|i| format!("{{\"event\":\"tick\",\"args\":[{i}{more}]}}\n"))
        .collect();
    let mut cmd = eventcast();
    cmd.args(["emit", "--stdin", "--port", &listener.port().to_string()]);
    let sent = run(cmd, input.as_bytes());
    assert!(sent.status.success(), "{sent:?}");
    listener.finish()
}
