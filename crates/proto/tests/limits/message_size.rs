//! `max_message_size` on the receiving side: a datagram declaring a longer
//! message is dropped as `message_too_large` before anything is buffered or
//! any sender state is created, however small its payload.
#![allow(clippy::unwrap_used)]

use crate::common::*;
use eventcast_proto::Config;

fn rx(max_message_size: usize) -> eventcast_proto::Endpoint {
    let mut c = reassembly_only(1024);
    c.max_message_size = max_message_size;
    endpoint(c, 0xFEED)
}

#[test]
fn every_segment_of_a_too_long_message_is_dropped() {
    let mut rx = rx(1000);
    let body = body_of_len(1500);
    for (i, d) in segments(0xA, 0, &body, 100).iter().enumerate() {
        rx.handle_datagram(at(i as u64), addr(1), d);
    }
    // also in one segment
    rx.handle_datagram(at(20), addr(1), &segments(0xA, 1, &body, 1500)[0]);
    let s = rx.stats();
    assert_eq!(s.dropped.message_too_large, 16);
    assert_eq!(s.dropped.total(), 16);
    assert_eq!(s.segments_received, 0);
    assert_eq!(s.partial_messages, 0);
    assert_eq!(s.partial_bytes, 0);
    assert_eq!(s.senders, 0);
    assert_eq!(rx.poll_timeout(), None);
    assert!(events(&mut rx).is_empty());
    assert_accounting(&s);
}

#[test]
fn a_message_of_exactly_the_limit_is_accepted() {
    let mut rx = rx(1000);
    for d in segments(0xA, 0, &body_of_len(1000), 100) {
        rx.handle_datagram(at(0), addr(1), &d);
    }
    assert_eq!(messages(&mut rx).len(), 1);
    assert_eq!(rx.stats().dropped.message_too_large, 0);
}

#[test]
fn a_forged_four_gib_claim_costs_nothing() {
    let mut rx = endpoint(Config::default(), 0xFEED);
    // 2^31 segments of 2 bytes make u32::MAX bytes: the geometry is
    // consistent, the claim is just too large
    let d = datagram(0xA, 0, 0, 1 << 31, u32::MAX, &[1, 2]);
    rx.handle_datagram(at(0), addr(1), &d);
    // one byte over the default 64 MiB, in two segments
    let len = 64 * 1024 * 1024 + 1;
    let d = datagram(0xA, 1, 1, 2, len, &vec![0; len as usize / 2]);
    rx.handle_datagram(at(0), addr(1), &d);
    let s = rx.stats();
    assert_eq!(s.dropped.message_too_large, 2);
    assert_eq!(s.partial_bytes, 0);
    assert_eq!(s.senders, 0);
}
