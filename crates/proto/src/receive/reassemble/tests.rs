//! Tests of `receive/reassemble.rs`.

use std::collections::BTreeSet;
use std::time::Duration;

use proptest::prelude::*;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::*;
use crate::ids::SegmentIndex;
use crate::seqwindow::WINDOW;
use crate::shared::{EndpointEvent, Loss};
use crate::wire::{DataFrame, DataHeader, Flags};

const FROM: SocketAddr = SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), 4000);

/// Builds a segment of a message of `len` bytes cut at `size`.
fn seg(sender: u64, seq: u64, len: usize, size: usize, index: usize) -> (DataHeader, Vec<u8>) {
    let count = len.div_ceil(size);
    let payload = (index * size..len.min((index + 1) * size))
        .map(|i| i as u8)
        .collect::<Vec<_>>();
    let header = DataHeader {
        flags: Flags::empty(),
        sender: SenderId::new(sender),
        seq: MessageSeq::new(seq),
        index: SegmentIndex::new(index as u32),
        count: count as u32,
        message_len: len as u32,
    };
    (header, payload)
}

fn receiver(config: &Config) -> Receiver {
    Receiver::new(config, SenderId::new(99), ChaCha8Rng::seed_from_u64(0))
}

/// Feeds a segment to reassembly alone, and checks the books. The
/// segment vouches for its seq, as `on_data` has it do for a sender's data
/// from its own address (every segment here comes from `FROM`): a partial
/// message past what its sender vouched for expires otherwise.
fn insert(
    r: &mut Receiver,
    now: Instant,
    stats: &mut Stats,
    (header, payload): &(DataHeader, Vec<u8>),
) -> Arrival {
    let frame = DataFrame::new(*header, payload).unwrap();
    let segment = Segment::of_frame(FROM, &frame);
    let arrival = r.insert(now, stats, &segment, frame.payload());
    if let Some(state) = r.senders.get_mut(&segment.sender) {
        state.vouch(segment.from, segment.seq.saturating_add(1), now);
    }
    check_invariants(r);
    arrival
}

fn next_deadline(r: &Receiver) -> Option<Instant> {
    r.ledger.expiry.first().map(|(d, _, _)| *d)
}

/// Every counter agrees with what is held, every partial has exactly
/// one expiry entry and no entry is stale, and no limit is exceeded.
fn check_invariants(r: &Receiver) {
    let config = &r.config;
    let mut bytes = 0;
    let mut partials = 0;
    let mut expiry = BTreeSet::new();
    assert!(r.senders.len() <= config.max_senders);
    for (id, state) in r.senders.iter() {
        let mut sender_bytes = 0;
        assert!(state.partials.len() <= config.max_partial_messages_per_sender);
        for (&seq, p) in &state.partials {
            let held = p.segments.bytes() + p.segments.len() * SEGMENT_OVERHEAD;
            assert_eq!(p.bytes, held);
            assert!(!p.segments.is_empty());
            assert!(p.segments.len() < p.count as usize);
            assert!(p.segments.indexes().all(|i| i < p.count));
            assert_eq!(state.window.status(seq), SeqStatus::Open);
            expiry.insert((p.deadline, *id, MessageSeq::new(seq)));
            sender_bytes += held;
            partials += 1;
        }
        sender_bytes += state.extra;
        assert_eq!(state.window_bytes, state.window.bytes());
        sender_bytes += state.window_bytes;
        assert_eq!(state.bytes, sender_bytes);
        assert!(sender_bytes <= config.max_partial_bytes_per_sender);
        bytes += sender_bytes;
    }
    assert_eq!(r.ledger.bytes, bytes);
    let extra: usize = r.senders.values().map(|s| s.extra).sum();
    assert_eq!(r.ledger.extra, extra);
    assert_eq!(r.ledger.partials, partials);
    assert!(bytes <= config.max_partial_bytes);
    assert_eq!(r.ledger.expiry, expiry);
}

fn config() -> Config {
    Config {
        max_message_size: 1000,
        ..Config::default()
    }
}

#[test]
fn completes_in_any_order_and_returns_the_body() {
    let (c, t, mut s) = (config(), Instant::now(), Stats::default());
    let mut r = receiver(&c);
    let segs: Vec<_> = (0..4).map(|i| seg(1, 0, 100, 30, i)).collect();
    for i in [2, 0, 3] {
        assert_eq!(insert(&mut r, t, &mut s, &segs[i]), Arrival::Buffered);
    }
    assert_eq!(r.partial_bytes(), 70 + 3 * SEGMENT_OVERHEAD);
    let body: Vec<u8> = (0..100).collect();
    let arrival = insert(&mut r, t, &mut s, &segs[1]);
    assert_eq!(arrival, Arrival::Complete(body));
    assert_eq!((r.partial_messages(), r.partial_bytes()), (0, 0));
    assert_eq!(next_deadline(&r), None);
    for g in &segs {
        let arrival = insert(&mut r, t, &mut s, g);
        assert_eq!(arrival, Arrival::Dropped(DropReason::Duplicate));
    }
}

