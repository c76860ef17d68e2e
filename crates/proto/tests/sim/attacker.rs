//! A hostile node on the simulated LAN: what it sends (the attack, with
//! its victim when it impersonates one), how hard (datagrams per burst,
//! bursts per second), and every datagram it sent, to whom. The `World`
//! fans its bursts out to every connected node, without loss, at the
//! instants it asks for.

use std::time::{Duration, Instant};

use eventcast_proto::wire::{Heartbeat, MAX_SEQ};
use eventcast_proto::{encode_body, MessageSeq, SenderId};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// What the attacker sends.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Attack {
    /// New random sender ids, one small complete event each.
    Strangers,
    /// New random sender ids, each opening a partial message (the first
    /// segment of `segments` of 1 KiB) that never completes.
    Partials { segments: u32 },
    /// A few sender ids (`ids`), each opening partial messages (1 KiB
    /// segments of messages of 64 KiB) at random seqs, to fill the
    /// receivers' memory budgets.
    Filler { ids: u64 },
    /// New random sender ids, each sending a complete event at seq 0 and
    /// another far ahead: a gap to ask for.
    Gaps,
    /// Under the victim's id: heartbeats with a lead of 2^40 and a trail
    /// of `trail` (0, or the lead itself), with the largest age.
    FarHeartbeats { victim: u64, trail_at_lead: bool },
    /// Under the victim's id: one data frame at its next seq + 2^40 per
    /// datagram.
    FarSeq { victim: u64 },
    /// Under the victim's id: a forged copy of its next message (seq
    /// given by `next`), sent before the real one.
    Copies { victim: u64 },
    /// Under the victim's id: one forged event `ahead` past its next seq,
    /// inside the window a receiver takes as plausible.
    NearSeq { victim: u64, ahead: u64 },
    /// Under the victim's id: a heartbeat whose lead and trail are both
    /// `ahead` past its next seq, inside the plausible window.
    NearHeartbeat { victim: u64, ahead: u64 },
}

/// A hostile node.
pub(crate) struct Attacker {
    pub(crate) attack: Attack,
    /// Datagrams per burst.
    pub(crate) strength: u32,
    /// Time between bursts.
    pub(crate) every: Duration,
    /// The next burst.
    pub(crate) next: Instant,
    /// The last burst goes at or before this.
    pub(crate) until: Instant,
    /// Datagrams sent (each reaches every connected node).
    pub(crate) sent: u64,
    rng: ChaCha8Rng,
}

impl Attacker {
    /// An attacker sending `strength` datagrams every `every`, from
    /// `start` to `until`.
    pub(crate) fn new(
        attack: Attack,
        strength: u32,
        every: Duration,
        (start, until): (Instant, Instant),
        seed: u64,
    ) -> Self {
        Self {
            attack,
            strength,
            every,
            next: start,
            until,
            sent: 0,
            rng: ChaCha8Rng::seed_from_u64(seed ^ 0xA77AC),
        }
    }

    /// The next burst, if it is due at `now`; `victim_next` is the next seq
    /// the victim will send.
    pub(crate) fn burst(&mut self, now: Instant, victim_next: u64) -> Vec<Vec<u8>> {
        if now < self.next || self.next > self.until {
            return Vec::new();
        }
        self.next += self.every;
        let mut out = Vec::new();
        for k in 0..self.strength {
            out.extend(self.datagrams(victim_next, k));
        }
        self.sent += out.len() as u64;
        out
    }

    /// When the next burst is due, if any.
    pub(crate) fn due(&self) -> Option<Instant> {
        (self.next <= self.until).then_some(self.next)
    }

    fn stranger(&mut self) -> u64 {
        self.rng.random_range(1u64 << 40..1 << 62)
    }

    fn datagrams(&mut self, victim_next: u64, k: u32) -> Vec<Vec<u8>> {
        let small = encode_body("x", &[]).expect("encodes");
        match self.attack {
            Attack::Strangers => {
                let id = self.stranger();
                let seq = self.rng.random_range(0..1000);
                vec![data(id, seq, 0, 1, &small, small.len())]
            }
            Attack::Partials { segments } => {
                let id = self.stranger();
                let seq = self.rng.random_range(0..1000);
                let len = segments as usize * 1024;
                vec![data(id, seq, 0, segments, &[0xEE; 1024], len)]
            }
            Attack::Filler { ids } => {
                let id = (1 << 40) + self.rng.random_range(0..ids);
                let seq = self.rng.random_range(0..10_000);
                let index = self.rng.random_range(0..64);
                vec![data(id, seq, index, 64, &[0xEE; 1024], 64 * 1024)]
            }
            Attack::Gaps => {
                let id = self.stranger();
                let far = self.rng.random_range(1000..1 << 19);
                vec![
                    data(id, 0, 0, 1, &small, small.len()),
                    data(id, far, 0, 1, &small, small.len()),
                ]
            }
            Attack::FarHeartbeats {
                victim,
                trail_at_lead,
            } => {
                let lead = (1u64 << 40) + u64::from(k);
                let trail = if trail_at_lead { lead } else { 0 };
                let mut out = Vec::new();
                Heartbeat::new(
                    SenderId::new(victim),
                    MessageSeq::new(lead),
                    MessageSeq::new(trail),
                    u32::MAX,
                )
                .expect("valid heartbeat")
                .write(&mut out);
                vec![out]
            }
            Attack::FarSeq { victim } => {
                let seq = (victim_next + (1 << 40) + u64::from(k)).min(MAX_SEQ);
                vec![data(victim, seq, 0, 1, &small, small.len())]
            }
            Attack::Copies { victim } => {
                let forged =
                    encode_body("e", &[bson::Bson::String("forged".into())]).expect("encodes");
                let seq = victim_next + u64::from(k);
                vec![data(victim, seq, 0, 1, &forged, forged.len())]
            }
            Attack::NearHeartbeat { victim, ahead } => {
                let lead = MessageSeq::new(victim_next + ahead + u64::from(k));
                let mut out = Vec::new();
                Heartbeat::new(SenderId::new(victim), lead, lead, 1000)
                    .expect("valid heartbeat")
                    .write(&mut out);
                vec![out]
            }
            Attack::NearSeq { victim, ahead } => {
                let forged =
                    encode_body("e", &[bson::Bson::String("forged".into())]).expect("encodes");
                let seq = victim_next + ahead + u64::from(k);
                vec![data(victim, seq, 0, 1, &forged, forged.len())]
            }
        }
    }
}

/// A raw data frame: segment `index` of `count` of a message of `len`
/// bytes, carrying `payload`.
fn data(sender: u64, seq: u64, index: u32, count: u32, payload: &[u8], len: usize) -> Vec<u8> {
    crate::common::datagram(sender, seq, index, count, len as u32, payload)
}
