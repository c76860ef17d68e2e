//! The memory budgets (per sender and in all) and the count of partial
//! messages per sender: a segment that would break one is dropped as
//! `over_budget`, the gauges never pass them, other senders keep their
//! share, and expiry gives the memory back.
#![allow(clippy::unwrap_used)]

use crate::common::*;
use eventcast_proto::{Endpoint, EndpointEvent, LossReason};

const TTL: u64 = 3000;
const A: u64 = 0xA;
const B: u64 = 0xB;
/// Bytes charged per 100-byte segment (payload plus bookkeeping).
const CHARGE: u64 = 164;

/// Messages of 1000 bytes cut into ten 100-byte segments; a receiver with
/// 2000 bytes per sender and 3000 in all (`validate` needs 1640).
fn rx() -> Endpoint {
    let mut c = reassembly_only(100);
    c.max_message_size = 1000;
    c.max_partial_bytes_per_sender = 2000;
    c.max_partial_bytes = 3000;
    endpoint(c, 0xFEED)
}

fn message(sender: u64, seq: u64) -> Vec<Vec<u8>> {
    segments(sender, seq, &body_of_len(1000), 100)
}

#[test]
fn per_sender_and_total_budgets() {
    let mut rx = rx();
    let (a0, a1) = (message(A, 0), message(A, 1));
    // A: nine segments of message 0, then message 1 until its budget is full
    for d in &a0[..9] {
        rx.handle_datagram(at(0), addr(1), d);
    }
    for d in &a1[..3] {
        rx.handle_datagram(at(0), addr(1), d);
    }
    assert_eq!(rx.stats().partial_bytes, 12 * CHARGE);
    assert_eq!(rx.stats().dropped.over_budget, 0);
    // the next segment of either would pass 2000 bytes, even the one that
    // would complete message 0
    rx.handle_datagram(at(1), addr(1), &a1[3]);
    rx.handle_datagram(at(1), addr(1), &a0[9]);
    let s = rx.stats();
    assert_eq!(s.dropped.over_budget, 2);
    assert_eq!(s.partial_bytes, 12 * CHARGE);
    assert!(events(&mut rx).is_empty());

    // B still has what is left of the total: 3000 - 1968 = 1032 bytes,
    // six segments
    let b0 = message(B, 0);
    for d in &b0[..7] {
        rx.handle_datagram(at(2), addr(2), d);
    }
    let s = rx.stats();
    assert_eq!(s.dropped.over_budget, 3);
    assert_eq!(s.partial_bytes, 18 * CHARGE);
    assert!(s.partial_bytes <= 3000);
    assert_accounting(&s);

    // single-segment messages are never buffered, so never over budget
    rx.handle_datagram(at(3), addr(1), &segments(A, 2, &body_of_len(100), 100)[0]);
    assert_eq!(messages(&mut rx).len(), 1);

    // expiry gives everything back; then a whole message fits again
    rx.handle_timeout(at(2 + TTL));
    let s = rx.stats();
    assert_eq!(s.dropped.expired, 3);
    assert_eq!(s.partial_bytes, 0);
    // ... and each expired message of A, believed real since its event,
    // is reported lost (consecutive ones of one sender in one report)
    let loss = |e: EndpointEvent| match e {
        EndpointEvent::Loss(l) if l.reason == LossReason::Expired => {
            (l.sender.get(), l.first.get(), l.count)
        }
        other => panic!("expected a loss report, got {other:?}"),
    };
    let lost: Vec<(u64, u64, u64)> = events(&mut rx).into_iter().map(loss).collect();
    assert_eq!(lost, [(A, 0, 2)]);
    // B's waits for B to be believed real: its first event brings it
    assert_eq!((s.losses_waiting, s.messages_lost), (1, 2));
    for d in &message(B, 1) {
        rx.handle_datagram(at(3 + TTL), addr(2), d);
    }
    let mut after = events(&mut rx).into_iter();
    assert_eq!(after.next().map(loss), Some((B, 0, 1)));
    assert!(matches!(after.next(), Some(EndpointEvent::Message(_))));
    assert!(after.next().is_none());
    let s = rx.stats();
    assert_eq!(
        (s.losses_waiting, s.messages_lost, s.losses_untold),
        (1, 3, 0)
    );
    assert_eq!(s.partial_bytes, 0);
}

