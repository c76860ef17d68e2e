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
//! A sender that delivered something and is forgotten anyway is remembered in
//! one of two bounded tables ([`Forgotten`]): its id and one past the highest
//! seq delivered ([`Resume`]). Heard again, it resumes there: nothing it
//! delivered is delivered again, and it is never owed its stream from 0 again.
//! The first datagram heard of it again may be forged, so it resumes only if
//! that datagram is plausible for the point (not far from it:
//! [`Resume::judge`]; the allowance for the time it was silent counts only from
//! its old home), and as a sender heard once (not established); on a datagram
//! from elsewhere, neither believed nor established until its data comes from
//! its old home. Far ahead of the point of a sender that was established, the
//! datagram is dropped and the point kept; far from the point of one heard once
//! (which may itself have been forged), the sender starts afresh from the
//! datagram, as a newcomer, keeping the point: nothing just below it is owed or
//! delivered again, and the point stays what it resumes at if it is forgotten
//! again before it is established.

use std::collections::VecDeque;
use std::time::Instant;

use super::resume::Resume;
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
    if !state.established() {
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
/// senders established (strong points), one for those heard once, so that
/// a flood of one-datagram ids cannot push out the others.)
#[derive(Debug, Default)]
pub(crate) struct Forgotten {
    /// Each id's point, and the generation of its entry in `order`.
    resume: FastMap<SenderId, (Resume, u64)>,
    /// Ids in the order they were remembered, with the generation they
    /// were remembered in: an entry whose generation is not the id's in
    /// `resume` is stale (taken, or remembered again since), and skipped.
    /// (`take` leaves its entry here: a walk over the whole queue per
    /// datagram was what a forger re-anchoring an id could make it pay.)
    order: VecDeque<(SenderId, u64)>,
    /// The next generation.
    generation: u64,
}

impl Forgotten {
    /// Remembers that `id` resumes at `point` (at most `cap` are kept).
    pub(crate) fn remember(&mut self, id: SenderId, point: Resume, cap: usize) {
        if let Some(entry) = self.resume.get_mut(&id) {
            entry.0 = point;
        } else {
            let generation = self.generation;
            self.generation = self.generation.wrapping_add(1);
            self.resume.insert(id, (point, generation));
            self.order.push_back((id, generation));
        }
        while self.resume.len() > cap {
            let Some((old, generation)) = self.order.pop_front() else {
                break;
            };
            if self.resume.get(&old).is_some_and(|e| e.1 == generation) {
                self.resume.remove(&old);
            }
        }
        // Stale entries are dropped once they are as many as the live
        // ones: amortized, a constant per entry.
        if self.order.len() > 2 * self.resume.len() + 16 {
            let resume = &self.resume;
            self.order
                .retain(|(id, g)| resume.get(id).is_some_and(|e| e.1 == *g));
        }
    }

    /// Where `id` resumes, if it was forgotten (it is tracked again now).
    pub(crate) fn take(&mut self, id: SenderId) -> Option<Resume> {
        self.resume.remove(&id).map(|(point, _)| point)
    }

    /// Where `id` resumes, if it is remembered (it stays so).
    pub(crate) fn get(&self, id: SenderId) -> Option<Resume> {
        self.resume.get(&id).map(|(point, _)| *point)
    }

    /// Senders remembered now.
    pub(crate) fn len(&self) -> usize {
        self.resume.len()
    }

    /// Entries in the order queue, stale ones included (for tests).
    #[cfg(test)]
    fn queued(&self) -> usize {
        self.order.len()
    }
}

impl SenderState {
    /// Where this sender's stream resumes if it is forgotten now and heard
    /// again: one past everything known to exist that it vouched for (what
    /// lies below was delivered, is delivered as it is forgotten, or is
    /// reported lost then), and not below a point it resumed from; `None`
    /// if it delivered nothing (held messages count only with
    /// `held_delivered`), is not established and rests on no point.
    /// With `held_delivered`, what it holds for order is delivered as it
    /// is forgotten (eviction); otherwise it is dropped, and the point is
    /// not past the next message to deliver.
    pub(crate) fn resume_point(&self, held_delivered: bool) -> Option<Resume> {
        // Messages held for order count as delivered if they are, as it is
        // forgotten (`forget_evicted`), after this is asked.
        let held = !self.held.is_empty();
        let delivered = self.delivered > 0 || (held && held_delivered);
        let established = self.established();
        if !delivered && !established {
            // Nothing of its own to keep (and its seqs, perhaps forged far
            // from the point, must not move it): the point it had, if any.
            return self.floor;
        }
        // Not past what it vouched for: a forged frame inside the
        // plausible window must not move its resume point.
        let mut seq = self.known_end.min(self.vouched).max(self.start);
        if held && !held_delivered {
            seq = seq.min(self.next);
        }
        let mut point = Resume {
            seq,
            at: self.plausible_at,
            home: self.home,
            strong: established || self.floor.is_some_and(|f| f.strong),
        };
        match self.floor() {
            // It keeps the larger of the two: what it delivered itself
            // lies just below its own, and a state started afresh far
            // below the point keeps the point.
            Some(f) if f.seq >= seq => {
                // When it was last heard plausibly there: a re-anchor does
                // not make the point younger (and the stream's bound
                // tighter).
                point.seq = f.seq;
                point.at = f.at;
                point.home = f.home.or(self.home);
            }
            _ => {}
        }
        Some(point)
    }

    /// The point it was forgotten with, while it holds: until it is
    /// established, or for good if it was heard from the home the sender
    /// has now. A sender established from elsewhere proved its stream is
    /// its own, and the point (a forgery's, perhaps, far ahead of it) is
    /// dropped: else its stream would be refused as it reaches the point.
    pub(crate) fn floor(&self) -> Option<Resume> {
        self.floor
            .filter(|f| !self.established() || (f.home.is_some() && f.home == self.home))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(seq: u64) -> Resume {
        Resume {
            seq,
            at: Instant::now(),
            home: None,
            strong: true,
        }
    }

    #[test]
    fn a_forgotten_table_keeps_the_latest_and_stays_small_under_churn() {
        let mut f = Forgotten::default();
        for i in 0..10 {
            f.remember(SenderId::new(i), point(i), 4);
        }
        assert_eq!(f.len(), 4);
        assert!(f.get(SenderId::new(5)).is_none());
        assert_eq!(f.get(SenderId::new(9)).map(|p| p.seq), Some(9));
        // A forger re-anchoring one id over and over: remember, take.
        for k in 0..10_000 {
            f.remember(SenderId::new(7), point(k), 4);
            assert_eq!(f.take(SenderId::new(7)).map(|p| p.seq), Some(k));
        }
        assert!(f.queued() <= 2 * f.len() + 17, "{}", f.queued());
        f.remember(SenderId::new(7), point(1), 4);
        f.remember(SenderId::new(20), point(1), 4);
        // 6 goes, the oldest; 7, remembered again since, stays.
        assert!(f.get(SenderId::new(6)).is_none());
        assert!(f.get(SenderId::new(7)).is_some());
        assert!(f.get(SenderId::new(9)).is_some());
        assert_eq!(f.len(), 4);
    }
}
