//! Properties of the legacy codec: no input makes it panic, and what the
//! encoder produces decodes to the same event in any order of its
//! segments, with any duplicates, encrypted or not.
#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns

use std::num::NonZeroUsize;
use std::time::{Duration, Instant};

use bson::{Bson, DateTime, Regex};
use eventcast_proto::legacy::{
    decode_args, decode_payload, Datagram, Decoder, Encoder, Incoming, InsecureLegacyCipher,
    LegacyId, LegacyIdentity, Meta, ReassemblyLimits, RetxRequest, SeqId, RETX_EVENT,
};
use proptest::prelude::*;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::common;

const KEY: &str = "NSA-KEY";

/// The captured datagrams, as seeds for mutation.
fn captured() -> Vec<Vec<u8>> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/vectors/eventcast-0.1.2");
    let mut out = Vec::new();
    for name in ["plain", "enc", "seg", "encseg", "nack"] {
        let text = std::fs::read_to_string(format!("{dir}/{name}.json")).unwrap();
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        for p in v["packets"].as_array().unwrap() {
            out.push(hex::decode(p.as_str().unwrap()).unwrap());
        }
    }
    out
}

fn decoders() -> [Decoder; 2] {
    let limits = ReassemblyLimits::default();
    [
        Decoder::new(LegacyId::new("receiver"), limits.clone()),
        Decoder::new(LegacyId::new("receiver"), limits)
            .with_insecure_cipher(InsecureLegacyCipher::from_passphrase(KEY)),
    ]
}

/// Runs every parser on `bytes`; only panics matter.
fn parse_everything(decoders: &mut [Decoder; 2], t: Instant, bytes: &[u8]) {
    let _ = Datagram::parse(bytes);
    let _ = Meta::parse(bytes);
    let _ = decode_payload(bytes);
    let _ = decode_args(bytes);
    let _ = RetxRequest::decode_body(bytes);
    let _ = InsecureLegacyCipher::from_passphrase(KEY).decrypt(bytes);
    for d in decoders.iter_mut() {
        let _ = d.decode(t, bytes);
        let _ = d.handle_timeout(t + Duration::from_secs(10));
    }
}

/// Any BSON value that compares equal to itself after a round trip (no
/// NaN), among them every type the original sends, nested a few levels:
/// [`arb_bson`](common::arb_bson)'s, and regular expressions.
fn arb_bson() -> impl Strategy<Value = Bson> {
    let regex = (
        "[a-z .*]{0,12}",
        prop::sample::subsequence(vec!['i', 'm', 's', 'x'], 0..=4),
    )
        .prop_map(|(pattern, options)| {
            Bson::RegularExpression(Regex {
                pattern: pattern.try_into().unwrap(),
                options: options.into_iter().collect::<String>().try_into().unwrap(),
            })
        });
    common::nested(prop_oneof![8 => common::bson_leaves(), 1 => regex].boxed())
}

/// An event name and arguments, sometimes with a bulky argument so that
/// messages span from one datagram to many segments.
fn arb_event() -> impl Strategy<Value = (String, Vec<Bson>)> {
    let bulk = prop::option::of(prop::collection::vec(any::<u8>(), 0..3000));
    (
        any::<String>().prop_filter("reserved", |n| n != RETX_EVENT),
        prop::collection::vec(arb_bson(), 0..6),
        bulk,
    )
        .prop_map(|(name, mut args, bulk)| {
            args.extend(bulk.map(common::binary));
            (name, args)
        })
}

/// A seeded permutation of `0..n` with up to `n` duplicates spliced in.
fn shuffled_with_duplicates(n: usize, seed: u64) -> Vec<usize> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut order: Vec<usize> = (0..n).collect();
    order.shuffle(&mut rng);
    for _ in 0..rng.random_range(0..=n) {
        let dup = rng.random_range(0..n);
        let at = rng.random_range(0..=order.len());
        order.insert(at, dup);
    }
    order
}

