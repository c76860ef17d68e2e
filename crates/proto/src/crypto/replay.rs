//! Replay protection: per sender, a sliding window over packet numbers.
//!
//! Only authenticated datagrams reach this window, so only group members
//! (and replays of their datagrams) create state here; an outsider cannot.
//! Each window also keeps whether its sender answered this node's challenge
//! (the handshake, `docs/PROTOCOL.md` §16.8); when room is needed, senders
//! that did not are forgotten before those that did.

use std::collections::BTreeSet;
use std::time::Instant;

use crate::fastmap::FastMap;
use crate::ids::SenderId;
use crate::wire::PacketNumber;

/// Packet numbers a window remembers: the highest one heard and the 2047
/// below it. An older packet number is refused as too old.
pub const REPLAY_WINDOW: u64 = 2048;

const WORDS: usize = (REPLAY_WINDOW / 64) as usize;

/// What the window says of a packet number.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Never seen: accepted, and now remembered.
    Fresh,
    /// Seen before.
    Replayed,
    /// Below the window: cannot tell, so refused.
    TooOld,
}

/// Whether a sender proved to this node that it is alive now (§16.8).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Status {
    /// Not (yet) answered; or no handshake is asked for.
    Unverified,
    /// Answered: its datagrams from packet number `floor` on are accepted.
    Verified {
        /// The first packet number the sender vouched for.
        floor: u64,
    },
    /// Never answered: its datagrams are dropped until `until`.
    Refused {
        /// When it may be challenged again.
        until: Instant,
    },
}

struct Window {
    /// The highest packet number accepted.
    top: u64,
    /// One bit per packet number in `top - 2047 ..= top`, at `n % 2048`.
    seen: [u64; WORDS],
    /// When this sender was last heard, in calls to `check`.
    heard: u64,
    status: Status,
}

impl Window {
    fn new(first: u64) -> Self {
        let mut w = Self {
            top: first,
            seen: [0; WORDS],
            heard: 0,
            status: Status::Unverified,
        };
        w.set(first);
        w
    }

    fn bit(n: u64) -> (usize, u64) {
        let slot = n % REPLAY_WINDOW;
        ((slot / 64) as usize, 1 << (slot % 64))
    }

    fn set(&mut self, n: u64) {
        let (word, mask) = Self::bit(n);
        self.seen[word] |= mask;
    }

    fn clear(&mut self, n: u64) {
        let (word, mask) = Self::bit(n);
        self.seen[word] &= !mask;
    }

    fn check(&mut self, n: u64) -> Verdict {
        if n > self.top {
            if n - self.top >= REPLAY_WINDOW {
                self.seen = [0; WORDS];
            } else {
                for old in self.top + 1..=n {
                    self.clear(old);
                }
            }
            self.top = n;
            self.set(n);
            return Verdict::Fresh;
        }
        if self.top - n >= REPLAY_WINDOW {
            return Verdict::TooOld;
        }
        let (word, mask) = Self::bit(n);
        if self.seen[word] & mask != 0 {
            Verdict::Replayed
        } else {
            self.seen[word] |= mask;
            Verdict::Fresh
        }
    }
}

/// The windows of at most `max_senders` senders; when full, a new sender
/// makes the one heard from least recently forgotten, unverified senders
/// first.
pub(crate) struct ReplayGuard {
    windows: FastMap<SenderId, Window>,
    /// Unverified and refused senders by when last heard.
    by_age: BTreeSet<(u64, SenderId)>,
    /// Verified senders by when last heard.
    verified_by_age: BTreeSet<(u64, SenderId)>,
    clock: u64,
    max_senders: usize,
    evicted: u64,
}

impl ReplayGuard {
    pub(crate) fn new(max_senders: usize) -> Self {
        Self {
            windows: FastMap::default(),
            by_age: BTreeSet::new(),
            verified_by_age: BTreeSet::new(),
            clock: 0,
            max_senders: max_senders.max(1),
            evicted: 0,
        }
    }

    /// Checks an authenticated datagram's packet number and remembers it.
    pub(crate) fn check(&mut self, sender: SenderId, packet: PacketNumber) -> Verdict {
        self.clock += 1;
        let n = packet.get();
        let verdict = match self.windows.get_mut(&sender) {
            Some(w) => {
                ages(&mut self.by_age, &mut self.verified_by_age, w.status)
                    .remove(&(w.heard, sender));
                w.check(n)
            }
            None => {
                if self.windows.len() >= self.max_senders {
                    self.evict_oldest();
                }
                self.windows.insert(sender, Window::new(n));
                Verdict::Fresh
            }
        };
        if let Some(w) = self.windows.get_mut(&sender) {
            w.heard = self.clock;
            ages(&mut self.by_age, &mut self.verified_by_age, w.status)
                .insert((self.clock, sender));
        }
        verdict
    }

    /// The sender's status, if its window is kept.
    pub(crate) fn status(&self, sender: SenderId) -> Option<Status> {
        self.windows.get(&sender).map(|w| w.status)
    }

