//! The receiving endpoint against a simple model, driven by random
//! operations (in the style of s2n-quic's `buffer/reassembler/tests.rs`):
//! insert segment i of message k, deliver again something already sent,
//! advance simulated time, land exactly on the next deadline, handle the
//! timeout. After every operation the endpoint must agree with the model on
//! what was delivered (never twice), what expired and when (`message_ttl`
//! after the last new segment, to the nanosecond), what was refused for a
//! budget, and on its gauges and its next deadline.
#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use crate::common::*;
use bson::Bson;
use eventcast_proto::{Endpoint, Stats};
use proptest::prelude::*;
use proptest::sample::Index;

/// What the reassembler charges per buffered segment on top of its payload
/// (`config::SEGMENT_OVERHEAD`; `overhead_is_what_the_model_thinks` checks it).
const OVERHEAD: u64 = 64;
const TTL: Duration = Duration::from_millis(100);
const SENDERS: [u64; 2] = [0xA, 0xB];
const PER_SENDER: usize = 3;
const MAX_MESSAGE: usize = 400;

#[derive(Clone, Debug)]
enum Op {
    /// Feed segment `seg` of message `msg`.
    Insert { msg: Index, seg: Index },
    /// Feed a segment of message `msg` that the model says is missing (or
    /// any, if none is), so that messages do complete.
    InsertMissing { msg: Index, seg: Index },
    /// Feed again one of the datagrams fed so far.
    Redeliver(Index),
    /// Let time pass.
    Advance(Duration),
    /// Move to the model's earliest deadline, plus -1, 0 or +1 ns.
    ToDeadline(i8),
    /// Handle the timeout at the current instant.
    Timeout,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (any::<Index>(), any::<Index>()).prop_map(|(msg, seg)| Op::Insert { msg, seg }),
        8 => (any::<Index>(), any::<Index>()).prop_map(|(msg, seg)| Op::InsertMissing { msg, seg }),
        2 => any::<Index>().prop_map(Op::Redeliver),
        2 => (0u64..=40).prop_map(|ms| Op::Advance(Duration::from_millis(ms))),
        1 => (-1i8..=1).prop_map(Op::ToDeadline),
        2 => Just(Op::Timeout),
    ]
}

#[derive(Clone, Debug, PartialEq)]
enum State {
    Idle,
    Open {
        have: BTreeSet<usize>,
        deadline: Instant,
    },
    Delivered,
    Expired,
}

struct Msg {
    sender: u64,
    seq: u64,
    event: (String, Vec<Bson>),
    datagrams: Vec<Vec<u8>>,
    state: State,
}

struct Model {
    msgs: Vec<Msg>,
    ttl: Duration,
    per_sender_budget: u64,
    total_budget: u64,
    max_partials: usize,
    stats: Stats,
}

impl Model {
    fn charge(&self, k: usize, seg: usize) -> u64 {
        (self.msgs[k].datagrams[seg].len() - 33) as u64 + OVERHEAD
    }

    fn held(&self, k: usize) -> u64 {
        match &self.msgs[k].state {
            State::Open { have, .. } => have.iter().map(|&s| self.charge(k, s)).sum(),
            _ => 0,
        }
    }

    fn bytes(&self, sender: Option<u64>) -> u64 {
        (0..self.msgs.len())
            .filter(|&k| sender.is_none_or(|s| self.msgs[k].sender == s))
            .map(|k| self.held(k))
            .sum()
    }

    fn open(&self, sender: Option<u64>) -> usize {
        self.msgs
            .iter()
            .filter(|m| sender.is_none_or(|s| m.sender == s))
            .filter(|m| matches!(m.state, State::Open { .. }))
            .count()
    }

    fn missing(&self, k: usize) -> Vec<usize> {
        let m = &self.msgs[k];
        match &m.state {
            State::Idle => (0..m.datagrams.len()).collect(),
            State::Open { have, .. } => (0..m.datagrams.len())
                .filter(|s| !have.contains(s))
                .collect(),
            State::Delivered | State::Expired => Vec::new(),
        }
    }

    fn next_deadline(&self) -> Option<Instant> {
        self.msgs
            .iter()
            .filter_map(|m| match m.state {
                State::Open { deadline, .. } => Some(deadline),
                _ => None,
            })
            .min()
    }

    fn expire(&mut self, now: Instant) {
        for m in &mut self.msgs {
            if matches!(m.state, State::Open { deadline, .. } if deadline <= now) {
                m.state = State::Expired;
                self.stats.dropped.expired += 1;
            }
        }
    }

    /// Whether `sender` completed a message (the endpoint believes it).
    fn believed(&self, sender: u64) -> bool {
        self.msgs
            .iter()
            .any(|m| m.sender == sender && m.state == State::Delivered)
    }

