//! The challenging side of the handshake: per sender not yet verified, the
//! round of challenges (nonce, deadlines) and the datagrams held until the
//! sender answers. Bounded in senders, datagrams and bytes.
//!
//! A sender's first challenge goes out at once; the repeats, for a sender
//! that has not answered yet, share one budget ([`RETRY_RATE`] a second,
//! [`RETRY_BURST`] at once). A live sender answers the first one; what
//! never answers is a run that has ended, and a stranger replaying
//! recordings of many such runs made every node send each of them eight
//! challenges, to the whole group. A repeat over the budget is not sent
//! (`challenges_withheld`); its round keeps its schedule.
//!
//! The bytes held are shared fairly: while there is room, a sender may hold
//! all of it (an honest sender heard alone keeps a large first event whole,
//! up to 256 datagrams and 4 MiB by default); once it is full, a datagram of
//! a sender that holds less takes room from the sender that holds the most
//! (whose oldest held datagram is dropped, `held_displaced`). Without this,
//! one sender (an honest one with a large first event, or a replay of one
//! recorded run) kept every other new sender's datagrams out while it
//! lasted. A fixed share per sender would have cut a lone sender's large
//! first event short, with nobody else to make room for.

use std::collections::{BTreeSet, VecDeque};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use super::handshake::Handshake;
use crate::bucket::TokenBucket;
use crate::fastmap::FastMap;
use crate::ids::SenderId;
use crate::wire::{Challenge, CHALLENGE_NONCE_LEN};

/// A datagram of an unverified sender, opened and checked for replay,
/// waiting for the sender's answer: `inner` owned (`Vec<u8>`) once held,
/// borrowed (`&[u8]`, from the guard's opening buffer) until then.
pub(crate) struct Held<B = Vec<u8>> {
    pub(crate) from: SocketAddr,
    pub(crate) packet: u64,
    pub(crate) inner: B,
}

impl Held<&[u8]> {
    /// The datagram copied, to be held.
    pub(crate) fn copied(&self) -> Held {
        Held {
            from: self.from,
            packet: self.packet,
            inner: self.inner.to_vec(),
        }
    }
}

/// Bookkeeping charged per held datagram on top of its bytes.
const HELD_OVERHEAD: usize = 64;

/// Repeated challenges a second, over every round.
const RETRY_RATE: f64 = 100.0;

/// The most repeated challenges that may go at once.
const RETRY_BURST: f64 = 64.0;

struct Round {
    nonce: [u8; CHALLENGE_NONCE_LEN],
    first_heard: Instant,
    /// Challenges sent so far in this round.
    sent: u32,
    /// When the current challenge's wait ends.
    deadline: Instant,
    /// Oldest first.
    held: VecDeque<Held>,
    bytes: usize,
}

/// What [`Challenger::hold`] did with a datagram.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Hold {
    /// Held until the sender answers.
    Held,
    /// Over a limit (datagrams per sender; bytes, with no sender holding
    /// more to take room from; no round): dropped.
    Refused,
}

/// Every round in progress.
pub(crate) struct Challenger {
    rounds: FastMap<SenderId, Round>,
    deadlines: BTreeSet<(Instant, SenderId)>,
    /// Every round by the bytes it holds: the last holds the most.
    by_bytes: BTreeSet<(usize, SenderId)>,
    max_rounds: usize,
    held_bytes: usize,
    held_count: usize,
    /// Challenges to send, oldest first.
    out: VecDeque<Challenge>,
    /// The budget of repeated challenges.
    retries: TokenBucket,
    /// Repeats not sent for the budget since the last
    /// [`take_withheld`](Self::take_withheld).
    withheld: u64,
    /// Held datagrams dropped to make room for another sender's since the
    /// last [`take_displaced`](Self::take_displaced).
    displaced: u64,
}

impl Challenger {
    pub(crate) fn new(max_rounds: usize) -> Self {
        Self {
            rounds: FastMap::default(),
            deadlines: BTreeSet::new(),
            by_bytes: BTreeSet::new(),
            max_rounds: max_rounds.max(1),
            held_bytes: 0,
            held_count: 0,
            out: VecDeque::new(),
            retries: TokenBucket::full(RETRY_BURST),
            withheld: 0,
            displaced: 0,
        }
    }

    /// Whether a round with `sender` is in progress.
    pub(crate) fn in_round(&self, sender: SenderId) -> bool {
        self.rounds.contains_key(&sender)
    }

