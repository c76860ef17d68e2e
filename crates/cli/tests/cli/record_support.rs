//! Running `record`, `play` and `top` as a user would: started, waited for
//! their first line on stderr, stopped by a signal.

use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::support::{eventcast, stderr_lines, wait, Finished, LIMIT};

/// A running command that said it started.
pub(crate) struct Started {
    child: Child,
    /// Its stdout, line by line.
    pub(crate) stdout: mpsc::Receiver<String>,
    stderr: mpsc::Receiver<String>,
    /// Its first line on stderr.
    pub(crate) ready: String,
}

/// Starts `eventcast ARGS...` and waits for a stderr line starting with
/// `prefix`.
pub(crate) fn start(args: &[&str], prefix: &str) -> Started {
    let mut child = eventcast()
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start eventcast");
    let stderr = stderr_lines(&mut child);
    let (tx, stdout) = mpsc::channel();
    let out = BufReader::new(child.stdout.take().expect("stdout")).lines();
    std::thread::spawn(move || {
        for line in out.map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut before = Vec::new();
    let ready = loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match stderr.recv_timeout(left) {
            Ok(line) if line.starts_with(prefix) => break line,
            Ok(line) => before.push(line),
            Err(_) => panic!("{args:?} never said {prefix:?}; stderr: {before:?}"),
        }
    };
    Started {
        child,
        stdout,
        stderr,
        ready,
    }
}

impl Started {
    /// The process id, for signals.
    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
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

    /// Waits for it to exit (killing it after [`LIMIT`]).
    pub(crate) fn finish(self) -> Finished {
        self.finish_within(LIMIT)
    }

    /// Waits up to `limit` for it to exit.
    pub(crate) fn finish_within(mut self, limit: Duration) -> Finished {
        let status = wait(&mut self.child, limit);
        let collect = |rx: &mpsc::Receiver<String>| {
            let mut lines = Vec::new();
            while let Ok(line) = rx.recv_timeout(Duration::from_secs(5)) {
                lines.push(line);
            }
            lines.join("\n")
        };
        Finished {
            status,
            stdout: collect(&self.stdout),
            stderr: collect(&self.stderr),
        }
    }
}

impl Drop for Started {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The port in a first line such as `recording on 224.0.0.1:PORT (...`.
pub(crate) fn port_of(ready: &str) -> u16 {
    ready
        .split_whitespace()
        .nth(2)
        .and_then(|group| group.parse::<std::net::SocketAddr>().ok())
        .unwrap_or_else(|| panic!("no group address in {ready:?}"))
        .port()
}

/// `eventcast ARGS...` run to the end.
pub(crate) fn run_args(args: &[&str]) -> Finished {
    let mut cmd = eventcast();
    cmd.args(args);
    crate::support::run(cmd, b"")
}
