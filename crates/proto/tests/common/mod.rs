//! Helpers shared by the integration tests: simulated time, endpoints,
//! hand-built datagrams, arbitrary BSON, and the accounting invariant.
//!
//! Nothing here touches a socket or reads a clock except [`t0`], which reads
//! it once to get a base `Instant`; every later instant is `t0() + d`.
// Shared by several test binaries (sim, sealed, reassembly, limits,
// endpoint, legacy), each of which uses only part of it.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use bson::spec::BinarySubtype;
use bson::{Binary, Bson, Document};
use eventcast_proto::wire::{DataFrame, DataHeader, Flags, Heartbeat};
use eventcast_proto::{
    Config, Endpoint, EndpointEvent, MessageSeq, ReceivedMessage, SegmentIndex, SenderId, Stats,
};
use proptest::prelude::*;

/// The base of simulated time.
pub(crate) fn t0() -> Instant {
    static T0: OnceLock<Instant> = OnceLock::new();
    *T0.get_or_init(Instant::now)
}

/// `t0() + ms` milliseconds.
pub(crate) fn at(ms: u64) -> Instant {
    t0() + Duration::from_millis(ms)
}

/// A source address (never bound: it is only a label here).
pub(crate) fn addr(n: u16) -> SocketAddr {
    SocketAddr::from(([192, 0, 2, 1], n))
}

/// The default config with another segment size. `max_message_size` is
/// lowered to 1 MiB so that the default budgets stay valid for any size.
pub(crate) fn config(max_payload_size: usize) -> Config {
    let mut c = Config::default();
    c.max_payload_size = max_payload_size;
    c.max_message_size = 1024 * 1024;
    c
}

/// [`config`] with loss recovery and ordering off: for tests of
/// reassembly and its limits alone, where a NACK timer or a message held
/// for order would only get in the way. (Recovery and ordering have
/// their own simulations, `sim_*.rs`.)
pub(crate) fn reassembly_only(max_payload_size: usize) -> Config {
    let mut c = config(max_payload_size);
    c.ordered = false;
    c.max_retransmit_attempts = 0;
    c
}

/// An endpoint that must be valid.
pub(crate) fn endpoint(config: Config, id: u64) -> Endpoint {
    Endpoint::new(config, SenderId::new(id)).expect("valid config")
}

/// Every datagram the endpoint has queued, all at once (pacing is not
/// what these tests are about: it is turned off for the drain).
pub(crate) fn transmits(e: &mut Endpoint) -> Vec<Vec<u8>> {
    e.set_paced(false);
    let mut buf = Vec::new();
    let out = std::iter::from_fn(|| e.poll_transmit(t0(), &mut buf).map(|_| buf.clone())).collect();
    e.set_paced(true);
    out
}

/// Every event the endpoint has queued.
pub(crate) fn events(e: &mut Endpoint) -> Vec<EndpointEvent> {
    std::iter::from_fn(|| e.poll_event()).collect()
}

/// Every queued event, which must all be messages.
pub(crate) fn messages(e: &mut Endpoint) -> Vec<ReceivedMessage> {
    events(e)
        .into_iter()
        .map(|ev| match ev {
            EndpointEvent::Message(m) => std::sync::Arc::unwrap_or_clone(m),
            other => panic!("expected a message, got {other:?}"),
        })
        .collect()
}

/// Every queued message, skipping the loss reports of expired messages and
/// of messages slid out of the window (for tests whose model counts those
/// through `Stats` instead).
pub(crate) fn messages_skipping_expiry_reports(e: &mut Endpoint) -> Vec<ReceivedMessage> {
    events(e)
        .into_iter()
        .filter_map(|ev| match ev {
            EndpointEvent::Message(m) => Some(std::sync::Arc::unwrap_or_clone(m)),
            EndpointEvent::Loss(l)
                if matches!(
                    l.reason,
                    eventcast_proto::LossReason::Expired | eventcast_proto::LossReason::Overrun
                ) =>
            {
                None
            }
            other => panic!("expected a message, got {other:?}"),
        })
        .collect()
}

/// A body of exactly `len` bytes (at least 21): event "x" with one binary
/// argument that fills the rest.
pub(crate) fn body_of_len(len: usize) -> Vec<u8> {
    let overhead = eventcast_proto::encode_body("x", &[binary(Vec::new())])
        .expect("encodes")
        .len();
    let body =
        eventcast_proto::encode_body("x", &[binary(vec![0xAB; len - overhead])]).expect("encodes");
    assert_eq!(body.len(), len);
    body
}

