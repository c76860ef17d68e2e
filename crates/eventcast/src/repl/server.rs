//! The REPL's listening task: admits clients up to the limit, runs one task
//! per client, and knows who is connected.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{debug, warn};

use super::{session, Counters, ReplConfig};
use crate::node::{Shared, WeakEventcast};
use crate::notice::Notice;

/// How long to wait after a failed accept (out of file descriptors, most
/// likely) before trying again, so the loop does not spin.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// What the REPL's tasks share.
pub(super) struct State {
    pub(super) config: ReplConfig,
    pub(super) addr: SocketAddr,
    pub(super) hostname: String,
    pub(super) counters: Arc<Counters>,
    clients: Mutex<BTreeMap<u64, Client>>,
    next_id: AtomicU64,
}

/// A connected client, as `clients` lists it.
#[derive(Clone, Debug)]
pub(super) struct Client {
    pub(super) addr: SocketAddr,
    pub(super) since: Instant,
    /// The event names it streams.
    pub(super) streams: Vec<String>,
}

impl State {
    pub(super) fn new(
        config: ReplConfig,
        addr: SocketAddr,
        hostname: String,
        counters: Arc<Counters>,
    ) -> Self {
        Self {
            config,
            addr,
            hostname,
            counters,
            clients: Mutex::new(BTreeMap::new()),
            next_id: AtomicU64::new(1),
        }
    }

    fn lock(&self) -> MutexGuard<'_, BTreeMap<u64, Client>> {
        self.clients.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Registers a client unless `max_clients` are connected; returns its
    /// number and how many are connected with it.
    fn admit(&self, addr: SocketAddr) -> Option<(u64, usize)> {
        let mut clients = self.lock();
        if clients.len() >= self.config.max_clients {
            return None;
        }
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        clients.insert(
            id,
            Client {
                addr,
                since: Instant::now(),
                streams: Vec::new(),
            },
        );
        Some((id, clients.len()))
    }

    /// Forgets a client; returns how many are left.
    pub(super) fn leave(&self, id: u64) -> usize {
        let mut clients = self.lock();
        clients.remove(&id);
        clients.len()
    }

    /// Clients connected now.
    pub(super) fn count(&self) -> usize {
        self.lock().len()
    }

    /// Every connected client, by number.
    pub(super) fn clients(&self) -> Vec<(u64, Client)> {
        self.lock().iter().map(|(&id, c)| (id, c.clone())).collect()
    }

    /// Records the event names client `id` streams.
    pub(super) fn set_streams(&self, id: u64, streams: Vec<String>) {
        if let Some(client) = self.lock().get_mut(&id) {
            client.streams = streams;
        }
    }

    /// The prompt: `eventcast@HOSTNAME> `.
    pub(super) fn prompt(&self) -> String {
        format!("eventcast@{}> ", self.hostname)
    }
}

/// Accepts clients until cancelled.
pub(super) async fn serve(
    listener: TcpListener,
    node: WeakEventcast,
    shared: Arc<Shared>,
    state: Arc<State>,
    cancel: CancellationToken,
    tracker: TaskTracker,
) {
    loop {
        let accepted = tokio::select! {
            _ = cancel.cancelled() => break,
            accepted = listener.accept() => accepted,
        };
        match accepted {
            Ok((stream, addr)) => admit(stream, addr, &node, &shared, &state, &cancel, &tracker),
            Err(e) => {
                Counters::add(&state.counters.accept_errors);
                warn!(target: "eventcast::repl", error = %e, "cannot accept a REPL client");
                tokio::select! {
                    _ = cancel.cancelled() => break,
                    _ = tokio::time::sleep(ACCEPT_BACKOFF) => {}
                }
            }
        }
    }
    debug!(target: "eventcast::repl", addr = %state.addr, "REPL listener ends");
}

fn admit(
    stream: TcpStream,
    addr: SocketAddr,
    node: &WeakEventcast,
    shared: &Arc<Shared>,
    state: &Arc<State>,
    cancel: &CancellationToken,
    tracker: &TaskTracker,
) {
    let Some((id, clients)) = state.admit(addr) else {
        Counters::add(&state.counters.rejected);
        debug!(target: "eventcast::repl", %addr, "REPL client turned away: too many clients");
        let text = format!(
            "error: too many clients ({} connected, the limit); try again later\r\n",
            state.config.max_clients
        );
        // Best effort, never waiting: the connection closes right after.
        let _ = stream.try_write(text.as_bytes());
        return;
    };
    Counters::add(&state.counters.accepted);
    debug!(target: "eventcast::repl", %addr, client = id, clients, "REPL client connected");
    shared.notify(Notice::ReplClientConnected { addr, clients });
    tracker.spawn(session::run(
        stream,
        session::Peer {
            id,
            addr,
            node: node.clone(),
            shared: shared.clone(),
            state: state.clone(),
        },
        cancel.child_token(),
    ));
}
