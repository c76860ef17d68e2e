//! `eventcast top`: its plain summary when stdout is not a terminal, and
//! its terminal view inside tmux (when tmux is installed).

#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns

use std::process::Command;
use std::time::{Duration, Instant};

use crate::support::{emit, signal, start, BIN, LIMIT};

#[test]
fn plain_mode_prints_a_summary_every_second() {
    netns_test::run(|| {
        let top = start(&["top"], "watching");
        let port = top.port();
        for _ in 0..3 {
            emit(port, &["greet", "hello"]);
        }
        emit(port, &["sensor.temp", "21.5"]);
        // Blocks follow each other: wait for one that counted everything.
        let deadline = Instant::now() + LIMIT;
        let mut block = Vec::new();
        let mut seen = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = top
                .next_line(left)
                .unwrap_or_else(|| panic!("no complete summary; last: {seen:?}"));
            if !line.is_empty() {
                block.push(line);
                continue;
            }
            let counted = |name: &str, n: &str| {
                block.iter().any(|l| {
                    let mut cols = l.split_whitespace();
                    cols.next() == Some(name) && cols.next() == Some(n)
                })
            };
            if counted("greet", "3") && counted("sensor.temp", "1") {
                break;
            }
            seen = std::mem::take(&mut block);
        }
        assert!(block[0].starts_with("eventcast top: 4 events"), "{block:?}");
        assert!(block[0].contains("lost 0"), "{block:?}");
        assert!(block.iter().any(|l| l.starts_with("SENDER")), "{block:?}");
        // Four emits, four senders, one event... each `emit` is a node of
        // its own: every sender row has its address.
        let senders = block
            .iter()
            .skip_while(|l| !l.starts_with("SENDER"))
            .skip(1);
        assert_eq!(
            senders.filter(|l| l.contains(&format!(":{port}"))).count(),
            4,
            "{block:?}"
        );
        signal(top.pid(), "TERM");
        let done = top.finish();
        assert!(done.status.success(), "{done:?}");
    });
}

fn tmux(socket: &str, args: &[&str]) -> String {
    let out = Command::new("tmux")
        .args(["-L", socket])
        .args(args)
        .output()
        .expect("run tmux");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Whether tmux can be run. Without it the test is skipped, with the reason
/// printed; under CI (`CI` set), where `.ci/run` installs it, it fails.
fn tmux_installed() -> bool {
    if Command::new("tmux").arg("-V").output().is_ok() {
        return true;
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "tmux is not installed, and CI must run the terminal view's test: \
         `apt-get install -y tmux` (.ci/run's first step does)"
    );
    eprintln!("tmux is not installed: the terminal view's test is skipped");
    false
}

#[test]
fn the_terminal_view_fits_80_by_24_in_tmux_and_q_quits() {
    if !tmux_installed() {
        return;
    }
    netns_test::run(|| {
        let socket = format!("eventcast-top-{}", std::process::id());
        let port = 40000 + (std::process::id() % 20000) as u16;
        let command = format!("{BIN} top --port {port}; echo top-exited-$?; sleep 30");
        tmux(
            &socket,
            &["new-session", "-d", "-x", "80", "-y", "24", &command],
        );
        // A capture is clipped to the pane: what the view drew beyond it
        // would not show. The pane must be 80x24, and every part of the
        // view must be on it whole.
        let size = tmux(
            &socket,
            &["display-message", "-p", "#{pane_width}x#{pane_height}"],
        );
        assert_eq!(size.trim(), "80x24", "the pane tmux made");
        let screen = |want: &str| {
            let deadline = Instant::now() + LIMIT;
            loop {
                let text = tmux(&socket, &["capture-pane", "-p"]);
                if text.contains(want) {
                    return text;
                }
                assert!(Instant::now() < deadline, "no {want:?} on screen:\n{text}");
                std::thread::sleep(Duration::from_millis(100));
            }
        };
        screen("event names");
        emit(port, &["greet", "hello"]);
        emit(port, &["greet", "again"]);
        // Both counted (the view redraws four times a second).
        let text = screen("2 events");
        let lines: Vec<&str> = text.lines().collect();
        // The header's two lines, to their last field (cut short, they
        // would lose it).
        assert!(lines[0].trim_end().starts_with("2 events"), "{text}");
        let counts = lines[1].trim_end();
        assert!(counts.starts_with("lost 0, repaired "), "{text}");
        assert!(counts.contains(", up ") && counts.ends_with('s'), "{text}");
        // Both tables, with every column heading.
        let words = |line: &str| -> Vec<String> {
            line.split(|c: char| c.is_whitespace() || c == '│')
                .filter(|w| !w.is_empty())
                .map(String::from)
                .collect()
        };
        let has_row = |cells: &[&str]| lines.iter().any(|l| words(l) == cells);
        assert!(text.contains("event names, by events/s"), "{text}");
        assert!(
            has_row(&["NAME", "EVENTS", "EV/S", "BYTES", "BYTES/S", "LAST"]),
            "{text}"
        );
        assert!(text.contains(" senders "), "{text}");
        assert!(
            has_row(&["SENDER", "ADDRESS", "EVENTS", "EV/S", "LOST", "LAST"]),
            "{text}"
        );
        // greet's row counts both events.
        assert!(
            lines
                .iter()
                .any(|l| words(l).starts_with(&["greet".into(), "2".into()])),
            "{text}"
        );
        // The key help, whole, on the pane's last line.
        assert_eq!(lines.len(), 24, "{text}");
        assert_eq!(
            lines[23].trim_end(),
            " q quit   s sort column   r reverse",
            "{text}"
        );
        tmux(&socket, &["send-keys", "s"]);
        screen("by bytes/s");
        tmux(&socket, &["send-keys", "q"]);
        screen("top-exited-0");
        tmux(&socket, &["kill-server"]);
    });
}
