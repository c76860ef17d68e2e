//! Datagrams reordered by up to 5 ms of jitter (many datagrams overtake
//! each other) and one in five delivered twice, with and without loss:
//! every event is delivered exactly once, in order. Reordering alone may
//! cost a NACK now and then (a gap that was only late), never a loss.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use crate::common::*;
use crate::world::*;

const N: u64 = 150;

fn run(seed: u64, loss: f64) -> World {
    let link = Link {
        loss,
        duplicate: 0.2,
        delay: Duration::from_micros(200),
        jitter: Duration::from_millis(5),
        ..Link::default()
    };
    let mut w = World::new(3, &config(1024), link, seed);
    emit_stream(&mut w, 0, N, Duration::from_micros(300), mixed);
    w.run_for(Duration::from_secs(5));
    for r in 1..3 {
        assert_eq!(
            assert_exactly_once_in_order(&w, r, 1, 0, N),
            0,
            "seed {seed}"
        );
        let s = w.nodes[r].stats();
        assert!(s.dropped.duplicate > 0, "seed {seed}: {s:?}");
        assert_eq!(s.messages_received, N);
        assert_eq!(s.messages_lost, 0);
    }
    w
}

#[test]
fn reordered_and_duplicated() {
    for seed in 0..20 {
        let w = run(seed, 0.0);
        // Nothing was lost: repairs, if any, answered gaps that were late.
        assert_eq!(w.uplink_losses[0], 0);
    }
}

#[test]
fn reordered_duplicated_and_lost() {
    for seed in 0..20 {
        let w = run(seed, 0.10);
        for r in 1..3 {
            assert!(w.nodes[r].stats().repairs_received > 0);
        }
    }
}