    /// Whether a believed sender's segment that would overflow the total
    /// budget makes room by forgetting the other sender (not believed,
    /// holding partials; `admission.rs`). The model does not follow what
    /// a forgotten sender's later datagrams do, nor the gap and window
    /// charges that also count against the endpoint's budget, so a run
    /// stops being compared where either side makes room; `limits`, `sim/budget_fill.rs` and the node's
    /// `flood_memory.rs` test the rule itself.
    fn makes_room(&self, sender: u64, charge: u64) -> bool {
        self.believed(sender)
            && self.bytes(None) + charge > self.total_budget
            && self.bytes(Some(sender)) + charge <= self.per_sender_budget
            && SENDERS
                .into_iter()
                .any(|v| v != sender && !self.believed(v) && self.bytes(Some(v)) > 0)
    }

    /// What feeding segment `seg` of message `k` at `now` must do. Returns
    /// whether it delivers the message; `None` if it makes room
    /// ([`makes_room`](Self::makes_room)): the model stops there.
    fn insert(&mut self, now: Instant, k: usize, seg: usize) -> Option<bool> {
        self.expire(now);
        self.stats.datagrams_received += 1;
        let count = self.msgs[k].datagrams.len();
        let sender = self.msgs[k].sender;
        let charge = self.charge(k, seg);
        // Only a segment that will be looked at for buffering makes room
        // (duplicates are dropped before).
        let fresh = match &self.msgs[k].state {
            State::Idle => count > 1 && self.open(Some(sender)) < self.max_partials,
            State::Open { have, .. } => !have.contains(&seg),
            State::Delivered | State::Expired => false,
        };
        if fresh && self.makes_room(sender, charge) {
            return None;
        }
        let over = self.bytes(Some(sender)) + charge > self.per_sender_budget
            || self.bytes(None) + charge > self.total_budget;
        let deadline = now + self.ttl;
        let open_of_sender = self.open(Some(sender));
        let max_partials = self.max_partials;
        let state = &mut self.msgs[k].state;
        let delivered = match state {
            State::Delivered | State::Expired => {
                self.stats.dropped.duplicate += 1;
                return Some(false);
            }
            State::Idle if count == 1 => true,
            State::Idle => {
                if over || open_of_sender >= max_partials {
                    self.stats.dropped.over_budget += 1;
                    return Some(false);
                }
                *state = State::Open {
                    have: BTreeSet::from([seg]),
                    deadline,
                };
                false
            }
            State::Open { have, .. } if have.contains(&seg) => {
                self.stats.dropped.duplicate += 1;
                return Some(false);
            }
            State::Open { have, deadline: d } => {
                if over {
                    self.stats.dropped.over_budget += 1;
                    return Some(false);
                }
                have.insert(seg);
                *d = deadline;
                have.len() == count
            }
        };
        self.stats.segments_received += 1;
        if delivered {
            *state = State::Delivered;
            self.stats.messages_received += 1;
        }
        Some(delivered)
    }

    fn check(&self, rx: &Endpoint) -> Result<(), TestCaseError> {
        let s = rx.stats();
        let m = &self.stats;
        prop_assert_eq!(s.datagrams_received, m.datagrams_received);
        prop_assert_eq!(s.segments_received, m.segments_received);
        prop_assert_eq!(s.messages_received, m.messages_received);
        prop_assert_eq!(s.dropped.expired, m.dropped.expired, "expiry differs");
        prop_assert_eq!(s.dropped.duplicate, m.dropped.duplicate);
        prop_assert_eq!(s.dropped.over_budget, m.dropped.over_budget);
        prop_assert_eq!(s.dropped.total(), m.dropped.total());
        prop_assert_eq!(s.partial_messages, self.open(None) as u64);
        prop_assert_eq!(s.partial_bytes, self.bytes(None));
        prop_assert_eq!(rx.poll_timeout(), self.next_deadline());
        assert_accounting(&s);
        Ok(())
    }
}

/// Two senders, three messages each, segment sizes 16 to 64, bodies of a
/// few bytes (one segment) to a few hundred; receiver budgets from barely
/// valid to roomy.
fn setup() -> impl Strategy<Value = (Vec<(usize, usize)>, usize, u64, u64)> {
    let msgs = prop::collection::vec((0usize..=300, 16usize..=64), SENDERS.len() * PER_SENDER);
    (msgs, 1usize..=3, 0u64..=3000, 0u64..=3000)
}

