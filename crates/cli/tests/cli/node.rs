//! `eventcast node`, driven as an operator would: its REPL over TCP, its
//! log on stderr, SIGTERM to stop it. Each test in a private network
//! namespace.

use crate::support::{self, eventcast, listen, start_cmd, Started, Stdout, LIMIT};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};

/// A running `eventcast node` whose stderr is read line by line.
pub(crate) struct Node {
    pub(crate) started: Started,
    pub(crate) repl: Option<SocketAddr>,
}

impl Node {
    pub(crate) fn start(args: &[&str]) -> Node {
        let mut cmd = eventcast();
        cmd.arg("node").args(args);
        let started = start_cmd(cmd, Stdout::Null, "repl listening on ", LIMIT);
        let addr = started
            .ready
            .strip_prefix("repl listening on ")
            .and_then(|rest| rest.split_whitespace().next())
            .expect("an address");
        let repl = Some(addr.parse().expect("a socket address"));
        Node { started, repl }
    }

    /// Waits for a stderr line that satisfies `pred`; returns it.
    fn wait_for(&mut self, pred: impl Fn(&str) -> bool) -> String {
        self.started.wait_for(pred, LIMIT, "the awaited line")
    }

    /// SIGTERM, then its exit status and every line of its stderr.
    pub(crate) fn terminate(mut self) -> (std::process::ExitStatus, Vec<String>) {
        let mut stderr = std::mem::take(&mut self.started.seen);
        let done = self.started.terminate();
        stderr.extend(done.stderr.lines().map(String::from));
        (done.status, stderr)
    }
}

/// A REPL session over a plain TCP socket.
pub(crate) struct Session {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl Session {
    pub(crate) fn connect(addr: SocketAddr) -> Session {
        let stream = TcpStream::connect(addr).expect("connect to the REPL");
        stream.set_read_timeout(Some(LIMIT)).expect("read timeout");
        let mut session = Session {
            stream,
            buf: Vec::new(),
        };
        session.until_prompt();
        session
    }

    /// Sends a line (CRLF, as telnet does) and returns the answer.
    pub(crate) fn command(&mut self, line: &str) -> String {
        self.stream
            .write_all(format!("{line}\r\n").as_bytes())
            .expect("write");
        self.until_prompt()
    }

