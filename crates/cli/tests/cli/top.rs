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

#[test]
fn the_terminal_view_fits_80_by_24_in_tmux_and_q_quits() {
    if Command::new("tmux").arg("-V").output().is_err() {
        eprintln!("tmux is not installed: skipped");
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
        let text = screen("greet");
        assert!(text.lines().count() <= 24, "{text}");
        assert!(text.lines().all(|l| l.chars().count() <= 80), "{text}");
        assert!(text.contains("2 events"), "{text}");
        assert!(text.contains("q quit"), "{text}");
        tmux(&socket, &["send-keys", "s"]);
        screen("by bytes/s");
        tmux(&socket, &["send-keys", "q"]);
        screen("top-exited-0");
        tmux(&socket, &["kill-server"]);
    });
}
