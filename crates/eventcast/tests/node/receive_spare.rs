//! A receiving node puts its next large message together in a buffer it
//! made ready after the last one was delivered (`spare.rs`), so that a
//! stream's later frames need no freshly faulted memory: only messages of
//! 256 KiB to 4.5 MiB, and only a spare of about their size; two sizes
//! (two streams) keep a spare each. A node told the sizes it expects
//! (`Config::expected_event_sizes`) makes them at start.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use eventcast::{Eventcast, Subscription};

use crate::common::*;

fn frame(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(17).wrapping_add(seed))
        .collect()
}

/// Sends `a`'s binaries of each step's length to `b`, each whole on
/// `sub`, and checks after each how many messages `b` has put together
/// in a spare; each step is followed by a pause well past the spare's
/// 5 ms after a delivery, so that the next one is made.
async fn send_frames(a: &Eventcast, b: &Eventcast, sub: &mut Subscription, steps: &[(usize, u64)]) {
    for (seed, &(len, in_spare)) in steps.iter().enumerate() {
        let bytes = frame(len, seed as u8);
        a.emit_binary_wait("frame", bytes.clone()).await.unwrap();
        let event = next_remote(sub).await;
        assert!(
            event.bytes_arg(0) == Some(&bytes[..]),
            "message {seed} whole"
        );
        assert_eq!(
            b.stats().messages_received_in_spare,
            in_spare,
            "after message {seed} ({len} bytes)"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

#[test]
fn large_messages_after_the_first_are_put_together_in_spares() {
    netns_test::run(|| {
        block_on(async {
            let nodes = start_nodes(2, &config(free_port())).await;
            let (a, b) = (&nodes[0], &nodes[1]);
            let mut sub = b.subscribe_to(["frame", "hello"]).expect("exact names");
            // A sender's first message reserves no buffer (it is not
            // believed real yet), so none is asked for.
            a.emit("hello", &(1,)).unwrap();
            assert_eq!(next_remote(&mut sub).await.name(), "hello");
            const MIB: usize = 1 << 20;
            // (length, messages put together in a spare once it arrived)
            let steps = [
                (MIB, 0),           // none made yet
                (MIB, 1),           // the spare made after the first
                (MIB - 100_000, 2), // a little smaller fits
                (2 * MIB, 2),       // too large for the spare: fresh
                (MIB - 100_000, 3), // its spare kept beside the 2 MiB one
                (2 * MIB, 4),       // and the 2 MiB one beside it
                (8 * MIB, 4),       // above 4.5 MiB: no spare asked or owed
                (100_000, 4),       // below 256 KiB: none
                (3 * MIB, 4),       // a third size: fresh, and its spare
                (MIB - 100_000, 4), // replaced the oldest, this one's
                (3 * MIB, 5),       // the 3 MiB one kept
                (2 * MIB, 5),       // the 3 MiB spare is too roomy: fresh
            ];
            send_frames(a, b, &mut sub, &steps).await;
            assert_nothing_dropped(&b.stats().protocol);
            stop_all(&nodes).await;
        })
    });
}

#[test]
fn a_node_told_the_size_receives_its_first_large_message_in_a_spare() {
    netns_test::run(|| {
        block_on(async {
            const MIB: usize = 1 << 20;
            let told = config(free_port()).expected_event_size(MIB);
            let nodes = start_nodes(2, &told).await;
            let (a, b) = (&nodes[0], &nodes[1]);
            let mut sub = b.subscribe_to(["frame", "hello"]).expect("exact names");
            a.emit("hello", &(1,)).unwrap();
            assert_eq!(next_remote(&mut sub).await.name(), "hello");
            // (length, messages put together in a spare once it arrived):
            // made at start, before any large message, each start.
            let steps = [
                (MIB, 1),          // the buffer made at start
                (400 * 1024, 1),   // another size: fresh
                (MIB - 50_000, 2), // the spare made after the first
            ];
            send_frames(a, b, &mut sub, &steps).await;
            // A stopped node lets its spares go; a start makes them again,
            // before it returns.
            b.stop().await;
            b.start().await.unwrap();
            let mut sub = b.subscribe_to(["frame", "hello"]).expect("exact names");
            // The restarted node is a new receiver: a's first message to it
            // reserves nothing, as above.
            a.emit("hello", &(2,)).unwrap();
            assert_eq!(next_remote(&mut sub).await.name(), "hello");
            send_frames(a, b, &mut sub, &[(MIB + 64, 3)]).await;
            // Told a size above 4.5 MiB, it keeps a spare of that size for
            // every message of it, from the first.
            let told_large = told.clone().expected_event_size(8 * MIB);
            let c = start_nodes(1, &told_large).await.remove(0);
            let mut sub_c = c.subscribe_to(["frame", "hello"]).expect("exact names");
            a.emit("hello", &(3,)).unwrap();
            assert_eq!(next_remote(&mut sub_c).await.name(), "hello");
            send_frames(a, &c, &mut sub_c, &[(8 * MIB, 1), (8 * MIB - 1000, 2)]).await;
            c.stop().await;
            assert_nothing_dropped(&b.stats().protocol);
            stop_all(&nodes).await;
        })
    });
}
