//! A sender that restarts draws a new sender id: its messages are a new
//! stream, numbered from 0 again, that receivers take from its start (they
//! were listening before it began), while the old stream ends.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use crate::common::*;
use crate::world::*;

#[test]
fn a_new_id_is_a_new_stream() {
    for seed in 0..20 {
        let c = config(1024);
        let mut w = World::new(3, &c, lossy(0.10), seed);
        emit_stream(&mut w, 0, 50, Duration::from_millis(1), mixed);
        w.run_for(Duration::from_secs(1));
        w.restart(0, &c, 100);
        emit_stream(&mut w, 0, 50, Duration::from_millis(1), mixed);
        w.run_for(Duration::from_secs(5));
        for r in 1..3 {
            assert_eq!(
                assert_exactly_once_in_order(&w, r, 1, 0, 50),
                0,
                "seed {seed}"
            );
            assert_eq!(
                assert_exactly_once_in_order(&w, r, 100, 0, 50),
                0,
                "seed {seed}"
            );
            let s = w.nodes[r].stats();
            assert_eq!(s.senders, 2, "{s:?}");
            assert_eq!(s.late_joins, 0);
            assert_eq!(s.messages_received, 100);
        }
    }
}