    /// Reads up to the next prompt: a command's answer, or a streamed
    /// event.
    pub(crate) fn until_prompt(&mut self) -> String {
        loop {
            let text = String::from_utf8_lossy(&self.buf).into_owned();
            if let Some(at) = text
                .find("eventcast@")
                .filter(|&at| text[at..].contains("> "))
            {
                let end = at + text[at..].find("> ").expect("prompt end") + 2;
                self.buf.drain(..end);
                return text[..at].replace("\r\n", "\n").trim_end().to_owned();
            }
            let mut chunk = [0u8; 4096];
            let n = self.stream.read(&mut chunk).expect("read from the REPL");
            assert!(n > 0, "the REPL closed the connection: {text:?}");
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }
}

#[test]
fn an_operator_emits_raises_the_level_and_stops_it_with_sigterm() {
    netns_test::run(|| {
        let listener = listen(&["--count", "2", "--timeout", "10", "--ttl", "0"]);
        let port = listener.port().to_string();
        let mut node = Node::start(&["--port", &port, "--ttl", "0", "--log", "info"]);
        assert!(
            node.started
                .seen
                .iter()
                .any(|l| l.starts_with("node running on 224.0.0.1:")),
            "{:#?}",
            node.started.seen
        );
        let mut session = Session::connect(node.repl.expect("repl address"));
        assert_eq!(
            session.command(r#"emit greet hi 5 {"a": [1, 2]}"#),
            "ok: emitted greet with 3 arguments"
        );
        assert_eq!(session.command("log-level"), "eventcast=info repl=info");
        assert_eq!(
            session.command("log-level debug"),
            "eventcast=debug repl=debug"
        );
        session.command("emit again");
        node.wait_for(|l| l.contains("DEBUG") && l.contains("event sent") && l.contains("again"));

        let done = listener.finish();
        assert!(done.status.success(), "{done:?}");
        let lines: Vec<&str> = done.stdout.lines().collect();
        assert!(
            lines[0].starts_with(r#"{"event":"greet","args":["hi",5,{"a":[1,2]}],"sender":""#),
            "{lines:?}"
        );
        assert!(
            lines[1].starts_with(r#"{"event":"again","args":[]"#),
            "{lines:?}"
        );

        let (status, stderr) = node.terminate();
        assert!(status.success(), "{status:?} {stderr:#?}");
        assert_eq!(
            stderr.last().map(String::as_str),
            Some("stopped"),
            "{stderr:#?}"
        );
        assert!(
            stderr
                .iter()
                .any(|l| l.contains("INFO") && l.contains("stopped")),
            "{stderr:#?}"
        );
    });
}

#[test]
fn json_log_lines() {
    netns_test::run(|| {
        let mut node = Node::start(&[
            "--ttl",
            "0",
            "--log",
            "warn,repl=debug",
            "--log-format",
            "json",
        ]);
        let mut session = Session::connect(node.repl.expect("repl address"));
        assert_eq!(session.command("log-level"), "eventcast=warn repl=debug");
        session.command("id");
        let line = node.wait_for(|l| l.starts_with('{') && l.contains(r#""command":"id""#));
        let json: serde_json::Value = serde_json::from_str(&line).expect(&line);
        assert_eq!(json["level"], "DEBUG", "{line}");
        assert_eq!(json["target"], "eventcast::repl", "{line}");
        assert_eq!(json["fields"]["command"], "id", "{line}");
        let (status, _) = node.terminate();
        assert!(status.success());
    });
}

#[test]
fn a_bad_log_spec_is_a_usage_error() {
    // Refused before any socket is opened; still in a namespace, to be safe.
    netns_test::run(|| {
        let done = support::run(
            {
                let mut cmd = eventcast();
                cmd.args(["node", "--ttl", "0", "--log", "tokio=debug"]);
                cmd
            },
            b"",
        );
        assert_eq!(done.status.code(), Some(2), "{done:?}");
        assert!(
            done.stderr.contains("components: eventcast, repl"),
            "{done:?}"
        );
    });
}

#[test]
fn log_level_takes_the_form_log_level_prints_and_log_takes() {
    // Trial: `log-level` prints `eventcast=off repl=off` and `--log` takes
    // `repl=debug`, but `log-level repl=debug` answered `unknown component
    // "repl=debug"`.
    netns_test::run(|| {
        let mut node = Node::start(&["--ttl", "0"]);
        let mut session = Session::connect(node.repl.expect("repl address"));
        assert_eq!(
            session.command("log-level repl=debug"),
            "eventcast=off repl=debug"
        );
        session.command("id");
        node.wait_for(|l| l.contains("DEBUG") && l.contains(r#"command="id""#));
        assert_eq!(
            session.command("log-level warn,repl=info"),
            "eventcast=warn repl=info"
        );
        // What `log-level` prints, pasted back.
        assert_eq!(
            session.command("log-level eventcast=info repl=warn"),
            "eventcast=info repl=warn"
        );
        // All or nothing: a bad part names itself and changes nothing.
        let answer = session.command("log-level eventcast=debug,repl=loud");
        assert!(
            answer.starts_with("error: ") && answer.contains(r#""loud""#),
            "{answer}"
        );
        assert_eq!(session.command("log-level"), "eventcast=info repl=warn");
        let (status, _) = node.terminate();
        assert!(status.success(), "{status:?}");
    });
}

#[test]
fn listeners_counts_a_sessions_pattern_streams_for_a_name() {
    netns_test::run(|| {
        let node = Node::start(&["--ttl", "0"]);
        let mut session = Session::connect(node.repl.expect("repl address"));
        session.command("on greet");
        session.command("on **");
        assert_eq!(
            session.command("listeners greet"),
            "greet: 2 listeners (2 streaming here)"
        );
        assert_eq!(
            session.command("listeners"),
            "**: 1 listener (1 streaming here)\ngreet: 2 listeners (2 streaming here)"
        );
        let (status, _) = node.terminate();
        assert!(status.success(), "{status:?}");
    });
}
