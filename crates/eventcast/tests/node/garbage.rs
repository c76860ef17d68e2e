//! Garbage sent to the group (random bytes, wrong magic, truncated headers,
//! inconsistent segment headers, bodies that are not events, a message that
//! never completes) is dropped and counted by reason, and the node keeps
//! working: real events, small and segmented, still arrive.

use std::time::Duration;

use crate::common::*;
use eventcast::bson::{doc, Bson};
use eventcast::Eventcast;
use eventcast_proto::wire::DATA_HEADER_LEN;
use eventcast_proto::{encode_body, SenderId};

const HOSTILE: SenderId = SenderId::new(0xBAD0_BAD0);

/// A data frame written as is, without checking that its fields agree.
fn frame(seq: u64, index: u32, count: u32, message_len: u32, payload: &[u8]) -> Vec<u8> {
    data_frame(HOSTILE, seq, index, count, message_len, payload)
}

/// A valid one-segment frame carrying `body`.
fn single(seq: u64, body: &[u8]) -> Vec<u8> {
    frame(seq, 0, 1, body.len() as u32, body)
}

/// Deterministic pseudo-random bytes (xorshift).
fn noise(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

/// Checks that `node` still hears `peer`, with a small event and a
/// segmented one.
async fn still_works(node: &Eventcast, peer: &Eventcast) {
    let mut sub = node.subscribe_to(["after"]).expect("exact names");
    let big = "z".repeat(20_000);
    peer.emit("after", &("small",)).expect("emit");
    peer.emit("after", &(big.as_str(),)).expect("emit");
    let events = collect_remote(&mut sub, 2).await;
    assert_eq!(events[0].arg::<String>(0).ok().as_deref(), Some("small"));
    assert_eq!(events[1].arg::<String>(0).ok(), Some(big));
}

#[test]
fn garbage_is_counted_and_the_node_keeps_working() {
    netns_test::run(|| {
        block_on(async {
            let nodes = start_nodes(2, &config(free_port())).await;
            let (node, peer) = (&nodes[0], &nodes[1]);
            let mut events = node.subscribe();
            let group = node.group_addr().unwrap();
            let body = encode_body("evil", &[Bson::from("x")]).unwrap();
            let valid = single(1, &body);

            // Not eventcast's: random bytes (not starting with the magic) and
            // a wrong magic on an otherwise valid frame.
            let mut not_ours: Vec<Vec<u8>> = (0..40u64)
                .map(|i| {
                    let mut d = noise(i + 1, 2 + (i as usize * 37) % 1400);
                    if d[0] == 0xEC {
                        d[0] = 0;
                    }
                    d
                })
                .collect();
            for magic in [[0xEC, 0xA6], [0xA5, 0xEC]] {
                let mut d = valid.clone();
                d[..2].copy_from_slice(&magic);
                not_ours.push(d);
            }

            // Malformed: every truncation of a valid frame up to the bare
            // header (empty datagram included), unknown frame type and
            // flags, and headers whose fields contradict each other.
            let mut malformed: Vec<Vec<u8>> = (0..=DATA_HEADER_LEN)
                .map(|cut| valid[..cut].to_vec())
                .collect();
            let mut unknown_type = valid.clone();
            unknown_type[3] = 0x09;
            let mut unknown_flags = valid.clone();
            unknown_flags[4] = 0x80;
            malformed.extend([
                unknown_type,
                unknown_flags,
                frame(2, 0, 0, 10, &[0; 10]),      // no segments
                frame(3, 3, 3, 25, &[0; 10]),      // index past the count
                frame(4, 0, 1, 11, &[0; 10]),      // single segment too short
                frame(5, 0, 3, 31, &[0; 10]),      // 3 x 10 cannot hold 31
                frame(6, 2, 3, 26, &[0; 5]),       // last does not complete it
                frame(7, 0, 3, u32::MAX, &[0; 1]), // absurd length for the count
            ]);
            // Well-formed frames whose complete body is not an event. They
            // start the hostile sender's stream at seq 0 (the malformed
            // frames above never parse, so their seqs do not count): the
            // node owes it no history and delivers at once.
            let not_bson = single(0, b"definitely not BSON");
            let no_name = single(
                1,
                &eventcast::bson::serialize_to_vec(&doc! {"x": 1}).unwrap(),
            );
            // A message larger than max_message_size (64 MiB).
            let too_large = frame(2, 0, 70_000, 70_000 * 1024 - 100, &[0; 1024]);
            // Two segments of one message that disagree on its length: the
            // first is buffered, the second dropped. It is the hostile
            // sender's last message, so nothing waits behind it for order
            // (9 and 10 are decoded at once) and the receiver cannot know
            // its other segments were sent: it waits for them.
            let first_segment = frame(3, 0, 3, 25, &[1; 10]);
            let inconsistent = frame(3, 1, 3, 21, &[2; 10]);

            let mut all: Vec<&[u8]> = not_ours.iter().map(Vec::as_slice).collect();
            all.extend(malformed.iter().map(Vec::as_slice));
            all.extend([
                not_bson.as_slice(),
                no_name.as_slice(),
                too_large.as_slice(),
                first_segment.as_slice(),
                inconsistent.as_slice(),
            ]);
            send_raw(group, &all);

            let total = all.len() as u64;
            wait_until("every garbage datagram handled", || {
                node.stats().protocol.datagrams_received >= total
            })
            .await;
            let before = sync(peer, &mut events).await;
            assert!(before.is_empty(), "garbage delivered: {before:?}");

            let stats = node.stats().protocol;
            // Besides the garbage and the sentinel, the node hears control
            // frames: the peer's heartbeats after its sentinel, and NACKs
            // (the peer's, and its own looped back) asking the hostile
            // sender for the seqs its garbage skipped. Those are counted
            // apart, in the same snapshot.
            assert_eq!(
                stats.datagrams_received - stats.own_datagrams - stats.control_received,
                total + 1,
                "garbage and sentinel ({stats:?})"
            );
            assert_eq!(stats.dropped.not_eventcast, not_ours.len() as u64);
            // (the inconsistent segment is malformed too)
            assert_eq!(stats.dropped.malformed, malformed.len() as u64 + 1);
            assert_eq!(stats.dropped.bad_body, 2);
            assert_eq!(stats.dropped.message_too_large, 1);
            assert_eq!(stats.dropped.unsupported_version, 0);
            assert_eq!(
                stats.dropped.total(),
                total - 1,
                "all but the first segment"
            );
            assert_eq!(stats.partial_messages, 1, "the first segment waits");
            assert_eq!(stats.messages_received, 1, "the sentinel");

            still_works(node, peer).await;
            stop_all(&nodes).await;
        })
    });
}

#[test]
fn a_message_that_never_completes_expires() {
    netns_test::run(|| {
        block_on(async {
            let config = config(free_port()).message_ttl(Duration::from_millis(50));
            let nodes = start_nodes(2, &config).await;
            let (node, peer) = (&nodes[0], &nodes[1]);
            let group = node.group_addr().unwrap();
            // Somebody listens, or the node would not reassemble at all.
            let _listening = node.subscribe();

            send_raw(group, &[&frame(0, 0, 3, 25, &[1; 10])]);
            wait_until("the partial message to expire", || {
                let s = node.stats().protocol;
                s.dropped.expired == 1 && s.partial_messages == 0 && s.partial_bytes == 0
            })
            .await;
            assert_eq!(node.stats().protocol.segments_received, 1);

            // Its late segments cannot revive it.
            send_raw(
                group,
                &[&frame(0, 1, 3, 25, &[2; 10]), &frame(0, 2, 3, 25, &[3; 5])],
            );
            wait_until("the late segments dropped", || {
                node.stats().protocol.dropped.duplicate == 2
            })
            .await;
            assert_eq!(node.stats().protocol.messages_received, 0);

            still_works(node, peer).await;
            stop_all(&nodes).await;
        })
    });
}
