//! How many NACKs a receiver may send: a token bucket per sender, and one
//! over every sender.
//!
//! On a hostile LAN every datagram a stranger sends could make every node
//! answer it with a NACK to the whole group. The budgets bound that. A
//! sender earns its NACKs: one per [`DATAGRAMS_PER_SENDER_NACK`] datagrams
//! it sent this node, and, once it has a record ([`RECORD`] messages
//! delivered), [`SENDER_RATE`] a second; it holds at most
//! [`SENDER_BURST`]. So ids an attacker makes up, which send a datagram or
//! two each, draw no NACK at all. Over every sender, the node asks at most
//! [`FLOOR_RATE`] times a second plus one NACK per [`DATAGRAMS_PER_NACK`]
//! datagrams it received. What a budget holds back is asked for in a
//! later round.

use std::time::Instant;

use super::state::SenderState;

/// NACKs per second the node may send, whatever it receives.
pub(crate) const FLOOR_RATE: f64 = 200.0;

/// Datagrams received that earn the node one more NACK.
pub(crate) const DATAGRAMS_PER_NACK: f64 = 16.0;

/// The most NACKs the node may send at once.
pub(crate) const BURST: f64 = 64.0;

/// Messages delivered that give a sender a record.
pub(crate) const RECORD: u64 = 64;

/// Datagrams of a sender that earn it one NACK.
pub(crate) const DATAGRAMS_PER_SENDER_NACK: f64 = 3.0;

/// NACKs per second one sender may be sent.
pub(crate) const SENDER_RATE: f64 = 100.0;

/// The most NACKs one sender may be sent at once.
pub(crate) const SENDER_BURST: f64 = 16.0;

/// The node's NACK budget over every sender.
#[derive(Debug)]
pub(crate) struct NackBudget {
    tokens: f64,
    at: Option<Instant>,
}

impl Default for NackBudget {
    fn default() -> Self {
        Self {
            tokens: BURST,
            at: None,
        }
    }
}

impl NackBudget {
    /// A datagram was received: it earns a share of a NACK.
    pub(crate) fn received(&mut self) {
        self.tokens = (self.tokens + 1.0 / DATAGRAMS_PER_NACK).min(BURST);
    }

    /// A datagram of `state`'s sender was taken: it earns a share of a
    /// NACK to it.
    pub(crate) fn earned(state: &mut SenderState) {
        state.nack_tokens = (state.nack_tokens + 1.0 / DATAGRAMS_PER_SENDER_NACK).min(SENDER_BURST);
    }

    /// Whether a NACK to `state`'s sender may go now (both budgets have a
    /// token); refills both first.
    pub(crate) fn allows(&mut self, now: Instant, state: &mut SenderState) -> bool {
        let since = self
            .at
            .map_or(0.0, |t| now.saturating_duration_since(t).as_secs_f64());
        // A clock read earlier than the last one refills nothing, twice.
        self.at = Some(self.at.map_or(now, |t| t.max(now)));
        self.tokens = (self.tokens + since * FLOOR_RATE).min(BURST);
        let since = now.saturating_duration_since(state.nack_at).as_secs_f64();
        state.nack_at = state.nack_at.max(now);
        if state.delivered >= RECORD {
            state.nack_tokens = (state.nack_tokens + since * SENDER_RATE).min(SENDER_BURST);
        }
        self.tokens >= 1.0 && state.nack_tokens >= 1.0
    }

    /// Charges `n` NACK datagrams to both budgets (a round may go below
    /// zero once: it is paid back before the next).
    pub(crate) fn charge(&mut self, state: &mut SenderState, n: usize) {
        self.tokens -= n as f64;
        state.nack_tokens -= n as f64;
    }
}
