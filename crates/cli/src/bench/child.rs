//! A role process started by the bench: its stdout read line by line, its
//! stderr kept for the error message should it fail, its stdin held so
//! that closing it tells the role to finish.

use std::io::{BufRead as _, BufReader, Read as _};
use std::path::Path;
use std::process::{ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context as _};
use serde::de::DeserializeOwned;

/// A running child process.
pub(crate) struct Child {
    what: String,
    process: std::process::Child,
    stdin: Option<ChildStdin>,
    lines: mpsc::Receiver<String>,
    stderr: Option<JoinHandle<String>>,
}

impl Child {
    /// Starts `program ARGS...` with `env` added to the environment.
    pub(crate) fn spawn(
        what: impl Into<String>,
        program: &Path,
        args: &[String],
        env: &[(&str, String)],
    ) -> anyhow::Result<Child> {
        let what = what.into();
        let mut command = Command::new(program);
        command
            .args(args)
            .env_remove("EVENTCAST_LOG")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (key, value) in env {
            command.env(key, value);
        }
        let mut process = command
            .spawn()
            .with_context(|| format!("cannot start {what} ({})", program.display()))?;
        let stdin = process.stdin.take();
        let (tx, lines) = mpsc::channel();
        let stdout = process.stdout.take().context("child stdout")?;
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut err = process.stderr.take().context("child stderr")?;
        let stderr = std::thread::spawn(move || {
            let mut bytes = Vec::new();
            let _ = err.read_to_end(&mut bytes);
            String::from_utf8_lossy(&bytes).into_owned()
        });
        Ok(Child {
            what,
            process,
            stdin,
            lines,
            stderr: Some(stderr),
        })
    }

    /// Waits up to `limit` for a line that is `prefix` or starts with
    /// `prefix` and a space; the rest of it. Other lines are skipped.
    pub(crate) fn line(&mut self, prefix: &str, limit: Duration) -> anyhow::Result<String> {
        let deadline = Instant::now() + limit;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) if line == prefix => return Ok(String::new()),
                Ok(line) => {
                    if let Some(rest) = line.strip_prefix(prefix).and_then(|r| r.strip_prefix(' '))
                    {
                        return Ok(rest.to_owned());
                    }
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    return Err(self.failed(&format!("no `{prefix}` line within {limit:?}")));
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    return Err(self.failed(&format!("ended before its `{prefix}` line")));
                }
            }
        }
    }

    /// The JSON after `prefix` on the next such line.
    pub(crate) fn json<T: DeserializeOwned>(
        &mut self,
        prefix: &str,
        limit: Duration,
    ) -> anyhow::Result<T> {
        let text = self.line(prefix, limit)?;
        serde_json::from_str(&text)
            .with_context(|| format!("{}: unreadable `{prefix}` line {text:?}", self.what))
    }

    /// Closes its stdin: a controlled role takes that as the word to finish.
    pub(crate) fn release(&mut self) {
        self.stdin = None;
    }

    /// Releases it and waits up to `limit` for it to exit successfully.
    pub(crate) fn finish(mut self, limit: Duration) -> anyhow::Result<()> {
        self.release();
        let deadline = Instant::now() + limit;
        loop {
            match self.process.try_wait() {
                Ok(Some(status)) if status.success() => return Ok(()),
                Ok(Some(status)) => return Err(self.failed(&format!("exited with {status}"))),
                Ok(None) if Instant::now() >= deadline => {
                    return Err(self.failed(&format!("did not exit within {limit:?}")));
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(5)),
                Err(e) => bail!("{}: cannot wait for it: {e}", self.what),
            }
        }
    }

    /// Ends the process (if it still runs) and describes the failure with
    /// what it wrote to stderr.
    fn failed(&mut self, why: &str) -> anyhow::Error {
        let _ = self.process.kill();
        let _ = self.process.wait();
        let stderr = self
            .stderr
            .take()
            .and_then(|t| t.join().ok())
            .unwrap_or_default();
        let stderr = stderr.trim();
        if stderr.is_empty() {
            anyhow!("{}: {why}", self.what)
        } else {
            anyhow!("{}: {why}; its stderr:\n{stderr}", self.what)
        }
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        // A bench that failed half-way leaves no role running.
        if matches!(self.process.try_wait(), Ok(None)) {
            let _ = self.process.kill();
            let _ = self.process.wait();
        }
    }
}
