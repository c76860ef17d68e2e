//! Strangers opening partial messages: 5,000 forged ids, each the first
//! segment of a message of 64 KiB that never completes, against a budget
//! of 8 MiB. The legitimate sender's events (100 KiB ones included) all
//! arrive; the strangers get no NACK and no loss report; memory stays
//! inside the budget.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use crate::attacker::Attack;
use crate::hostile::*;

#[test]
fn forged_partials_cost_nothing() {
    for seed in 0..3 {
        let every = Duration::from_millis(100);
        let attack = Attack::Partials { segments: 64 };
        let o = run(
            attack,
            500,
            every,
            (Duration::ZERO, Duration::from_secs(1)),
            seed,
        );
        o.assert_bounded(seed, 0);
        assert!(o.world.hostile() >= 5000);
        for r in 1..3 {
            let s = o.world.nodes[r].stats();
            assert_eq!(s.nacks_sent, 0, "seed {seed}: {s:?}");
            assert!(s.dropped.abandoned + s.dropped.expired > 0, "{s:?}");
            // Their expired partials are nobody's loss: never reported.
            assert_eq!(s.messages_lost, 0, "seed {seed}: {s:?}");
            assert!(s.losses_waiting > 0, "seed {seed}: {s:?}");
        }
    }
}
