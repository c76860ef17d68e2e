//! One client's session: reads its lines, runs its commands, writes the
//! answers and the events it streams. One task per client.

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::tcp::OwnedWriteHalf;
use tokio::net::TcpStream;
use tokio_util::sync::CancellationToken;
use tracing::debug;

use crate::extjson::EventJson;
use crate::node::WeakEventcast;
use crate::notice::Notice;
use crate::repl::cmd::context::Context;
use crate::repl::cmd::Command;
use crate::repl::state::State;
use crate::repl::stats::Counters;
use crate::repl::streams::Session;
use crate::repl::telnet::{Line, LineReader};

/// Bytes read from the client at a time.
const READ_CHUNK: usize = 4096;

/// Streamed events written in one go before the prompt is shown again.
const EVENT_BATCH: usize = 64;

/// Who the client is, and what it reaches. Dropping it (when the session
/// ends, however it ends) unregisters the client and tells the
/// application.
pub(super) struct Peer {
    pub(super) id: u64,
    pub(super) addr: SocketAddr,
    pub(super) node: WeakEventcast,
    pub(super) state: Arc<State>,
}

impl Drop for Peer {
    fn drop(&mut self) {
        let clients = self.state.leave(self.id);
        debug!(target: "eventcast::repl", addr = %self.addr, client = self.id, clients, "REPL client disconnected");
        // Nobody to tell once the node is gone.
        if let Some(node) = self.node.upgrade() {
            node.notify(Notice::ReplClientDisconnected {
                addr: self.addr,
                clients,
            });
        }
    }
}

/// The client went away, or the REPL is closing.
struct Gone;

/// The writing side, with the prompt state.
struct Output {
    writer: OwnedWriteHalf,
    cancel: CancellationToken,
    prompt: String,
    /// The last thing written was the prompt.
    at_prompt: bool,
}

impl Output {
    async fn write(&mut self, text: &str) -> Result<(), Gone> {
        self.write_bytes(text.as_bytes()).await?;
        self.at_prompt = text.ends_with(&self.prompt);
        Ok(())
    }

    async fn write_bytes(&mut self, bytes: &[u8]) -> Result<(), Gone> {
        tokio::select! {
            _ = self.cancel.cancelled() => Err(Gone),
            written = self.writer.write_all(bytes) => written.map_err(|_| Gone),
        }
    }

    /// Writes a command's answer (if any) and the prompt.
    async fn answer(&mut self, answer: Option<Result<String, String>>) -> Result<(), Gone> {
        let mut text = match answer {
            None => String::new(),
            Some(Ok(text)) if text.is_empty() => String::new(),
            Some(Ok(text)) => crlf(&text),
            Some(Err(error)) => crlf(&format!("error: {error}")),
        };
        text.push_str(&self.prompt);
        self.write(&text).await
    }
}

