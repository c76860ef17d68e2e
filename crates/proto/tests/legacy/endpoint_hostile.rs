//! A legacy endpoint under a hostile network: forged segments from many
//! senders, forged retransmission requests naming this node, garbage and
//! time passing in any order. It never panics, its memory stays within its
//! limits, every datagram received is accounted for exactly once, and it
//! never sends more again than its resend budget allows.
#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns

use std::net::SocketAddr;
use std::num::NonZeroUsize;
use std::time::{Duration, Instant};

use bson::{Bson, DateTime};
use eventcast_proto::legacy::{
    Datagram, Encoder, LegacyDestination, LegacyEndpoint, LegacyEndpointConfig, LegacyId,
    LegacyIdentity, LegacyStats, RetxRequest, SeqId,
};
use proptest::prelude::*;

const OWN_ID: &str = "00000000000000aa";
const MAX_PARTIAL_BYTES: usize = 20_000;
const SENT_MAX_BYTES: usize = 8_000;
const RESENDS: usize = 2;

#[derive(Clone, Debug)]
enum Op {
    /// This node emits an event of this many bytes.
    Emit(usize),
    /// A forged segment: sender (of 8), message (of 4), seq, seqLen, piece
    /// length, and the host it claims.
    Segment(u8, u8, u32, u32, usize, bool),
    /// A forged request naming this node, for a message it sent (by
    /// index) or not, with these indexes.
    Request(Option<usize>, Vec<u32>),
    /// Random bytes.
    Garbage(Vec<u8>),
    /// Time passes, and deadlines are handled.
    Wait(u64),
}

fn arb_op() -> impl Strategy<Value = Op> {
    prop_oneof![
        1 => (0usize..3000).prop_map(Op::Emit),
        6 => (0u8..8, 0u8..4, 0u32..8, 2u32..8, 0usize..1500, any::<bool>())
            .prop_map(|(s, m, seq, len, piece, ip)| Op::Segment(s, m, seq % len, len, piece, ip)),
        // mostly for messages it sent, often the same ones again
        6 => (prop::option::weighted(0.9, 0usize..3), prop::collection::vec(0u32..14, 0..16))
            .prop_map(|(m, missed)| Op::Request(m, missed)),
        1 => prop::collection::vec(any::<u8>(), 0..300).prop_map(Op::Garbage),
        1 => (0u64..2000).prop_map(Op::Wait),
    ]
}

fn identity(id: &str, host: &str) -> LegacyIdentity {
    LegacyIdentity {
        id: LegacyId::new(id),
        host: host.into(),
        port: 41500,
        hostname: "h".into(),
    }
}

/// A plain segment of forged sender `forged{sender}`, whose meta names
/// `127.0.0.9:41500` (or a host name) as its host.
pub(crate) fn forged_segment(
    sender: u8,
    message: u8,
    seq: u32,
    seq_len: u32,
    piece: usize,
    ip: bool,
) -> Vec<u8> {
    use eventcast_proto::legacy::{Layer, Meta, Origin};
    let meta = Meta::new(
        seq,
        seq_len,
        SeqId::parse(&format!("{message:02x}").repeat(20)).unwrap(),
        Layer::Plain {
            nonce: None,
            origin: Origin {
                name: "e".into(),
                host: if ip {
                    "127.0.0.9".into()
                } else {
                    "a-host-name".into()
                },
                port: 41500,
                hostname: "h".into(),
                id: LegacyId::new(format!("forged{sender}")),
                time: "t".into(),
            },
        },
    )
    .unwrap();
    Datagram::new(meta, &vec![sender; piece]).to_vec().unwrap()
}

