//! How many NACKs a receiver may send: a token bucket per sender, and one
//! over every sender.
//!
//! On a hostile LAN every datagram a stranger sends could make every node
//! answer it with a NACK to the whole group. The budgets bound that. A
//! sender earns its NACKs: one per [`DATAGRAMS_PER_SENDER_NACK`] datagrams
//! it sent this node, one when this node learns it is owed the sender's
//! stream from 0 (a young stream: what it missed is asked for at once),
//! and, once it has a record ([`RECORD`] messages
//! delivered), [`SENDER_RATE`] a second; it holds at most
//! [`SENDER_BURST`]. So ids an attacker makes up, which send a datagram or
//! two each, draw no NACK at all. Over every sender, the node asks at most
//! [`FLOOR_RATE`] times a second plus one NACK per [`DATAGRAMS_PER_NACK`]
//! datagrams it received. What a budget holds back is asked for in a
//! later round.

use std::time::Instant;

use crate::bucket::TokenBucket;

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
    bucket: TokenBucket,
}

impl Default for NackBudget {
    fn default() -> Self {
        Self {
            bucket: TokenBucket::full(BURST),
        }
    }
}

impl NackBudget {
    /// A sender's own budget, as it is first heard at `now`: empty.
    pub(crate) fn for_sender(now: Instant) -> TokenBucket {
        TokenBucket::empty_at(SENDER_BURST, now)
    }

    /// A datagram was received: it earns a share of a NACK.
    pub(crate) fn received(&mut self) {
        self.bucket.earn(1.0 / DATAGRAMS_PER_NACK);
    }

    /// A datagram of a sender was taken: it earns a share of a NACK to it
    /// (`sender`: its budget).
    pub(crate) fn earned(sender: &mut TokenBucket) {
        sender.earn(1.0 / DATAGRAMS_PER_SENDER_NACK);
    }

    /// Whether a NACK to a sender (`sender`: its budget; `delivered`: its
    /// messages delivered) may go now (both budgets have a token); refills
    /// both first (the sender's only once it has a record).
    pub(crate) fn allows(
        &mut self,
        now: Instant,
        sender: &mut TokenBucket,
        delivered: u64,
    ) -> bool {
        self.bucket.refill(now, FLOOR_RATE);
        let rate = if delivered >= RECORD {
            SENDER_RATE
        } else {
            0.0
        };
        sender.refill(now, rate);
        self.bucket.has_one() && sender.has_one()
    }

    /// Charges `n` NACK datagrams to both budgets (a round may go below
    /// zero once: it is paid back before the next).
    pub(crate) fn charge(&mut self, sender: &mut TokenBucket, n: usize) {
        self.bucket.charge(n as f64);
        sender.charge(n as f64);
    }
}
