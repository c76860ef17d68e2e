//! The answering side of the handshake: which packet number this node had
//! when (checkpoints of its own sealing, on its own monotonic clock), and
//! the challenges waiting for the next answer, which covers several of
//! them at once and goes out at most once per answer interval.
//!
//! What these tables let go, and why only one case is counted:
//! - A waiting challenge leaves only in an answer (within an answer
//!   interval; it never expires), or is replaced by a later challenge of
//!   the same challenger (a repeat, or a new round: the latest is the one
//!   it waits for). Neither loses anything. When [`MAX_PENDING`] are
//!   waiting, a new one is not taken (none is evicted): counted
//!   (`challenges_ignored`), as the challenger has to ask again.
//! - The oldest checkpoint is forgotten when [`MAX_CHECKPOINTS`] are kept:
//!   normal, and not counted. They span at least 10.23 s, more than twice
//!   the longest a default challenger waits (a repeat goes out at most
//!   3.9 s after it first heard a sender, plus 200 ms of slack), so a
//!   floor is never made stricter by it. Only a challenger set to wait
//!   longer can ask past them; its floor is then the oldest kept, and what
//!   that costs it is counted there (`dropped.unvouched`).

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use super::handshake::Handshake;
use crate::ids::SenderId;
use crate::wire::{Answer, AnswerEntry, Challenge, PacketNumber, MAX_ANSWER_ENTRIES};

/// A checkpoint is taken at the first seal at least this long after the
/// last one.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(10);

/// Checkpoints kept (about 10 s of continuous sending; more when idle).
const MAX_CHECKPOINTS: usize = 1024;

/// Challenges waiting for an answer at most; more are not answered (their
/// challengers ask again).
pub(crate) const MAX_PENDING: usize = 256;

struct Pending {
    challenger: SenderId,
    nonce: [u8; 16],
    /// The instant from which on this node vouches for its datagrams.
    since: Option<Instant>,
}

pub(crate) struct Answerer {
    /// `(when, packet)`: the datagram numbered `packet` was sealed at
    /// `when`, and every later one after it.
    checkpoints: VecDeque<(Instant, u64)>,
    /// Whether old checkpoints were dropped (then an instant before the
    /// oldest kept maps to its packet number, not to 0).
    forgot: bool,
    pending: VecDeque<Pending>,
    last_answer: Option<Instant>,
}

impl Answerer {
    pub(crate) fn new() -> Self {
        Self {
            checkpoints: VecDeque::new(),
            forgot: false,
            pending: VecDeque::new(),
            last_answer: None,
        }
    }

    /// This node seals its datagram number `packet` at `now`.
    pub(crate) fn on_seal(&mut self, now: Instant, packet: u64) {
        if let Some((last, _)) = self.checkpoints.back() {
            if now.saturating_duration_since(*last) < CHECKPOINT_EVERY {
                return;
            }
        }
        if self.checkpoints.len() >= MAX_CHECKPOINTS {
            self.checkpoints.pop_front();
            self.forgot = true;
        }
        self.checkpoints.push_back((now, packet));
    }

    /// A challenge to this node, received at `now`. `false`: not taken
    /// (too many waiting), so not answered.
    pub(crate) fn on_challenge(&mut self, now: Instant, c: &Challenge, hs: &Handshake) -> bool {
        let back = Duration::from_millis(u64::from(c.waited_ms)).saturating_add(hs.slack);
        let since = now.checked_sub(back);
        if let Some(p) = self.pending.iter_mut().find(|p| p.challenger == c.from) {
            // The same challenger again (a retry, or a new round): the
            // latest challenge is the one it waits for.
            p.nonce = c.nonce;
            p.since = since;
            return true;
        }
        if self.pending.len() >= MAX_PENDING {
            return false;
        }
        self.pending.push_back(Pending {
            challenger: c.from,
            nonce: c.nonce,
            since,
        });
        true
    }

    /// When the next answer may go out, if one is waiting.
    pub(crate) fn next_timer(&self, hs: &Handshake) -> Option<Instant> {
        if self.pending.is_empty() {
            return None;
        }
        // Never answered yet: the answer goes out with the input that
        // brought the challenge, no timer needed.
        self.last_answer.map(|last| last + hs.answer_interval)
    }

    /// The answer to send at `now`, covering up to 32 waiting challenges,
    /// if one is waiting and the last answer went out at least an answer
    /// interval ago. `next_packet` is the packet number this node seals
    /// next.
    pub(crate) fn poll_answer(
        &mut self,
        now: Instant,
        own: SenderId,
        next_packet: u64,
        hs: &Handshake,
    ) -> Option<Answer> {
        if self.pending.is_empty()
            || self
                .last_answer
                .is_some_and(|last| now < last + hs.answer_interval)
        {
            return None;
        }
        let n = self.pending.len().min(MAX_ANSWER_ENTRIES);
        let taken: Vec<Pending> = self.pending.drain(..n).collect();
        let entries: Vec<AnswerEntry> = taken
            .into_iter()
            .map(|p| AnswerEntry {
                challenger: p.challenger,
                nonce: p.nonce,
                floor: PacketNumber::new(self.floor_since(p.since, next_packet)),
            })
            .collect();
        self.last_answer = Some(now);
        Answer::new(own, entries).ok()
    }

