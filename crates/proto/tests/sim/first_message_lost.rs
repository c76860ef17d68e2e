//! A receiver that was listening before a sender's stream began is owed
//! all of it: when the first messages are lost to it, it learns from the
//! stream's age (in a heartbeat it asks for) that it joined first, asks
//! for them, and delivers everything from message 0, in order.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use crate::common::*;
use crate::world::*;

const N: u64 = 60;

/// Node 0 emits `N` mixed events 1 ms apart; its first `lost` datagrams
/// never reach node 2 (node 1 hears everything but 1% of it).
fn run(seed: u64, lost: u32) -> World {
    let mut w = World::new(3, &config(1024), lossy(0.01), seed);
    // The nodes were up a while before anyone spoke.
    w.run_for(Duration::from_millis(50));
    let mut link = lossy(0.01);
    link.burst_start = 1.0;
    link.burst_len = lost;
    w.set_link(0, 2, link);
    emit_stream(&mut w, 0, 1, Duration::ZERO, mixed);
    // (the burst begins with the first datagram; the link is then lossy)
    w.run_for(Duration::from_micros(1));
    w.set_link(0, 2, lossy(0.01));
    emit_stream(&mut w, 0, N - 1, Duration::from_millis(1), |i| mixed(i + 1));
    w.run_for(Duration::from_secs(5));
    w
}

#[test]
fn the_first_message_lost() {
    for seed in 0..20 {
        let w = run(seed, 1);
        for r in 1..3 {
            assert_eq!(
                assert_exactly_once_in_order(&w, r, 1, 0, N),
                0,
                "seed {seed}"
            );
        }
        let s = w.nodes[2].stats();
        assert_eq!(s.late_joins, 0, "{s:?}");
        assert!(s.repairs_received > 0 && s.nacks_sent >= 2, "{s:?}");
    }
}

#[test]
fn the_first_twenty_datagrams_lost() {
    for seed in 0..20 {
        let w = run(seed, 20);
        for r in 1..3 {
            assert_eq!(
                assert_exactly_once_in_order(&w, r, 1, 0, N),
                0,
                "seed {seed}"
            );
        }
        assert_eq!(w.nodes[2].stats().late_joins, 0);
    }
}

#[test]
fn everything_lost_until_the_sender_is_quiet() {
    // Node 2 hears nothing of the stream; its first contact is a heartbeat
    // (the stream is younger than node 2's time in the group): it asks for
    // all of it.
    for seed in 0..10 {
        let mut w = World::new(3, &config(1024), lossy(0.01), seed);
        w.run_for(Duration::from_millis(50));
        w.set_link(
            0,
            2,
            Link {
                loss: 1.0,
                ..Link::default()
            },
        );
        emit_stream(&mut w, 0, N, Duration::from_millis(1), mixed);
        w.run_for(Duration::from_millis(100));
        w.set_link(0, 2, lossy(0.01));
        w.run_for(Duration::from_secs(5));
        for r in 1..3 {
            assert_eq!(
                assert_exactly_once_in_order(&w, r, 1, 0, N),
                0,
                "seed {seed}"
            );
        }
        let s = w.nodes[2].stats();
        assert_eq!(s.late_joins, 0, "{s:?}");
        assert!(s.repairs_received >= N, "{s:?}");
    }
}
