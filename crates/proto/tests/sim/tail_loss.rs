//! Loss at the very end of a stream that ends with a large event: the
//! receivers learn from the heartbeats (their lead) that the last message
//! was sent in full, or notice that it stalled, and ask for its missing
//! segments, whatever happened to its earlier holes. Nothing expires.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use crate::common::*;
use crate::world::*;

#[test]
fn a_large_last_event_through_random_loss() {
    for loss in [0.1, 0.3] {
        for seed in 0..40 {
            let mut w = World::new(3, &config(1024), lossy(loss), seed);
            // small, small, small, then 50 segments
            emit_stream(&mut w, 0, 4, Duration::from_millis(1), |i| {
                if i == 3 {
                    50_000
                } else {
                    40
                }
            });
            w.run_for(Duration::from_secs(5));
            for r in 1..3 {
                assert_eq!(
                    assert_exactly_once_in_order(&w, r, 1, 0, 4),
                    0,
                    "loss {loss}, seed {seed}"
                );
                assert_eq!(w.nodes[r].stats().dropped.expired, 0);
            }
        }
    }
}

#[test]
fn the_tail_of_the_last_event_and_the_first_heartbeats_lost() {
    for seed in 0..10 {
        let mut w = World::new(2, &config(1024), lossy(0.0), seed);
        emit_stream(&mut w, 0, 1, Duration::ZERO, |_| 200_000);
        // Half the segments go through; then nothing for 100 ms (the rest,
        // and the heartbeats sent meanwhile, are lost).
        w.run_for(Duration::from_micros(1500));
        let got = w.nodes[1].stats().segments_received;
        assert!(got > 0 && got < 190, "seed {seed}: {got}");
        w.set_link(
            0,
            1,
            Link {
                loss: 1.0,
                ..Link::default()
            },
        );
        w.run_for(Duration::from_millis(100));
        w.set_link(0, 1, lossy(0.0));
        w.run_for(Duration::from_secs(5));
        assert_eq!(assert_exactly_once_in_order(&w, 1, 1, 0, 1), 0);
        let s = w.nodes[1].stats();
        assert!(s.nacks_sent > 0 && s.repairs_received > 0, "{s:?}");
    }
}