/// Serves one client until it leaves, says `quit`, or the REPL closes.
pub(super) async fn run(stream: TcpStream, peer: Peer, cancel: CancellationToken) {
    let _ = stream.set_nodelay(true);
    let (mut reader, writer) = stream.into_split();
    let config = &peer.state.config;
    let (mut session, mut streamed) =
        Session::new(peer.id, config.output_queue, peer.state.counters.clone());
    let mut out = Output {
        writer,
        cancel: cancel.clone(),
        prompt: peer.state.prompt(),
        at_prompt: false,
    };
    let mut lines = LineReader::new(config.max_line_length);
    let mut buf = vec![0u8; READ_CHUNK];
    let mut pending = Vec::new();
    let mut replies = Vec::new();

    let served: Result<(), Gone> = async {
        out.write(&greeting(&peer)).await?;
        while !session.quit {
            tokio::select! {
                _ = cancel.cancelled() => return Err(Gone),
                read = reader.read(&mut buf) => {
                    let n = match read {
                        Ok(0) | Err(_) => {
                            if lines.is_mid_line() {
                                debug!(target: "eventcast::repl", addr = %peer.addr, "REPL client left mid-line; the partial line is dropped");
                            }
                            return Err(Gone);
                        }
                        Ok(n) => n,
                    };
                    lines.feed(&buf[..n], &mut pending, &mut replies);
                    if !replies.is_empty() {
                        out.write_bytes(&replies).await?;
                        replies.clear();
                    }
                    for line in std::mem::take(&mut pending) {
                        if session.quit {
                            break;
                        }
                        let answer = handle(line, &peer, &mut session).await?;
                        if session.quit {
                            out.write(&crlf(&answer.and_then(Result::ok).unwrap_or_default())).await?;
                        } else {
                            out.answer(answer).await?;
                        }
                    }
                }
                Some(first) = streamed.recv() => {
                    let mut text = String::new();
                    let dropped = session.take_dropped();
                    if dropped > 0 {
                        text.push_str(&format!(
                            "warning: {dropped} events dropped: this session did not keep up\r\n"
                        ));
                    }
                    let mut next = Some(first);
                    let mut written = 0;
                    while let Some(item) = next.take() {
                        if item.once {
                            session.once_fired(&item.stream);
                            peer.state.set_streams(session.id, session.stream_names());
                        }
                        // Written already, for another of the session's streams.
                        if !item.duplicate {
                            text.push_str(&EventJson(&item.event).to_line());
                            text.push_str("\r\n");
                            Counters::add(&peer.state.counters.events_streamed);
                        }
                        written += 1;
                        if written < EVENT_BATCH {
                            next = streamed.try_recv().ok();
                        }
                    }
                    // Only a `once` already written for another stream.
                    if text.is_empty() {
                        continue;
                    }
                    if out.at_prompt {
                        text.insert_str(0, "\r\n");
                    }
                    text.push_str(&out.prompt);
                    out.write(&text).await?;
                }
            }
        }
        Ok(())
    }
    .await;
    let _ = served;
    if !cancel.is_cancelled() {
        let _ = out.writer.shutdown().await;
    }
    if let Some(node) = peer.node.upgrade() {
        session.remove_streams(&node, None);
    }
}

/// Runs one line; `None` when there is nothing to answer (an empty line).
async fn handle(
    line: Line,
    peer: &Peer,
    session: &mut Session,
) -> Result<Option<Result<String, String>>, Gone> {
    let counters = &peer.state.counters;
    let text = match line {
        Line::TooLong => {
            Counters::add(&counters.lines_too_long);
            return Ok(Some(Err(format!(
                "line longer than {} bytes, ignored",
                peer.state.config.max_line_length
            ))));
        }
        Line::Text(text) => text,
    };
    let command = match Command::parse(&text) {
        Ok(None) => return Ok(None),
        Ok(Some(command)) => command,
        Err(error) => {
            Counters::add(&counters.command_errors);
            return Ok(Some(Err(error)));
        }
    };
    // The node is gone: the REPL is closing.
    let node = peer.node.upgrade().ok_or(Gone)?;
    Counters::add(&counters.commands);
    debug!(target: "eventcast::repl", addr = %peer.addr, command = command.name(), "REPL command");
    let mut cx = Context {
        node: &node,
        session,
        server: &peer.state,
    };
    let answer = command.run(&mut cx).await;
    if answer.is_err() {
        Counters::add(&counters.command_errors);
    }
    peer.state.set_streams(session.id, session.stream_names());
    Ok(Some(answer))
}

fn greeting(peer: &Peer) -> String {
    let status = match peer.node.upgrade() {
        Some(node) if node.is_running() => format!("node {} running", node.id()),
        Some(node) => format!("node {} stopped", node.id()),
        None => "node gone".to_owned(),
    };
    format!(
        "eventcast REPL ({status}). `help` lists the commands, `quit` leaves.\r\n{}",
        peer.state.prompt()
    )
}

/// Text with `\r\n` line ends, ending with one.
fn crlf(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    for line in text.lines() {
        out.push_str(line);
        out.push_str("\r\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::crlf;

    #[test]
    fn line_ends_for_telnet() {
        assert_eq!(crlf("a\nb"), "a\r\nb\r\n");
        assert_eq!(crlf("a\r\nb\n"), "a\r\nb\r\n");
        assert_eq!(crlf(""), "");
    }
}