    /// Starts a round with `sender` (its first challenge queued now), with
    /// `nonce` drawn fresh by the caller. `false`: too many rounds already.
    pub(crate) fn start(
        &mut self,
        now: Instant,
        own: SenderId,
        sender: SenderId,
        nonce: [u8; CHALLENGE_NONCE_LEN],
        hs: &Handshake,
    ) -> bool {
        if self.rounds.len() >= self.max_rounds {
            return false;
        }
        let deadline = now + hs.first_wait;
        self.rounds.insert(
            sender,
            Round {
                nonce,
                first_heard: now,
                sent: 1,
                deadline,
                held: VecDeque::new(),
                bytes: 0,
            },
        );
        self.deadlines.insert((deadline, sender));
        self.by_bytes.insert((0, sender));
        self.out
            .push_back(challenge(own, sender, nonce, Duration::ZERO));
        true
    }

    /// Holds a copy of an opened datagram of `sender`, whose round is in
    /// progress, if it fits the limits (`Refused`, and nothing copied, if
    /// not). When the bytes held are at their limit, the datagram takes
    /// room from the sender that holds the most, as long as that sender
    /// would still hold more than `sender` (so that two senders never take
    /// room from each other back and forth): that sender's oldest held
    /// datagrams are dropped (see [`take_displaced`](Self::take_displaced)).
    pub(crate) fn hold(&mut self, sender: SenderId, held: Held<&[u8]>, hs: &Handshake) -> Hold {
        let cost = held.inner.len() + HELD_OVERHEAD;
        let Some(round) = self.rounds.get(&sender) else {
            return Hold::Refused;
        };
        if round.held.len() >= hs.max_held_per_sender || cost > hs.max_held_bytes {
            return Hold::Refused;
        }
        let mine = round.bytes;
        while self.held_bytes.saturating_add(cost) > hs.max_held_bytes {
            let Some(&(most, victim)) = self.by_bytes.last() else {
                return Hold::Refused;
            };
            if victim == sender || most <= mine.saturating_add(cost) || !self.drop_oldest(victim) {
                return Hold::Refused;
            }
        }
        let Some(round) = self.rounds.get_mut(&sender) else {
            return Hold::Refused;
        };
        // Copied only once it is known to fit: a flood of datagrams over
        // the limits costs no copy each.
        round.held.push_back(held.copied());
        self.by_bytes.remove(&(round.bytes, sender));
        round.bytes += cost;
        self.by_bytes.insert((round.bytes, sender));
        self.held_bytes += cost;
        self.held_count += 1;
        Hold::Held
    }

    /// Drops the oldest datagram `sender` holds, to make room for another
    /// sender's; `false` if it holds none.
    fn drop_oldest(&mut self, sender: SenderId) -> bool {
        let Some(round) = self.rounds.get_mut(&sender) else {
            return false;
        };
        let Some(d) = round.held.pop_front() else {
            return false;
        };
        let cost = d.inner.len() + HELD_OVERHEAD;
        self.by_bytes.remove(&(round.bytes, sender));
        round.bytes -= cost;
        self.by_bytes.insert((round.bytes, sender));
        self.held_bytes -= cost;
        self.held_count -= 1;
        self.displaced += 1;
        true
    }

    /// An answer entry for this node from `sender`: if `nonce` is the
    /// round's, the round ends and its held datagrams are handed back.
    pub(crate) fn answered(
        &mut self,
        sender: SenderId,
        nonce: &[u8; CHALLENGE_NONCE_LEN],
    ) -> Option<VecDeque<Held>> {
        if self.rounds.get(&sender)?.nonce != *nonce {
            return None;
        }
        self.end(sender).map(|r| r.held)
    }

    /// Handles the rounds whose wait is over at `now`: another challenge
    /// (waiting twice as long), or, after `hs.attempts`, the sender is
    /// given up. Returns the senders given up with how many datagrams
    /// each had held.
    pub(crate) fn handle_timeout(
        &mut self,
        now: Instant,
        own: SenderId,
        hs: &Handshake,
    ) -> Vec<(SenderId, usize)> {
        let mut given_up = Vec::new();
        while let Some(&(at, sender)) = self.deadlines.first() {
            if at > now {
                break;
            }
            self.deadlines.pop_first();
            let Some(round) = self.rounds.get_mut(&sender) else {
                continue;
            };
            if round.sent >= hs.attempts {
                if let Some(r) = self.end(sender) {
                    given_up.push((sender, r.held.len()));
                }
                continue;
            }
            let wait = hs.wait(round.sent);
            round.sent += 1;
            round.deadline = now + wait;
            self.deadlines.insert((round.deadline, sender));
            self.retries.refill(now, RETRY_RATE);
            if !self.retries.take_one() {
                self.withheld += 1;
                continue;
            }
            let waited = now.saturating_duration_since(round.first_heard);
            self.out
                .push_back(challenge(own, sender, round.nonce, waited));
        }
        given_up
    }