    /// The first packet number sealed at or after `since`, give or take a
    /// checkpoint: at most [`CHECKPOINT_EVERY`] earlier. `None` (before the
    /// clock's origin) and instants before every checkpoint map to 0 if no
    /// checkpoint was forgotten, else to the oldest kept; instants after
    /// every checkpoint to `next_packet`, the one this node seals next.
    fn floor_since(&self, since: Option<Instant>, next_packet: u64) -> u64 {
        let oldest = match self.checkpoints.front() {
            Some(&(_, packet)) if self.forgot => packet,
            _ => 0,
        };
        let Some(since) = since else {
            return oldest;
        };
        let i = self.checkpoints.partition_point(|(t, _)| *t <= since);
        let Some(&(at, packet)) = i.checked_sub(1).and_then(|p| self.checkpoints.get(p)) else {
            return oldest;
        };
        if since < at + CHECKPOINT_EVERY {
            // Sealed within a checkpoint's span of `since`.
            return packet;
        }
        // Everything from that checkpoint to the next was sealed within
        // CHECKPOINT_EVERY of it, so before `since`.
        self.checkpoints
            .get(i)
            .map_or(next_packet, |&(_, next)| next)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn challenge(from: u64, waited_ms: u32) -> Challenge {
        Challenge {
            from: SenderId::new(from),
            target: SenderId::new(1),
            nonce: [from as u8; 16],
            waited_ms,
        }
    }

    fn ms(t: Instant, n: u64) -> Instant {
        t + Duration::from_millis(n)
    }

    #[test]
    fn the_floor_is_the_packet_sealed_when_the_challenger_first_heard() {
        let hs = Handshake {
            slack: Duration::from_millis(100),
            ..Handshake::default()
        };
        let t = Instant::now();
        let mut a = Answerer::new();
        // One datagram per ms for 2 s: checkpoints every 10 ms.
        for n in 0..2000 {
            a.on_seal(ms(t, n), n);
        }
        // The challenger first heard us 300 ms before the challenge came
        // in at 2000 ms: we vouch from 2000 - 300 - 100 = 1600 ms on.
        assert!(a.on_challenge(ms(t, 2000), &challenge(5, 300), &hs));
        let answer = a
            .poll_answer(ms(t, 2000), SenderId::new(1), 2000, &hs)
            .unwrap();
        assert_eq!(answer.entries()[0].floor.get(), 1600);
        assert_eq!(answer.entries()[0].nonce, [5; 16]);
        // Long ago: from the start.
        a.on_challenge(ms(t, 2000), &challenge(6, u32::MAX), &hs);
        let later = a
            .poll_answer(ms(t, 2010), SenderId::new(1), 2000, &hs)
            .unwrap();
        assert_eq!(later.entries()[0].floor.get(), 0);
    }

    #[test]
    fn an_idle_sender_vouches_only_for_what_it_sealed_since() {
        let t = Instant::now();
        let mut a = Answerer::new();
        a.on_seal(t, 0);
        a.on_seal(ms(t, 1), 1);
        a.on_seal(ms(t, 10_000), 2);
        a.on_seal(ms(t, 10_001), 3);
        // Packets 0 and 1 were sealed long before 5 s: not vouched for.
        assert_eq!(a.floor_since(Some(ms(t, 5_000)), 4), 2);
        // After every checkpoint: only what comes next.
        assert_eq!(a.floor_since(Some(ms(t, 20_000)), 4), 4);
        // Within a checkpoint's span: from that checkpoint.
        assert_eq!(a.floor_since(Some(ms(t, 10_005)), 4), 2);
        assert_eq!(a.floor_since(Some(t), 4), 0);
    }

    #[test]
    fn answers_are_coalesced_and_spaced() {
        let hs = Handshake::default();
        let t = Instant::now();
        let mut a = Answerer::new();
        a.on_seal(t, 0);
        for from in 10..80 {
            assert!(a.on_challenge(t, &challenge(from, 0), &hs));
        }
        // A retry of one already waiting does not add an entry.
        a.on_challenge(t, &challenge(10, 5), &hs);
        let me = SenderId::new(1);
        assert_eq!(a.poll_answer(t, me, 1, &hs).unwrap().entries().len(), 32);
        assert!(a.poll_answer(t, me, 1, &hs).is_none(), "one per interval");
        assert_eq!(a.next_timer(&hs), Some(t + hs.answer_interval));
        let t2 = t + hs.answer_interval;
        assert_eq!(a.poll_answer(t2, me, 1, &hs).unwrap().entries().len(), 32);
        let t3 = t2 + hs.answer_interval;
        assert_eq!(a.poll_answer(t3, me, 1, &hs).unwrap().entries().len(), 6);
        assert_eq!(a.next_timer(&hs), None);
    }

    #[test]
    fn waiting_challenges_are_bounded() {
        let hs = Handshake::default();
        let t = Instant::now();
        let mut a = Answerer::new();
        for from in 0..MAX_PENDING as u64 {
            assert!(a.on_challenge(t, &challenge(from + 10, 0), &hs));
        }
        assert!(!a.on_challenge(t, &challenge(9999, 0), &hs));
    }

    #[test]
    fn forgotten_checkpoints_make_the_floor_stricter() {
        let t = Instant::now();
        let mut a = Answerer::new();
        let next = MAX_CHECKPOINTS as u64 + 10;
        for n in 0..next {
            a.on_seal(ms(t, n * 10), n);
        }
        assert_eq!(a.floor_since(Some(t), next), 10);
        assert_eq!(a.floor_since(None, next), 10);
        assert_eq!(a.floor_since(Some(ms(t, 5_005)), next), 500);
    }
}