/// A generic binary BSON value.
pub(crate) fn binary(bytes: Vec<u8>) -> Bson {
    Bson::Binary(Binary {
        subtype: BinarySubtype::Generic,
        bytes,
    })
}

/// A data datagram built by hand, exactly as a (possibly forged) sender
/// would: `payload` must fit the geometry.
pub(crate) fn datagram(
    sender: u64,
    seq: u64,
    index: u32,
    count: u32,
    message_len: u32,
    payload: &[u8],
) -> Vec<u8> {
    flagged_datagram(
        Flags::empty(),
        sender,
        seq,
        index,
        count,
        message_len,
        payload,
    )
}

/// Whole event `seq` of `sender` in one datagram, with a body of `len`
/// bytes, sent live or (`Flags::RETRANSMISSION`) as a repair.
pub(crate) fn whole_event(sender: u64, seq: u64, len: usize, flags: Flags) -> Vec<u8> {
    let body = body_of_len(len);
    flagged_datagram(flags, sender, seq, 0, 1, body.len() as u32, &body)
}

/// [`datagram`] with `flags`.
fn flagged_datagram(
    flags: Flags,
    sender: u64,
    seq: u64,
    index: u32,
    count: u32,
    message_len: u32,
    payload: &[u8],
) -> Vec<u8> {
    let header = DataHeader {
        flags,
        sender: SenderId::new(sender),
        seq: MessageSeq::new(seq),
        index: SegmentIndex::new(index),
        count,
        message_len,
    };
    let mut out = Vec::new();
    DataFrame::new(header, payload)
        .expect("consistent geometry")
        .write(&mut out);
    out
}

/// Cuts `body` into the datagrams a sender with segment size `size` sends.
pub(crate) fn segments(sender: u64, seq: u64, body: &[u8], size: usize) -> Vec<Vec<u8>> {
    let count = body.len().div_ceil(size) as u32;
    body.chunks(size)
        .enumerate()
        .map(|(i, chunk)| datagram(sender, seq, i as u32, count, body.len() as u32, chunk))
        .collect()
}

/// Every datagram received ends in exactly one place: ignored as our own,
/// dropped for one datagram-level reason (at the encryption boundary or
/// after it), accepted into reassembly, or a control frame (NACK,
/// heartbeat, status). A batch's messages are counted one by one like segments, so
/// the batch itself stands for one less than them. (`expired`, `abandoned`
/// and `bad_body` count messages, not datagrams.)
pub(crate) fn assert_accounting(s: &Stats) {
    let d = &s.dropped;
    let accounted = s.own_datagrams
        + s.nacks_received
        + s.nacks_overheard
        + s.heartbeats_received
        + s.statuses_received
        + s.statuses_overheard
        + s.batches_received
        + d.unencrypted
        + d.no_key
        + d.bad_tag
        + d.replayed
        + d.too_old
        + d.not_eventcast
        + d.unsupported_version
        + d.malformed
        + d.duplicate
        + d.stale
        + d.message_too_large
        + d.over_budget
        + s.segments_received
        // The handshake (sealed only): its own frames, what waits for an
        // answer, and what it dropped.
        + s.challenges_received
        + s.answers_received
        + s.handshake_held
        + d.unverified
        + d.unvouched
        // A hostile LAN.
        + d.implausible
        + d.refused
        + d.not_receiving;
    assert_eq!(
        s.datagrams_received + s.batched_messages_received,
        accounted,
        "datagrams unaccounted: {s:#?}"
    );
    assert_eq!(
        s.control_received,
        s.nacks_received
            + s.nacks_overheard
            + s.heartbeats_received
            + s.statuses_received
            + s.statuses_overheard,
        "control frames: {s:#?}"
    );
}

/// Any BSON value that compares equal to itself after a round trip (no NaN),
/// nested a few levels deep.
pub(crate) fn arb_bson() -> impl Strategy<Value = Bson> {
    nested(bson_leaves().boxed())
}

/// The leaves of [`arb_bson`], uniformly (`prop_oneof!` with weight 8
/// adds a ninth kind as common as each of these).
pub(crate) fn bson_leaves() -> impl Strategy<Value = Bson> {
    prop_oneof![
        Just(Bson::Null),
        any::<bool>().prop_map(Bson::Boolean),
        any::<i32>().prop_map(Bson::Int32),
        any::<i64>().prop_map(Bson::Int64),
        prop_oneof![
            prop::num::f64::NORMAL,
            prop::num::f64::SUBNORMAL,
            prop::num::f64::ZERO,
            prop::num::f64::INFINITE
        ]
        .prop_map(Bson::Double),
        any::<String>().prop_map(Bson::String),
        prop::collection::vec(any::<u8>(), 0..300).prop_map(binary),
        any::<i64>().prop_map(|ms| Bson::DateTime(bson::DateTime::from_millis(ms))),
    ]
}