#[test]
fn partial_messages_per_sender() {
    let mut c = reassembly_only(100);
    c.max_message_size = 1000;
    c.max_partial_messages_per_sender = 3;
    let mut rx = endpoint(c, 0xFEED);
    let a: Vec<_> = (0..4).map(|seq| message(A, seq)).collect();
    for m in &a[..3] {
        rx.handle_datagram(at(0), addr(1), &m[0]);
    }
    // a fourth message may not open ...
    rx.handle_datagram(at(0), addr(1), &a[3][0]);
    assert_eq!(rx.stats().dropped.over_budget, 1);
    assert_eq!(rx.stats().partial_messages, 3);
    // ... but the open ones progress, and another sender has its own count
    rx.handle_datagram(at(0), addr(1), &a[1][1]);
    rx.handle_datagram(at(0), addr(2), &message(B, 0)[0]);
    assert_eq!(rx.stats().dropped.over_budget, 1);
    assert_eq!(rx.stats().partial_messages, 4);
    // completing one makes room
    for d in &a[1][2..] {
        rx.handle_datagram(at(1), addr(1), d);
    }
    assert_eq!(messages(&mut rx).len(), 1);
    for d in &a[3] {
        rx.handle_datagram(at(2), addr(1), d);
    }
    assert_eq!(messages(&mut rx).len(), 1);
    let s = rx.stats();
    assert_eq!(s.dropped.over_budget, 1);
    assert_eq!(s.partial_messages, 3);
    assert_accounting(&s);
}

/// A receiver with recovery whose budget for A is full: 9 segments of
/// A's message 1 and 3 of its message 2 (1,968 of 2,000 bytes), no room
/// for a 64-byte gap record.
fn full_for_a(rx: &mut Endpoint) {
    let (m1, m2) = (message(A, 1), message(A, 2));
    for d in m1[..9].iter().chain(&m2[..3]) {
        rx.handle_datagram(at(0), addr(1), d);
    }
    assert_eq!(rx.stats().partial_bytes, 12 * CHARGE);
}

fn rx_with_recovery() -> Endpoint {
    let mut c = config(100);
    c.max_message_size = 1000;
    c.max_partial_bytes_per_sender = 2000;
    c.max_partial_bytes = 3000;
    let mut rx = endpoint(c, 0xFEED);
    rx.handle_join(at(0));
    rx
}

/// A gap with no room for its record is counted: of a sender not
/// believed real, the whole run (it is neither asked for nor reported).
#[test]
fn a_gap_of_a_sender_not_believed_with_no_room_is_counted() {
    let mut rx = rx_with_recovery();
    full_for_a(&mut rx);
    // Message 6's first segment: 3 .. 6 missing, and no room to record them.
    rx.handle_datagram(at(1), addr(1), &message(A, 6)[0]);
    let s = rx.stats();
    assert_eq!(s.gaps_unrecorded, 1, "{s:?}");
    assert_eq!(s.messages_lost, 0, "{s:?}");
    assert_accounting(&s);
}

/// A's message 0, whole (A is believed, its home addr(1)), then a
/// budget full for A (see [`full_for_a`]): A vouched for 0 .. 3.
fn believed_and_full() -> Endpoint {
    let mut rx = rx_with_recovery();
    rx.handle_datagram(at(0), addr(1), &segments(A, 0, &body_of_len(100), 100)[0]);
    full_for_a(&mut rx);
    rx
}

/// Of a sender believed real, a gap past what it vouched for (opened
/// from elsewhere) is left unrecorded, and counted: nothing is reported.
#[test]
fn a_gap_past_what_a_believed_sender_vouched_for_with_no_room_is_counted() {
    let mut rx = believed_and_full();
    // From elsewhere, message 9's first segment (no room for it either):
    // 3 .. 10 missing, none of it vouched for.
    rx.handle_datagram(at(1), addr(7), &message(A, 9)[0]);
    let s = rx.stats();
    assert_eq!(s.gaps_unrecorded, 1, "{s:?}");
    assert_eq!(s.messages_lost, 0, "{s:?}");
    assert_accounting(&s);
}

/// A gap the sender vouched for in full is given up and reported lost
/// when there is no room to record it: nothing is left unrecorded.
#[test]
fn a_vouched_gap_with_no_room_is_reported_not_counted_unrecorded() {
    let mut rx = believed_and_full();
    // From its home: 3 .. 10 missing, all vouched for.
    rx.handle_datagram(at(1), addr(1), &message(A, 9)[0]);
    let s = rx.stats();
    assert_eq!(s.gaps_unrecorded, 0, "{s:?}");
    assert!(s.messages_lost > 0, "{s:?}");
    assert_accounting(&s);
}
