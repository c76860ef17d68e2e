//! A stream of small events whose store lets bodies go as it goes on (the
//! chunks that held them released under it): what it repairs is read
//! from the chunks it keeps, each message with its own bytes.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use eventcast_proto::EndpointEvent;

use crate::common::*;
use crate::world::*;

const N: u64 = 3000;

/// Argument 1's length for event `i`: 40 to 46 bytes.
fn size(i: u64) -> usize {
    40 + (i % 7) as usize
}

#[test]
fn repairs_read_the_bodies_kept_after_chunks_are_released() {
    let mut c = config(1024);
    // About 1,400 bodies of 90-odd bytes (150 ms of the stream): two 64
    // KiB chunks of them are released while it goes on.
    c.retransmit_window_bytes = 128 * 1024;
    for seed in 0..5 {
        let mut w = World::new(2, &c, lossy(0.05), seed);
        emit_stream(&mut w, 0, N, Duration::from_micros(100), size);
        w.run_for(Duration::from_secs(5));
        // At 5% loss a repair is now and then given up on (as it was when
        // each body was a buffer of its own): reported, never wrong.
        let lost = assert_exactly_once_in_order(&w, 1, 1, 0, N);
        assert!(lost <= 10, "seed {seed}: {lost} lost");
        let tx = w.nodes[0].stats();
        assert!(tx.repairs_sent >= 50, "seed {seed}: {tx:?}");
        assert!(tx.retransmit_store_bytes <= 128 * 1024, "{tx:?}");
        for e in &w.events[1] {
            let EndpointEvent::Message(m) = e else {
                continue;
            };
            let i = m.seq.get();
            assert_eq!(
                m.args.value_at(0).map(|v| v.into_owned()),
                Some(bson::Bson::Int64(i as i64)),
                "seed {seed}: message {i}"
            );
            assert_eq!(
                m.args.bytes_at(1),
                Some(&vec![i as u8; size(i)][..]),
                "seed {seed}: message {i}"
            );
        }
    }
}
