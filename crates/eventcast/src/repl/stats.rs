//! The REPL's counters: the public [`ReplStats`] and the atomics behind
//! them, shared by the REPL's tasks.

use std::sync::atomic::{AtomicU64, Ordering};

/// The REPL's counters, from `node.repl().stats()` (kept across REPL
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
pub(super) struct Counters {
    pub(super) accepted: AtomicU64,
    pub(super) rejected: AtomicU64,
    pub(super) accept_errors: AtomicU64,
    pub(super) commands: AtomicU64,
    pub(super) command_errors: AtomicU64,
    pub(super) lines_too_long: AtomicU64,
    pub(super) events_streamed: AtomicU64,
    pub(super) events_dropped: AtomicU64,
}

impl Counters {
    pub(super) fn add(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    pub(super) fn read(&self, clients: usize) -> ReplStats {
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
