//! Strangers filling the memory budget: eight ids open partial messages
//! as fast as they can (each up to its own budget, together well past the
//! node's). A real sender's large events still find room: strangers that
//! are not established are forgotten for them. Memory stays inside the
//! budget, nothing real is lost, the strangers draw no NACK. With loss on
//! the links too, the real sender's messages held for order (behind a
//! missing one) and its gap records find room the same way.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use crate::attacker::Attack;
use crate::hostile::*;

#[test]
fn a_full_budget_costs_no_real_event() {
    for seed in 0..2 {
        let every = Duration::from_millis(5);
        let span = (Duration::ZERO, Duration::from_secs(20));
        let o = run(Attack::Filler { ids: 8 }, 200, every, span, seed);
        o.assert_bounded(seed, 0);
        for r in 1..3 {
            let s = o.world.nodes[r].stats();
            assert!(
                s.dropped.over_budget > 0,
                "seed {seed}: budget never full: {s:?}"
            );
            assert_eq!(s.nacks_sent, 0, "seed {seed}: {s:?}");
        }
    }
}

#[test]
fn a_full_budget_costs_no_real_event_under_loss() {
    for seed in 0..2 {
        let every = Duration::from_millis(5);
        let span = (Duration::ZERO, Duration::from_secs(20));
        let link = crate::world::lossy(0.02);
        // 64 ids fill the node's whole budget (8 only their own).
        let o = run_on(link, Attack::Filler { ids: 64 }, 200, every, span, seed);
        o.assert_bounded(seed, 0);
        for r in 1..3 {
            let s = o.world.nodes[r].stats();
            assert!(s.senders_forgotten_for_room > 0, "seed {seed}: {s:?}");
        }
    }
}
