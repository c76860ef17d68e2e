//! An impersonator's copies of the sender's coming messages: without a
//! key a forged copy that arrives first is delivered, and the real one is
//! a duplicate. That cannot be prevented, but it leaves a trace: each
//! receiver counts the conflicts and reports one (`Conflict`) for the
//! sender. The forgeries cost at most what they touched (under 5%).
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use crate::attacker::Attack;
use crate::hostile::*;

#[test]
fn forged_copies_leave_a_trace() {
    for seed in 0..4 {
        let attack = Attack::Copies { victim: 1 };
        let span = (Duration::from_millis(200), Duration::from_millis(600));
        let o = run(attack, 1, Duration::from_millis(100), span, seed);
        o.assert_bounded(seed, 0);
        let hostile = o.world.hostile();
        for r in 1..3 {
            let s = o.world.nodes[r].stats();
            assert!(s.conflicts > 0, "seed {seed}: {s:?}");
            assert!(s.conflicts <= hostile, "seed {seed}: {s:?}");
            assert_eq!(o.conflicts(r), 1, "seed {seed}: one report per sender");
            // What was delivered in place of real events: at most 5%.
            let forged = o.world.events[r]
                .iter()
                .filter(|e| {
                    matches!(e, eventcast_proto::EndpointEvent::Message(m)
                    if m.args.first() == Some(&bson::Bson::String("forged".into())))
                })
                .count() as u64;
            assert!(
                forged <= hostile && forged * 20 <= EVENTS,
                "seed {seed}: {forged}"
            );
        }
    }
}
