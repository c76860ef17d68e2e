//! Datagrams go to the kernel in batches (Linux `sendmmsg`, runs of equal
//! segments as one UDP GSO message) and are read many per call
//! (`recvmmsg`, and a GSO message as one with `UDP_GRO`): every segment
//! and every event of a batch still arrives, byte for byte, in the clear
//! and sealed, at 1,024-byte, 8,192-byte and 65,000-byte datagrams; and
//! the counters show that the batched calls were used.
#![allow(clippy::unwrap_used)]

use crate::common::*;
use eventcast::bson::{spec::BinarySubtype, Binary, Bson};
use eventcast::{Config, NodeStats};

/// `len` bytes that differ from segment to segment.
fn blob(len: usize, seed: usize) -> Bson {
    Bson::Binary(Binary {
        subtype: BinarySubtype::Generic,
        bytes: (0..len).map(|b| (b / 7 + b * 13 + seed) as u8).collect(),
    })
}

/// Sends two large events and a run of small ones from one node to
/// another and checks that all arrive; returns both nodes' counters.
async fn exchange(config: Config) -> (NodeStats, NodeStats) {
    let nodes = start_nodes(2, &config).await;
    let (a, b) = (&nodes[0], &nodes[1]);
    let mut sub = b
        .subscribe_to(["large", "small", "hello"])
        .expect("exact names");
    // With a key, the receiver first makes sure of the sender (PROTOCOL.md
    // §16.8): a burst before that would be held back in part.
    a.emit("hello", &()).unwrap();
    assert_eq!(next_remote(&mut sub).await.name(), "hello");
    let mut sent = vec![
        ("large", vec![blob(1_000_000, 1)]),
        ("large", vec![blob(300_001, 2)]),
    ];
    sent.extend((0..500).map(|i| ("small", vec![Bson::Int32(i), blob(100, i as usize)])));
    for (name, args) in &sent {
        a.emit(name, args).unwrap();
    }
    for (name, args) in &sent {
        let event = next_remote(&mut sub).await;
        assert_eq!(event.name(), *name);
        assert!(event.raw_args() == args.as_slice(), "{name} differs");
    }
    // After the stop, every counter of the run is final.
    stop_all(&nodes).await;
    let (tx, rx) = (a.stats(), b.stats());
    assert_nothing_dropped(&rx.protocol);
    eprintln!("sender: {tx:?}\nreceiver: {rx:?}");
    (tx, rx)
}

/// The sender's datagrams all went through counted system calls, more
/// than one per call on average, none refused.
fn assert_sent_in_batches(tx: &NodeStats) {
    assert_eq!(tx.send_errors, 0);
    assert_eq!(tx.send_batch_errors, 0);
    assert_eq!(tx.send_call_datagrams, tx.protocol.datagrams_sent);
    assert!(
        tx.send_call_datagrams > tx.send_calls,
        "{} datagrams in {} send calls: not batched",
        tx.send_call_datagrams,
        tx.send_calls
    );
}

/// The receiver read every datagram through counted system calls, and at
/// least once more than one in a call.
fn assert_read_in_batches(rx: &NodeStats) {
    assert_eq!(rx.recv_errors, 0);
    assert!(rx.recv_call_datagrams >= rx.protocol.datagrams_received);
    assert!(
        rx.recv_call_datagrams > rx.recv_calls,
        "{} datagrams in {} receive calls: not batched",
        rx.recv_call_datagrams,
        rx.recv_calls
    );
}

/// The receiver's socket took some of the sender's GSO messages (its runs
/// of equal segments) whole (`UDP_GRO`) and handed them on as their
/// datagrams: more datagrams than messages read.
fn assert_read_whole(rx: &NodeStats) {
    assert!(
        rx.recv_coalesced > 0,
        "no message of several datagrams read: {rx:?}"
    );
}

#[test]
fn a_batch_of_segments_and_events_arrives_whole() {
    netns_test::run(|| {
        block_on(async {
            let (tx, rx) = exchange(config(free_port())).await;
            assert_sent_in_batches(&tx);
            assert_read_in_batches(&rx);
            assert_read_whole(&rx);
        })
    });
}

/// At 65,000-byte datagrams a read takes two at a time (`recv.rs`,
/// `READ_BYTES`): every segment still arrives, and the small events after
/// the large ones are still read many per call.
#[test]
fn large_datagrams_arrive_whole_in_batches() {
    netns_test::run(|| {
        block_on(async {
            for size in [8_192, 65_000] {
                let mut config = config(free_port());
                config.protocol.max_payload_size = size;
                let (tx, rx) = exchange(config).await;
                assert_sent_in_batches(&tx);
                assert_read_in_batches(&rx);
            }
        })
    });
}

#[test]
fn sealed_datagrams_go_in_batches_too() {
    netns_test::run(|| {
        block_on(async {
            let config = config(free_port()).key("correct horse battery staple");
            let (tx, rx) = exchange(config).await;
            assert!(tx.protocol.datagrams_sealed >= tx.protocol.datagrams_sent);
            assert_sent_in_batches(&tx);
            assert_read_in_batches(&rx);
            assert_read_whole(&rx);
        })
    });
}