fn account(s: &LegacyStats) -> u64 {
    // every datagram received became exactly one of these
    s.own_datagrams
        + s.segments_received
        + s.dropped.duplicate
        + s.dropped.malformed
        + s.dropped.native
        + s.dropped.unsupported_version
        + s.dropped.over_limit
        + s.dropped.decrypt_failed
        + s.dropped.encrypted_without_key
        + s.dropped.unencrypted_with_key
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn a_hostile_network_cannot_break_the_node(ops in prop::collection::vec(arb_op(), 1..120)) {
        let mut config = LegacyEndpointConfig::new(identity(OWN_ID, "127.0.0.1"), [5; 32]);
        config.max_payload_size = NonZeroUsize::new(256).unwrap();
        config.limits.max_partial_bytes = MAX_PARTIAL_BYTES;
        config.limits.max_partial_messages = 6;
        config.limits.max_retransmit_attempts = 2;
        config.sent_max_bytes = SENT_MAX_BYTES;
        config.resends_per_segment = RESENDS;
        let mut node = LegacyEndpoint::new(config);
        let mut requester = Encoder::new(
            identity("0000000000000bad", "127.0.0.8"),
            NonZeroUsize::new(65_000).unwrap(),
            [6; 32],
        );
        let from: SocketAddr = "127.0.0.8:41500".parse().unwrap();
        let mut t = Instant::now();
        let mut sent: Vec<(SeqId, usize)> = Vec::new();
        let mut resent = 0usize;
        let mut received = 0u64;
        for op in ops {
            match op {
                Op::Emit(len) => {
                    node.emit(t, DateTime::now(), "mine", &[Bson::String("m".repeat(len))]).unwrap();
                    let out: Vec<_> = std::iter::from_fn(|| node.poll_transmit()).collect();
                    prop_assert!(out.iter().all(|o| o.destination == LegacyDestination::Group));
                    if out.len() > 1 {
                        let first = Datagram::parse(&out[0].contents).unwrap();
                        sent.push((first.meta().seq_id().clone(), out.len()));
                    }
                }
                Op::Segment(s, m, seq, len, piece, ip) => {
                    node.handle_datagram(t, from, &forged_segment(s, m, seq, len, piece, ip));
                    received += 1;
                }
                Op::Request(message, missed) => {
                    let seq_id = match message.and_then(|i| sent.get(i)) {
                        Some((id, _)) => id.clone(),
                        None => SeqId::parse(&"ee".repeat(20)).unwrap(),
                    };
                    let request = RetxRequest {
                        id: LegacyId::new(OWN_ID),
                        seq_id,
                        missed_seq: missed,
                        host: "127.0.0.1".into(),
                        port: 41500,
                    };
                    let d = requester.encode_retx(DateTime::now(), &request).unwrap();
                    for datagram in &d.datagrams {
                        node.handle_datagram(t, from, datagram);
                        received += 1;
                    }
                }
                Op::Garbage(bytes) => {
                    node.handle_datagram(t, from, &bytes);
                    received += 1;
                }
                Op::Wait(ms) => {
                    t += Duration::from_millis(ms);
                    node.handle_timeout(t, DateTime::now());
                }
            }
            while let Some(out) = node.poll_transmit() {
                match out.destination {
                    LegacyDestination::Unicast(to) if to == from => resent += 1,
                    LegacyDestination::Unicast(to) => {
                        // a request for a forged sender's stalled message
                        prop_assert_eq!(to, "127.0.0.9:41500".parse::<SocketAddr>().unwrap());
                    }
                    other => prop_assert!(false, "unexpected {:?}", other),
                }
            }
            while node.poll_event().is_some() {}
            let s = node.stats();
            prop_assert!(s.partial_bytes as usize <= MAX_PARTIAL_BYTES, "{:?}", s);
            prop_assert!(s.partial_messages <= 6);
            prop_assert!(s.kept_bytes as usize <= SENT_MAX_BYTES, "{:?}", s);
            prop_assert_eq!(s.datagrams_received, received);
            prop_assert_eq!(account(&s), received, "{:?}", s);
            let budget: usize = sent.iter().map(|(_, n)| n * RESENDS).sum();
            prop_assert!(resent <= budget, "resent {} > budget {}", resent, budget);
            prop_assert_eq!(s.retx_segments_resent as usize, resent);
        }
    }
}
