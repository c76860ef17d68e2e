//! One sender, eight receivers. NACKs and repairs go to the group, so a
//! receiver that hears another ask for what it misses holds its own NACK
//! back, and one repair serves everyone: when all miss the same datagrams
//! (lost before they fan out), the group sends about one NACK per loss,
//! not eight, and each datagram is repaired about once. With independent
//! losses on top, every receiver still gets everything.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use crate::common::*;
use crate::world::*;

const RECEIVERS: usize = 8;
const N: u64 = 100;

fn run(seed: u64, shared: f64, independent: f64) -> World {
    let mut w = World::new(RECEIVERS + 1, &config(1024), lossy(independent), seed);
    w.set_uplink(
        0,
        Link {
            loss: shared,
            ..Link::default()
        },
    );
    emit_stream(&mut w, 0, N, Duration::from_millis(1), mixed);
    w.run_for(Duration::from_secs(5));
    for r in 1..=RECEIVERS {
        assert_eq!(
            assert_exactly_once_in_order(&w, r, 1, 0, N),
            0,
            "seed {seed}, receiver {r}: {:?}",
            w.nodes[r].stats()
        );
    }
    w
}

#[test]
fn shared_losses_are_asked_for_and_repaired_about_once() {
    let mut suppressed = 0;
    for seed in 0..12 {
        let w = run(seed, 0.10, 0.0);
        let lost = w.uplink_losses[0];
        assert!(lost > 0);
        let nacks: u64 = (1..=RECEIVERS).map(|r| w.nodes[r].stats().nacks_sent).sum();
        suppressed += (1..=RECEIVERS)
            .map(|r| w.nodes[r].stats().nacks_suppressed)
            .sum::<u64>();
        let tx = w.nodes[0].stats();
        // Without suppression, each loss would bring eight NACKs.
        assert!(
            nacks <= 2 * lost,
            "seed {seed}: {nacks} NACKs for {lost} datagrams lost"
        );
        assert_eq!(tx.nacks_received, nacks);
        // One repair serves all eight (a batch of repaired small events
        // counts once).
        assert!(
            tx.repairs_sent <= lost + lost / 2 + 5,
            "seed {seed}: {} repairs for {lost} datagrams lost",
            tx.repairs_sent
        );
        for r in 1..=RECEIVERS {
            let s = w.nodes[r].stats();
            assert!(s.repairs_received > 0, "seed {seed}: {s:?}");
            assert_eq!(s.messages_lost, 0);
        }
    }
    assert!(suppressed > 0);
}

#[test]
fn independent_losses_on_top() {
    for seed in 0..6 {
        let w = run(seed, 0.05, 0.10);
        for r in 1..=RECEIVERS {
            let s = w.nodes[r].stats();
            assert!(s.nacks_sent > 0 && s.repairs_received > 0, "{s:?}");
        }
        let suppressed: u64 = (1..=RECEIVERS)
            .map(|r| w.nodes[r].stats().nacks_suppressed)
            .sum();
        assert!(suppressed > 0, "seed {seed}");
    }
}