    /// Repeated challenges not sent for the budget since the last call.
    pub(crate) fn take_withheld(&mut self) -> u64 {
        std::mem::take(&mut self.withheld)
    }

    /// Held datagrams dropped to make room for another sender's since the
    /// last call.
    pub(crate) fn take_displaced(&mut self) -> u64 {
        std::mem::take(&mut self.displaced)
    }

    /// When the earliest round's wait ends.
    pub(crate) fn next_timer(&self) -> Option<Instant> {
        self.deadlines.first().map(|(at, _)| *at)
    }

    /// The next challenge to send.
    pub(crate) fn poll_challenge(&mut self) -> Option<Challenge> {
        self.out.pop_front()
    }

    /// Datagrams held now, for every sender.
    pub(crate) fn held_count(&self) -> usize {
        self.held_count
    }

    /// Bytes held now, bookkeeping included.
    pub(crate) fn held_bytes(&self) -> usize {
        self.held_bytes
    }

    fn end(&mut self, sender: SenderId) -> Option<Round> {
        let round = self.rounds.remove(&sender)?;
        self.deadlines.remove(&(round.deadline, sender));
        self.by_bytes.remove(&(round.bytes, sender));
        self.held_bytes -= round.bytes;
        self.held_count -= round.held.len();
        Some(round)
    }
}

