//! With a key, many receivers that start together all challenge the same
//! sender at once: its answers are shared (one datagram answers up to 32
//! challenges, at most one per 10 ms), so the sender's work stays bounded,
//! and every receiver gets every event exactly once.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use crate::common::*;
use crate::world::*;

#[test]
fn answers_are_shared_between_receivers() {
    for seed in 0..5 {
        let c = config(1024);
        let n = 41;
        let mut w = World::sealed(n, &c, lossy(0.02), seed);
        emit_stream(&mut w, 0, 40, Duration::from_millis(1), mixed);
        w.run_for(Duration::from_secs(5));
        for r in 1..n {
            assert_eq!(
                assert_exactly_once_in_order(&w, r, 1, 0, 40),
                0,
                "seed {seed}"
            );
        }
        let s = w.nodes[0].stats();
        let challenges: u64 = (1..n).map(|r| w.nodes[r].stats().challenges_sent).sum();
        assert!(s.challenges_received >= 40, "{s:?}");
        // 40 receivers, 40+ challenges: a handful of answers.
        assert!(
            s.answers_sent * 4 <= challenges,
            "seed {seed}: {} answers to {challenges} challenges",
            s.answers_sent
        );
    }
}
