//! Named timers: the endpoint tells why it will wake, and `poll_timeout`
//! is the instant of the timer it names.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

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

/// A segment that was only late fills its hole, and the NACK round the
/// hole set goes with it: a hole noticed just before that round (the
/// segments after it sent a moment ago and still on their way) waits a
/// back-off of its own, and is never asked for once they arrive.
#[test]
fn a_filled_hole_takes_its_nack_round_with_it() {
    let mut rx = endpoint(config(64), 2);
    // A small message first: its sender is then believed, and asked.
    rx.handle_datagram(at(0), addr(1), &segments(1, 0, &body_of_len(64), 64)[0]);
    assert_eq!(messages(&mut rx).len(), 1);
    let segs = segments(1, 1, &body_of_len(64 * 40), 64);
    rx.handle_datagram(at(0), addr(1), &segs[0]);
    rx.handle_datagram(at(0), addr(1), &segs[2]);
    let (round, why) = rx.next_timer().unwrap();
    assert_eq!(why, Timer::Recovery);
    assert!(round < at(0) + rx.config().nack_backoff_max + Duration::from_millis(1));
    rx.handle_datagram(at(0), addr(1), &segs[1]);
    // Segments 3 to 9 overtaken by 10, a tenth of a millisecond before
    // the round.
    let noticed = round - Duration::from_micros(100);
    rx.handle_datagram(noticed, addr(1), &segs[10]);
    rx.handle_timeout(round);
    assert_eq!(transmits(&mut rx), Vec::<Vec<u8>>::new(), "asked at once");
    let arrived = round + Duration::from_micros(100);
    for seg in segs.iter().take(10).skip(3).chain(&segs[11..]) {
        rx.handle_datagram(arrived, addr(1), seg);
    }
    assert_eq!(messages(&mut rx).len(), 1);
    rx.handle_timeout(arrived + Duration::from_secs(1));
    assert_eq!(transmits(&mut rx), Vec::<Vec<u8>>::new());
    assert_eq!(rx.stats().nacks_sent, 0);
}
