//! An impersonator that climbs: without a key, from an address other than
//! an established sender's home, it sends data under the sender's id,
//! each seq within what the previous forged one made plausible, step by
//! step past the sender's window (2^20). Before the fix, each forged
//! datagram raised the lead the next was measured from, so the climb
//! pushed the sender's own messages out of its window: reported lost
//! (`LossReason::Overrun`) and then dropped as stale. From elsewhere, a
//! seq is now plausible only within 2^19 of what the sender itself
//! vouched for from its home (docs/PROTOCOL.md §9.7, docs/SECURITY.md).
#![allow(clippy::unwrap_used)]

use crate::common::*;
use eventcast_proto::{Config, EndpointEvent};

const ME: u64 = 0xFEED;
const S: u64 = 0x5;

/// The forger's steps: each under 2^16 past the one before.
const STEP: u64 = 60_000;
/// How far it climbs: past the sender's window, with a margin.
const TOP: u64 = (1 << 20) + 200_000;

/// A whole small event `seq` of S.
fn event(seq: u64) -> Vec<u8> {
    segments(S, seq, &body_of_len(60), 1024).remove(0)
}

fn configs() -> [(&'static str, Config); 3] {
    let mut unordered = config(1024);
    unordered.ordered = false;
    [
        ("ordered", config(1024)),
        ("unordered", unordered),
        ("reassembly only", reassembly_only(1024)),
    ]
}

#[test]
fn a_forger_climbing_from_elsewhere_does_not_push_the_senders_window() {
    for (name, config) in configs() {
        let mut rx = endpoint(config, ME);
        rx.handle_join(at(0));
        let mut got: Vec<EndpointEvent> = Vec::new();
        // S, established at its home, sends 0 .. 10.
        for seq in 0..10 {
            rx.handle_datagram(at(seq), addr(1), &event(seq));
            got.extend(events(&mut rx));
        }
        // A second later (the stream is old enough here for the climb),
        // the impersonator climbs from addr(7), all at once.
        let mut seq = 10 + STEP;
        while seq < TOP {
            rx.handle_datagram(at(1_000), addr(7), &event(seq));
            got.extend(events(&mut rx));
            seq += STEP;
        }
        // S goes on from its home.
        for seq in 10..40 {
            rx.handle_datagram(at(1_001 + seq), addr(1), &event(seq));
            rx.handle_timeout(at(1_001 + seq));
            got.extend(events(&mut rx));
        }
        let s = rx.stats();
        assert_eq!(losses_of(&got, S), Vec::new(), "{name}: {s:?}");
        assert_delivered_once(&got, S);
        let mine: Vec<u64> = messages_of(&got, S)
            .into_iter()
            .filter(|seq| *seq < 40)
            .collect();
        assert_eq!(mine, (0..40).collect::<Vec<_>>(), "{name}: {s:?}");
        assert_eq!(s.messages_lost, 0, "{name}: {s:?}");
        assert_eq!(s.dropped.stale, 0, "{name}: {s:?}");
        assert!(s.dropped.implausible > 0, "{name}: the climb is cut: {s:?}");
        assert_accounting(&s);
    }
}

/// The same climb with heartbeats: each forged lead, from elsewhere, is
/// measured from what the sender vouched for, so none past 2^19 of it is
/// taken, and the sender's own messages after the climb are delivered,
/// none reported lost.
#[test]
fn forged_heartbeats_climbing_from_elsewhere_are_cut() {
    for (name, config) in configs() {
        let mut rx = endpoint(config, ME);
        rx.handle_join(at(0));
        let mut got: Vec<EndpointEvent> = Vec::new();
        for seq in 0..10 {
            rx.handle_datagram(at(seq), addr(1), &event(seq));
            got.extend(events(&mut rx));
        }
        let mut lead = 10 + STEP;
        while lead < TOP {
            rx.handle_datagram(at(1_000), addr(7), &heartbeat_frame(S, lead, 0, 5_000));
            got.extend(events(&mut rx));
            lead += STEP;
        }
        for seq in 10..40 {
            rx.handle_datagram(at(1_001 + seq), addr(1), &event(seq));
            rx.handle_timeout(at(1_001 + seq));
            got.extend(events(&mut rx));
        }
        let s = rx.stats();
        assert_eq!(losses_of(&got, S), Vec::new(), "{name}: {s:?}");
        assert_eq!(
            messages_of(&got, S),
            (0..40).collect::<Vec<_>>(),
            "{name}: {s:?}"
        );
        assert_eq!(s.messages_lost, 0, "{name}: {s:?}");
        assert!(
            s.heartbeats_implausible > 0,
            "{name}: the climb is cut: {s:?}"
        );
        assert_accounting(&s);
    }
}

/// A sender whose home fell silent for longer than a live sender is
/// (it moved, or it is gone) is measured from its lead again: its data
/// from its new address runs on past half a window (2^19) of what it
/// vouched for.
#[test]
fn a_sender_that_moved_is_heard_past_what_it_vouched_for() {
    for (name, config) in configs() {
        let mut rx = endpoint(config, ME);
        rx.handle_join(at(0));
        let mut got: Vec<EndpointEvent> = Vec::new();
        for seq in 0..10 {
            rx.handle_datagram(at(seq), addr(1), &event(seq));
            got.extend(events(&mut rx));
        }
        // Four seconds later (three heartbeat intervals of silence at
        // home), from addr(2), 2^19 + 2^16 messages on, a few at a time.
        let mut t = 4_000;
        let mut seq = 10;
        let end = 10 + (1 << 19) + (1 << 16);
        while seq < end {
            rx.handle_datagram(at(t), addr(2), &event(seq));
            seq += 1;
            if seq % 4_096 == 0 {
                t += 1;
                rx.handle_timeout(at(t));
            }
            got.extend(events(&mut rx));
        }
        let s = rx.stats();
        assert_eq!(s.dropped.implausible, 0, "{name}: {s:?}");
        assert_eq!(messages_of(&got, S).len() as u64, end, "{name}: {s:?}");
        assert_accounting(&s);
    }
}

/// A sender that moves without a pause, sending fast: in the three
/// seconds before its old home counts as silent, its data from its new
/// address is held to half a window past what it vouched for, which its
/// 3 * 2^16 messages at 64,000 a second stay inside.
#[test]
fn a_sender_that_moved_at_once_is_heard_while_its_home_counts_as_live() {
    for (name, config) in configs() {
        let mut rx = endpoint(config, ME);
        rx.handle_join(at(0));
        let mut got: Vec<EndpointEvent> = Vec::new();
        for seq in 0..10 {
            rx.handle_datagram(at(seq), addr(1), &event(seq));
            got.extend(events(&mut rx));
        }
        let mut t = 10;
        let end = 10 + 3 * (1 << 16);
        for seq in 10..end {
            rx.handle_datagram(at(t), addr(2), &event(seq));
            if seq % 64 == 0 {
                t += 1;
                rx.handle_timeout(at(t));
            }
            got.extend(events(&mut rx));
        }
        let s = rx.stats();
        assert!(t < 3_100, "{name}: the old home still counts as live");
        assert_eq!(s.dropped.implausible, 0, "{name}: {s:?}");
        assert_eq!(messages_of(&got, S).len() as u64, end, "{name}: {s:?}");
        assert_accounting(&s);
    }
}
