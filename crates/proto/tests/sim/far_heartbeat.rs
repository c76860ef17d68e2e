//! An impersonator's heartbeats: before the first event, and during the
//! stream, heartbeats under the sender's id with a lead of 2^40 (trail 0,
//! or trail at the lead). They are implausible: never a join point, a
//! gap or a loss. Every event arrives, nothing is reported lost.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use crate::attacker::Attack;
use crate::hostile::*;

#[test]
fn a_forged_heartbeat_before_the_first_event() {
    for seed in 0..4 {
        let attack = Attack::FarHeartbeats {
            victim: 1,
            trail_at_lead: seed % 2 == 1,
        };
        // One heartbeat, before anything else.
        let o = run(
            attack,
            1,
            Duration::from_secs(60),
            (Duration::ZERO, Duration::ZERO),
            seed,
        );
        o.assert_bounded(seed, 0);
    }
}

#[test]
fn forged_heartbeats_during_the_stream() {
    for seed in 0..4 {
        let attack = Attack::FarHeartbeats {
            victim: 1,
            trail_at_lead: seed % 2 == 0,
        };
        let span = (Duration::from_millis(300), Duration::from_secs(4));
        let o = run(attack, 5, Duration::from_millis(20), span, seed);
        o.assert_bounded(seed, 0);
        for r in 1..3 {
            let s = o.world.nodes[r].stats();
            assert!(s.heartbeats_implausible > 0, "seed {seed}: {s:?}");
        }
    }
}
