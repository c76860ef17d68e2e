//! An impersonator's data frame at the sender's next seq + 2^40: it never
//! ends the stream (no "overrun", no loss range of 10^12 seqs), and a
//! node that starts listening during the attack, whose first datagram of
//! the sender may be the forged one, still gets its share.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use crate::attacker::Attack;
use crate::hostile::*;
use crate::world::*;

#[test]
fn one_frame_far_ahead() {
    for seed in 0..4 {
        let attack = Attack::FarSeq { victim: 1 };
        let span = (Duration::from_millis(500), Duration::from_secs(3));
        let o = run(attack, 1, Duration::from_millis(100), span, seed);
        o.assert_bounded(seed, 0);
        for r in 1..3 {
            let s = o.world.nodes[r].stats();
            assert!(s.dropped.implausible > 0, "seed {seed}: {s:?}");
        }
    }
}

#[test]
fn a_late_joiner_during_the_attack() {
    for seed in 0..4 {
        let c = hostile_config();
        let mut w = World::new(3, &c, clean(), seed);
        w.unplug(2, &c, seed);
        let from = w.now;
        let attacker = crate::attacker::Attacker::new(
            Attack::FarSeq { victim: 1 },
            1,
            Duration::from_millis(2),
            (from, from + Duration::from_secs(10)),
            seed,
        );
        w.set_attacker(attacker, 0);
        emit_stream(&mut w, 0, 500, Duration::from_millis(1), sizes);
        // The forged frames keep coming; the newcomer may hear one first.
        w.join(2);
        emit_stream(&mut w, 0, 1500, Duration::from_millis(1), sizes);
        w.run_for(Duration::from_secs(5));
        assert_eq!(assert_exactly_once_in_order(&w, 1, 1, 0, 2000), 0);
        let (got, _) = w.outcome(2, 1);
        let first = *got.first().expect("the late joiner got something");
        assert!(
            (500..520).contains(&first),
            "seed {seed}: starts at {first}"
        );
        assert_eq!(
            assert_exactly_once_in_order(&w, 2, 1, first, 2000 - first),
            0,
            "seed {seed}"
        );
        assert!(losses(&w, 2, 1).is_empty(), "seed {seed}");
    }
}
