//! A captured sealed datagram replayed delivers nothing the second time,
//! whether the message it belongs to was complete or not, and even after
//! the reassembler forgot the message; packet numbers too old for the
//! window are refused.
#![allow(clippy::unwrap_used)]

use crate::common::*;
use crate::sealing::*;
use eventcast_proto::crypto::REPLAY_WINDOW;

#[test]
fn a_replayed_datagram_delivers_nothing() {
    let mut tx = sealed(config(1024), 0xAB, &[key(1)]);
    tx.emit(t0(), "once", &[]).unwrap();
    let d = transmits(&mut tx).remove(0);
    let mut rx = sealed_one_way(config(1024), 1, &[key(1)]);
    rx.handle_datagram(t0(), addr(1), &d);
    assert_eq!(messages(&mut rx).len(), 1);
    // Long after: the reassembler's window would not stop it (a new sender
    // state after eviction), the replay window does.
    for i in 0..5 {
        rx.handle_datagram(at(10_000 * i), addr(2), &d);
    }
    assert!(messages(&mut rx).is_empty());
    let s = rx.stats();
    assert_eq!(s.dropped.replayed, 5);
    assert_eq!(s.dropped.duplicate, 0, "stopped before reassembly");
    assert_accounting(&s);
}

#[test]
fn replayed_segments_of_an_expired_message_do_not_revive_it() {
    let mut c = config(64);
    c.max_senders = 1;
    let mut tx = sealed(c.clone(), 0xAB, &[key(1)]);
    tx.emit_body(body_of_len(300)).unwrap();
    let segs = transmits(&mut tx);
    let mut rx = sealed_one_way(c, 1, &[key(1)]);
    // The receiver gets all but the last segment, which expire.
    for d in &segs[..segs.len() - 1] {
        rx.handle_datagram(t0(), addr(1), d);
    }
    rx.handle_timeout(at(60_000));
    assert_eq!(rx.stats().dropped.expired, 1);
    // Everything replayed, now with the last one: still nothing.
    for d in &segs {
        rx.handle_datagram(at(60_001), addr(1), d);
    }
    // Nothing delivered (the expiry itself is reported as a loss).
    assert!(messages_skipping_expiry_reports(&mut rx).is_empty());
    assert_eq!(rx.stats().dropped.replayed, segs.len() as u64 - 1);
}

#[test]
fn packets_older_than_the_window_are_refused() {
    let mut tx = sealed(config(16), 0xAB, &[key(1)]);
    // The replay window alone: without ordering and repair, the later
    // messages are delivered at once instead of waiting for the first.
    let mut rx = sealed_one_way(reassembly_only(1024), 1, &[key(1)]);
    tx.emit(t0(), "first", &[]).unwrap();
    let first = transmits(&mut tx);
    // Enough later datagrams to slide the window past the first message.
    let n = REPLAY_WINDOW as usize + 1;
    for _ in 0..n {
        tx.emit(t0(), "n", &[]).unwrap();
    }
    let later = transmits(&mut tx);
    for d in &later {
        rx.handle_datagram(t0(), addr(1), d);
    }
    assert_eq!(messages(&mut rx).len(), n);
    for d in &first {
        rx.handle_datagram(t0(), addr(1), d);
    }
    assert!(messages(&mut rx).is_empty());
    assert_eq!(rx.stats().dropped.too_old, first.len() as u64);
}

#[test]
fn a_restarted_sender_is_a_new_sender() {
    let mut rx = sealed_one_way(config(1024), 1, &[key(1)]);
    for id in [0xA1, 0xA2] {
        // Same key, packet numbers start at 0 again, new sender id.
        let mut tx = sealed(config(1024), id, &[key(1)]);
        tx.emit(t0(), "hello", &[]).unwrap();
        for d in transmits(&mut tx) {
            rx.handle_datagram(t0(), addr(1), &d);
        }
    }
    assert_eq!(messages(&mut rx).len(), 2);
    assert_eq!(rx.stats().replay_senders, 2);
}

#[test]
fn replay_windows_are_bounded() {
    let mut c = config(1024);
    c.max_senders = 8;
    let mut rx = sealed_one_way(c, 1, &[key(1)]);
    for id in 100..150 {
        let mut tx = sealed(config(1024), id, &[key(1)]);
        tx.emit(t0(), "hi", &[]).unwrap();
        for d in transmits(&mut tx) {
            rx.handle_datagram(t0(), addr(1), &d);
        }
        assert!(rx.stats().replay_senders <= 8);
    }
    assert_eq!(rx.stats().replay_senders_evicted, 42);
    assert_eq!(messages(&mut rx).len(), 50);
}
