//! `emit_binary`: a large binary taken over, not copied (its datagrams are
//! slices of the caller's bytes), arrives as the event `emit` sends for
//! the same argument: whole, in order, with or without a key, through
//! loss, and to the node's own listeners too.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use crate::common::*;
use eventcast::bson::{spec::BinarySubtype, Binary, Bson};

fn frame(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

#[test]
fn a_binary_taken_over_arrives_as_emit_sends_it() {
    netns_test::run(|| {
        block_on(async {
            for keyed in [false, true] {
                let mut config = config(free_port());
                if keyed {
                    config = config.key("a passphrase for the frames");
                }
                let nodes = start_nodes(2, &config).await;
                let (a, b) = (&nodes[0], &nodes[1]);
                let mut sub = b.subscribe_to(["frame", "after"]).expect("exact names");
                let own = Recorder::new();
                a.on("frame", own.listener()).unwrap();
                let large = Arc::new(frame(1_500_000, 3));
                a.emit_binary("frame", large.clone()).unwrap();
                // Short: encoded (copied) as `emit` does.
                a.emit_binary("frame", vec![1, 2, 3]).unwrap();
                a.emit_binary_wait("frame", frame(200_000, 5))
                    .await
                    .unwrap();
                a.emit("after", &(8,)).unwrap();
                let expected = [&large[..], &[1, 2, 3], &frame(200_000, 5)];
                for bytes in expected {
                    let event = next_remote(&mut sub).await;
                    assert_eq!(event.name(), "frame");
                    assert_eq!(event.raw_args().len(), 1);
                    assert!(event.bytes_arg(0) == Some(bytes), "keyed: {keyed}");
                }
                let after = next_remote(&mut sub).await;
                assert_eq!((after.name(), after.arg::<i64>(0).unwrap()), ("after", 8));
                // The same event `emit` sends, to this node's listeners too.
                let mine = own.events();
                assert_eq!(mine.len(), 3);
                assert_eq!(
                    mine[0].raw_args(),
                    [Bson::Binary(Binary {
                        subtype: BinarySubtype::Generic,
                        bytes: large.to_vec(),
                    })]
                );
                let sent = a.stats().protocol;
                assert_eq!(sent.messages_sent, 4, "{sent:?}");
                assert_eq!(sent.messages_sent_shared, 2, "the two large ones: {sent:?}");
                if !keyed {
                    assert_nothing_dropped(&b.stats().protocol);
                }
                stop_all(&nodes).await;
                // Let go once every receiver had it and the node stopped.
                assert_eq!(Arc::strong_count(&large), 1);
            }
        })
    });
}

#[test]
fn binaries_taken_over_arrive_whole_through_loss() {
    netns_test::run_with_loss(10, || {
        block_on(async {
            let nodes = start_nodes(2, &config(free_port())).await;
            let (a, b) = (&nodes[0], &nodes[1]);
            let mut sub = b.subscribe_to(["frame"]).expect("exact names");
            for seed in 0..4 {
                a.emit_binary_wait("frame", frame(300_000, seed))
                    .await
                    .unwrap();
            }
            for seed in 0..4 {
                let event = next_remote(&mut sub).await;
                assert!(
                    event.bytes_arg(0) == Some(&frame(300_000, seed)[..]),
                    "frame {seed}"
                );
            }
            let sent = a.stats().protocol;
            assert_eq!(sent.messages_sent_shared, 4);
            assert!(sent.repairs_sent > 0, "nothing was lost: {sent:?}");
            stop_all(&nodes).await;
        })
    });
}

#[test]
fn a_legacy_node_sends_a_binary_as_emit_does() {
    netns_test::run(|| {
        block_on(async {
            let nodes = start_nodes(2, &legacy_config(free_port())).await;
            let (a, b) = (&nodes[0], &nodes[1]);
            let mut sub = b.subscribe_to(["frame"]).expect("exact names");
            let bytes = frame(100_000, 1);
            a.emit_binary("frame", bytes.clone()).unwrap();
            let event = next_remote(&mut sub).await;
            assert!(event.bytes_arg(0) == Some(&bytes[..]));
            stop_all(&nodes).await;
        })
    });
}

#[test]
fn a_list_taken_over_shares_a_lone_large_binary_alone() {
    netns_test::run(|| {
        block_on(async {
            let nodes = start_nodes(2, &config(free_port())).await;
            let (a, b) = (&nodes[0], &nodes[1]);
            let mut sub = b.subscribe_to(["list"]).expect("exact names");
            let binary = |bytes: Vec<u8>| {
                Bson::Binary(Binary {
                    subtype: BinarySubtype::Generic,
                    bytes,
                })
            };
            let lists = [
                vec![binary(frame(150_000, 1))],
                vec![binary(frame(150_000, 2)), Bson::Int32(3)],
                vec![Bson::String("x".repeat(150_000))],
                vec![binary(frame(10, 4))],
            ];
            for (i, list) in lists.iter().enumerate() {
                if i % 2 == 0 {
                    a.emit_list("list", list.clone()).unwrap();
                } else {
                    a.emit_list_wait("list", list.clone()).await.unwrap();
                }
            }
            for list in &lists {
                assert_eq!(next_remote(&mut sub).await.raw_args(), &list[..]);
            }
            // The first alone was a lone large binary.
            assert_eq!(a.stats().protocol.messages_sent_shared, 1);
            stop_all(&nodes).await;
        })
    });
}
