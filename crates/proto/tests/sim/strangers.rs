//! Strangers: every 250 ms, 1,500 new sender ids each send one small
//! complete event (about 6,000 datagrams a second), for the whole run. The
//! quiet legitimate sender is never pushed out of the 1,024-sender table,
//! never owed its stream again from 0: no duplicate, no loss report, and
//! the strangers earn no NACK.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use crate::attacker::Attack;
use crate::hostile::*;

#[test]
fn one_datagram_ids_cost_nothing() {
    for seed in 0..2 {
        let every = Duration::from_millis(250);
        let o = run(
            Attack::Strangers,
            1500,
            every,
            (Duration::ZERO, Duration::from_secs(20)),
            seed,
        );
        o.assert_bounded(seed, 0);
        for r in 1..3 {
            let s = o.world.nodes[r].stats();
            assert!(s.senders_evicted > 1000, "seed {seed}: {s:?}");
            assert_eq!(s.messages_lost, 0, "seed {seed}: {s:?}");
            assert_eq!(s.nacks_sent, 0, "seed {seed}: {s:?}");
        }
    }
}
