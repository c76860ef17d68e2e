//! Back-pressure: a sender whose send queue is full refuses `emit` with
//! `QueueFull` (sending nothing, firing no listener), and `emit_wait`
//! waits for room instead; everything it queued arrives, in order.

use crate::common::*;
use eventcast::EmitError;
use eventcast::Error;

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

fn bson_bytes(bytes: Vec<u8>) -> eventcast::bson::Bson {
    eventcast::bson::Bson::Binary(eventcast::bson::Binary {
        subtype: eventcast::bson::spec::BinarySubtype::Generic,
        bytes,
    })
}
