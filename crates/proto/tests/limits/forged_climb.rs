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
use eventcast_proto::{Config, Endpoint, EndpointEvent};

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

/// A node with `config` that heard S's 0 .. 10 from its home, addr(1),
/// in its first 10 ms, and what it told of them.
fn established(config: Config) -> (Endpoint, Vec<EndpointEvent>) {
    let mut rx = endpoint(config, ME);
    rx.handle_join(at(0));
    let mut got = Vec::new();
    for seq in 0..10 {
        rx.handle_datagram(at(seq), addr(1), &event(seq));
        got.extend(events(&mut rx));
    }
    (rx, got)
}

/// S, established, goes on from addr(2) from `t` ms with 10 .. `end`,
/// `per_ms` messages a millisecond. Returns the time it got to.
fn moves(
    rx: &mut Endpoint,
    got: &mut Vec<EndpointEvent>,
    mut t: u64,
    end: u64,
    per_ms: u64,
) -> u64 {
    for seq in 10..end {
        rx.handle_datagram(at(t), addr(2), &event(seq));
        if seq % per_ms == 0 {
            t += 1;
            rx.handle_timeout(at(t));
        }
        got.extend(events(rx));
    }
    t
}

/// What a sender that moved must get: none of its data implausible, all
/// of its `end` messages delivered.
fn assert_heard_whole(name: &str, rx: &Endpoint, got: &[EndpointEvent], end: u64) {
    let s = rx.stats();
    assert_eq!(s.dropped.implausible, 0, "{name}: {s:?}");
    assert_eq!(messages_of(got, S).len() as u64, end, "{name}: {s:?}");
    assert_accounting(&s);
}

/// S established (see [`established`]); a second later (the stream is
/// old enough here for a climb) an impersonator climbs from addr(7), all
/// at once, sending `forged(seq)` at every step; then S goes on from its
/// home with 10 .. 40.
fn climb(config: Config, forged: impl Fn(u64) -> Vec<u8>) -> (Endpoint, Vec<EndpointEvent>) {
    let (mut rx, mut got) = established(config);
    let mut seq = 10 + STEP;
    while seq < TOP {
        rx.handle_datagram(at(1_000), addr(7), &forged(seq));
        got.extend(events(&mut rx));
        seq += STEP;
    }
    for seq in 10..40 {
        rx.handle_datagram(at(1_001 + seq), addr(1), &event(seq));
        rx.handle_timeout(at(1_001 + seq));
        got.extend(events(&mut rx));
    }
    (rx, got)
}

#[test]
fn a_forger_climbing_from_elsewhere_does_not_push_the_senders_window() {
    for (name, config) in receiver_configs() {
        let (rx, got) = climb(config, event);
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
    for (name, config) in receiver_configs() {
        let (rx, got) = climb(config, |lead| heartbeat_frame(S, lead, 0, 5_000));
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
    for (name, config) in receiver_configs() {
        let (mut rx, mut got) = established(config);
        // Four seconds later (three heartbeat intervals of silence at
        // home), from addr(2), 2^19 + 2^16 messages on, a few at a time.
        let end = 10 + (1 << 19) + (1 << 16);
        moves(&mut rx, &mut got, 4_000, end, 4_096);
        assert_heard_whole(name, &rx, &got, end);
    }
}

/// A sender that moves without a pause, sending fast: in the three
/// seconds before its old home counts as silent, its data from its new
/// address is held to half a window past what it vouched for, which its
/// 3 * 2^16 messages at 64,000 a second stay inside.
#[test]
fn a_sender_that_moved_at_once_is_heard_while_its_home_counts_as_live() {
    for (name, config) in receiver_configs() {
        let (mut rx, mut got) = established(config);
        let end = 10 + 3 * (1 << 16);
        let t = moves(&mut rx, &mut got, 10, end, 64);
        assert!(t < 3_100, "{name}: the old home still counts as live");
        assert_heard_whole(name, &rx, &got, end);
    }
}

/// A slow climb: S heartbeats from home every second, and the forger
/// sends from addr(7) 900 ms after each heartbeat, a million seqs past
/// its last step (measured from the lead, the wait would earn it 2^22
/// messages a second of allowance). No step past half a window of what
/// S vouched for is taken.
#[test]
fn a_slow_climb_earns_no_allowance_for_its_waits() {
    for (name, config) in receiver_configs() {
        let (mut rx, mut got) = established(config);
        let mut t = 10;
        let mut seq = 10 + STEP;
        for _ in 0..5 {
            rx.handle_datagram(at(t), addr(1), &heartbeat_frame(S, 10, 0, t as u32));
            rx.handle_datagram(at(t + 900), addr(7), &event(seq));
            got.extend(events(&mut rx));
            t += 1_000;
            seq += 1_000_000;
        }
        for seq in 10..40 {
            rx.handle_datagram(at(t + seq), addr(1), &event(seq));
            rx.handle_timeout(at(t + seq));
            got.extend(events(&mut rx));
        }
        let s = rx.stats();
        assert_eq!(losses_of(&got, S), Vec::new(), "{name}: {s:?}");
        let mine: Vec<u64> = messages_of(&got, S)
            .into_iter()
            .filter(|seq| *seq < 40)
            .collect();
        assert_eq!(mine, (0..40).collect::<Vec<_>>(), "{name}: {s:?}");
        assert_eq!(s.dropped.stale, 0, "{name}: {s:?}");
        assert_eq!(s.dropped.implausible, 4, "{name}: {s:?}");
        assert_accounting(&s);
    }
}
