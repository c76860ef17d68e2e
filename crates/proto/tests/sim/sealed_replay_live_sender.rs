//! With a key, a node that starts while a sender runs is not fooled by
//! that sender's earlier traffic replayed to it: the sender's answer vouches
//! only for what it sealed about when the node first heard it, so the
//! replayed datagrams are dropped (unvouched), whatever the clocks say,
//! and the live stream from then on arrives exactly once.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use crate::common::*;
use crate::world::*;

fn run(seed: u64, loss: f64) -> World {
    let c = config(1024);
    let mut w = World::sealed(3, &c, lossy(loss), seed);
    emit_stream(&mut w, 0, 50, Duration::from_millis(2), mixed);
    w.run_for(Duration::from_secs(10));
    let captured = w.sent[0].clone();
    // Node 2 restarts (a new id), and is at once fed what was captured.
    w.restart_sealed(2, &c, 300);
    w.inject(2, &captured);
    emit_stream(&mut w, 0, 50, Duration::from_millis(2), mixed);
    w.inject(2, &captured);
    w.run_for(Duration::from_secs(5));
    w
}

#[test]
fn earlier_traffic_of_a_live_sender_is_refused() {
    for seed in 0..20 {
        let w = run(seed, 0.0);
        // The node there all along: all 100.
        assert_eq!(assert_exactly_once_in_order(&w, 1, 1, 0, 100), 0);
        // The new node: none of the 50 sent before it started, all of
        // those sent after, exactly once.
        assert_eq!(
            assert_exactly_once_in_order(&w, 2, 1, 50, 50),
            0,
            "seed {seed}"
        );
        let s = w.nodes[2].stats();
        assert!(s.senders_verified >= 1, "{s:?}");
        assert!(s.dropped.unvouched > 0, "{s:?}");
        assert_eq!(s.senders_unanswered, 0);
    }
}

#[test]
fn earlier_traffic_is_refused_under_loss() {
    for seed in 0..20 {
        let w = run(seed, 0.10);
        assert_eq!(assert_exactly_once_in_order(&w, 1, 1, 0, 100), 0);
        // A late joiner: it may miss the first live ones (lost before it
        // heard the stream), never gets an old one.
        let (got, lost) = w.outcome(2, 1);
        let first = *got.first().expect("the new node got something");
        assert!((50..60).contains(&first), "seed {seed}: starts at {first}");
        assert!(lost.iter().all(|s| *s >= first));
        assert_eq!(
            assert_exactly_once_in_order(&w, 2, 1, first, 100 - first),
            0,
            "seed {seed}"
        );
    }
}
