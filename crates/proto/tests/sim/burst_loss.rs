//! Bursts of 50 consecutive datagrams lost: before they fan out (every
//! receiver misses the same 50), on one receiver's link only, and at the
//! very end of a burst of sending (only the heartbeats tell the receivers
//! that anything was sent). Everything arrives, exactly once, in order.
//!
//! (A burst here is counted in datagrams, not time: once the sender is
//! quiet, 50 datagrams are a minute of heartbeats. The first two cases
//! stop the bursts when the events are sent; the third loses the end of
//! the stream and the first heartbeats after it on purpose.)
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use crate::common::*;
use crate::world::*;

const N: u64 = 300;

fn bursts(chance: f64) -> Link {
    Link {
        burst_start: chance,
        burst_len: 50,
        ..Link::default()
    }
}

#[test]
fn bursts_before_the_fan_out() {
    for seed in 0..10 {
        let mut w = World::new(3, &config(1024), lossy(0.01), seed);
        w.set_uplink(0, bursts(0.01));
        emit_stream(&mut w, 0, N, Duration::from_micros(500), mixed);
        w.set_uplink(0, Link::default());
        w.run_for(Duration::from_secs(5));
        assert!(w.uplink_losses[0] >= 50, "seed {seed}: no burst");
        for r in 1..3 {
            assert_eq!(assert_exactly_once_in_order(&w, r, 1, 0, N), 0);
            let s = w.nodes[r].stats();
            assert!(s.repairs_received >= 50, "seed {seed}: {s:?}");
        }
        let tx = w.nodes[0].stats();
        assert!(tx.repairs_sent >= 50 && tx.nacks_received > 0, "{tx:?}");
    }
}

#[test]
fn bursts_on_one_link() {
    for seed in 0..10 {
        let mut w = World::new(3, &config(1024), lossy(0.01), seed);
        let mut link = lossy(0.01);
        link.burst_start = 0.01;
        link.burst_len = 50;
        w.set_link(0, 2, link);
        emit_stream(&mut w, 0, N, Duration::from_micros(500), mixed);
        w.set_link(0, 2, lossy(0.01));
        w.run_for(Duration::from_secs(5));
        for r in 1..3 {
            assert_eq!(assert_exactly_once_in_order(&w, r, 1, 0, N), 0);
        }
        let (one, two) = (w.nodes[1].stats(), w.nodes[2].stats());
        assert!(two.repairs_received >= 50, "seed {seed}: {two:?}");
        assert!(two.nacks_sent > one.nacks_sent, "{one:?} {two:?}");
    }
}

#[test]
fn a_burst_swallows_the_end_of_the_stream() {
    for seed in 0..10 {
        let mut w = World::new(3, &config(1024), lossy(0.01), seed);
        emit_stream(&mut w, 0, 40, Duration::from_micros(500), mixed);
        // The last 3 events (2 of 20 segments each: 41 datagrams) vanish
        // before they fan out, with the first heartbeats after them.
        w.set_uplink(
            0,
            Link {
                loss: 1.0,
                ..Link::default()
            },
        );
        emit_stream(&mut w, 0, 3, Duration::ZERO, |_| 20_000);
        w.run_for(Duration::from_millis(10));
        assert!(w.uplink_losses[0] >= 50, "seed {seed}");
        w.set_uplink(0, Link::default());
        w.run_for(Duration::from_secs(5));
        for r in 1..3 {
            assert_eq!(assert_exactly_once_in_order(&w, r, 1, 0, 43), 0);
            let s = w.nodes[r].stats();
            assert!(
                s.heartbeats_received > 0 && s.repairs_received >= 60,
                "{s:?}"
            );
        }
    }
}
