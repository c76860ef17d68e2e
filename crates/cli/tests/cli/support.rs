//! Drives the built `eventcast` binary as a user would, with time limits, so
//! that a broken binary fails a test instead of hanging it.

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, ChildStdout, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// The binary under test.
pub(crate) const BIN: &str = env!("CARGO_BIN_EXE_eventcast");

/// How long any one run of the binary may take.
pub(crate) const LIMIT: Duration = Duration::from_secs(15);

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

/// `eventcast emit --port PORT ARGS...`, run to the end.
pub(crate) fn emit(port: u16, args: &[&str]) -> Finished {
    let mut cmd = eventcast();
    cmd.args(["emit", "--port", &port.to_string()]).args(args);
    let done = run(cmd, b"");
    assert!(done.status.success(), "emit {args:?} failed: {done:?}");
    done
}

/// A running `eventcast listen` that said it is listening.
pub(crate) struct Listener {
    child: Child,
    stdout: Output,
    stderr: mpsc::Receiver<String>,
    /// The port it listens on (from its "listening" line).
    pub(crate) port: u16,
    /// Its "listening" line.
    pub(crate) ready: String,
}

/// What becomes of a listener's stdout.
enum Output {
    /// A thread reads it all.
    Read(JoinHandle<String>),
    /// Nobody reads it until [`Listener::finish`]: the pipe fills up.
    Unread(ChildStdout),
    /// Closed at once.
    Closed,
}

/// Starts `eventcast listen ARGS...` and waits for its "listening" line.
pub(crate) fn listen(args: &[&str]) -> Listener {
    start_listener(args, &[], Reading::Now)
}

/// Like [`listen`], with these environment variables set.
pub(crate) fn listen_with_env(env: &[(&str, &str)], args: &[&str]) -> Listener {
    start_listener(args, env, Reading::Now)
}

/// Like [`listen`], with its stdout closed at once (as `| head -0` would).
pub(crate) fn listen_to_closed_stdout(args: &[&str]) -> Listener {
    start_listener(args, &[], Reading::Never)
}

/// Like [`listen`], with nobody reading its stdout until
/// [`finish`](Listener::finish): a reader that falls behind.
pub(crate) fn listen_read_late(args: &[&str]) -> Listener {
    start_listener(args, &[], Reading::Late)
}

/// When the test reads a listener's stdout.
enum Reading {
    Now,
    Late,
    Never,
}

fn start_listener(args: &[&str], env: &[(&str, &str)], reading: Reading) -> Listener {
    let mut child = eventcast()
        .envs(env.iter().copied())
        .arg("listen")
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start eventcast listen");
    let stdout = child.stdout.take().expect("stdout");
    let stdout = match reading {
        Reading::Now => Output::Read(read_all(stdout)),
        Reading::Late => Output::Unread(stdout),
        Reading::Never => Output::Closed,
    };
    let stderr = stderr_lines(&mut child);
    let mut listener = Listener {
        child,
        stdout,
        stderr,
        port: 0,
        ready: String::new(),
    };
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut before = Vec::new();
    let ready = loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match listener.stderr.recv_timeout(left) {
            Ok(line) if line.starts_with("listening") => break line,
            Ok(line) => before.push(line),
            Err(_) => panic!("listen {args:?} never said it was listening; stderr: {before:?}"),
        }
    };
    // "listening on 224.0.0.1:PORT (...": the group address ends at the space.
    let group = ready
        .strip_prefix("listening on ")
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("unexpected listening line: {ready}"));
    let group: std::net::SocketAddr = group
        .parse()
        .unwrap_or_else(|e| panic!("{group} in {ready:?}: {e}"));
    listener.port = group.port();
    listener.ready = ready;
    listener
}

impl Listener {
    /// The process id, for signals.
    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits for it to exit (killing it after [`LIMIT`]); what it wrote
    /// after the "listening" line.
    pub(crate) fn finish(mut self) -> Finished {
        let reader = match std::mem::replace(&mut self.stdout, Output::Closed) {
            Output::Read(reader) => Some(reader),
            Output::Unread(stdout) => Some(read_all(stdout)),
            Output::Closed => None,
        };
        let status = wait(&mut self.child, LIMIT);
        let stdout = reader
            .map(|t| t.join().expect("stdout reader"))
            .unwrap_or_default();
        // The reader ends at end of file, soon after the process.
        let mut stderr = Vec::new();
        while let Ok(line) = self.stderr.recv_timeout(Duration::from_secs(5)) {
            stderr.push(line);
        }
        Finished {
            status,
            stdout,
            stderr: stderr.join("\n"),
        }
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        // A failed test must not leave a listener running.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The lines of `child`'s piped stderr, as a thread reads them.
pub(crate) fn stderr_lines(child: &mut Child) -> mpsc::Receiver<String> {
    let (tx, lines) = mpsc::channel();
    let stderr = BufReader::new(child.stderr.take().expect("stderr")).lines();
    std::thread::spawn(move || {
        for line in stderr.map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    lines
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