    /// Sets the sender's status, if its window is kept.
    pub(crate) fn set_status(&mut self, sender: SenderId, status: Status) {
        if let Some(w) = self.windows.get_mut(&sender) {
            ages(&mut self.by_age, &mut self.verified_by_age, w.status).remove(&(w.heard, sender));
            w.status = status;
            ages(&mut self.by_age, &mut self.verified_by_age, status).insert((w.heard, sender));
        }
    }

    /// Senders tracked now.
    pub(crate) fn senders(&self) -> usize {
        self.windows.len()
    }

    /// Senders forgotten so far to make room.
    pub(crate) fn evicted(&self) -> u64 {
        self.evicted
    }

    fn evict_oldest(&mut self) {
        let oldest = match self.by_age.pop_first() {
            Some(unverified) => Some(unverified),
            None => self.verified_by_age.pop_first(),
        };
        if let Some((_, sender)) = oldest {
            self.windows.remove(&sender);
            self.evicted += 1;
        }
    }
}

/// The age set a window of this status is kept in.
fn ages<'a>(
    unverified: &'a mut BTreeSet<(u64, SenderId)>,
    verified: &'a mut BTreeSet<(u64, SenderId)>,
    status: Status,
) -> &'a mut BTreeSet<(u64, SenderId)> {
    match status {
        Status::Verified { .. } => verified,
        Status::Unverified | Status::Refused { .. } => unverified,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::HashSet;

    const A: SenderId = SenderId::new(1);

    fn pn(n: u64) -> PacketNumber {
        PacketNumber::new(n)
    }

    #[test]
    fn duplicates_and_old_packets_are_refused() {
        let mut g = ReplayGuard::new(8);
        assert_eq!(g.check(A, pn(100)), Verdict::Fresh);
        assert_eq!(g.check(A, pn(100)), Verdict::Replayed);
        assert_eq!(g.check(A, pn(99)), Verdict::Fresh, "reordered");
        assert_eq!(g.check(A, pn(99)), Verdict::Replayed);
        assert_eq!(g.check(A, pn(100 + REPLAY_WINDOW)), Verdict::Fresh);
        assert_eq!(g.check(A, pn(100)), Verdict::TooOld);
        assert_eq!(g.check(A, pn(101)), Verdict::Fresh, "just inside");
        assert_eq!(g.check(A, pn(101)), Verdict::Replayed);
        assert_eq!(g.check(A, pn(u64::MAX)), Verdict::Fresh);
        assert_eq!(g.check(A, pn(u64::MAX)), Verdict::Replayed);
        assert_eq!(g.check(A, pn(0)), Verdict::TooOld);
    }

    #[test]
    fn least_recently_heard_sender_is_forgotten() {
        let mut g = ReplayGuard::new(2);
        g.check(SenderId::new(1), pn(0));
        g.check(SenderId::new(2), pn(0));
        g.check(SenderId::new(1), pn(1));
        g.check(SenderId::new(3), pn(0));
        assert_eq!(g.senders(), 2);
        assert_eq!(g.evicted(), 1);
        // 1 was heard more recently than 2: 1 is remembered, 2 is not.
        assert_eq!(g.check(SenderId::new(1), pn(1)), Verdict::Replayed);
        assert_eq!(g.check(SenderId::new(2), pn(0)), Verdict::Fresh);
    }

    #[test]
    fn unverified_senders_are_forgotten_first() {
        let mut g = ReplayGuard::new(2);
        g.check(SenderId::new(1), pn(0));
        g.set_status(SenderId::new(1), Status::Verified { floor: 0 });
        g.check(SenderId::new(2), pn(0));
        // 1 is the least recently heard, but verified: 2 goes.
        g.check(SenderId::new(3), pn(0));
        assert_eq!(g.status(SenderId::new(2)), None);
        assert_eq!(
            g.status(SenderId::new(1)),
            Some(Status::Verified { floor: 0 })
        );
        assert_eq!(g.status(SenderId::new(3)), Some(Status::Unverified));
    }

    proptest! {
        /// Against a model that remembers everything: a packet number is
        /// accepted exactly when it was never accepted before and is within
        /// the window of the highest accepted.
        #[test]
        fn matches_a_model(ops in proptest::collection::vec(0u64..6000, 1..600)) {
            let mut g = ReplayGuard::new(4);
            let mut seen = HashSet::new();
            let mut top: Option<u64> = None;
            for n in ops {
                let expected = match top {
                    Some(t) if n + REPLAY_WINDOW <= t => Verdict::TooOld,
                    _ if seen.contains(&n) => Verdict::Replayed,
                    _ => Verdict::Fresh,
                };
                prop_assert_eq!(g.check(A, pn(n)), expected, "packet {}", n);
                if expected == Verdict::Fresh {
                    seen.insert(n);
                    top = Some(top.map_or(n, |t| t.max(n)));
                }
            }
        }
    }
}
