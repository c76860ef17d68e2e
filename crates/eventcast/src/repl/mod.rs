//! The operator's REPL: a small command language over TCP that reaches every
//! method of a running node, for `telnet`, `nc` or `socat`.
//!
//! ```text
//! $ telnet 127.0.0.1 20001
//! eventcast@host> emit greet hello 5 '{"a": 1}'
//! ok: emitted greet with 3 arguments
//! eventcast@host> log-level debug
//! eventcast=debug repl=debug
//! ```
//!
//! # Lifetime
//!
//! The REPL belongs to the node handle, not to a run: it opens at the
//! node's first [`start`](Eventcast::start) when `repl.enabled` is set (or
//! at [`start_repl`](Eventcast::start_repl)), keeps serving while the node
//! is stopped and started again (the `stop` and `start` commands do just
//! that), and closes at [`stop_repl`](Eventcast::stop_repl) or when the last
//! handle is dropped. It holds the node weakly, so an open REPL does not
//! keep a node alive.
//!
//! # Isolation
//!
//! The listener and each client run in tasks of their own. Streamed events
//! reach a client through a bounded queue (`repl.output_queue`); when a
//! client does not keep up, new events for it are dropped and counted
//! ([`ReplStats::events_dropped`]) and the client is told how many, so a
//! slow or stuck client never holds up the node. Input lines are bounded
//! (`repl.max_line_length`) and so is the number of clients
//! (`repl.max_clients`).

mod cmd;
mod config;
mod server;
mod session;
mod telnet;
mod tokens;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::info;

use crate::error::Error;
use crate::node::Eventcast;

pub use config::{ReplConfig, ReplConfigError};

/// The REPL's counters, from [`Eventcast::repl_stats`] (kept across REPL
/// restarts).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ReplStats {
    /// Clients connected now.
    pub clients: usize,
    /// Clients served, in all.
    pub accepted: u64,
    /// Clients turned away because `max_clients` were connected.
    pub rejected: u64,
    /// Connections the system failed to accept.
    pub accept_errors: u64,
    /// Commands run.
    pub commands: u64,
    /// Commands that answered with an error (unknown, bad arguments,
    /// failed).
    pub command_errors: u64,
    /// Input lines refused for being longer than `max_line_length`.
    pub lines_too_long: u64,
    /// Events written to streaming clients.
    pub events_streamed: u64,
    /// Events dropped because a client's output queue was full.
    pub events_dropped: u64,
}

/// The counters behind [`ReplStats`], shared by the REPL's tasks.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    accepted: AtomicU64,
    rejected: AtomicU64,
    accept_errors: AtomicU64,
    commands: AtomicU64,
    command_errors: AtomicU64,
    lines_too_long: AtomicU64,
    events_streamed: AtomicU64,
    events_dropped: AtomicU64,
}

impl Counters {
    fn add(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    fn read(&self, clients: usize) -> ReplStats {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        ReplStats {
            clients,
            accepted: get(&self.accepted),
            rejected: get(&self.rejected),
            accept_errors: get(&self.accept_errors),
            commands: get(&self.commands),
            command_errors: get(&self.command_errors),
            lines_too_long: get(&self.lines_too_long),
            events_streamed: get(&self.events_streamed),
            events_dropped: get(&self.events_dropped),
        }
    }
}

/// Where a node keeps its REPL while it is open. Dropping it (with the
/// node's last handle) closes the REPL.
#[derive(Default)]
pub(crate) struct Slot {
    open: Mutex<Option<Open>>,
    counters: Arc<Counters>,
}

/// An open REPL.
struct Open {
    cancel: CancellationToken,
    tracker: TaskTracker,
    state: Arc<server::State>,
}

impl Slot {
    fn lock(&self) -> MutexGuard<'_, Option<Open>> {
        self.open.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        if let Some(open) = self
            .open
            .get_mut()
            .unwrap_or_else(|e| e.into_inner())
            .take()
        {
            open.cancel.cancel();
        }
    }
}

impl Eventcast {
    /// Opens the REPL on `repl.host` and `repl.port` (a port the system
    /// picks when none is set) and returns its address; returns the address
    /// at once if it is open. [`start`](Self::start) calls it when
    /// `repl.enabled` is set; calling it yourself opens the REPL whatever
    /// that setting, e.g. before the node is started.
    ///
    /// Needs a tokio runtime. Fails if the address cannot be bound.
    pub async fn start_repl(&self) -> Result<SocketAddr, Error> {
        let slot = self.repl_slot();
        let mut open = slot.lock();
        if let Some(open) = open.as_ref() {
            return Ok(open.state.addr);
        }
        let config = self.config().repl.clone();
        let bind = SocketAddr::new(config.host, config.port.unwrap_or(0));
        let listener = std::net::TcpListener::bind(bind)
            .and_then(|l| l.set_nonblocking(true).map(|()| l))
            .and_then(tokio::net::TcpListener::from_std)
            .map_err(|e| Error::io(format!("cannot open the REPL on {bind}"), e))?;
        let addr = listener
            .local_addr()
            .map_err(|e| Error::io("cannot read the REPL's address", e))?;
        let state = Arc::new(server::State::new(
            config,
            addr,
            hostname(),
            slot.counters.clone(),
        ));
        let cancel = CancellationToken::new();
        let tracker = TaskTracker::new();
        tracker.spawn(server::serve(
            listener,
            self.downgrade(),
            self.shared().clone(),
            state.clone(),
            cancel.clone(),
            tracker.clone(),
        ));
        info!(target: "eventcast::repl", %addr, "REPL listening");
        *open = Some(Open {
            cancel,
            tracker,
            state,
        });
        Ok(addr)
    }

    /// Closes the REPL: stops listening, disconnects every client and waits
    /// for its tasks to end. Does nothing if it is closed.
    pub async fn stop_repl(&self) {
        let Some(open) = self.repl_slot().lock().take() else {
            return;
        };
        open.cancel.cancel();
        open.tracker.close();
        open.tracker.wait().await;
        info!(target: "eventcast::repl", addr = %open.state.addr, "REPL closed");
    }

    /// The address the REPL listens on, while it is open.
    pub fn repl_addr(&self) -> Option<SocketAddr> {
        self.repl_slot().lock().as_ref().map(|open| open.state.addr)
    }

    /// How many clients are connected to the REPL now.
    pub fn repl_clients(&self) -> usize {
        self.repl_slot()
            .lock()
            .as_ref()
            .map_or(0, |open| open.state.count())
    }

    /// The REPL's counters.
    pub fn repl_stats(&self) -> ReplStats {
        let slot = self.repl_slot();
        slot.counters.read(self.repl_clients())
    }
}

/// This host's name, for the prompt.
fn hostname() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: the pointer and length describe `buf`, which outlives the
    // call; gethostname writes at most that many bytes.
    let ok = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) } == 0;
    let name = if ok {
        let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
        String::from_utf8_lossy(&buf[..end]).into_owned()
    } else {
        String::new()
    };
    // Only what a prompt can show safely.
    let name: String = name
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_'))
        .collect();
    if name.is_empty() {
        "localhost".to_owned()
    } else {
        name
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_hostname_for_the_prompt() {
        let name = super::hostname();
        assert!(!name.is_empty());
        assert!(!name.contains(char::is_whitespace));
    }
}
