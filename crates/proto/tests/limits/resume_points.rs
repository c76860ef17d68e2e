//! Resume points of forgotten senders, against honest senders that come
//! back far ahead and forgers that come first or in between: an honest
//! sender is never shut out, nothing is delivered twice, and a forged
//! datagram takes no forgotten sender over.
#![allow(clippy::unwrap_used)]

use crate::common::*;
use eventcast_proto::wire::Flags;
use eventcast_proto::{Endpoint, EndpointEvent};

/// Message `seq` of `sender`, one datagram, sent live.
fn message(sender: u64, seq: u64) -> Vec<u8> {
    segments(sender, seq, &body_of_len(60), 1024).remove(0)
}

/// Message `seq` of `sender`, one datagram, sent as a repair.
fn repair(sender: u64, seq: u64) -> Vec<u8> {
    whole_event(sender, seq, 60, Flags::RETRANSMISSION)
}

fn rx(max_senders: usize, ordered: bool) -> Endpoint {
    let mut c = config(1024);
    c.max_senders = max_senders;
    c.ordered = ordered;
    let mut rx = endpoint(c, 0xFEED);
    rx.handle_join(at(0));
    rx
}

/// Strangers (believed and heard: two events each) push out every sender
/// of `rx` silent for three heartbeat intervals by `t`.
fn push_out(rx: &mut Endpoint, t: u64) {
    for s in 100..110 {
        for seq in 0..2 {
            rx.handle_datagram(at(t + s), addr(2), &message(s, seq));
        }
    }
}

/// One-datagram strangers push out a sender heard once.
fn push_out_heard_once(rx: &mut Endpoint, t: u64) {
    for s in 200..204 {
        rx.handle_datagram(at(t + s - 200), addr(8), &message(s, 0));
    }
}

/// The messages of `sender` reported lost.
fn lost_of(events: &[EndpointEvent], sender: u64) -> u64 {
    events
        .iter()
        .filter_map(|e| match e {
            EndpointEvent::Loss(l) if l.sender.get() == sender => Some(l.count),
            _ => None,
        })
        .sum()
}

/// Sender 1 heard once, live, at `seq` (at 100 ms), then pushed out by
/// one-datagram strangers, so that its resume point is remembered (weak):
/// the events so far.
fn forgotten_after_one(rx: &mut Endpoint, seq: u64) -> Vec<EndpointEvent> {
    rx.handle_datagram(at(100), addr(1), &message(1, seq));
    push_out_heard_once(rx, 200);
    let got = events(rx);
    assert!(rx.stats().senders_remembered >= 1, "{:?}", rx.stats());
    got
}

#[test]
fn a_sender_whose_stream_ran_far_ahead_while_forgotten_gets_through() {
    let mut rx = rx(4, true);
    let mut all = Vec::new();
    for seq in 0..5 {
        rx.handle_datagram(at(1 + seq), addr(1), &message(1, seq));
    }
    push_out(&mut rx, 5000);
    all.extend(events(&mut rx));
    assert!(rx.stats().senders_remembered >= 1, "{:?}", rx.stats());
    // It comes back far ahead: one event every 10 ms, a heartbeat every
    // 500 ms, for 10 s.
    let far = 1_000_000;
    for k in 0..1000 {
        let t = 8000 + 10 * k;
        rx.handle_datagram(at(t), addr(1), &message(1, far + k));
        if k % 50 == 0 {
            rx.handle_datagram(at(t), addr(1), &heartbeat_frame(1, far + k + 1, 0, 100_000));
        }
        rx.handle_timeout(at(t + 1));
        let _ = transmits(&mut rx);
        all.extend(events(&mut rx));
    }
    rx.handle_timeout(at(60_000));
    all.extend(events(&mut rx));
    let got = messages_of(&all, 1);
    let new = got.iter().filter(|s| **s >= far).count();
    assert!(new >= 900, "{new} of 1000 delivered; {:?}", rx.stats());
    assert_delivered_once(&all, 1);
    assert_accounting(&rx.stats());
}

#[test]
fn a_repair_far_below_a_weak_point_delivers_nothing_twice() {
    let mut rx = rx(4, false);
    let mut all = Vec::new();
    all.extend(forgotten_after_one(&mut rx, 100_000));
    // A repair for another receiver, then its live stream, then a repair
    // of what this node delivered.
    rx.handle_datagram(at(300), addr(1), &repair(1, 3));
    rx.handle_datagram(at(301), addr(1), &message(1, 100_001));
    rx.handle_datagram(at(302), addr(1), &message(1, 100_002));
    rx.handle_datagram(at(400), addr(1), &repair(1, 100_000));
    rx.handle_datagram(at(401), addr(1), &repair(1, 3));
    rx.handle_timeout(at(20_000));
    all.extend(events(&mut rx));
    assert_delivered_once(&all, 1);
    let got = messages_of(&all, 1);
    for seq in [100_000, 100_001, 100_002] {
        assert!(got.contains(&seq), "{seq} not delivered: {got:?}");
    }
    assert_accounting(&rx.stats());
}