/// `leaf` values, and arrays and documents of them, nested a few levels.
pub(crate) fn nested(leaf: BoxedStrategy<Bson>) -> impl Strategy<Value = Bson> {
    leaf.prop_recursive(4, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..8).prop_map(Bson::Array),
            prop::collection::vec(("[a-z_][a-z0-9_]{0,7}", inner), 0..8)
                .prop_map(|kv| Bson::Document(kv.into_iter().collect::<Document>())),
        ]
    })
}

/// An event: its name and arguments.
pub(crate) type Event = (String, Vec<Bson>);

/// Any event name and arguments, sometimes with a bulky binary argument so
/// that bodies span from a few bytes to a few KiB.
pub(crate) fn arb_event() -> impl Strategy<Value = Event> {
    let bulk = prop::option::of(prop::collection::vec(any::<u8>(), 0..4000));
    (
        any::<String>(),
        prop::collection::vec(arb_bson(), 0..6),
        bulk,
    )
        .prop_map(|(name, mut args, bulk)| {
            args.extend(bulk.map(binary));
            (name, args)
        })
}

/// Segment sizes: mostly small enough to cut typical bodies into many
/// segments, sometimes large, sometimes the largest allowed.
pub(crate) fn arb_payload_size() -> impl Strategy<Value = usize> {
    prop_oneof![
        6 => 16usize..=256,
        3 => 257usize..=4096,
        1 => prop::sample::select(vec![8192usize, 65_474]),
    ]
}

/// An order in which to deliver `n` segments: a permutation of `0..n`
/// with up to `n` duplicates spliced in anywhere.
pub(crate) fn arb_order(n: usize) -> impl Strategy<Value = Vec<usize>> {
    let perm = Just((0..n).collect::<Vec<_>>()).prop_shuffle();
    let dups = prop::collection::vec((0..n, any::<prop::sample::Index>()), 0..=n);
    (perm, dups).prop_map(|(mut order, dups)| {
        for (seg, pos) in dups {
            let at = pos.index(order.len() + 1);
            order.insert(at, seg);
        }
        order
    })
}

/// A heartbeat of `sender`: its `lead` and `trail`, its stream `age_ms`
/// old.
pub(crate) fn heartbeat_frame(sender: u64, lead: u64, trail: u64, age_ms: u32) -> Vec<u8> {
    let mut out = Vec::new();
    Heartbeat::new(
        SenderId::new(sender),
        MessageSeq::new(lead),
        MessageSeq::new(trail),
        age_ms,
    )
    .expect("a valid heartbeat")
    .write(&mut out);
    out
}

/// The seqs of `sender` delivered among `events`, in order.
pub(crate) fn messages_of(events: &[EndpointEvent], sender: u64) -> Vec<u64> {
    events
        .iter()
        .filter_map(|e| match e {
            EndpointEvent::Message(m) if m.sender.get() == sender => Some(m.seq.get()),
            _ => None,
        })
        .collect()
}

/// The seqs of `sender` delivered more than once among `events`.
pub(crate) fn delivered_twice(events: &[EndpointEvent], sender: u64) -> Vec<u64> {
    let mut got = messages_of(events, sender);
    got.sort_unstable();
    let mut twice: Vec<u64> = got
        .windows(2)
        .filter(|w| w[0] == w[1])
        .map(|w| w[0])
        .collect();
    twice.dedup();
    twice
}

/// Asserts that no message of `sender` is among `events` twice.
pub(crate) fn assert_delivered_once(events: &[EndpointEvent], sender: u64) {
    assert_eq!(
        delivered_twice(events, sender),
        Vec::<u64>::new(),
        "delivered twice"
    );
}

/// The losses of `sender` reported among `events`: (first, count).
pub(crate) fn losses_of(events: &[EndpointEvent], sender: u64) -> Vec<(u64, u64)> {
    events
        .iter()
        .filter_map(|e| match e {
            EndpointEvent::Loss(l) if l.sender.get() == sender => Some((l.first.get(), l.count)),
            _ => None,
        })
        .collect()
}

/// The receivers a hostile-input test matters for: ordered with recovery
/// (the default), unordered with recovery, and reassembly alone.
pub(crate) fn receiver_configs() -> [(&'static str, Config); 3] {
    let mut unordered = config(1024);
    unordered.ordered = false;
    [
        ("ordered", config(1024)),
        ("unordered", unordered),
        ("reassembly only", reassembly_only(1024)),
    ]
}
