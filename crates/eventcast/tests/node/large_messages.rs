//! Arguments of 1 KB, 10 KB, 100 KB and 1000 KB are cut into segments,
//! reassembled and delivered byte for byte, read in place (`str_arg`,
//! `bytes_arg`: the larger bodies are kept as they arrived) and decoded.
//!
//! Loopback with a large receive buffer and a paced sender loses nothing
//! here; the stats checks (no drop, no repair) would show it if it did.

use crate::common::*;
use eventcast::bson::{spec::BinarySubtype, Binary, Bson};
use eventcast::Eventcast;

const SIZES: [usize; 4] = [1_000, 10_000, 100_000, 1_000_000];

/// `len` bytes of a deterministic pseudo-random sequence (xorshift), so that
/// a misplaced or missing segment cannot go unnoticed.
fn pattern(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

fn binary(bytes: Vec<u8>) -> Bson {
    Bson::Binary(Binary {
        subtype: BinarySubtype::Generic,
        bytes,
    })
}

/// Segments of a message of this body length with the default 1024-byte
/// payloads.
fn segments(body_len: usize) -> u64 {
    body_len.div_ceil(1024) as u64
}

/// Body length of an event `name` with these arguments, as encoded.
fn body_len(name: &str, args: &[Bson]) -> usize {
    eventcast_proto::encode_body(name, args)
        .expect("encodable")
        .len()
}

fn report(node: &Eventcast) {
    let stats = node.stats();
    eprintln!(
        "receiver: recv_buffer_size {} B, {:?}",
        stats.recv_buffer_size, stats.protocol
    );
}

#[test]
fn each_size_arrives_intact() {
    netns_test::run(|| {
        block_on(async {
            let nodes = start_nodes(2, &config(free_port())).await;
            let (a, b) = (&nodes[0], &nodes[1]);
            let mut sub = b.subscribe_to(["blob"]).expect("exact names");
            let mut expected_segments = 0;
            for (i, size) in SIZES.into_iter().enumerate() {
                let args = vec![
                    Bson::Int64(size as i64),
                    binary(pattern(size, i as u64 + 1)),
                    Bson::String("é".repeat(size / 2)),
                ];
                expected_segments += segments(body_len("blob", &args));
                a.emit("blob", &args).unwrap();
                let event = next_remote(&mut sub).await;
                // Read in place first (a large event's arguments are not
                // decoded yet), then decoded.
                let bytes = event.bytes_arg(1).expect("argument 1 is binary");
                assert!(bytes == pattern(size, i as u64 + 1), "{size} B in place");
                let text = event.str_arg(2).expect("argument 2 is a string");
                assert_eq!(text.len(), size / 2 * "é".len());
                assert_eq!((event.str_arg(1), event.bytes_arg(2)), (None, None));
                assert_eq!(event.arg::<i64>(0).unwrap(), size as i64);
                let Bson::Binary(got) = &event.raw_args()[1] else {
                    panic!("argument 1 is not binary: {:?}", event.raw_args()[1]);
                };
                assert_eq!(got.bytes.len(), size);
                assert!(
                    got.bytes == pattern(size, i as u64 + 1),
                    "{size}-byte argument differs"
                );
                assert_eq!(event.raw_args(), args.as_slice());
            }
            report(b);
            let stats = b.stats().protocol;
            assert_eq!(stats.messages_received, 4);
            assert_eq!(stats.segments_received, expected_segments);
            assert_nothing_dropped(&stats);
            assert_eq!(stats.partial_messages, 0);
            assert_eq!(stats.partial_bytes, 0);
            stop_all(&nodes).await;
        })
    });
}

#[test]
fn all_sizes_back_to_back() {
    netns_test::run(|| {
        block_on(async {
            let nodes = start_nodes(2, &config(free_port())).await;
            let (a, b) = (&nodes[0], &nodes[1]);
            let mut sub = b.subscribe_to(["blob"]).expect("exact names");
            let sent: Vec<Vec<Bson>> = SIZES
                .into_iter()
                .enumerate()
                .map(|(i, size)| {
                    vec![
                        Bson::Int64(size as i64),
                        binary(pattern(size, 100 + i as u64)),
                    ]
                })
                .collect();
            for args in &sent {
                a.emit("blob", args).unwrap();
            }
            // One sender's messages complete in the order they were sent.
            for args in &sent {
                let event = next_remote(&mut sub).await;
                assert_eq!(event.raw_args()[0], args[0]);
                assert!(event.raw_args() == args.as_slice(), "{:?}", args[0]);
            }
            report(b);
            let stats = b.stats().protocol;
            let expected: u64 = sent.iter().map(|a| segments(body_len("blob", a))).sum();
            assert_eq!(stats.messages_received, 4);
            assert_eq!(stats.segments_received, expected);
            assert_nothing_dropped(&stats);
            // The sender publishes its counters once per turn of its loop,
            // which may come after the receiver already has the last
            // segment: wait for the turn that found its send queue empty.
            wait_until("the sender's queue empty", || {
                a.stats().protocol.send_queue_bytes == 0
            })
            .await;
            let sent = a.stats().protocol;
            assert_eq!(sent.segments_sent, expected, "{sent:?}");
            // Repairs only if the receiver asked (see assert_nothing_dropped).
            if stats.nacks_sent == 0 {
                assert_eq!(sent.repairs_sent, 0, "{sent:?}");
            }
            // Every other datagram the sender sent is a heartbeat (it sent
            // no NACK: it heard nobody else's stream).
            assert_eq!(sent.nacks_sent, 0);
            assert_eq!(
                sent.datagrams_sent,
                expected + sent.heartbeats_sent + sent.repairs_sent,
                "{sent:?}"
            );
            stop_all(&nodes).await;
        })
    });
}

/// Bytes serialized as serde's bytes (a BSON binary), as `serde_bytes`
/// would.
struct Bytes<'a>(&'a [u8]);

