//! One client's session: reads its lines, runs its commands, writes the
//! answers and the events it streams. One task per client.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::tcp::OwnedWriteHalf;
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tracing::debug;

use super::cmd::{self, Context};
use super::server::State;
use super::telnet::{Line, LineReader};
use super::Counters;
use crate::event::Event;
use crate::extjson::EventJson;
use crate::listeners::ListenerId;
use crate::node::{Eventcast, Shared, WeakEventcast};
use crate::notice::Notice;

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
    pub(super) shared: Arc<Shared>,
    pub(super) state: Arc<State>,
}

impl Drop for Peer {
    fn drop(&mut self) {
        let clients = self.state.leave(self.id);
        debug!(target: "eventcast::repl", addr = %self.addr, client = self.id, clients, "REPL client disconnected");
        self.shared.notify(Notice::ReplClientDisconnected {
            addr: self.addr,
            clients,
        });
    }
}

/// An event for a streaming client, from one of its listeners.
pub(super) struct Streamed {
    pub(super) event: Event,
    pub(super) once: bool,
    /// The name or pattern the listener streams (a pattern's events have
    /// other names).
    pub(super) stream: Arc<str>,
}

/// A listener a session added to the node.
#[derive(Clone, Copy, Debug)]
pub(super) struct Stream {
    pub(super) listener: ListenerId,
    pub(super) once: bool,
}

/// What a session's commands may change.
pub(super) struct Session {
    pub(super) id: u64,
    /// Listeners this session added, by event name or pattern.
    pub(super) streams: BTreeMap<String, Vec<Stream>>,
    /// Where its listeners put events (bounded).
    events: mpsc::Sender<Streamed>,
    /// Events its listeners dropped since the client was last told.
    dropped: Arc<AtomicU64>,
    counters: Arc<Counters>,
    /// Set by `quit`.
    pub(super) quit: bool,
}

impl Session {
    /// Adds a listener that streams the events of the name or pattern
    /// `name` into this session; fails on a bad pattern.
    pub(super) fn add_stream(
        &mut self,
        node: &Eventcast,
        name: &str,
        once: bool,
    ) -> Result<(), crate::error::Error> {
        let stream: Arc<str> = name.into();
        let events = self.events.clone();
        let dropped = self.dropped.clone();
        let counters = self.counters.clone();
        // Runs on the node's task: never waits.
        let listener = move |event: &Event| {
            let streamed = Streamed {
                event: event.clone(),
                once,
                stream: stream.clone(),
            };
            if let Err(mpsc::error::TrySendError::Full(_)) = events.try_send(streamed) {
                dropped.fetch_add(1, Ordering::Relaxed);
                Counters::add(&counters.events_dropped);
            }
        };
        let listener = if once {
            node.once(name, listener)?
        } else {
            node.on(name, listener)?
        };
        self.streams
            .entry(name.to_owned())
            .or_default()
            .push(Stream { listener, once });
        Ok(())
    }

    /// Removes this session's listeners of `name`, or all of them; returns
    /// how many were still registered.
    pub(super) fn remove_streams(&mut self, node: &Eventcast, name: Option<&str>) -> usize {
        let names: Vec<String> = match name {
            Some(name) => vec![name.to_owned()],
            None => self.streams.keys().cloned().collect(),
        };
        let mut removed = 0;
        for name in names {
            for stream in self.streams.remove(&name).unwrap_or_default() {
                if node.off(&name, stream.listener) {
                    removed += 1;
                }
            }
        }
        removed
    }

    /// The event names streamed, for `clients`.
    pub(super) fn stream_names(&self) -> Vec<String> {
        self.streams.keys().cloned().collect()
    }

    /// A `once` listener of the name or pattern `name` fired: forget it.
    fn once_fired(&mut self, name: &str) {
        if let Some(list) = self.streams.get_mut(name) {
            if let Some(i) = list.iter().position(|s| s.once) {
                list.remove(i);
            }
            if list.is_empty() {
                self.streams.remove(name);
            }
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
    let (events, mut streamed) = mpsc::channel(config.output_queue);
    let mut session = Session {
        id: peer.id,
        streams: BTreeMap::new(),
        events,
        dropped: Arc::new(AtomicU64::new(0)),
        counters: peer.state.counters.clone(),
        quit: false,
    };
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
                    if out.at_prompt {
                        text.push_str("\r\n");
                    }
                    let dropped = session.dropped.swap(0, Ordering::Relaxed);
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
                        text.push_str(&EventJson(&item.event).to_line());
                        text.push_str("\r\n");
                        Counters::add(&session.counters.events_streamed);
                        written += 1;
                        if written < EVENT_BATCH {
                            next = streamed.try_recv().ok();
                        }
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
    let command = match cmd::Command::parse(&text) {
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
