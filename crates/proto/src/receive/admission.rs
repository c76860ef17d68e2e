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
//! delivered ([`Resume`]). Heard again, it resumes there: nothing it
//! delivered is delivered again, and it is never owed its stream from 0
//! again. The first datagram heard of it again may be forged, so it
//! resumes only if that datagram is plausible for the point (not far
//! ahead of it: [`Resume::judge`]), and as a sender heard once (not
//! established), believed from its old home, not the datagram's address.
//! Far ahead of the point of a sender that was established, the datagram
//! is dropped and the point kept; of one heard once (which may itself
//! have been forged), the sender starts afresh from the datagram, as a
//! newcomer, but above the point: nothing below it is owed or delivered
//! again.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::Instant;

use super::plausible::{allowance, AHEAD};
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

/// Where a forgotten sender resumes, and what else is kept of it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Resume {
    /// One past everything it delivered, or was reported lost, here.
    pub(crate) seq: u64,
    /// When it was last heard plausibly: its stream may have run ahead of
    /// `seq` since, at `plausible::MAX_RATE`.
    pub(crate) at: Instant,
    /// Its home (the address it was believed from), if it had one.
    pub(crate) home: Option<SocketAddr>,
    /// It was established (or had resumed from such a point): data far
    /// ahead of the point is dropped, and the point kept. Otherwise it was
    /// heard once, and that datagram may have been forged: data far ahead
    /// starts it afresh, above the point.
    pub(crate) strong: bool,
}

/// What a forgotten sender's first datagram (or a heartbeat's lead) says
/// of its resume point.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Plausible for it: the sender resumes there.
    Resumes,
    /// Past what the stream may have reached since it was last heard.
    Ahead,
    /// More than [`AHEAD`] below it.
    Below,
}

impl Resume {
    /// Judges `seq`, heard at `now`, by the same bounds as a tracked
    /// sender's data (see `plausible`): at most [`AHEAD`] past the point,
    /// plus what the plausible rate allows since it was last heard, and
    /// not more than [`AHEAD`] below it.
    pub(crate) fn judge(&self, seq: u64, now: Instant) -> Verdict {
        let end = self
            .seq
            .saturating_add(AHEAD)
            .saturating_add(allowance(self.at, now));
        if seq > end {
            Verdict::Ahead
        } else if seq.saturating_add(AHEAD) < self.seq {
            Verdict::Below
        } else {
            Verdict::Resumes
        }
    }
}

/// Senders forgotten after they delivered something: where each resumes.
/// Bounded: the oldest entry goes first. (The receiver keeps two: one for
/// senders established (strong points), one for those heard once, so that
/// a flood of one-datagram ids cannot push out the others.)
#[derive(Debug, Default)]
pub(crate) struct Forgotten {
    resume: FastMap<SenderId, Resume>,
    order: VecDeque<SenderId>,
}

impl Forgotten {
    /// Remembers that `id` resumes at `point` (at most `cap` are kept).
    pub(crate) fn remember(&mut self, id: SenderId, point: Resume, cap: usize) {
        if self.resume.insert(id, point).is_none() {
            self.order.push_back(id);
        }
        while self.order.len() > cap {
            if let Some(old) = self.order.pop_front() {
                self.resume.remove(&old);
            }
        }
    }

    /// Where `id` resumes, if it was forgotten (it is tracked again now).
    pub(crate) fn take(&mut self, id: SenderId) -> Option<Resume> {
        let point = self.resume.remove(&id)?;
        self.order.retain(|s| *s != id);
        Some(point)
    }

    /// Where `id` resumes, if it is remembered (it stays so).
    pub(crate) fn get(&self, id: SenderId) -> Option<Resume> {
        self.resume.get(&id).copied()
    }

    /// Senders remembered now.
    pub(crate) fn len(&self) -> usize {
        self.resume.len()
    }
}

impl SenderState {
    /// Where this sender's stream resumes if it is forgotten now and heard
    /// again: one past everything known to exist that it vouched for (what
    /// lies below was delivered, is delivered as it is forgotten, or is
    /// reported lost then), and not below a point it resumed from; `None`
    /// if it delivered nothing, holds nothing and resumed from nothing.
    /// With `held_delivered`, what it holds for order is delivered as it
    /// is forgotten (eviction); otherwise it is dropped, and the point is
    /// not past the next message to deliver.
    pub(crate) fn resume_point(&self, held_delivered: bool) -> Option<Resume> {
        if let Some(floor) = self
            .floor
            .filter(|_| self.above_floor && !self.established())
        {
            // Started afresh above the point it was forgotten with, on a
            // datagram that may be forged: that point is all it keeps.
            return Some(floor);
        }
        // Messages held for order count as delivered if they are, as it is
        // forgotten (`forget_evicted`), after this is asked.
        let held = !self.held.is_empty();
        let kept = self.delivered > 0 || (held && held_delivered) || self.floor.is_some();
        // Not past what it vouched for: a forged frame inside the
        // plausible window must not move its resume point.
        let mut seq = self.known_end.min(self.vouched).max(self.start);
        if held && !held_delivered {
            seq = seq.min(self.next);
        }
        kept.then(|| Resume {
            seq: seq.max(self.floor.map_or(0, |f| f.seq)),
            at: self.plausible_at,
            home: self.home,
            strong: self.established() || self.floor.is_some_and(|f| f.strong),
        })
    }
}