#[test]
fn a_message_held_then_delivered_on_eviction_is_not_owed_again() {
    let mut rx = rx(4, true);
    let mut all = Vec::new();
    // Heard first mid-stream: held for order until a heartbeat tells.
    all.extend(forgotten_after_one(&mut rx, 100_000));
    // A heartbeat: its stream began after this node joined, so this node
    // would be owed all of it.
    rx.handle_datagram(at(300), addr(1), &heartbeat_frame(1, 100_001, 0, 250));
    for t in (301..2000).step_by(5) {
        rx.handle_timeout(at(t));
        let _ = transmits(&mut rx);
    }
    // Repairs of everything around what it delivered.
    for seq in (0..10).chain(99_990..100_001) {
        rx.handle_datagram(at(2000), addr(1), &repair(1, seq));
    }
    rx.handle_datagram(at(2001), addr(1), &message(1, 100_001));
    rx.handle_timeout(at(30_000));
    all.extend(events(&mut rx));
    assert_delivered_once(&all, 1);
    assert!(messages_of(&all, 1).contains(&100_000));
    assert_accounting(&rx.stats());
}

#[test]
fn a_sender_forgotten_twice_after_a_forged_first_datagram_delivers_nothing_twice() {
    let mut rx = rx(4, false);
    let mut all = Vec::new();
    // An impersonator speaks first, under sender 1's id.
    rx.handle_datagram(at(100), addr(7), &message(1, 0));
    push_out_heard_once(&mut rx, 200);
    // The real sender, far along: afresh above the forged point.
    let far = 1u64 << 30;
    rx.handle_datagram(at(300), addr(1), &message(1, far));
    push_out_heard_once(&mut rx, 400);
    all.extend(events(&mut rx));
    rx.handle_datagram(at(500), addr(1), &message(1, far + 1));
    rx.handle_datagram(at(501), addr(1), &repair(1, far));
    rx.handle_timeout(at(20_000));
    all.extend(events(&mut rx));
    assert_delivered_once(&all, 1);
    let got = messages_of(&all, 1);
    for seq in [far, far + 1] {
        assert!(got.contains(&seq), "{seq} not delivered: {got:?}");
    }
    assert_accounting(&rx.stats());
}

#[test]
fn a_forged_datagram_a_while_later_does_not_take_a_forgotten_sender_over() {
    let mut rx = rx(4, true);
    let mut all = Vec::new();
    for seq in 0..5 {
        rx.handle_datagram(at(1 + seq), addr(1), &message(1, seq));
    }
    push_out(&mut rx, 5000);
    all.extend(events(&mut rx));
    // Seconds later, an impersonator from elsewhere, 2^22 ahead.
    rx.handle_datagram(at(9000), addr(7), &message(1, 1 << 22));
    // The sender goes on.
    for seq in 5..10 {
        rx.handle_datagram(at(9000 + seq), addr(1), &message(1, seq));
    }
    rx.handle_timeout(at(30_000));
    all.extend(events(&mut rx));
    assert_eq!(lost_of(&all, 1), 0, "no loss reported");
    let got: Vec<u64> = messages_of(&all, 1)
        .into_iter()
        .filter(|s| *s < 1 << 22)
        .collect();
    let s = rx.stats();
    assert_eq!(
        got,
        (0..10).collect::<Vec<_>>(),
        "every honest message, once; {s:?}"
    );
    assert_eq!(s.dropped.stale, 0, "{s:?}");
    assert_accounting(&s);
}

#[test]
fn two_forged_datagrams_do_not_establish_a_forgotten_sender() {
    let mut rx = rx(2, true);
    for seq in 0..5 {
        rx.handle_datagram(at(1 + seq), addr(1), &message(1, seq));
        rx.handle_datagram(at(1 + seq), addr(2), &message(2, seq));
    }
    // Sender 2 goes on; sender 1 falls silent, and a newcomer (heard
    // once) takes its place.
    let mut seq2 = 5;
    for t in (100..5000).step_by(400) {
        rx.handle_datagram(at(t), addr(2), &message(2, seq2));
        seq2 += 1;
    }
    rx.handle_datagram(at(5000), addr(3), &message(50, 0));
    assert_eq!(rx.stats().senders_remembered, 1, "{:?}", rx.stats());
    // An impersonator from elsewhere, within bounds, twice, under id 1.
    rx.handle_datagram(at(5001), addr(7), &message(1, 100));
    rx.handle_datagram(at(5002), addr(7), &message(1, 101));
    rx.handle_datagram(at(5003), addr(2), &message(2, seq2));
    // A newcomer heard once may take the forged state's place: two
    // forged datagrams do not make it established.
    let refused = rx.stats().senders_refused;
    rx.handle_datagram(at(5004), addr(3), &message(51, 0));
    let s = rx.stats();
    assert_eq!(s.senders_refused, refused, "{s:?}");
    assert_accounting(&s);
}

#[test]
fn a_sender_started_afresh_below_a_forged_point_is_not_stopped_by_it() {
    let mut rx = rx(4, true);
    // An impersonator speaks first, under sender 1's id, a little ahead.
    let forged = 70_000;
    rx.handle_datagram(at(100), addr(7), &message(1, forged));
    push_out_heard_once(&mut rx, 200);
    let _ = events(&mut rx);
    // The real sender, from the start of its stream: far below the forged
    // point, it starts afresh; its stream then runs up to the point.
    let mut all = Vec::new();
    for seq in 0..6000 {
        rx.handle_datagram(at(300 + seq), addr(1), &message(1, seq));
        if seq % 100 == 0 {
            all.extend(events(&mut rx));
        }
    }
    rx.handle_timeout(at(20_000));
    all.extend(events(&mut rx));
    let got = messages_of(&all, 1);
    assert_eq!(got, (0..6000).collect::<Vec<_>>(), "{:?}", rx.stats());
    assert_accounting(&rx.stats());
}
