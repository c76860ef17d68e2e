//! Drives the built `eventcast` binary as a user would, with time limits, so
//! that a broken binary fails a test instead of hanging it: runs to the end
//! ([`run`]), and commands that run until a signal ([`Started`]).

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, ChildStdout, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// The binary under test.
pub(crate) const BIN: &str = env!("CARGO_BIN_EXE_eventcast");

/// How long any one run of the binary may take.
pub(crate) const LIMIT: Duration = Duration::from_secs(15);

/// How long a started command may take to say it started.
const READY: Duration = Duration::from_secs(5);

/// `eventcast` with no settings inherited from the environment.
pub(crate) fn eventcast() -> Command {
    let mut cmd = Command::new(BIN);
    cmd.env_remove("EVENTCAST_PORT")
        .env_remove("EVENTCAST_LOG")
        .env_remove("EVENTCAST_INSECURE_LEGACY_KEY")
        .env_remove("EVENTCAST_KEY");
    cmd
}

/// What a finished run left.
#[derive(Debug)]
pub(crate) struct Finished {
    pub(crate) status: ExitStatus,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

/// Runs `cmd` to the end with `stdin` as its input.
pub(crate) fn run(cmd: Command, stdin: &[u8]) -> Finished {
    run_for(cmd, stdin, LIMIT)
}

/// Like [`run`], allowing it `limit` instead of [`LIMIT`].
pub(crate) fn run_for(mut cmd: Command, stdin: &[u8], limit: Duration) -> Finished {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start eventcast");
    let mut input = child.stdin.take().expect("stdin");
    let stdin = stdin.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = input.write_all(&stdin);
    });
    let stdout = read_all(child.stdout.take().expect("stdout"));
    let stderr = read_all(child.stderr.take().expect("stderr"));
    let status = wait(&mut child, limit);
    writer.join().expect("stdin writer");
    Finished {
        status,
        stdout: stdout.join().expect("stdout reader"),
        stderr: stderr.join().expect("stderr reader"),
    }
}

/// `eventcast ARGS...` run to the end.
pub(crate) fn run_args(args: &[&str]) -> Finished {
    let mut cmd = eventcast();
    cmd.args(args);
    run(cmd, b"")
}

/// `eventcast emit --port PORT ARGS...`, run to the end.
pub(crate) fn emit(port: u16, args: &[&str]) -> Finished {
    let mut cmd = eventcast();
    cmd.args(["emit", "--port", &port.to_string()]).args(args);
    let done = run(cmd, b"");
    assert!(done.status.success(), "emit {args:?} failed: {done:?}");
    done
}

/// A running command that said it started; killed when dropped, so that a
/// failed test leaves nothing running.
pub(crate) struct Started {
    child: Child,
    stdout: Output,
    stderr: mpsc::Receiver<String>,
    /// The stderr lines read so far: up to the last one waited for.
    pub(crate) seen: Vec<String>,
    /// The stderr line that said it started.
    pub(crate) ready: String,
}

/// What becomes of a started command's stdout.
pub(crate) enum Stdout {
    /// Read line by line as it comes ([`Started::next_line`]).
    Lines,
    /// Read whole, by a thread, from the start.
    Read,
    /// Not read until [`Started::finish`]: the pipe fills up, as with a
    /// reader that falls behind.
    Late,
    /// Closed at once (as `| head -0` would).
    Closed,
    /// Not a pipe: /dev/null.
    Null,
}

enum Output {
    Lines(mpsc::Receiver<String>),
    Read(JoinHandle<String>),
    Unread(ChildStdout),
    Closed,
}

/// Starts `eventcast ARGS...` (its stdout read line by line) and waits for
/// a stderr line starting with `prefix`.
pub(crate) fn start(args: &[&str], prefix: &str) -> Started {
    let mut cmd = eventcast();
    cmd.args(args);
    start_cmd(cmd, Stdout::Lines, prefix, READY)
}

/// Starts `cmd` with no stdin and waits up to `within` for a stderr line
/// starting with `prefix`.
pub(crate) fn start_cmd(
    mut cmd: Command,
    stdout: Stdout,
    prefix: &str,
    within: Duration,
) -> Started {
    let piped = !matches!(stdout, Stdout::Null);
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(if piped { Stdio::piped() } else { Stdio::null() })
        .stderr(Stdio::piped())
        .spawn()
        .expect("start eventcast");
    let pipe = child.stdout.take();
    let stdout = match (stdout, pipe) {
        (Stdout::Lines, Some(pipe)) => Output::Lines(lines(pipe)),
        (Stdout::Read, Some(pipe)) => Output::Read(read_all(pipe)),
        (Stdout::Late, Some(pipe)) => Output::Unread(pipe),
        _ => Output::Closed,
    };
    let stderr = stderr_lines(&mut child);
    let mut started = Started {
        child,
        stdout,
        stderr,
        seen: Vec::new(),
        ready: String::new(),
    };
    let what = format!("{cmd:?} saying {prefix:?}");
    started.ready = started.wait_for(|line| line.starts_with(prefix), within, &what);
    started
}

/// Starts `eventcast listen ARGS...` and waits for its "listening" line.
pub(crate) fn listen(args: &[&str]) -> Started {
    listen_with_env(&[], args)
}

