//! With a key, every receiver challenges the sender when it first hears it,
//! while the sender is already streaming. Challenges and answers are lost
//! like anything else: the receiver asks again, backing off, holding what
//! arrives meanwhile; once answered, every event arrives exactly once, in
//! order, none reported lost.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use crate::common::*;
use crate::world::*;

#[test]
fn every_event_arrives_once_despite_lost_challenges_and_answers() {
    for seed in 0..30 {
        let c = config(1024);
        let mut w = World::sealed(4, &c, lossy(0.15), seed);
        w.set_uplink(
            0,
            Link {
                burst_start: 0.02,
                burst_len: 4,
                ..Link::default()
            },
        );
        emit_stream(&mut w, 0, 100, Duration::from_millis(1), mixed);
        w.run_for(Duration::from_secs(10));
        for r in 1..4 {
            let s = w.nodes[r].stats();
            assert_eq!(
                assert_exactly_once_in_order(&w, r, 1, 0, 100),
                0,
                "seed {seed}, node {r}: {s:?}\nsender: {:?}",
                w.nodes[0].stats()
            );
            assert_eq!(s.messages_lost, 0);
            // The sender answered (other receivers, heard through their
            // NACKs, may not have: 4 challenges lost in a row happen).
            assert!(s.senders_verified >= 1, "seed {seed}: {s:?}");
            assert_eq!((s.handshake_held, s.handshake_held_bytes), (0, 0));
        }
    }
}

#[test]
fn the_first_challenges_are_lost() {
    for seed in 0..20 {
        let c = config(1024);
        let mut w = World::sealed(2, &c, lossy(0.0), seed);
        // Nothing node 1 sends reaches node 0 for the first 300 ms: its
        // first two challenges (at 0 and 200 ms) are lost.
        w.set_link(
            1,
            0,
            Link {
                loss: 1.0,
                ..Link::default()
            },
        );
        emit_stream(&mut w, 0, 30, Duration::from_millis(10), mixed);
        w.set_link(1, 0, lossy(0.0));
        w.run_for(Duration::from_secs(5));
        assert_eq!(
            assert_exactly_once_in_order(&w, 1, 1, 0, 30),
            0,
            "seed {seed}"
        );
        let s = w.nodes[1].stats();
        assert!(s.challenges_sent >= 3, "{s:?}");
        assert_eq!(s.senders_verified, 1);
        // What came during the wait was held, then delivered, not repaired.
        assert_eq!(w.nodes[0].stats().repairs_sent, 0, "seed {seed}");
    }
}
