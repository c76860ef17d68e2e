//! One sender, two receivers, random loss of 1%, 10% and 30% on every link
//! (NACKs and repairs included), with jitter that reorders and a little
//! duplication: everything is delivered exactly once and in order, with
//! the default `max_retransmit_attempts` (3), many seeds each, and nothing
//! is lost. Small events and events of many segments are mixed.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use crate::common::*;
use crate::world::*;
use bson::Bson;

fn run(
    loss: f64,
    seed: u64,
    max_attempts: u32,
) -> (usize, eventcast_proto::Stats, eventcast_proto::Stats) {
    let mut c = config(1024);
    c.max_retransmit_attempts = max_attempts;
    let link = Link {
        loss,
        duplicate: 0.01,
        delay: Duration::from_micros(200),
        jitter: Duration::from_micros(300),
        ..Link::default()
    };
    let mut w = World::new(3, &c, link, seed);
    let n = 60u64;
    for i in 0..n {
        let len = if i % 10 == 3 { 20_000 } else { 40 };
        w.nodes[0]
            .emit(
                w.now,
                "e",
                &[Bson::Int64(i as i64), binary(vec![i as u8; len])],
            )
            .unwrap();
        w.run_for(Duration::from_millis(1));
    }
    w.run_for(Duration::from_secs(10));
    let mut lost = 0;
    for r in 1..3 {
        lost += assert_exactly_once_in_order(&w, r, 1, 0, n);
    }
    (lost, w.nodes[0].stats(), w.nodes[1].stats())
}

#[test]
fn one_percent() {
    for seed in 0..50 {
        let (lost, _, rx) = run(0.01, seed, 3);
        assert_eq!(lost, 0, "seed {seed}: {rx:?}");
    }
}

#[test]
fn ten_percent() {
    for seed in 0..50 {
        let (lost, tx, rx) = run(0.10, seed, 3);
        assert_eq!(lost, 0, "seed {seed}: {tx:?} {rx:?}");
        assert!(rx.nacks_sent > 0 && tx.repairs_sent > 0, "{tx:?} {rx:?}");
        assert!(rx.repairs_received > 0 && rx.dropped.duplicate > 0);
        assert!(tx.heartbeats_sent > 0);
        assert_eq!(rx.messages_lost, 0);
    }
}

#[test]
fn thirty_percent() {
    for seed in 0..50 {
        let (lost, tx, rx) = run(0.30, seed, 3);
        assert_eq!(lost, 0, "seed {seed}: {tx:?} {rx:?}");
        assert_eq!(rx.messages_lost, 0);
    }
}
