//! `eventcast record`, `cat` and `play`: recordings of real nodes in a
//! private network namespace, read back and played again.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns

use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::{emit, eventcast, listen, run, run_args, signal, start, LIMIT};

/// `cat FILE` as JSON values, each without its `"time"` (checked to be
/// there).
fn cat_without_time(file: &str, more: &[&str]) -> Vec<Value> {
    let mut args = vec!["cat", file];
    args.extend_from_slice(more);
    let done = run_args(&args);
    assert!(done.status.success(), "{done:?}");
    done.stdout
        .lines()
        .map(|line| {
            let mut value: Value = serde_json::from_str(line).expect("JSON");
            let time = value
                .as_object_mut()
                .and_then(|o| o.remove("time"))
                .unwrap_or_else(|| panic!("no time in {line}"));
            assert!(time.as_str().is_some_and(|t| t.ends_with('Z')), "{line}");
            value
        })
        .collect()
}

fn json_lines(text: &str) -> Vec<Value> {
    text.lines()
        .map(|l| serde_json::from_str(l).expect("JSON"))
        .collect()
}

#[test]
fn record_then_cat_prints_what_listen_printed_and_play_sends_it_again() {
    netns_test::run(|| {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("bus.mcap");
        let file = file.to_str().unwrap();
        let recorder = start(&["record", file], "recording");
        assert!(recorder.ready.contains(file), "{}", recorder.ready);
        assert!(recorder.ready.contains("every event"), "{}", recorder.ready);
        let port = recorder.port();
        let port_arg = port.to_string();
        let listener = listen(&["--port", &port_arg, "--count", "3", "--timeout", "10"]);
        emit(
            port,
            &["greet", "hello", "5", r#"{"$date":"2013-10-28T22:40:00Z"}"#],
        );
        emit(port, &["sensor.temp", "21.5"]);
        emit(port, &["greet", "[1,2]", r#"{"a":null}"#]);
        let heard = listener.finish();
        assert!(heard.status.success(), "{heard:?}");
        // Everything listen heard is in the file once recorded.
        let deadline = Instant::now() + LIMIT;
        while cat_without_time(file, &[]).len() < 3 {
            assert!(Instant::now() < deadline, "not recorded in time");
            std::thread::sleep(Duration::from_millis(100));
        }
        signal(recorder.pid(), "TERM");
        let done = recorder.finish();
        assert!(done.status.success(), "{done:?}");
        assert!(done.stderr.contains("recorded 3 events"), "{}", done.stderr);

        let heard = json_lines(&heard.stdout);
        assert_eq!(cat_without_time(file, &[]), heard);
        let greets: Vec<_> = heard
            .iter()
            .filter(|v| v["event"] == "greet")
            .cloned()
            .collect();
        assert_eq!(cat_without_time(file, &["greet"]), greets);
        assert_eq!(cat_without_time(file, &["sensor.*"]).len(), 1);

        // Played to another group port, a listener hears the same events
        // and arguments, from the player.
        let listener = listen(&["--count", "3", "--timeout", "10"]);
        let played = run_args(&[
            "play",
            "--port",
            &listener.port().to_string(),
            "--speed",
            "0",
            file,
        ]);
        assert!(played.status.success(), "{played:?}");
        assert!(
            played.stderr.contains("played 3 events"),
            "{}",
            played.stderr
        );
        let replayed = listener.finish();
        assert!(replayed.status.success(), "{replayed:?}");
        let strip = |v: &Value| (v["event"].clone(), v["args"].clone());
        let replayed: Vec<_> = json_lines(&replayed.stdout).iter().map(strip).collect();
        assert_eq!(replayed, heard.iter().map(strip).collect::<Vec<_>>());
    });
}

#[test]
fn count_ends_the_recording_and_the_json_copy_is_written() {
    netns_test::run(|| {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("two.mcap");
        let file = file.to_str().unwrap();
        let recorder = start(&["record", "--count", "2", file, "a.*"], "recording");
        assert!(recorder.ready.contains("only a.*"), "{}", recorder.ready);
        let port = recorder.port();
        for name in ["b", "a.x", "a.y.z", "a.y", "a.z"] {
            emit(port, &[name]);
        }
        let done = recorder.finish();
        assert!(done.status.success(), "{done:?}");
        let names: Vec<_> = cat_without_time(file, &[])
            .iter()
            .map(|v| v["event"].clone())
            .collect();
        assert_eq!(names, ["a.x", "a.y"]);

        let copy = dir.path().join("two.json.mcap");
        let done = run_args(&["cat", "--json-mcap", copy.to_str().unwrap(), file]);
        assert!(done.status.success(), "{done:?}");
        assert!(done.stderr.contains("wrote 2 events"), "{}", done.stderr);
        // Our reader sees JSON channels as another program's.
        let done = run_args(&["cat", copy.to_str().unwrap()]);
        assert!(done.status.success(), "{done:?}");
        assert_eq!(done.stdout, "");
        assert!(
            done.stderr.contains("skipped 2 messages"),
            "{}",
            done.stderr
        );
        assert!(done.stderr.contains("a.x (json): 1"), "{}", done.stderr);

        // Trial item 10: play said "played 0 events", status 0, and not
        // why. It says what it skipped, as cat does, and fails: nothing in
        // the file could be played.
        let played = run_args(&[
            "play",
            "--port",
            &port.to_string(),
            "--speed",
            "0",
            copy.to_str().unwrap(),
        ]);
        assert_eq!(played.status.code(), Some(1), "{played:?}");
        assert!(
            played
                .stderr
                .contains("skipped 2 messages of channels eventcast does not write (a.x (json): 1, a.y (json): 1)"),
            "{}",
            played.stderr
        );
        assert!(
            played.stderr.contains("holds no eventcast events"),
            "{}",
            played.stderr
        );
        // The recording itself plays, and says nothing of skipping.
        let played = run_args(&["play", "--port", &port.to_string(), "--speed", "0", file]);
        assert!(played.status.success(), "{played:?}");
        assert!(
            played.stderr.contains("played 2 events"),
            "{}",
            played.stderr
        );
        assert!(!played.stderr.contains("skipped"), "{}", played.stderr);
    });
}

#[test]
fn after_kill_9_every_flushed_event_can_still_be_read() {
    netns_test::run(|| {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("crash.mcap");
        let file = file.to_str().unwrap();
        let recorder = start(&["record", file], "recording");
        let port = recorder.port();
        let lines: String = (0..5000)
            .map(|i| format!("{{\"event\":\"e{}\",\"args\":[{i}]}}\n", i % 7))
            .collect();
        let mut cmd = eventcast();
        cmd.args(["emit", "--stdin", "--port", &port.to_string()]);
        assert!(run(cmd, lines.as_bytes()).status.success());
        // The recorder writes a chunk out within a second of the last
        // event: wait until the file shows them all, then crash it.
        let deadline = Instant::now() + LIMIT;
        loop {
            let done = run_args(&["cat", file]);
            if done.stdout.lines().count() == 5000 {
                assert!(done.stderr.contains("ends early"), "{}", done.stderr);
                break;
            }
            assert!(
                Instant::now() < deadline,
                "{} lines",
                done.stdout.lines().count()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
        recorder.kill();
        let done = run_args(&["cat", file]);
        assert!(done.status.success(), "{done:?}");
        let args: Vec<i64> = json_lines(&done.stdout)
            .iter()
            .map(|v| v["args"][0].as_i64().unwrap())
            .collect();
        assert_eq!(args, (0..5000).collect::<Vec<_>>());
        assert!(done.stderr.contains("ends early"), "{}", done.stderr);
    });
}

/// `emit --stdin` of `n` events in one burst, recorded whole.
fn burst(n: usize) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("burst.mcap");
    let file = file.to_str().unwrap();
    let mut recorder = start(&["record", "--count", &n.to_string(), file], "recording");
    let port = recorder.port();
    let lines: String = (0..n)
        .map(|i| format!("{{\"event\":\"burst\",\"args\":[{i}]}}\n"))
        .collect();
    let mut cmd = eventcast();
    cmd.args([
        "emit",
        "--stdin",
        "--linger",
        "30000",
        "--port",
        &port.to_string(),
    ]);
    let sent = crate::support::run_for(cmd, lines.as_bytes(), Duration::from_secs(600));
    assert!(sent.status.success(), "{sent:?}");
    // It stops by itself at --count; if it does not, its summary says why.
    let stopped = recorder.exits_within(Duration::from_secs(120));
    if !stopped {
        signal(recorder.pid(), "INT");
    }
    let done = recorder.finish();
    assert!(stopped && done.status.success(), "{done:?}");
    assert!(
        done.stderr.contains(&format!("recorded {n} events")),
        "{}",
        done.stderr
    );
    let mut cmd = eventcast();
    cmd.args(["cat", file]);
    let done = crate::support::run_for(cmd, b"", Duration::from_secs(600));
    assert!(done.status.success(), "{}", done.stderr);
    let mut expected = 0i64;
    for value in json_lines(&done.stdout) {
        assert_eq!(value["args"][0].as_i64(), Some(expected));
        expected += 1;
    }
    assert_eq!(expected, n as i64);
}

#[test]
fn a_burst_of_50_000_events_is_recorded_whole() {
    netns_test::run(|| burst(50_000));
}

/// Opt-in: minutes in a debug build, and on a busy machine a debug-built
/// receiver falls behind the sender, so the protocol reports losses (which
/// the recorder records as such); run it on a quiet machine.
#[test]
#[ignore = "a million events: minutes on a small machine; run with --ignored"]
fn a_burst_of_1_000_000_events_is_recorded_whole() {
    netns_test::run(|| burst(1_000_000));
}

#[test]
fn bad_input_gets_a_clear_error() {
    // Nothing here should open a socket; if something did, not on the host.
    netns_test::run(bad_input);
}

fn bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let text = dir.path().join("notes.txt");
    std::fs::write(&text, "not a recording\n").unwrap();
    let text = text.to_str().unwrap();
    for args in [&["cat", text][..], &["play", "--port", "41234", text]] {
        let done = run_args(args);
        assert_eq!(done.status.code(), Some(1), "{args:?}: {done:?}");
        assert!(
            done.stderr.contains("is not an MCAP file"),
            "{}",
            done.stderr
        );
    }
    let missing = dir.path().join("missing.mcap");
    let done = run_args(&["cat", missing.to_str().unwrap()]);
    assert_eq!(done.status.code(), Some(1), "{done:?}");
    assert!(done.stderr.contains("cannot open"), "{}", done.stderr);
    for (args, needle) in [
        (
            &["record", "--max-bytes", "1000", "x.mcap"][..],
            "--max-bytes 1000 is too small: a file needs at least 65536 bytes",
        ),
        (&["record", "--split", "x.mcap"], "--max-bytes"),
        (&["record", "x.mcap", "sensor*"], "sensor*"),
        (&["play", "--speed", "-1", "x.mcap"], "speed"),
        // Trial item 12: accepted, then refused after joining the group
        // with a number of 300 digits.
        (&["play", "--speed", "1e-300", "x.mcap"], "--speed"),
        (
            &["play", "--from", "1e300", "x.mcap"],
            "more than a hundred years",
        ),
        (
            &["play", "--to", "1e20", "x.mcap"],
            "more than a hundred years",
        ),
        (
            &["listen", "--timeout", "1e20"],
            "more than a hundred years",
        ),
        (
            &["record", "--duration", "1e20", "x.mcap"],
            "more than a hundred years",
        ),
        (
            &["play", "--from", "5", "--to", "1", "x.mcap"],
            "after --to",
        ),
        (&["cat", "x.mcap", "a.**b"], "a.**b"),
    ] {
        let done = run_args(args);
        assert_eq!(done.status.code(), Some(2), "{args:?}: {done:?}");
        assert!(done.stderr.contains(needle), "{args:?}: {}", done.stderr);
    }
}

#[test]
fn record_and_node_end_cleanly_when_their_stderr_is_a_closed_pipe() {
    use std::io::BufRead as _;
    use std::process::Stdio;
    netns_test::run(|| {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("x.mcap");
        let file = file.to_str().unwrap();
        for args in [
            vec!["record", "--port", "41299", file],
            vec!["node", "--port", "41299"],
        ] {
            let mut child = eventcast()
                .args(&args)
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            // Its first line read, then the pipe closed (as `2>&1 | head -c 10`).
            let mut stderr = std::io::BufReader::new(child.stderr.take().unwrap());
            let mut first = String::new();
            stderr.read_line(&mut first).unwrap();
            drop(stderr);
            signal(child.id(), "INT");
            let status = crate::support::wait(&mut child, LIMIT);
            // What it says on stopping goes nowhere; it must not panic (101).
            assert_eq!(status.code(), Some(0), "{args:?} (first line {first:?})");
        }
    });
}

/// A recording that cannot begin leaves the file it was to replace as it
/// was, with the later files of its split recording, and creates none. `record old.mcap --bind ADDRESS-NOT-HERE` failed
/// to bind, after replacing old.mcap with an empty recording.
#[test]
fn a_recording_that_cannot_start_leaves_the_file_as_it_was() {
    netns_test::run(|| {
        let dir = tempfile::tempdir().unwrap();
        let old = dir.path().join("old.mcap");
        std::fs::write(&old, b"an older recording").unwrap();
        let old_part = dir.path().join("old.0001.mcap");
        std::fs::write(&old_part, b"its second file").unwrap();
        let new = dir.path().join("new.mcap");
        for file in [&old, &new] {
            // 10.9.9.9 is no address of the namespace: bind fails.
            let file = file.to_str().unwrap();
            let done = run_args(&["record", "--bind", "10.9.9.9", "-d", "1", file]);
            assert_eq!(done.status.code(), Some(1), "{done:?}");
            assert!(done.stderr.contains("cannot bind"), "{}", done.stderr);
            assert!(!done.stderr.contains("recording on"), "{}", done.stderr);
        }
        let kept = std::fs::read(&old).unwrap();
        assert_eq!(String::from_utf8_lossy(&kept), "an older recording");
        assert!(old_part.exists(), "{} was removed", old_part.display());
        assert!(!new.exists(), "{} was created", new.display());
    });
}
