//! Expiry with simulated time: a partial message that receives no new
//! segment for `message_ttl` is dropped and counted; only a new segment
//! pushes the deadline back; late segments never deliver; `poll_timeout`
//! always names the earliest deadline; every expired message is reported
//! to the application as lost, once its sender is believed real.
//!
//! Loss recovery is off here (`max_retransmit_attempts = 0`: no NACK, so
//! no NACK timer) so that `message_ttl` alone decides; recovery has its
//! own simulations (`sim_*.rs`).
#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use crate::common::*;
use eventcast_proto::{Endpoint, EndpointEvent, LossReason};

const TTL: u64 = 3000; // ms, the default
const NS: Duration = Duration::from_nanos(1);
const A: u64 = 0xA;
const B: u64 = 0xB;

/// The default settings without NACKs.
fn no_nacks() -> eventcast_proto::Config {
    let mut c = config(1024);
    c.max_retransmit_attempts = 0;
    c
}

/// A receiver with the default settings, without NACKs.
fn rx() -> Endpoint {
    endpoint(no_nacks(), 0xFEED)
}

/// Message `seq` of `sender` expired, and nothing else happened: the
/// sender, never believed real, has the report waiting; its next event (a
/// whole message just after it) makes it believed, and the report comes
/// just before that event.
fn expect_expired(rx: &mut Endpoint, sender: u64, seq: u64) {
    assert!(
        events(rx).is_empty(),
        "the report waits for the sender to be believed"
    );
    assert_eq!(rx.stats().losses_waiting, 1);
    let whole = segments(sender, seq + 1, &body_of_len(40), 64);
    rx.handle_datagram(at(10 * TTL), addr(1), &whole[0]);
    let queued = events(rx);
    assert_eq!(queued.len(), 2, "{queued:?}");
    match &queued[0] {
        EndpointEvent::Loss(l) => {
            assert_eq!(l.reason, LossReason::Expired);
            assert_eq!((l.sender.get(), l.first.get(), l.count), (sender, seq, 1));
        }
        other => panic!("expected a loss report, got {other:?}"),
    }
    assert!(matches!(queued[1], EndpointEvent::Message(_)), "{queued:?}");
    let s = rx.stats();
    assert_eq!((s.messages_lost, s.losses_untold), (1, 0));
}

/// The three 16-byte-segment datagrams of message `seq` from `sender`.
fn three(sender: u64, seq: u64) -> Vec<Vec<u8>> {
    let segs = segments(sender, seq, &body_of_len(40), 16);
    assert_eq!(segs.len(), 3);
    segs
}

fn feed(rx: &mut Endpoint, now: Instant, d: &[u8]) {
    rx.handle_datagram(now, addr(1), d);
}

#[test]
fn partial_without_progress_expires_after_ttl() {
    let mut rx = rx();
    let m = three(A, 0);
    feed(&mut rx, at(0), &m[0]);
    assert_eq!(rx.poll_timeout(), Some(at(TTL)));
    assert_eq!(rx.stats().partial_messages, 1);

    rx.handle_timeout(at(TTL) - NS);
    assert_eq!(rx.stats().dropped.expired, 0);
    assert_eq!(rx.stats().partial_messages, 1);
    assert_eq!(rx.poll_timeout(), Some(at(TTL)));

    rx.handle_timeout(at(TTL));
    let s = rx.stats();
    assert_eq!(s.dropped.expired, 1);
    assert_eq!(s.partial_messages, 0);
    assert_eq!(s.partial_bytes, 0);
    assert_eq!(rx.poll_timeout(), None);
    expect_expired(&mut rx, A, 0);
}

#[test]
fn new_segment_pushes_the_deadline_back() {
    let mut rx = rx();
    let m = three(A, 0);
    feed(&mut rx, at(0), &m[0]);
    feed(&mut rx, at(2000), &m[2]);
    assert_eq!(rx.poll_timeout(), Some(at(2000 + TTL)));
    rx.handle_timeout(at(TTL));
    assert_eq!(rx.stats().dropped.expired, 0);
    rx.handle_timeout(at(2000 + TTL) - NS);
    assert_eq!(rx.stats().dropped.expired, 0);
    // the last segment just before the deadline completes the message
    feed(&mut rx, at(2000 + TTL) - NS, &m[1]);
    assert_eq!(messages(&mut rx).len(), 1);
    assert_eq!(rx.poll_timeout(), None);
    rx.handle_timeout(at(10 * TTL));
    assert_eq!(rx.stats().dropped.expired, 0);
}

#[test]
fn duplicates_do_not_push_the_deadline_back() {
    let mut rx = rx();
    let m = three(A, 0);
    feed(&mut rx, at(0), &m[0]);
    feed(&mut rx, at(1000), &m[0]);
    feed(&mut rx, at(2999), &m[0]);
    assert_eq!(rx.stats().dropped.duplicate, 2);
    assert_eq!(rx.poll_timeout(), Some(at(TTL)));
    rx.handle_timeout(at(TTL));
    assert_eq!(rx.stats().dropped.expired, 1);
}

