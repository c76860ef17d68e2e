//! A sender faster than its receiver: the receiver takes datagrams in at
//! about 10 MB/s with a small socket buffer, the sender starts at 16 MiB/s
//! with a burst queued at once. Datagrams the full buffer drops are asked
//! for again, the sender halves its rate on the NACKs, and no event is
//! lost.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use crate::common::*;
use crate::world::*;

fn slow_receiver(w: &mut World) {
    w.set_capacity(
        1,
        Capacity {
            per_datagram: Duration::from_micros(100),
            queue: 32,
        },
    );
}

#[test]
fn large_events_faster_than_the_receiver() {
    for seed in 0..5 {
        let mut w = World::new(2, &config(1024), lossy(0.0), seed);
        slow_receiver(&mut w);
        let n = 2000;
        emit_stream(&mut w, 0, n, Duration::ZERO, |_| 1000);
        w.run_for(Duration::from_secs(10));
        assert!(w.overflows[1] > 0, "seed {seed}: the receiver kept up");
        assert_eq!(assert_exactly_once_in_order(&w, 1, 1, 0, n), 0);
        let tx = w.nodes[0].stats();
        assert!(tx.rate_decreases > 0 && tx.repairs_sent > 0, "{tx:?}");
        assert!(tx.send_rate < 16 * 1024 * 1024, "{tx:?}");
    }
}

#[test]
fn small_events_batched_faster_than_the_receiver() {
    for seed in 0..5 {
        let mut w = World::new(2, &config(1024), lossy(0.0), seed);
        slow_receiver(&mut w);
        let n = 20_000;
        emit_stream(&mut w, 0, n, Duration::ZERO, |_| 20);
        w.run_for(Duration::from_secs(10));
        assert!(w.overflows[1] > 0, "seed {seed}: the receiver kept up");
        assert_eq!(assert_exactly_once_in_order(&w, 1, 1, 0, n), 0);
        let (tx, rx) = (w.nodes[0].stats(), w.nodes[1].stats());
        assert!(
            tx.batches_sent > 0 && rx.batched_messages_received > 0,
            "{rx:?}"
        );
        // about 16 events a datagram
        let first_time = tx.datagrams_sent - tx.repairs_sent - tx.heartbeats_sent;
        assert!(first_time < n / 10, "{tx:?}");
    }
}
