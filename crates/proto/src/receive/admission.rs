//! Which senders are tracked when the table is full, and what is kept of
//! those forgotten.
//!
//! A new sender may take the place of one that sent a single datagram or
//! is not believed real (no complete message, no heartbeat consistent
//! with its data), the least recently heard first (ties: the lowest id);
//! failing that, of one silent for [`GONE_AFTER`] heartbeat intervals.
//! A sender that is believed and heard is never displaced: when every
//! tracked sender is such, the newcomer is refused (counted) until one
//! goes quiet. So ids that send one datagram each (strangers, or many
//! short-lived processes) only ever displace each other.
//!
//! The memory budget works the same way: when a segment of a believed
//! sender finds the total budget full, senders not believed real that
//! hold partial messages are forgotten, the least recently heard first,
//! until it fits ([`budget_victim`]). Strangers filling the budget with
//! messages they never complete cost a real sender nothing.
//!
//! A sender that delivered something and is forgotten anyway is remembered
//! in a bounded table ([`Forgotten`]): its id and one past the highest seq
//! delivered. Heard again, it resumes there: nothing it delivered is
//! delivered again, and it is never owed its stream from 0 again.

use std::collections::VecDeque;
use std::time::Instant;

use super::senders::Senders;
use super::state::SenderState;
use crate::config::Config;
use crate::fastmap::FastMap;
use crate::ids::SenderId;

/// Heartbeat intervals (`heartbeat_max`) of silence after which a sender
/// is gone: a live sender is heard at least once per interval.
pub(crate) const GONE_AFTER: u32 = 3;

/// Forgotten senders remembered, per sender tracked (`max_senders`).
pub(crate) const REMEMBERED_PER_SENDER: usize = 4;

/// How readily a sender gives its place up: the lowest goes first; `None`
/// never.
pub(crate) fn rank(state: &SenderState, now: Instant, config: &Config) -> Option<u8> {
    if state.heard <= 1 || !state.believed {
        return Some(0);
    }
    let silent = now.saturating_duration_since(state.last_alive);
    (silent >= config.heartbeat_max * GONE_AFTER).then_some(1)
}

/// The sender to forget to make room, if any may go.
pub(crate) fn victim(senders: &Senders, now: Instant, config: &Config) -> Option<SenderId> {
    senders
        .iter()
        .filter_map(|(id, s)| rank(s, now, config).map(|r| (r, s.last_heard, *id)))
        .min()
        .map(|(_, _, id)| id)
}

/// The sender to forget so that a believed sender's segment fits the
/// memory budget: one not believed real that holds partial messages (not
/// `taker` itself), the least recently heard first (ties: the lowest id).
/// Believed senders never give way to each other here: between them, the
/// budget goes to whoever comes first.
pub(crate) fn budget_victim(senders: &Senders, taker: SenderId) -> Option<SenderId> {
    senders
        .iter()
        .filter(|(id, s)| gives_way(**id, s, taker))
        .map(|(id, s)| (s.last_heard, *id))
        .min()
        .map(|(_, id)| id)
}

/// What the senders [`budget_victim`] may pick hold together, charges
/// of every kind: what forgetting them all would free.
pub(crate) fn budget_victims_hold(senders: &Senders, taker: SenderId) -> usize {
    senders
        .iter()
        .filter(|(id, s)| gives_way(**id, s, taker))
        .map(|(_, s)| s.bytes)
        .sum()
}

/// Whether sender `id` gives its budget up for `taker`'s segment.
fn gives_way(id: SenderId, state: &SenderState, taker: SenderId) -> bool {
    id != taker && !state.believed && !state.partials.is_empty()
}

/// Senders forgotten after they delivered something: where each resumes.
/// Bounded: the oldest entry goes first. (The receiver keeps two: one for
/// senders heard more than once, one for those heard once, so that a flood
/// of one-datagram ids cannot push out the others.)
#[derive(Debug, Default)]
pub(crate) struct Forgotten {
    resume: FastMap<SenderId, u64>,
    order: VecDeque<SenderId>,
}

impl Forgotten {
    /// Remembers that `id` resumes at `seq` (at most `cap` are kept).
    pub(crate) fn remember(&mut self, id: SenderId, seq: u64, cap: usize) {
        if self.resume.insert(id, seq).is_none() {
            self.order.push_back(id);
        }
        while self.order.len() > cap {
            if let Some(old) = self.order.pop_front() {
                self.resume.remove(&old);
            }
        }
    }

    /// Where `id` resumes, if it was forgotten (it is tracked again now).
    pub(crate) fn take(&mut self, id: SenderId) -> Option<u64> {
        let seq = self.resume.remove(&id)?;
        self.order.retain(|s| *s != id);
        Some(seq)
    }

    /// Whether `id` is remembered.
    pub(crate) fn contains(&self, id: SenderId) -> bool {
        self.resume.contains_key(&id)
    }

    /// Senders remembered now.
    pub(crate) fn len(&self) -> usize {
        self.resume.len()
    }
}

impl SenderState {
    /// Where this sender's stream resumes if it is forgotten now and heard
    /// again: one past everything known to exist that it vouched for (what lies below was
    /// delivered, or is reported lost as it is forgotten); `None` if it
    /// delivered nothing.
    pub(crate) fn resume_point(&self) -> Option<u64> {
        // Not past what it vouched for: a forged frame inside the
        // plausible window must not move its resume point.
        (self.delivered > 0).then_some(self.known_end.min(self.vouched).max(self.start))
    }
}
