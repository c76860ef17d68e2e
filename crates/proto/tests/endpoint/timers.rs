//! Named timers: the endpoint tells why it will wake, and `poll_timeout`
//! is the instant of the timer it names.
#![allow(clippy::unwrap_used)]

use eventcast_proto::Timer;

use crate::common::*;

#[test]
fn nothing_to_wait_for_is_no_timer() {
    let rx = endpoint(config(64), 2);
    assert_eq!(rx.next_timer(), None);
    assert_eq!(rx.poll_timeout(), None);
}

#[test]
fn a_partial_message_wakes_for_its_expiry() {
    let mut rx = endpoint(reassembly_only(64), 2);
    let segs = segments(1, 0, &body_of_len(200), 64);
    rx.handle_datagram(at(0), addr(1), &segs[0]);
    let ttl = rx.config().message_ttl;
    assert_eq!(rx.next_timer(), Some((at(0) + ttl, Timer::Expiry)));
    assert_eq!(rx.poll_timeout(), Some(at(0) + ttl));
}

#[test]
fn a_message_waiting_for_segments_wakes_loss_recovery() {
    let mut rx = endpoint(config(64), 2);
    let segs = segments(1, 0, &body_of_len(200), 64);
    rx.handle_datagram(at(0), addr(1), &segs[0]);
    // Recovery watches for a stall before the message's ttl runs out.
    let repair_timeout = rx.config().repair_timeout;
    assert!(repair_timeout < rx.config().message_ttl);
    assert_eq!(
        rx.next_timer(),
        Some((at(0) + repair_timeout, Timer::Recovery))
    );
}

#[test]
fn a_sender_wakes_for_the_pacer_then_for_its_heartbeat() {
    let mut tx = endpoint(config(1024), 1);
    tx.emit(t0(), "big", &[binary(vec![7; 200_000])]).unwrap();
    let mut buf = Vec::new();
    while tx.poll_transmit(t0(), &mut buf).is_some() {}
    // More than a burst queued: the pacer holds the rest back.
    let (_, why) = tx.next_timer().unwrap();
    assert_eq!(why, Timer::Pacing);
    tx.set_paced(false);
    while tx.poll_transmit(t0(), &mut buf).is_some() {}
    assert!(buf.is_empty());
    let heartbeat_min = tx.config().heartbeat_min;
    assert_eq!(
        tx.next_timer(),
        Some((t0() + heartbeat_min, Timer::Heartbeat))
    );
}
