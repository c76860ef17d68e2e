//! What the REPL's tasks share: its settings and address, its counters,
//! and who is connected.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use crate::repl::stats::{Counters, ReplStats};
use crate::repl_config::ReplConfig;

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
    pub(super) fn admit(&self, addr: SocketAddr) -> Option<(u64, usize)> {
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

    /// The REPL's counters, with the clients connected now.
    pub(super) fn stats(&self) -> ReplStats {
        self.counters.read(self.count())
    }

    /// The prompt: `eventcast@HOSTNAME> `.
    pub(super) fn prompt(&self) -> String {
        format!("eventcast@{}> ", self.hostname)
    }
}