fn build(
    shapes: &[(usize, usize)],
    max_partials: usize,
    extra_sender: u64,
    extra_total: u64,
) -> (Endpoint, Model) {
    let mut rx_config = reassembly_only(1024);
    rx_config.message_ttl = TTL;
    rx_config.max_message_size = MAX_MESSAGE;
    rx_config.max_partial_messages_per_sender = max_partials;
    // the least `Config::validate` accepts, plus something
    let needed = MAX_MESSAGE + MAX_MESSAGE.div_ceil(1024) * OVERHEAD as usize;
    rx_config.max_partial_bytes_per_sender = needed + extra_sender as usize;
    rx_config.max_partial_bytes = needed + extra_total as usize;
    let rx = endpoint(rx_config.clone(), 0xCAFE);

    let mut msgs = Vec::new();
    for (s, &sender) in SENDERS.iter().enumerate() {
        for seq in 0..PER_SENDER {
            let (len, size) = shapes[s * PER_SENDER + seq];
            let mut tx = endpoint(reassembly_only(size), sender);
            // sequence numbers are per sender: burn the earlier ones
            for _ in 0..seq {
                tx.emit(t0(), "skip", &[]).unwrap();
            }
            transmits(&mut tx);
            let event = ("m".to_owned(), vec![Bson::String("s".repeat(len))]);
            assert_eq!(tx.emit(t0(), &event.0, &event.1).unwrap().get(), seq as u64);
            msgs.push(Msg {
                sender,
                seq: seq as u64,
                event,
                datagrams: transmits(&mut tx),
                state: State::Idle,
            });
        }
    }
    let model = Model {
        msgs,
        ttl: TTL,
        per_sender_budget: rx_config.max_partial_bytes_per_sender as u64,
        total_budget: rx_config.max_partial_bytes as u64,
        max_partials,
        stats: Stats::default(),
    };
    (rx, model)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn endpoint_matches_model(
        (shapes, max_partials, extra_sender, extra_total) in setup(),
        ops in prop::collection::vec(op(), 1..300),
    ) {
        let (mut rx, mut model) = build(&shapes, max_partials, extra_sender, extra_total);
        let mut now = t0();
        let mut fed: Vec<(usize, usize)> = Vec::new();
        let mut delivered = BTreeSet::new();
        for op in ops {
            let target = match op {
                Op::Insert { msg, seg } => {
                    let k = msg.index(model.msgs.len());
                    Some((k, seg.index(model.msgs[k].datagrams.len())))
                }
                Op::InsertMissing { msg, seg } => {
                    let k = msg.index(model.msgs.len());
                    let missing = model.missing(k);
                    let seg = if missing.is_empty() {
                        seg.index(model.msgs[k].datagrams.len())
                    } else {
                        missing[seg.index(missing.len())]
                    };
                    Some((k, seg))
                }
                Op::Redeliver(i) if !fed.is_empty() => Some(fed[i.index(fed.len())]),
                Op::Redeliver(_) => None,
                Op::Advance(d) => {
                    now += d;
                    None
                }
                Op::ToDeadline(delta) => {
                    if let Some(d) = model.next_deadline() {
                        let d = match delta {
                            -1 => d - Duration::from_nanos(1),
                            0 => d,
                            _ => d + Duration::from_nanos(1),
                        };
                        now = now.max(d);
                    }
                    None
                }
                Op::Timeout => {
                    rx.handle_timeout(now);
                    model.expire(now);
                    None
                }
            };
            let mut want = BTreeMap::new();
            if let Some((k, seg)) = target {
                fed.push((k, seg));
                rx.handle_datagram(now, addr(7), &model.msgs[k].datagrams[seg]);
                // Room made (by the model's reckoning, or by the endpoint's,
                // whose budget also holds gap and window charges the model
                // does not keep): the comparison ends here.
                let Some(delivers) = model.insert(now, k, seg) else {
                    return Ok(());
                };
                if rx.stats().senders_forgotten_for_room > 0 {
                    return Ok(());
                }
                if delivers {
                    let m = &model.msgs[k];
                    want.insert((m.sender, m.seq), m.event.clone());
                }
            }
            let got: BTreeMap<_, _> = messages_skipping_expiry_reports(&mut rx)
                .into_iter()
                .map(|m| ((m.sender.get(), m.seq.get()), (m.name.to_string(), m.args.into_vec())))
                .collect();
            prop_assert_eq!(&got, &want, "deliveries differ");
            for key in got.keys() {
                prop_assert!(delivered.insert(*key), "{:?} delivered twice", key);
            }
            model.check(&rx)?;
        }
        // whatever is still open expires one ttl after its last new segment
        while let Some(next) = model.next_deadline() {
            rx.handle_timeout(next);
            model.expire(next);
            model.check(&rx)?;
        }
        prop_assert_eq!(rx.stats().partial_messages, 0);
        prop_assert_eq!(rx.stats().partial_bytes, 0);
        prop_assert_eq!(rx.poll_timeout(), None);
    }
}

#[test]
fn overhead_is_what_the_model_thinks() {
    let mut rx = endpoint(reassembly_only(1024), 1);
    rx.handle_datagram(t0(), addr(1), &datagram(2, 0, 0, 2, 30, &[1; 20]));
    assert_eq!(rx.stats().partial_bytes, 20 + OVERHEAD);
}
