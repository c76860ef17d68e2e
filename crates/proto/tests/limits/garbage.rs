//! Garbage never panics the endpoint: random bytes, datagrams that start
//! like ours and then go wrong, truncated and mutated real datagrams. Each
//! one is counted (every datagram lands in exactly one counter), and a good
//! message that follows is still delivered, exactly once.
#![allow(clippy::unwrap_used)]

use crate::common::*;
use eventcast_proto::wire::{Flags, DATA_HEADER_LEN, MAGIC, VERSION};
use proptest::prelude::*;
use proptest::sample::Index;

/// The sender of the real datagrams garbage is made from.
const TEMPLATE: u64 = 0x1111_1111_1111_1111;
/// The honest sender: differs from `TEMPLATE` in every byte, so no
/// mutation of a template datagram can pass for it.
const GOOD: u64 = 0x2222_2222_2222_2222;

fn template() -> Vec<Vec<u8>> {
    segments(TEMPLATE, 5, &body_of_len(100), 32)
}

fn garbage() -> impl Strategy<Value = Vec<u8>> {
    let n = template().len();
    let real = (0..n).prop_map(|i| template()[i].clone());
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..200),
        prop::collection::vec(any::<u8>(), 0..120).prop_map(|rest| {
            let mut d = MAGIC.to_vec();
            d.push(VERSION);
            d.extend(rest);
            d
        }),
        (real.clone(), any::<Index>()).prop_map(|(d, cut)| d[..cut.index(d.len())].to_vec()),
        (
            real,
            prop::collection::vec((any::<Index>(), any::<u8>()), 1..=4)
        )
            .prop_map(|(mut d, edits)| {
                for (at, b) in edits {
                    let i = at.index(d.len());
                    d[i] = b;
                }
                d
            }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn garbage_is_counted_and_harmless(junk in prop::collection::vec(garbage(), 1..60)) {
        let mut rx = endpoint(reassembly_only(1024), 0xFEED);
        for (i, d) in junk.iter().enumerate() {
            rx.handle_datagram(at(i as u64), addr(1), d);
            let s = rx.stats();
            prop_assert_eq!(s.datagrams_received, i as u64 + 1);
            assert_accounting(&s);
        }
        events(&mut rx);
        for d in segments(GOOD, 0, &body_of_len(300), 64).iter().rev() {
            rx.handle_datagram(at(100), addr(2), d);
        }
        let good: Vec<_> = messages(&mut rx)
            .into_iter()
            .filter(|m| m.sender.get() == GOOD)
            .collect();
        prop_assert_eq!(good.len(), 1);
        assert_accounting(&rx.stats());
    }
}

#[test]
fn every_truncated_header_is_malformed() {
    let mut rx = endpoint(reassembly_only(1024), 0xFEED);
    let d = &template()[0];
    // up to and including a header with no payload at all
    for cut in 0..=DATA_HEADER_LEN {
        rx.handle_datagram(at(0), addr(1), &d[..cut]);
    }
    let s = rx.stats();
    assert_eq!(s.dropped.malformed, DATA_HEADER_LEN as u64 + 1);
    assert_eq!(s.dropped.total(), DATA_HEADER_LEN as u64 + 1);
    assert_eq!(s.senders, 0);
}

#[test]
fn header_faults_are_counted_by_reason() {
    let mut rx = endpoint(reassembly_only(1024), 0xFEED);
    let good = &template()[0];
    let with = |i: usize, b: u8| {
        let mut d = good.clone();
        d[i] = b;
        d
    };
    rx.handle_datagram(at(0), addr(1), &with(0, 0x00)); // magic
    rx.handle_datagram(at(0), addr(1), b"GET / HTTP/1.1\r\n\r\n");
    rx.handle_datagram(at(0), addr(1), &with(3, 0x02)); // frame type
    rx.handle_datagram(at(0), addr(1), &with(4, 0x80)); // flags
    rx.handle_datagram(at(0), addr(1), &with(DATA_HEADER_LEN - 5, 0x7F)); // count
    let s = rx.stats();
    assert_eq!(s.dropped.not_eventcast, 2);
    assert_eq!(s.dropped.malformed, 3);
    assert_eq!(s.dropped.total(), 5);
    // the retransmission flag is a segment like any other
    rx.handle_datagram(at(0), addr(1), &with(4, Flags::RETRANSMISSION.bits()));
    assert_eq!(rx.stats().segments_received, 1);
}

#[test]
fn a_segment_that_contradicts_its_message_is_malformed() {
    let mut rx = endpoint(reassembly_only(1024), 0xFEED);
    let body = body_of_len(100);
    let real = segments(0xA, 0, &body, 32);
    rx.handle_datagram(at(0), addr(1), &real[0]);
    // same message, other segment size, other length, other count
    let liars = [
        segments(0xA, 0, &body, 40).remove(1),
        segments(0xA, 0, &body_of_len(99), 32).remove(1),
        segments(0xA, 0, &body_of_len(140), 32).remove(1),
        // one segment claiming to be the whole message
        segments(0xA, 0, &body, 100).remove(0),
    ];
    for d in &liars {
        rx.handle_datagram(at(0), addr(1), d);
    }
    let s = rx.stats();
    assert_eq!(s.dropped.malformed, liars.len() as u64);
    assert_eq!(s.messages_received, 0);
    assert_eq!(s.partial_messages, 1);
    for d in &real[1..] {
        rx.handle_datagram(at(0), addr(1), d);
    }
    assert_eq!(messages(&mut rx).len(), 1);
    assert_eq!(rx.stats().partial_messages, 0);
    assert_eq!(rx.poll_timeout(), None);
}