/// Like [`listen`], with these environment variables set.
pub(crate) fn listen_with_env(env: &[(&str, &str)], args: &[&str]) -> Started {
    start_listener(args, env, Stdout::Read)
}

/// Like [`listen`], with its stdout closed at once (as `| head -0` would).
pub(crate) fn listen_to_closed_stdout(args: &[&str]) -> Started {
    start_listener(args, &[], Stdout::Closed)
}

/// Like [`listen`], with nobody reading its stdout until
/// [`finish`](Started::finish): a reader that falls behind.
pub(crate) fn listen_read_late(args: &[&str]) -> Started {
    start_listener(args, &[], Stdout::Late)
}

fn start_listener(args: &[&str], env: &[(&str, &str)], stdout: Stdout) -> Started {
    let mut cmd = eventcast();
    cmd.envs(env.iter().copied()).arg("listen").args(args);
    start_cmd(cmd, stdout, "listening", READY)
}

impl Started {
    /// The process id, for signals.
    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The port of the group in its first line (`listening on
    /// 224.0.0.1:PORT (...`, `recording on ...`).
    pub(crate) fn port(&self) -> u16 {
        self.ready
            .split_whitespace()
            .nth(2)
            .and_then(|group| group.parse::<std::net::SocketAddr>().ok())
            .unwrap_or_else(|| panic!("no group address in {:?}", self.ready))
            .port()
    }

    /// Its next line on stdout (read with [`Stdout::Lines`]), if one comes
    /// within `limit`.
    pub(crate) fn next_line(&self, limit: Duration) -> Option<String> {
        match &self.stdout {
            Output::Lines(lines) => lines.recv_timeout(limit).ok(),
            _ => panic!("stdout is not read line by line"),
        }
    }

    /// Waits up to `within` for a stderr line that satisfies `pred`, and
    /// returns it; panics naming `what` and the lines seen.
    pub(crate) fn wait_for(
        &mut self,
        pred: impl Fn(&str) -> bool,
        within: Duration,
        what: &str,
    ) -> String {
        let deadline = Instant::now() + within;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let Ok(line) = self.stderr.recv_timeout(left) else {
                panic!("no line on stderr for {what}; stderr: {:#?}", self.seen);
            };
            self.seen.push(line.clone());
            if pred(&line) {
                return line;
            }
        }
    }

    /// Kills it at once (SIGKILL), as a crash would.
    pub(crate) fn kill(mut self) {
        self.child.kill().expect("kill");
        self.child.wait().expect("wait");
    }

    /// Waits up to `limit` for it to exit by itself; whether it did.
    pub(crate) fn exits_within(&mut self, limit: Duration) -> bool {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if self.child.try_wait().expect("try_wait").is_some() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }

    /// SIGTERM, then [`finish`](Self::finish).
    pub(crate) fn terminate(self) -> Finished {
        signal(self.pid(), "TERM");
        self.finish()
    }

    /// Waits for it to exit (killing it after [`LIMIT`]).
    pub(crate) fn finish(self) -> Finished {
        self.finish_within(LIMIT)
    }

    /// Waits up to `limit` for it to exit; its stdout, and its stderr
    /// after the lines already [`seen`](Self::seen).
    pub(crate) fn finish_within(mut self, limit: Duration) -> Finished {
        let stdout = match std::mem::replace(&mut self.stdout, Output::Closed) {
            // Read while it exits: a full pipe would keep it from exiting.
            Output::Unread(pipe) => Output::Read(read_all(pipe)),
            other => other,
        };
        let status = wait(&mut self.child, limit);
        let stdout = match stdout {
            Output::Read(reader) => reader.join().expect("stdout reader"),
            Output::Lines(lines) => drain(&lines),
            Output::Unread(_) | Output::Closed => String::new(),
        };
        Finished {
            status,
            stdout,
            stderr: drain(&self.stderr),
        }
    }
}

impl Drop for Started {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The lines of `child`'s piped stderr, as a thread reads them.
pub(crate) fn stderr_lines(child: &mut Child) -> mpsc::Receiver<String> {
    lines(child.stderr.take().expect("stderr"))
}

/// The lines of `from`, as a thread reads them.
fn lines(from: impl Read + Send + 'static) -> mpsc::Receiver<String> {
    let (tx, lines) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(from).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    lines
}

/// The lines still to come from `lines`, up to the end of the stream (or a
/// pause of 5 s), joined by line breaks.
fn drain(lines: &mpsc::Receiver<String>) -> String {
    let mut all = Vec::new();
    while let Ok(line) = lines.recv_timeout(Duration::from_secs(5)) {
        all.push(line);
    }
    all.join("\n")
}

/// Sends `signal` (a name for kill(1): TERM, INT) to process `pid`.
pub(crate) fn signal(pid: u32, signal: &str) {
    let status = Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(pid.to_string())
        .status()
        .expect("run kill");
    assert!(status.success(), "kill -{signal} {pid}");
}

fn read_all(mut from: impl Read + Send + 'static) -> JoinHandle<String> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = from.read_to_end(&mut bytes);
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

/// Waits up to `limit` for `child` to exit, then kills it and panics.
pub(crate) fn wait(child: &mut Child, limit: Duration) -> ExitStatus {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            return status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("eventcast did not exit within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}
