//! A receiver that joins a stream mid-way is a late joiner: it gets
//! everything from the first message it hears sent live, exactly once and
//! in order, and never asks for anything older (nor reports it lost),
//! whatever repairs for others it overhears. Joining a quiet stream, it
//! starts at the lead its first heartbeat announces, so even a lost first
//! message after that is repaired.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use crate::common::*;
use crate::world::*;
use eventcast_proto::wire::NackEntry;

/// The lowest seq any NACK of node `i` to sender 1 names.
fn lowest_asked(w: &World, i: usize) -> Option<u64> {
    w.nacks_sent_by(i)
        .iter()
        .filter(|n| n.target().get() == 1)
        .flat_map(|n| n.entries().iter().map(NackEntry::seq))
        .map(|s| s.get())
        .min()
}

#[test]
fn joins_mid_stream_and_asks_no_history() {
    for seed in 0..20 {
        let c = config(1024);
        let mut w = World::new(3, &c, lossy(0.10), seed);
        w.unplug(2, &c, seed);
        emit_stream(&mut w, 0, 100, Duration::from_millis(1), mixed);
        w.join(2);
        emit_stream(&mut w, 0, 100, Duration::from_millis(1), mixed);
        w.run_for(Duration::from_secs(5));

        // The receiver there from the start gets all 200.
        assert_eq!(assert_exactly_once_in_order(&w, 1, 1, 0, 200), 0);
        // The late joiner: from the first message it heard live, which
        // was sent after it joined (the first few may have been lost to
        // it), to the end.
        let (got, _) = w.outcome(2, 1);
        let first = *got.first().expect("the late joiner got something");
        assert!(
            (100..110).contains(&first),
            "seed {seed}: starts at {first}"
        );
        assert_eq!(
            assert_exactly_once_in_order(&w, 2, 1, first, 200 - first),
            0,
            "seed {seed}"
        );
        assert!(losses(&w, 2, 1).is_empty());
        if let Some(lowest) = lowest_asked(&w, 2) {
            assert!(lowest >= first, "seed {seed}: asked for {lowest} < {first}");
        }
        let s = w.nodes[2].stats();
        assert_eq!(s.late_joins, 1, "{s:?}");
        assert_eq!(s.messages_lost, 0);
        assert_eq!(w.nodes[1].stats().late_joins, 0);
    }
}

#[test]
fn joins_a_quiet_stream_at_its_lead() {
    for seed in 0..20 {
        let c = config(1024);
        let mut w = World::new(3, &c, lossy(0.10), seed);
        w.unplug(2, &c, seed);
        emit_stream(&mut w, 0, 50, Duration::from_millis(1), mixed);
        w.run_for(Duration::from_secs(2));
        w.join(2);
        // Quiet: heartbeats every heartbeat_max; one of them reaches the
        // newcomer before the stream goes on.
        w.run_for(Duration::from_secs(3));
        assert!(w.nodes[2].stats().heartbeats_received > 0, "seed {seed}");
        // The next message is lost to it: it is owed it, and asks.
        w.set_link(
            0,
            2,
            Link {
                loss: 1.0,
                ..Link::default()
            },
        );
        emit_stream(&mut w, 0, 1, Duration::from_millis(1), |_| 40);
        w.set_link(0, 2, lossy(0.10));
        emit_stream(&mut w, 0, 49, Duration::from_millis(1), mixed);
        w.run_for(Duration::from_secs(5));

        assert_eq!(assert_exactly_once_in_order(&w, 1, 1, 0, 100), 0);
        assert_eq!(
            assert_exactly_once_in_order(&w, 2, 1, 50, 50),
            0,
            "seed {seed}"
        );
        if let Some(lowest) = lowest_asked(&w, 2) {
            assert!(lowest >= 50, "seed {seed}: asked for {lowest}");
        }
        let s = w.nodes[2].stats();
        assert_eq!(s.late_joins, 1, "{s:?}");
        assert!(s.repairs_received > 0, "{s:?}");
    }
}