#[test]
fn single_segment_is_never_buffered() {
    let (c, t, mut s) = (config(), Instant::now(), Stats::default());
    let mut r = receiver(&c);
    let g = seg(1, 3, 20, 30, 0);
    assert_eq!(
        insert(&mut r, t, &mut s, &g),
        Arrival::Complete(g.1.clone())
    );
    assert_eq!(
        insert(&mut r, t, &mut s, &g),
        Arrival::Dropped(DropReason::Duplicate)
    );
    assert_eq!(r.partial_messages(), 0);
    assert_eq!(r.senders(), 1);
}

#[test]
fn one_segment_claiming_an_open_message_is_inconsistent() {
    let (c, t, mut s) = (config(), Instant::now(), Stats::default());
    let mut r = receiver(&c);
    insert(&mut r, t, &mut s, &seg(1, 0, 100, 30, 0));
    let whole = seg(1, 0, 100, 100, 0);
    let arrival = insert(&mut r, t, &mut s, &whole);
    assert_eq!(arrival, Arrival::Dropped(DropReason::Inconsistent));
    assert_eq!(r.partial_messages(), 1);
    // and the message can still complete
    for i in 1..4 {
        insert(&mut r, t, &mut s, &seg(1, 0, 100, 30, i));
    }
    assert_eq!(r.partial_messages(), 0);
    r.expire(t + Duration::from_secs(3600), &mut s);
    assert_eq!(s.dropped.expired, 0);
}

#[test]
fn sliding_the_window_abandons_older_partials() {
    let (c, t, mut s) = (config(), Instant::now(), Stats::default());
    let mut r = receiver(&c);
    insert(&mut r, t, &mut s, &seg(1, 10, 100, 30, 0));
    insert(&mut r, t, &mut s, &seg(1, 11, 100, 30, 0));
    // seq 10 + WINDOW slides the base to 11: 10 goes, 11 stays
    let arrival = insert(&mut r, t, &mut s, &seg(1, 10 + WINDOW, 100, 30, 0));
    assert_eq!(arrival, Arrival::Buffered);
    assert_eq!(s.dropped.abandoned, 1);
    assert_eq!(r.partial_messages(), 2);
    let arrival = insert(&mut r, t, &mut s, &seg(1, 10, 100, 30, 1));
    assert_eq!(arrival, Arrival::Dropped(DropReason::Stale));
}

#[test]
fn eviction_forgets_partials_and_their_deadlines() {
    let (mut c, t, mut s) = (config(), Instant::now(), Stats::default());
    c.max_senders = 2;
    let mut r = receiver(&c);
    insert(&mut r, t, &mut s, &seg(1, 0, 100, 30, 0));
    insert(&mut r, t, &mut s, &seg(1, 1, 100, 30, 0));
    let later = t + Duration::from_millis(1);
    insert(&mut r, later, &mut s, &seg(2, 0, 100, 30, 0));
    assert_eq!((s.dropped.abandoned, s.senders_evicted), (0, 0));
    insert(&mut r, later, &mut s, &seg(3, 0, 100, 30, 0));
    assert_eq!((s.dropped.abandoned, s.senders_evicted), (2, 1));
    let evicted: Vec<SenderId> = r.evicted.iter().map(|e| e.id).collect();
    assert_eq!(evicted, [SenderId::new(1)]);
    assert_eq!(r.senders(), 2);
    assert_eq!(next_deadline(&r), Some(later + c.message_ttl));
}

#[test]
fn expiry_marks_the_message_finished() {
    let (c, t, mut s) = (config(), Instant::now(), Stats::default());
    let mut r = receiver(&c);
    insert(&mut r, t, &mut s, &seg(1, 0, 100, 30, 0));
    r.expire(t + c.message_ttl - Duration::from_nanos(1), &mut s);
    assert_eq!(s.dropped.expired, 0);
    r.expire(t + c.message_ttl, &mut s);
    assert_eq!((s.dropped.expired, r.partial_messages()), (1, 0));
    // Not believed real yet: the report waits.
    assert_eq!(r.events_mut().pop_front(), None);
    assert_eq!((s.losses_waiting, s.messages_lost), (1, 0));
    r.believe(t + c.message_ttl, &mut s, SenderId::new(1));
    let lost = EndpointEvent::Loss(Loss {
        sender: SenderId::new(1),
        first: MessageSeq::new(0),
        count: 1,
        reason: LossReason::Expired,
    });
    assert_eq!(r.events_mut().pop_front(), Some(lost));
    assert_eq!((s.messages_lost, s.losses_untold), (1, 0));
    check_invariants(&r);
    let arrival = insert(&mut r, t + c.message_ttl, &mut s, &seg(1, 0, 100, 30, 1));
    assert_eq!(arrival, Arrival::Dropped(DropReason::Duplicate));
}

