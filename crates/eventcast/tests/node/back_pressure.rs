//! Back-pressure: a sender whose send queue is full refuses `emit` with
//! `QueueFull` (sending nothing, firing no listener), and `emit_wait`
//! waits for room instead; everything it queued arrives, in order. The
//! same in legacy mode, whose driver gives the queue back as each event's
//! datagrams go out.

use std::collections::BTreeSet;
use std::time::Duration;

use crate::common::*;
use eventcast::{EmitError, Error, Eventcast};

/// A slow sender (1 MiB/s, no burst to speak of) with room for 64 KiB.
fn slow(port: u16) -> eventcast::Config {
    let mut c = config(port);
    c.protocol.max_send_queue_bytes = 64 * 1024;
    c.protocol.adaptive_rate = false;
    c.protocol.min_rate = 1024 * 1024;
    c.protocol.initial_rate = 1024 * 1024;
    c.protocol.rate_limit = 1024 * 1024;
    c.protocol.burst = 4 * 1024;
    c
}

fn blob(i: usize) -> Vec<u8> {
    vec![i as u8; 20_000]
}

#[test]
fn a_full_queue_refuses_emit_and_emit_wait_waits() {
    netns_test::run(|| {
        block_on(async {
            let port = free_port();
            let sender = start_nodes(1, &slow(port)).await;
            let receiver = start_nodes(1, &config(port)).await;
            let (sender, receiver) = (&sender[0], &receiver[0]);
            let mut heard = receiver.subscribe_to(["blob"]).expect("exact names");
            let local = Recorder::new();
            sender.on("blob", local.listener()).expect("an exact name");

            // 20 KB a second at 1 MiB/s: the fourth cannot fit 64 KiB
            // before the first has gone (about 20 ms).
            let accepted = fill_queue(sender, &local);

            // emit_wait waits for room: 20 more, none refused.
            for i in accepted..accepted + 20 {
                sender
                    .emit_wait("blob", &(i as i32, bson_bytes(blob(i))))
                    .await
                    .expect("emit_wait");
            }
            let events = collect_remote(&mut heard, accepted + 20).await;
            for (i, event) in events.iter().enumerate() {
                assert_eq!(event.arg::<i32>(0).unwrap(), i as i32);
            }
            let stats = sender.stats().protocol;
            assert!(stats.pacing_waits > 0, "{stats:?}");
            assert_eq!(stats.messages_sent, (accepted + 20) as u64);
            sender.stop().await;
            receiver.stop().await;
        })
    });
}

/// Legacy mode has no pacer: the node's task sends an event's datagrams as
/// soon as it takes the event, then gives its bytes back to the send queue.
/// On a one-thread runtime the task runs only while the test awaits, so
/// with a command left waiting for it in its channel (a `peers` request,
/// polled once), every `emit` goes through the channel too, and `emit` in
/// a loop fills the queue for certain; `emit_wait` then goes on far past
/// twice `max_send_queue_bytes` (before the driver gave bytes back, it
/// waited for ever once the queue had filled). (Without that command an
/// emit that finds the node idle leaves from the caller's thread, and the
/// queue need not fill.)
#[test]
fn legacy_mode_refuses_a_full_queue_and_emit_wait_keeps_going() {
    netns_test::run(|| {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("tokio runtime");
        runtime.block_on(async {
            const QUEUE: usize = 64 * 1024;
            let port = free_port();
            let receiver = start_nodes(1, &legacy_config(port)).await;
            // Bound to its own address, so that the receiver's requests for
            // lost segments reach it (see tests/legacy/nodes.rs).
            let mut sender_config = legacy_config(port).address("127.0.0.2".parse().unwrap());
            sender_config.protocol.max_send_queue_bytes = QUEUE;
            let sender = start_nodes(1, &sender_config).await;
            let (sender, receiver) = (&sender[0], &receiver[0]);
            let mut heard = receiver.subscribe_to(["blob"]).expect("exact names");
            let local = Recorder::new();
            sender.on("blob", local.listener()).expect("an exact name");

            tokio::select! {
                biased;
                _ = sender.peers() => panic!("answered without the task running"),
                () = std::future::ready(()) => {}
            }
            let accepted = fill_queue(sender, &local);

            // Three times the queue's size through emit_wait.
            let more = 3 * QUEUE / blob(0).len() + 1;
            for i in accepted..accepted + more {
                let sent = tokio::time::timeout(
                    Duration::from_secs(10),
                    sender.emit_wait("blob", &(i as i32, bson_bytes(blob(i)))),
                )
                .await
                .expect("emit_wait found room in the send queue");
                sent.expect("emit_wait");
            }
            let total = accepted + more;
            // Each event is delivered when its last segment is in: a segment
            // lost and repaired can change the order.
            let heard: BTreeSet<i32> = collect_remote(&mut heard, total)
                .await
                .iter()
                .map(|event| event.arg::<i32>(0).unwrap())
                .collect();
            assert_eq!(heard, (0..total as i32).collect());
            assert_eq!(sender.stats().legacy.messages_sent, total as u64);
            sender.stop().await;
            receiver.stop().await;
        })
    });
}

/// Emits blobs until `emit` refuses one because the send queue is full,
/// checking that the refused one fired no listener (`local` records the
/// sender's own); returns how many were accepted.
fn fill_queue(sender: &Eventcast, local: &Recorder) -> usize {
    let mut accepted = 0;
    let refused = loop {
        match sender.emit("blob", &(accepted as i32, bson_bytes(blob(accepted)))) {
            Ok(()) => accepted += 1,
            Err(e) => break e,
        }
        assert!(accepted < 10, "the queue never filled");
    };
    assert!(
        matches!(refused, Error::Emit(EmitError::QueueFull { .. })),
        "{refused:?}"
    );
    assert_eq!(local.calls(), accepted, "a refused emit fires nothing");
    accepted
}

fn bson_bytes(bytes: Vec<u8>) -> eventcast::bson::Bson {
    eventcast::bson::Bson::Binary(eventcast::bson::Binary {
        subtype: eventcast::bson::spec::BinarySubtype::Generic,
        bytes,
    })
}