impl serde::Serialize for Bytes<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(self.0)
    }
}

/// A cold large body of plain arguments is handed to the node's task in
/// parts as it is written (`node/parts.rs`): it arrives byte for byte,
/// the event emitted after it arrives after it, with or without a key
/// (sealed datagrams are made from the parts too).
#[test]
fn a_large_body_written_in_parts_arrives_whole_and_in_order() {
    netns_test::run(|| {
        block_on(async {
            for keyed in [false, true] {
                let mut config = config(free_port());
                if keyed {
                    config = config.key("a passphrase for the parts");
                }
                let nodes = start_nodes(2, &config).await;
                let (a, b) = (&nodes[0], &nodes[1]);
                let mut sub = b.subscribe_to(["blob", "after"]).expect("exact names");
                let bytes = pattern(1_500_000, 9);
                let text = "é".repeat(1_500_000);
                a.emit("blob", &(7, text.as_str(), Bytes(&bytes), "tail"))
                    .unwrap();
                a.emit("after", &(8,)).unwrap();
                let event = next_remote(&mut sub).await;
                assert_eq!(event.name(), "blob");
                assert_eq!(event.arg::<i64>(0).unwrap(), 7);
                assert!(event.str_arg(1) == Some(text.as_str()), "the text differs");
                assert!(event.bytes_arg(2) == Some(&bytes[..]), "the bytes differ");
                assert_eq!(event.str_arg(3), Some("tail"));
                let after = next_remote(&mut sub).await;
                assert_eq!((after.name(), after.arg::<i64>(0).unwrap()), ("after", 8));
                let sent = a.stats().protocol;
                assert_eq!(sent.messages_sent_in_parts, 1, "keyed: {keyed}, {sent:?}");
                if !keyed {
                    // (With a key, what comes before the sender answered
                    // the receiver's challenge may be dropped as
                    // `unverified` and repaired.)
                    assert_nothing_dropped(&b.stats().protocol);
                }
                stop_all(&nodes).await;
            }
        })
    });
}

/// A sender is not believed real until its first message completes, so
/// what that message draws comes under the budget of statuses to senders
/// not believed: only the statuses a datagram draws by itself are charged
/// (the first, the last), those a quarter of the window read earns are
/// not. A cold 16 MiB event with a stock receive buffer (a window of about
/// 100 KB: hundreds of statuses), at 1,024 and 65,000-byte datagrams,
/// has every status it draws sent.
#[test]
fn a_cold_16_mib_event_draws_no_withheld_status() {
    netns_test::run(|| {
        block_on(async {
            for payload in [1024, 65_000] {
                let c = config(free_port())
                    .max_payload_size(payload)
                    .recv_buffer_size(212_992);
                let nodes = start_nodes(2, &c).await;
                let (a, b) = (&nodes[0], &nodes[1]);
                let mut sub = b.subscribe_to(["frame"]).expect("exact names");
                let bytes = pattern(16 << 20, 7);
                a.emit("frame", &[binary(bytes)]).unwrap();
                let event = next_remote(&mut sub).await;
                assert_eq!(event.bytes_arg(0).map(<[u8]>::len), Some(16 << 20));
                let s = b.stats().protocol;
                assert!(s.statuses_sent > 1, "{s:?}");
                assert_eq!(s.statuses_withheld, 0, "{s:?}");
                stop_all(&nodes).await;
            }
        })
    });
}