fn identity() -> LegacyIdentity {
    LegacyIdentity {
        id: LegacyId::new("0123456789abcdef"),
        host: "127.0.0.1".into(),
        port: 41500,
        hostname: "vm".into(),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..2048)) {
        parse_everything(&mut decoders(), Instant::now(), &bytes);
    }

    #[test]
    fn mutated_captures_never_panic(
        pick in any::<prop::sample::Index>(),
        flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..8),
        cut in any::<prop::sample::Index>(),
    ) {
        let all = captured();
        let mut bytes = pick.get(&all).clone();
        for (at, x) in flips {
            let i = at.index(bytes.len());
            bytes[i] ^= x;
        }
        let keep = cut.index(bytes.len() + 1).max(bytes.len() / 2);
        bytes.truncate(keep);
        let mut d = decoders();
        let t = Instant::now();
        // the other captures first, so that segments meet partial messages
        for other in &all {
            parse_everything(&mut d, t, other);
        }
        parse_everything(&mut d, t, &bytes);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn encode_then_decode_is_the_identity(
        (name, args) in arb_event(),
        max_payload_size in prop_oneof![1usize..=64, 65usize..=2048],
        encrypted in any::<bool>(),
        seed in any::<[u8; 32]>(),
        order_seed in any::<u64>(),
    ) {
        let size = NonZeroUsize::new(max_payload_size).unwrap();
        let mut enc = Encoder::new(identity(), size, seed);
        let mut dec = Decoder::new(LegacyId::new("receiver"), ReassemblyLimits::default());
        if encrypted {
            enc = enc.with_insecure_cipher(InsecureLegacyCipher::from_passphrase(KEY));
            dec = dec.with_insecure_cipher(InsecureLegacyCipher::from_passphrase(KEY));
        }
        let sent = enc.encode_event(DateTime::from_millis(0), &name, &args).unwrap();
        prop_assert!(SeqId::parse(sent.seq_id.as_str()).is_some());
        let n = sent.datagrams.len();
        let order = shuffled_with_duplicates(n, order_seed);
        let t = Instant::now();
        let mut delivered = Vec::new();
        for &i in &order {
            match dec.decode(t, &sent.datagrams[i]).unwrap() {
                Incoming::Event(e) => delivered.push((e.origin.name.clone(), e.args)),
                Incoming::Buffered | Incoming::Duplicate => {}
                other => prop_assert!(false, "unexpected {other:?}"),
            }
        }
        prop_assert_eq!(delivered, vec![(name, args)]);
        prop_assert_eq!(dec.reassembler().partial_messages(), 0);
    }

    #[test]
    fn retx_request_round_trips(
        missed in prop::collection::vec(0u32..=i32::MAX as u32, 0..50),
        host in "[0-9.]{1,15}",
        port in any::<u16>(),
        id in any::<String>(),
        seed in any::<[u8; 32]>(),
    ) {
        let seq_id = SeqId::parse(&"ab".repeat(20)).unwrap();
        let req = RetxRequest { id: LegacyId::new(id), seq_id, missed_seq: missed, host, port };
        prop_assert_eq!(&RetxRequest::decode_body(&req.encode_body().unwrap()).unwrap(), &req);
        let mut enc = Encoder::new(identity(), NonZeroUsize::new(1024).unwrap(), seed);
        let sent = enc.encode_retx(DateTime::from_millis(0), &req).unwrap();
        let mut dec = Decoder::new(LegacyId::new("receiver"), ReassemblyLimits::default());
        let mut got = None;
        for d in &sent.datagrams {
            if let Incoming::Retx { request, .. } = dec.decode(Instant::now(), d).unwrap() {
                got = Some(request);
            }
        }
        prop_assert_eq!(got, Some(req));
    }
}

/// One step of a hostile or lossy network, for the reassembler model test.
#[derive(Clone, Debug)]
enum Op {
    /// A segment: sender (of 4), message (of 4), seq, seqLen, piece length.
    Segment(u8, u8, u32, u32, usize),
    /// Time passes by this many milliseconds, and deadlines are handled.
    Wait(u64),
}

fn arb_op() -> impl Strategy<Value = Op> {
    prop_oneof![
        8 => (0u8..4, 0u8..4, 0u32..6, 2u32..6, 0usize..200)
            .prop_map(|(s, m, seq, len, piece)| Op::Segment(s, m, seq % len, len, piece)),
        1 => (0u64..4000).prop_map(Op::Wait),
    ]
}

fn segment_meta(sender: u8, message: u8, seq: u32, seq_len: u32) -> Meta {
    use eventcast_proto::legacy::{Layer, Origin};
    Meta::new(
        seq,
        seq_len,
        SeqId::parse(&format!("{message:02x}").repeat(20)).unwrap(),
        Layer::Plain {
            nonce: None,
            origin: Origin {
                name: "e".into(),
                host: "127.0.0.1".into(),
                port: 1,
                hostname: "h".into(),
                id: LegacyId::new(format!("sender{sender}")),
                time: "t".into(),
            },
        },
    )
    .unwrap()
}

proptest! {
    #[test]
    fn reassembly_stays_within_limits(ops in prop::collection::vec(arb_op(), 1..300)) {
        use eventcast_proto::legacy::Reassembler;
        let mut limits = ReassemblyLimits::default();
        limits.max_partial_messages = 5;
        limits.max_partial_bytes = 2000;
        limits.max_message_size = 600;
        limits.max_finished = 7;
        let mut r = Reassembler::new(limits);
        let mut t = Instant::now();
        for op in ops {
            match op {
                Op::Segment(s, m, seq, len, piece) => {
                    let _ = r.insert(t, &segment_meta(s, m, seq, len), &vec![s; piece]);
                }
                Op::Wait(ms) => {
                    t += Duration::from_millis(ms);
                    let _ = r.handle_timeout(t);
                }
            }
            prop_assert!(r.partial_messages() <= 5);
            prop_assert!(r.partial_bytes() <= 2000);
            prop_assert!(r.finished_messages() <= 7);
            prop_assert_eq!(r.partial_messages() == 0, r.partial_bytes() == 0);
            prop_assert_eq!(r.partial_messages() == 0, r.poll_timeout().is_none());
        }
        // everything left expires: each partial message is reported at most
        // max_retransmit_attempts times, then dropped
        let bound = r.partial_messages() * (1 + r.limits().max_retransmit_attempts as usize);
        let mut steps = 0;
        while let Some(next) = r.poll_timeout() {
            prop_assert!(steps < bound, "deadlines never run out");
            t = t.max(next);
            let _ = r.handle_timeout(t);
            steps += 1;
        }
        prop_assert_eq!(r.partial_messages(), 0);
        prop_assert_eq!(r.partial_bytes(), 0);
    }
}