#[test]
fn late_segments_after_expiry_are_duplicates_and_never_deliver() {
    let mut rx = rx();
    let m = three(A, 0);
    feed(&mut rx, at(0), &m[0]);
    feed(&mut rx, at(0), &m[1]);
    rx.handle_timeout(at(TTL));
    assert_eq!(rx.stats().dropped.expired, 1);
    for (i, d) in m.iter().enumerate() {
        feed(&mut rx, at(TTL + 1 + i as u64), d);
    }
    let s = rx.stats();
    assert_eq!(s.dropped.duplicate, 3);
    assert_eq!(s.messages_received, 0);
    assert_eq!(s.partial_messages, 0);
    assert_eq!(rx.poll_timeout(), None);
    expect_expired(&mut rx, A, 0);
    assert_accounting(&s);
}

#[test]
fn a_segment_after_the_deadline_cannot_revive_the_message() {
    // The driver served the socket before the timer: the deadline has
    // passed but handle_timeout was not called yet.
    let mut rx = rx();
    let m = three(A, 0);
    feed(&mut rx, at(0), &m[0]);
    feed(&mut rx, at(0), &m[1]);
    feed(&mut rx, at(TTL), &m[2]);
    let s = rx.stats();
    assert_eq!(s.dropped.expired, 1);
    assert_eq!(s.dropped.duplicate, 1);
    assert_eq!(s.messages_received, 0);
    expect_expired(&mut rx, A, 0);
    assert_eq!(rx.poll_timeout(), None);
}

#[test]
fn overdue_partials_release_their_budget_before_a_new_datagram_is_judged() {
    let mut c = no_nacks();
    c.max_partial_messages_per_sender = 1;
    let mut rx = endpoint(c, 0xFEED);
    feed(&mut rx, at(0), &three(A, 0)[0]);
    // a second message would be over the count limit, unless the first has
    // expired by now
    feed(&mut rx, at(TTL - 1), &three(A, 1)[0]);
    assert_eq!(rx.stats().dropped.over_budget, 1);
    feed(&mut rx, at(TTL), &three(A, 2)[0]);
    let s = rx.stats();
    assert_eq!(s.dropped.expired, 1);
    assert_eq!(s.dropped.over_budget, 1);
    assert_eq!(s.partial_messages, 1);
    // A1, whose only segment was refused, is still missing: it is given
    // up message_ttl after it was first heard of, before A2's deadline.
    assert_eq!(rx.poll_timeout(), Some(at(2 * TTL - 1)));
}

#[test]
fn poll_timeout_is_the_earliest_deadline() {
    // Unordered: A1 is delivered when complete, without waiting for A0.
    let mut c = no_nacks();
    c.ordered = false;
    let mut rx = endpoint(c, 0xFEED);
    assert_eq!(rx.poll_timeout(), None);
    let (a0, a1, b0) = (three(A, 0), three(A, 1), three(B, 0));
    feed(&mut rx, at(0), &a0[0]);
    feed(&mut rx, at(100), &a1[0]);
    feed(&mut rx, at(200), &b0[0]);
    assert_eq!(rx.poll_timeout(), Some(at(TTL)));
    // progress on the earliest moves it behind the others
    feed(&mut rx, at(300), &a0[1]);
    assert_eq!(rx.poll_timeout(), Some(at(100 + TTL)));
    // completing a message removes its deadline
    feed(&mut rx, at(400), &a1[1]);
    feed(&mut rx, at(400), &a1[2]);
    assert_eq!(messages(&mut rx).len(), 1);
    assert_eq!(rx.poll_timeout(), Some(at(200 + TTL)));
    // a single-segment message never sets a timer
    feed(&mut rx, at(500), &segments(B, 1, &body_of_len(40), 64)[0]);
    assert_eq!(messages(&mut rx).len(), 1);
    assert_eq!(rx.poll_timeout(), Some(at(200 + TTL)));

    rx.handle_timeout(at(200 + TTL));
    assert_eq!(rx.stats().dropped.expired, 1);
    assert_eq!(rx.poll_timeout(), Some(at(300 + TTL)));
    rx.handle_timeout(at(300 + TTL));
    assert_eq!(rx.stats().dropped.expired, 2);
    assert_eq!(rx.poll_timeout(), None);
    assert_eq!(rx.stats().partial_bytes, 0);
}

#[test]
fn a_late_timeout_expires_everything_due_at_once() {
    let mut rx = rx();
    for seq in 0..5 {
        feed(&mut rx, at(seq * 10), &three(A, seq)[0]);
    }
    feed(&mut rx, at(5000), &three(B, 0)[0]);
    rx.handle_timeout(at(10 * TTL - 1));
    let s = rx.stats();
    assert_eq!(s.dropped.expired, 6);
    assert_eq!(s.partial_messages, 0);
    assert_eq!(s.partial_bytes, 0);
    assert_eq!(rx.poll_timeout(), None);
}

#[test]
fn message_ttl_is_configurable() {
    let mut c = no_nacks();
    c.message_ttl = Duration::from_millis(50);
    let mut rx = endpoint(c, 0xFEED);
    feed(&mut rx, at(0), &three(A, 0)[0]);
    assert_eq!(rx.poll_timeout(), Some(at(50)));
    rx.handle_timeout(at(50));
    assert_eq!(rx.stats().dropped.expired, 1);
}
