//! The REPL reads what real clients send: telnet's option negotiation,
//! CRLF and LF, pasted lines, input cut anywhere, garbage, lines too long,
//! and clients that vanish mid-line.

use crate::client::Client;
use crate::common::*;
use eventcast::Eventcast;

/// A node with its REPL open (the node itself stopped: no multicast needed).
async fn repl_node(config: eventcast::Config) -> (Eventcast, std::net::SocketAddr) {
    let node = Eventcast::new(config.repl_enabled(true)).expect("valid config");
    let addr = node.repl().open().await.expect("REPL opens");
    (node, addr)
}

const IAC: u8 = 255;
const WILL: u8 = 251;
const WONT: u8 = 252;
const DO: u8 = 253;
const DONT: u8 = 254;
const SB: u8 = 250;
const SE: u8 = 240;

#[test]
fn the_greeting_and_prompt() {
    netns_test::run(|| {
        block_on(async {
            let (node, addr) = repl_node(config(free_port())).await;
            assert_eq!(addr.ip().to_string(), "127.0.0.1");
            let client = Client::connect(addr).await;
            assert!(client.prompt.starts_with("eventcast@"), "{}", client.prompt);
            assert!(client.prompt.ends_with("> "), "{}", client.prompt);
            assert!(client.greeting.contains(&node.id().to_string()));
            assert!(client.greeting.contains("help"));
        })
    });
}

#[test]
fn telnet_negotiation_is_ignored_and_refused() {
    netns_test::run(|| {
        block_on(async {
            let (node, addr) = repl_node(config(free_port())).await;
            let mut client = Client::connect(addr).await;
            // What a telnet client in character mode sends: DO ECHO, WILL
            // TERMINAL-TYPE, WILL NAWS with a window size subnegotiation,
            // WONT LINEMODE, DONT ... and then a command, CRLF-terminated.
            let mut bytes = vec![IAC, DO, 1, IAC, WILL, 24, IAC, WILL, 31];
            bytes.extend_from_slice(&[IAC, SB, 31, 0, 80, 0, 24, IAC, SE]);
            bytes.extend_from_slice(&[IAC, WONT, 34, IAC, DONT, 3]);
            bytes.extend_from_slice(b"i");
            bytes.extend_from_slice(&[IAC, 241]); // NOP inside the word
            bytes.extend_from_slice(b"d\r\n");
            client.send(&bytes).await;
            let prompt = client.prompt.clone().into_bytes();
            let raw = client.read_until(&prompt).await;
            // Every offer refused, refusals not answered, then the answer.
            let refusals = [IAC, WONT, 1, IAC, DONT, 24, IAC, DONT, 31];
            assert!(raw.starts_with(&refusals), "{raw:?}");
            let text = String::from_utf8_lossy(&raw[refusals.len()..]).into_owned();
            assert_eq!(text, format!("{}\r\n{}", node.id(), client.prompt));
        })
    });
}

#[test]
fn crlf_lf_and_pasted_lines_each_get_their_answer() {
    netns_test::run(|| {
        block_on(async {
            let (node, addr) = repl_node(config(free_port())).await;
            let mut client = Client::connect(addr).await;
            let id = node.id().to_string();
            assert_eq!(client.command("id\r").await, id);
            // Pasted: three lines in one write, mixed line ends, an empty one.
            client.send(b"id\r\nlog-level\n\r\nid\n").await;
            assert_eq!(client.answer().await, id);
            assert_eq!(client.answer().await, "eventcast=off repl=off");
            assert_eq!(client.answer().await, ""); // the empty line: just a prompt
            assert_eq!(client.answer().await, id);
        })
    });
}

#[test]
fn a_command_typed_one_byte_at_a_time() {
    netns_test::run(|| {
        block_on(async {
            let (node, addr) = repl_node(config(free_port())).await;
            let mut events = node.subscribe();
            let mut client = Client::connect(addr).await;
            for byte in b"emit greet 'hello world' 5\r\n" {
                client.send(&[*byte]).await;
            }
            let answer = client.answer().await;
            assert!(answer.starts_with("ok:"), "{answer}");
            let event = next_event(&mut events).await;
            assert_eq!(event.name(), "greet");
            let (text, n): (String, i32) = event.args().unwrap();
            assert_eq!((text.as_str(), n), ("hello world", 5));
        })
    });
}

