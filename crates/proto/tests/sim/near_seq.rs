//! An impersonator's data frame a little ahead of a slow sender: inside
//! the window a receiver takes as plausible (2^16), so it is taken, and
//! the seqs between become a gap. The sender has not sent them yet, and
//! says so in its heartbeats: the gap is never reported lost while the
//! sender is heard, however long it takes to get there (here longer than
//! `message_ttl`), nor while the sender pauses. What the forgery touched
//! is the only cost: a forged copy delivered in place of a real event,
//! traced as a conflict.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use eventcast_proto::EndpointEvent;

use crate::attacker::{Attack, Attacker};
use crate::hostile::{clean, hostile_config};
use crate::world::*;

/// Events the slow sender emits, one every [`EVERY`].
const EVENTS: u64 = 120;
const EVERY: Duration = Duration::from_millis(100);

/// Node 0 sends slowly while the attacker forges one event `ahead` of it
/// every 2 s; returns the world and the forged events node 1 and 2 got.
fn run(ahead: u64, seed: u64) -> (World, [u64; 2]) {
    run_attack(Attack::NearSeq { victim: 1, ahead }, seed)
}

/// The slow sender under `attack`, one datagram every 2 s.
fn run_attack(attack: Attack, seed: u64) -> (World, [u64; 2]) {
    let c = hostile_config();
    let mut w = World::new(3, &c, clean(), seed);
    let from = w.now + Duration::from_millis(500);
    let span = (from, from + Duration::from_secs(4));
    w.set_attacker(
        Attacker::new(attack, 1, Duration::from_secs(2), span, seed),
        0,
    );
    emit_stream(&mut w, 0, EVENTS, EVERY, |_| 40);
    w.run_for(Duration::from_secs(5));
    let forged = [1, 2].map(|r| {
        w.events[r]
            .iter()
            .filter(|e| {
                matches!(e, EndpointEvent::Message(m)
                    if m.args.first() == Some(&bson::Bson::String("forged".into())))
            })
            .count() as u64
    });
    (w, forged)
}

/// Every event of the sender reached nodes 1 and 2 exactly once, none
/// was reported lost or asked for, and nothing forged was delivered.
fn assert_untouched(w: &World, forged: [u64; 2], seed: u64) {
    for r in 1..3 {
        let lost = assert_exactly_once_in_order(w, r, 1, 0, EVENTS);
        assert_eq!(lost, 0, "seed {seed}: node {r}: {:?}", losses(w, r, 1));
        assert_eq!(forged[r - 1], 0, "seed {seed}");
        let s = w.nodes[r].stats();
        assert_eq!(s.nacks_sent, 0, "seed {seed}: node {r}: {s:?}");
        crate::common::assert_accounting(&s);
    }
}

#[test]
fn a_forged_frame_ahead_of_a_slow_sender_costs_only_itself() {
    for seed in 0..4 {
        // 50 ahead at 10 events a second: the sender gets there after 5 s,
        // longer than message_ttl (3 s).
        let (w, forged) = run(50, seed);
        let hostile = w.hostile();
        assert_eq!(hostile, 3, "seed {seed}");
        for r in 1..3 {
            let lost = assert_exactly_once_in_order(&w, r, 1, 0, EVENTS);
            assert_eq!(lost, 0, "seed {seed}: node {r}: {:?}", losses(&w, r, 1));
            // Each forged event took one real event's place, no more,
            // and left a trace.
            assert!(forged[r - 1] <= hostile, "seed {seed}: {forged:?}");
            let s = w.nodes[r].stats();
            assert!(s.conflicts > 0, "seed {seed}: node {r}: {s:?}");
            // Nothing the sender did not vouch for is asked for.
            assert_eq!(s.nacks_sent, 0, "seed {seed}: node {r}: {s:?}");
            crate::common::assert_accounting(&s);
        }
    }
}

#[test]
fn a_forged_frame_the_sender_never_reaches_is_never_a_loss() {
    for seed in 0..4 {
        // 5,000 ahead: the sender never gets there. Nothing past what it
        // sent is delivered, reported or asked for.
        let (w, forged) = run(5000, seed);
        assert_untouched(&w, forged, seed);
    }
}

#[test]
fn a_forged_heartbeat_ahead_of_a_slow_sender_is_never_a_loss() {
    for seed in 0..4 {
        // Its lead opens a gap the sender has not reached, and its trail
        // says all of it is beyond repair: neither is taken from
        // elsewhere than the sender's home.
        let attack = Attack::NearHeartbeat {
            victim: 1,
            ahead: 50,
        };
        let (w, forged) = run_attack(attack, seed);
        assert_untouched(&w, forged, seed);
    }
}

#[test]
fn a_sender_that_pauses_past_a_forged_gap_loses_nothing() {
    for seed in 0..4 {
        let c = hostile_config();
        let mut w = World::new(3, &c, clean(), seed);
        let from = w.now + Duration::from_millis(500);
        let attack = Attack::NearSeq {
            victim: 1,
            ahead: 30,
        };
        let span = (from, from);
        w.set_attacker(
            Attacker::new(attack, 1, Duration::from_secs(1), span, seed),
            0,
        );
        emit_stream(&mut w, 0, 20, EVERY, |_| 40);
        // The sender falls silent for long enough to count as gone (its
        // process stopped, or its link went down), then comes back and
        // sends past the forged seq. Nothing of the gap was given up
        // while it was away: its events arrive.
        let silent = Link {
            loss: 1.0,
            ..clean()
        };
        w.set_uplink(0, silent);
        w.run_for(Duration::from_secs(10));
        w.set_uplink(0, clean());
        emit_stream(&mut w, 0, 40, Duration::from_millis(20), |_| 40);
        w.run_for(Duration::from_secs(5));
        assert_eq!(w.hostile(), 1, "seed {seed}");
        for r in 1..3 {
            let lost = assert_exactly_once_in_order(&w, r, 1, 0, 60);
            assert_eq!(lost, 0, "seed {seed}: node {r}: {:?}", losses(&w, r, 1));
            let s = w.nodes[r].stats();
            // The forged event took one real event's place: a conflict.
            assert_eq!(s.conflicts, 1, "seed {seed}: node {r}: {s:?}");
            crate::common::assert_accounting(&s);
        }
    }
}