fn challenge(
    own: SenderId,
    target: SenderId,
    nonce: [u8; CHALLENGE_NONCE_LEN],
    waited: Duration,
) -> Challenge {
    Challenge {
        from: own,
        target,
        nonce,
        waited_ms: u32::try_from(waited.as_millis()).unwrap_or(u32::MAX),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ME: SenderId = SenderId::new(1);
    const S: SenderId = SenderId::new(2);

    fn held(n: u64, len: usize) -> Held<&'static [u8]> {
        static BYTES: [u8; 1024] = [0; 1024];
        Held {
            from: SocketAddr::from(([192, 0, 2, 1], 1)),
            packet: n,
            inner: &BYTES[..len],
        }
    }

    #[test]
    fn retries_back_off_then_give_up() {
        let hs = Handshake::default();
        let t = Instant::now();
        let mut c = Challenger::new(8);
        assert!(c.start(t, ME, S, [7; 16], &hs));
        assert_eq!(c.hold(S, held(0, 10), &hs), Hold::Held);
        assert_eq!(
            c.poll_challenge().map(|c| (c.target, c.waited_ms)),
            Some((S, 0))
        );
        let mut at = t;
        let mut waits = Vec::new();
        for _ in 1..hs.attempts {
            let next = c.next_timer().unwrap();
            waits.push(next - at);
            at = next;
            assert!(c.handle_timeout(at, ME, &hs).is_empty());
            let again = c.poll_challenge().unwrap();
            assert_eq!(again.nonce, [7; 16]);
            assert_eq!(u128::from(again.waited_ms), (at - t).as_millis());
        }
        let last = c.next_timer().unwrap();
        waits.push(last - at);
        assert_eq!(c.handle_timeout(last, ME, &hs), vec![(S, 1)]);
        assert_eq!(waits.iter().sum::<Duration>(), hs.max_wait());
        assert_eq!(waits[1], 2 * waits[0]);
        assert_eq!(waits.last(), Some(&(8 * waits[0])), "capped");
        assert!(!c.in_round(S));
        assert_eq!((c.held_count(), c.held_bytes()), (0, 0));
        assert_eq!(c.next_timer(), None);
    }

    #[test]
    fn only_the_rounds_nonce_ends_it() {
        let hs = Handshake::default();
        let mut c = Challenger::new(8);
        c.start(Instant::now(), ME, S, [7; 16], &hs);
        c.hold(S, held(3, 10), &hs);
        assert!(c.answered(S, &[8; 16]).is_none());
        assert!(c.answered(SenderId::new(9), &[7; 16]).is_none());
        let back = c.answered(S, &[7; 16]).unwrap();
        assert_eq!(back.len(), 1);
        assert!(c.answered(S, &[7; 16]).is_none(), "only once");
    }

    /// Every round's first challenge goes out; the repeats of rounds that
    /// are never answered stay within the budget, and the rounds still
    /// end on their schedule.
    #[test]
    fn repeats_share_a_budget() {
        let hs = Handshake::default();
        let t = Instant::now();
        let rounds = 500u64;
        let mut c = Challenger::new(1024);
        for id in 0..rounds {
            assert!(c.start(t, ME, SenderId::new(100 + id), [3; 16], &hs));
        }
        let first = std::iter::from_fn(|| c.poll_challenge()).count();
        assert_eq!(first as u64, rounds, "every first challenge");
        let (mut repeats, mut given_up) = (0u64, 0usize);
        while let Some(at) = c.next_timer() {
            given_up += c.handle_timeout(at, ME, &hs).len();
            repeats += std::iter::from_fn(|| c.poll_challenge()).count() as u64;
        }
        assert_eq!(given_up as u64, rounds, "every round ends");
        let elapsed = hs.max_wait().as_secs_f64();
        let allowed = RETRY_BURST + RETRY_RATE * elapsed;
        assert!(
            (repeats as f64) <= allowed + 1.0,
            "{repeats} repeats in {elapsed} s"
        );
        // Without the budget it would be 7 a round.
        let wanted = rounds * u64::from(hs.attempts - 1);
        assert_eq!(repeats + c.take_withheld(), wanted);
        assert_eq!(c.take_withheld(), 0, "taken once");
    }

    #[test]
    fn holding_is_bounded() {
        let hs = Handshake {
            max_held_per_sender: 3,
            max_held_bytes: 5 * (100 + HELD_OVERHEAD),
            ..Handshake::default()
        };
        let t = Instant::now();
        let mut c = Challenger::new(2);
        assert!(c.start(t, ME, S, [1; 16], &hs));
        assert!(c.start(t, ME, SenderId::new(3), [2; 16], &hs));
        assert!(!c.start(t, ME, SenderId::new(4), [3; 16], &hs), "rounds");
        let outcomes: Vec<_> = (0..4).map(|n| c.hold(S, held(n, 100), &hs)).collect();
        assert_eq!(
            outcomes,
            [Hold::Held, Hold::Held, Hold::Held, Hold::Refused]
        );
        let other: Vec<_> = (0..3)
            .map(|n| c.hold(SenderId::new(3), held(n, 100), &hs))
            .collect();
        assert_eq!(other, [Hold::Held, Hold::Held, Hold::Refused], "bytes");
        assert_eq!(c.held_count(), 5);
        assert!(c.held_bytes() <= hs.max_held_bytes);
    }

    /// Alone, a sender may hold all the bytes; a newer sender then takes
    /// room from it, its oldest datagrams first, until the two hold about
    /// as much, and neither takes room back from the other after that.
    #[test]
    fn a_full_budget_is_shared_with_newer_senders() {
        let cost = 100 + HELD_OVERHEAD;
        let hs = Handshake {
            max_held_per_sender: 100,
            max_held_bytes: 8 * cost,
            ..Handshake::default()
        };
        let (a, b) = (S, SenderId::new(3));
        let t = Instant::now();
        let mut c = Challenger::new(8);
        c.start(t, ME, a, [1; 16], &hs);
        c.start(t, ME, b, [2; 16], &hs);
        let alone: Vec<_> = (0..9).map(|n| c.hold(a, held(n, 100), &hs)).collect();
        assert_eq!(alone[..8], [Hold::Held; 8], "all the room, alone");
        assert_eq!(alone[8], Hold::Refused, "and no more");
        assert_eq!(c.take_displaced(), 0);
        let newer: Vec<_> = (0..6).map(|n| c.hold(b, held(n, 100), &hs)).collect();
        assert_eq!(newer[..4], [Hold::Held; 4], "room taken from a");
        assert_eq!(newer[4..], [Hold::Refused; 2], "a holds no more than b");
        assert_eq!(c.take_displaced(), 4);
        assert_eq!(c.hold(a, held(9, 100), &hs), Hold::Refused, "not back");
        assert_eq!(c.take_displaced(), 0);
        assert_eq!((c.held_count(), c.held_bytes()), (8, 8 * cost));
        let kept: Vec<u64> = c
            .answered(a, &[1; 16])
            .unwrap()
            .iter()
            .map(|d| d.packet)
            .collect();
        assert_eq!(kept, [4, 5, 6, 7], "a's oldest went");
        assert_eq!(c.answered(b, &[2; 16]).unwrap().len(), 4);
        assert_eq!((c.held_count(), c.held_bytes()), (0, 0));
    }
}
