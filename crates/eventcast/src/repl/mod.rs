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
//! # A layer on the node
//!
//! The REPL is built on the node's public API only, as an application
//! would be: its commands call [`Eventcast`]'s methods, it reports its
//! clients with [`Eventcast::notify`], and it follows the node's lifecycle
//! as a [`Service`]. The node knows nothing of it. This module is built
//! with the `repl` feature (on by default).
//!
//! # Lifetime
//!
//! The REPL belongs to the node handle, not to a run: it opens at the
//! node's first [`start`](Eventcast::start) when `repl.enabled` is set (or
//! at [`Repl::open`]), keeps serving while the node is stopped and started
//! again (the `stop` and `start` commands do just that), and closes at
//! [`Repl::close`] or when the last handle is dropped. It holds the node
//! weakly, so an open REPL does not keep a node alive.
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
mod server;
mod session;
mod state;
mod stats;
mod streams;
mod telnet;
mod tokens;

pub use stats::ReplStats;

use std::marker::PhantomData;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};

use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::info;

use crate::error::Error;
use crate::host::hostname;
use crate::node::{Eventcast, WeakEventcast};
use crate::repl::state::State;
use crate::repl::stats::Counters;
use crate::repl_config::ReplConfig;
use crate::service::Service;

/// The REPL as a service of its node: it opens at the node's start when
/// `repl.enabled` is set, and closes when the node's last handle drops it.
pub(crate) struct ReplService {
    node: WeakEventcast,
    config: ReplConfig,
    open: Mutex<Option<Open>>,
    counters: Arc<Counters>,
}

/// An open REPL.
struct Open {
    cancel: CancellationToken,
    tracker: TaskTracker,
    state: Arc<State>,
}

impl ReplService {
    /// The (closed) REPL of `node`, with the node's REPL settings.
    pub(crate) fn new(node: &Eventcast) -> Self {
        Self {
            node: node.downgrade(),
            config: node.config().repl.clone(),
            open: Mutex::new(None),
            counters: Arc::default(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Option<Open>> {
        self.open.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Opens the REPL unless it is open; returns its address.
    fn open(&self) -> Result<SocketAddr, Error> {
        let mut open = self.lock();
        if let Some(open) = open.as_ref() {
            return Ok(open.state.addr);
        }
        let config = self.config.clone();
        let bind = SocketAddr::new(config.host, config.port.unwrap_or(0));
        let listener = std::net::TcpListener::bind(bind)
            .and_then(|l| l.set_nonblocking(true).map(|()| l))
            .and_then(tokio::net::TcpListener::from_std)
            .map_err(|source| Error::Io {
                context: format!("cannot open the REPL on {bind}"),
                source,
            })?;
        let addr = listener.local_addr().map_err(|source| Error::Io {
            context: "cannot read the REPL's address".to_owned(),
            source,
        })?;
        let state = Arc::new(State::new(
            config,
            addr,
            prompt_name(&hostname()),
            self.counters.clone(),
        ));
        let cancel = CancellationToken::new();
        let tracker = TaskTracker::new();
        tracker.spawn(crate::repl::server::serve(
            listener,
            self.node.clone(),
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

    fn addr(&self) -> Option<SocketAddr> {
        self.lock().as_ref().map(|open| open.state.addr)
    }

    fn clients(&self) -> usize {
        self.lock().as_ref().map_or(0, |open| open.state.count())
    }
}

impl Service for ReplService {
    fn on_start(&self) -> Result<(), Error> {
        if self.config.enabled {
            self.open()?;
        }
        Ok(())
    }
}

impl Drop for ReplService {
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

/// A node's operator's REPL, from `Eventcast::repl`: open it, close it,
/// and read where it listens and what it counted.
///
/// ```no_run
/// # async fn f() -> Result<(), eventcast::Error> {
/// use eventcast::{Config, Eventcast};
///
/// let node = Eventcast::new(Config::default().port(41234).repl_enabled(true))?;
/// node.start().await?; // opens the REPL too
/// if let Some(addr) = node.repl().addr() {
///     println!("telnet {} {}", addr.ip(), addr.port());
/// }
/// node.repl().close().await;
/// # Ok(()) }
/// ```
pub struct Repl<'a> {
    service: Arc<ReplService>,
    node: PhantomData<&'a Eventcast>,
}

impl Repl<'_> {
    pub(crate) fn new(service: Arc<ReplService>) -> Self {
        Self {
            service,
            node: PhantomData,
        }
    }

    /// Opens the REPL on `repl.host` and `repl.port` (a port the system
    /// picks when none is set) and returns its address; returns the address
    /// at once if it is open. [`start`](Eventcast::start) opens it when
    /// `repl.enabled` is set; calling this opens it whatever that setting,
    /// e.g. before the node is started.
    ///
    /// Needs a tokio runtime. Fails if the address cannot be bound.
    pub async fn open(&self) -> Result<SocketAddr, Error> {
        self.service.open()
    }

    /// Closes the REPL: stops listening, disconnects every client and waits
    /// for its tasks to end. Does nothing if it is closed.
    pub async fn close(&self) {
        let Some(open) = self.service.lock().take() else {
            return;
        };
        open.cancel.cancel();
        open.tracker.close();
        open.tracker.wait().await;
        info!(target: "eventcast::repl", addr = %open.state.addr, "REPL closed");
    }

    /// The address the REPL listens on, while it is open.
    pub fn addr(&self) -> Option<SocketAddr> {
        self.service.addr()
    }

    /// How many clients are connected to the REPL now.
    pub fn clients(&self) -> usize {
        self.service.clients()
    }

    /// The REPL's counters.
    pub fn stats(&self) -> ReplStats {
        self.service.counters.read(self.clients())
    }
}

impl std::fmt::Debug for Repl<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Repl")
            .field("addr", &self.addr())
            .finish_non_exhaustive()
    }
}

/// Only what a prompt can show safely of a host name (`localhost` if
/// nothing is left).
fn prompt_name(hostname: &str) -> String {
    let name: String = hostname
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
    use super::prompt_name;

    #[test]
    fn the_prompt_shows_only_safe_characters() {
        assert_eq!(prompt_name("box-1.lan_x"), "box-1.lan_x");
        assert_eq!(prompt_name("evil\x1b[2J host\r\n"), "evil2Jhost");
        assert_eq!(prompt_name(" \t"), "localhost");
    }
}