/// A partial message past what its sender vouched for (its segment came
/// from elsewhere, an impersonator's perhaps) is dropped when it expires,
/// but neither reported lost nor finished: the sender's own message there
/// is still taken.
#[test]
fn expiry_past_what_the_sender_vouched_for_leaves_the_message_open() {
    let (c, t, mut s) = (config(), Instant::now(), Stats::default());
    let mut r = receiver(&c);
    insert(&mut r, t, &mut s, &seg(1, 0, 30, 30, 0));
    // Believed, at home at `FROM`.
    r.senders
        .get_mut(&SenderId::new(1))
        .unwrap()
        .believe_at_home();
    let elsewhere = SocketAddr::new(FROM.ip(), 4001);
    let (header, payload) = seg(1, 5, 100, 30, 0);
    let frame = DataFrame::new(header, &payload).unwrap();
    let segment = Segment::of_frame(elsewhere, &frame);
    r.insert(t, &mut s, &segment, frame.payload());
    let state = r.senders.get_mut(&SenderId::new(1)).unwrap();
    state.vouch(elsewhere, 6, t);
    assert_eq!(state.vouched, 1);
    r.expire(t + c.message_ttl, &mut s);
    assert_eq!((s.dropped.expired, r.partial_messages()), (1, 0));
    assert_eq!((s.messages_lost, r.events_mut().pop_front()), (0, None));
    let state = r.senders.get(&SenderId::new(1)).unwrap();
    assert_eq!(state.window.status(5), SeqStatus::Open);
    check_invariants(&r);
    let arrival = insert(&mut r, t + c.message_ttl, &mut s, &seg(1, 5, 100, 30, 1));
    assert_eq!(arrival, Arrival::Buffered);
}

#[test]
fn a_sender_never_believed_has_its_losses_untold() {
    let (mut c, t, mut s) = (config(), Instant::now(), Stats::default());
    c.max_senders = 1;
    let mut r = receiver(&c);
    // Runs of lost seqs: 0-1 (merged), 3, 5, 7, then 9 finds no room.
    for seq in [0, 1, 3, 5, 7, 9] {
        insert(&mut r, t, &mut s, &seg(1, seq, 100, 30, 0));
    }
    r.expire(t + c.message_ttl, &mut s);
    assert_eq!(r.events_mut().pop_front(), None);
    assert_eq!((s.losses_waiting, s.losses_untold), (6, 1));
    let state = r.senders.get(&SenderId::new(1)).unwrap();
    assert_eq!(
        state.waiting_losses.len(),
        super::super::state::MAX_WAITING_LOSSES
    );
    // Another id pushes it out before it is believed: none is told.
    let later = t + c.message_ttl + Duration::from_millis(1);
    insert(&mut r, later, &mut s, &seg(2, 0, 100, 30, 0));
    assert_eq!(s.senders_evicted, 1);
    assert_eq!(
        (s.losses_waiting, s.losses_untold, s.messages_lost),
        (6, 6, 0)
    );
    assert_eq!(r.events_mut().pop_front(), None);
}

#[derive(Debug, Clone)]
enum Op {
    Insert {
        sender: u64,
        seq: u64,
        len: usize,
        size: usize,
        index: prop::sample::Index,
    },
    Advance(u64),
    Expire,
}

fn op() -> impl Strategy<Value = Op> {
    let seq = prop_oneof![8 => 0u64..6, 1 => 0u64..3 * WINDOW, 1 => 0..=crate::wire::MAX_SEQ];
    let insert = (
        1u64..=5,
        seq,
        1usize..=1200,
        16usize..=400,
        any::<prop::sample::Index>(),
    )
        .prop_map(|(sender, seq, len, size, index)| Op::Insert {
            sender,
            seq,
            len,
            size,
            index,
        });
    prop_oneof![8 => insert, 2 => (0u64..1500).prop_map(Op::Advance), 1 => Just(Op::Expire)]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// Random segments (some too large, some far ahead, some from too
    /// many senders) under tight limits: the bookkeeping always agrees
    /// with what is held and never passes a limit.
    #[test]
    fn bookkeeping_holds_under_random_operations(ops in prop::collection::vec(op(), 1..200)) {
        let mut c = config();
        c.max_senders = 3;
        c.max_partial_messages_per_sender = 2;
        c.max_partial_bytes_per_sender = 1500;
        c.max_partial_bytes = 3000;
        let mut r = receiver(&c);
        let mut s = Stats::default();
        let mut now = Instant::now();
        for op in ops {
            match op {
                Op::Insert { sender, seq, len, size, index } => {
                    let i = index.index(len.div_ceil(size));
                    insert(&mut r, now, &mut s, &seg(sender, seq, len, size, i));
                }
                Op::Advance(ms) => now += Duration::from_millis(ms),
                Op::Expire => {
                    r.expire(now, &mut s);
                    check_invariants(&r);
                    prop_assert!(next_deadline(&r).is_none_or(|d| d > now));
                }
            }
        }
    }
}
