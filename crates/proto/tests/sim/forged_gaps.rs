//! Strangers forging window gaps: new ids each send a complete event at
//! seq 0 and another up to 2^19 ahead, a gap that would be asked for. The
//! legitimate sender loses nothing, no delivered event is reported lost,
//! and the NACKs the gaps cost stay under one per 10 hostile datagrams.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use crate::attacker::Attack;
use crate::hostile::*;

#[test]
fn forged_gaps_are_bounded() {
    for seed in 0..3 {
        let every = Duration::from_millis(10);
        let span = (Duration::from_millis(500), Duration::from_secs(2));
        let o = run(Attack::Gaps, 50, every, span, seed);
        o.assert_bounded(seed, 0);
    }
}