#[test]
fn unknown_commands_and_bad_arguments_get_one_line_and_the_prompt() {
    netns_test::run(|| {
        block_on(async {
            let (node, addr) = repl_node(config(free_port())).await;
            let mut client = Client::connect(addr).await;
            for (line, start) in [
                ("frobnicate", "error: unknown command `frobnicate`"),
                ("emit", "error: usage: emit NAME [ARG...]"),
                (
                    "emit x {\"$date\": \"soon\"}",
                    "error: argument 1: {\"$date\": \"soon\"} is JSON",
                ),
                ("emit 'unterminated", "error: unterminated ' quote"),
                ("on", "error: usage: on NAME"),
                ("off a b", "error: usage: off [NAME]"),
                ("status please", "error: usage: status"),
                ("log-level eventcast loud", "error: unknown level \"loud\""),
                ("log-level nope debug", "error: unknown component \"nope\""),
                ("help nothing", "no command `nothing`"),
            ] {
                let answer = client.command(line).await;
                assert!(answer.starts_with(start), "{line}: {answer}");
                assert_eq!(answer.lines().count(), 1, "{line}: {answer}");
            }
            // Nothing happened to the node.
            assert!(node.event_names().is_empty());
            let stats = node.repl().stats();
            assert_eq!(stats.command_errors, 9);
            assert_eq!(node.stats().emitted_while_stopped, 0);
        })
    });
}

#[test]
fn garbage_bytes_do_not_hurt() {
    netns_test::run(|| {
        block_on(async {
            let (node, addr) = repl_node(config(free_port())).await;
            let mut client = Client::connect(addr).await;
            // Every byte value, twice, in odd places; then a clean line.
            let mut garbage: Vec<u8> = (0..=255u8).chain((0..=255u8).rev()).collect();
            garbage.extend_from_slice(&[IAC, SB, 1, 2, 3]); // an unfinished subnegotiation
            garbage.extend_from_slice(&[IAC, SE, b'\n']);
            client.send(&garbage).await;
            client.send(b"\nid\n").await;
            // Whatever the garbage lines were answered with, `id` comes back.
            let id = node.id().to_string();
            loop {
                let answer = client.answer().await;
                if answer == id {
                    break;
                }
                assert!(
                    answer.is_empty() || answer.starts_with("error:"),
                    "{answer:?}"
                );
            }
            assert_eq!(client.command("id").await, id);
        })
    });
}

#[test]
fn lines_longer_than_the_limit_are_refused_whole() {
    netns_test::run(|| {
        block_on(async {
            let mut config = config(free_port());
            config.repl.max_line_length = 64;
            let (node, addr) = repl_node(config).await;
            let mut events = node.subscribe();
            let mut client = Client::connect(addr).await;
            let long = format!("emit long {}\n", "x".repeat(10_000));
            client.send(long.as_bytes()).await;
            assert_eq!(
                client.answer().await,
                "error: line longer than 64 bytes, ignored"
            );
            assert!(events.try_recv().is_none(), "nothing was emitted");
            assert_eq!(node.repl().stats().lines_too_long, 1);
            // The next line is read as usual.
            assert_eq!(client.command("id").await, node.id().to_string());
        })
    });
}

#[test]
fn a_client_that_vanishes_mid_line_runs_nothing() {
    netns_test::run(|| {
        block_on(async {
            let (node, addr) = repl_node(config(free_port())).await;
            let mut events = node.subscribe();
            let mut client = Client::connect(addr).await;
            assert_eq!(
                client.command("on tick").await.split(':').next(),
                Some("ok")
            );
            assert_eq!(node.listener_count("tick"), 1);
            client.send(b"emit vanished x").await; // no line end
            drop(client);
            wait_until("the client gone", || node.repl().clients() == 0).await;
            // Its streams went with it, and the half line never ran.
            assert_eq!(node.listener_count("tick"), 0);
            node.emit("after", &()).unwrap();
            assert_eq!(next_event(&mut events).await.name(), "after");
            // The REPL serves the next client as usual.
            let mut next = Client::connect(addr).await;
            assert_eq!(next.command("id").await, node.id().to_string());
        })
    });
}

#[test]
fn quit_closes_the_session_and_pasted_lines_after_it_do_not_run() {
    netns_test::run(|| {
        block_on(async {
            let (node, addr) = repl_node(config(free_port())).await;
            let mut events = node.subscribe();
            let mut client = Client::connect(addr).await;
            client.send(b"quit\r\nemit after-quit\r\n").await;
            assert_eq!(client.read_to_end().await, "bye\n");
            wait_until("the client gone", || node.repl().clients() == 0).await;
            node.emit("sentinel", &()).unwrap();
            assert_eq!(next_event(&mut events).await.name(), "sentinel");
        })
    });
}
