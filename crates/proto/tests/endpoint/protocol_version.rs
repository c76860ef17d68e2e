//! A node speaking another protocol version: its datagrams are counted as
//! `unsupported_version`, and the application hears exactly one
//! `ProtocolError` per source address (a bounded number in all), while good
//! datagrams from the same address still get through.
#![allow(clippy::unwrap_used)]

use std::net::SocketAddr;

use crate::common::*;
use eventcast_proto::{EndpointEvent, ProtocolError};

/// A well-formed datagram of version `v`.
fn of_version(v: u8) -> Vec<u8> {
    let mut d = segments(0xA, 0, &body_of_len(50), 1024).remove(0);
    d[2] = v;
    d
}

fn version_errors(events: Vec<EndpointEvent>) -> Vec<(SocketAddr, u8)> {
    events
        .into_iter()
        .map(|e| match e {
            EndpointEvent::ProtocolError(ProtocolError::UnsupportedVersion { from, version }) => {
                (from, version)
            }
            other => panic!("unexpected {other:?}"),
        })
        .collect()
}

#[test]
fn one_error_per_source_address() {
    let mut rx = endpoint(reassembly_only(1024), 0xFEED);
    let v2 = of_version(2);
    for _ in 0..3 {
        rx.handle_datagram(at(0), addr(1), &v2);
    }
    rx.handle_datagram(at(0), addr(2), &v2);
    rx.handle_datagram(at(0), addr(2), &of_version(7));
    // just the first three bytes are enough to tell
    rx.handle_datagram(at(0), addr(3), &v2[..3]);
    let s = rx.stats();
    assert_eq!(s.dropped.unsupported_version, 6);
    assert_eq!(s.dropped.total(), 6);
    assert_eq!(s.senders, 0);
    assert_accounting(&s);
    assert_eq!(
        version_errors(events(&mut rx)),
        [(addr(1), 2), (addr(2), 2), (addr(3), 2)]
    );
    // a version 1 datagram from the same address is fine
    rx.handle_datagram(at(0), addr(1), &of_version(1));
    assert_eq!(messages(&mut rx).len(), 1);
    rx.handle_datagram(at(0), addr(1), &v2);
    assert!(events(&mut rx).is_empty());
    assert_eq!(rx.stats().dropped.unsupported_version, 7);
}

#[test]
fn error_reports_are_bounded() {
    let mut rx = endpoint(reassembly_only(1024), 0xFEED);
    let v2 = of_version(2);
    for port in 0..10_000 {
        rx.handle_datagram(at(0), addr(port), &v2);
    }
    let errors = version_errors(events(&mut rx));
    assert_eq!(rx.stats().dropped.unsupported_version, 10_000);
    // the endpoint remembers a bounded number of addresses (256)
    assert!((1..=256).contains(&errors.len()), "{}", errors.len());
    let first: Vec<_> = (0..errors.len() as u16).map(|p| (addr(p), 2)).collect();
    assert_eq!(errors, first);
}

/// The first datagram of `plain.json` in the captures of eventcast 0.1.2
/// (event "noargs"): the original's length-prefixed BSON metadata, `v: 3`.
const ORIGINAL_0_1_2: &str = "00e0e000000010760003000000107365710000000000107365714c656e00010000000273657149640029000000663562333164646361333864356164393565643537643932656134663438393465383230336365630008736571456e64000108656e630000026e616d6500070000006e6f617267730002686f7374000a0000003132372e302e302e310010706f7274001ca2000002686f73746e616d650003000000766d00026964001100000030313233343536373839616263646566000274696d650019000000323032362d31312d32315430353a31393a33352e3132355a000013000000047061796c6f616400050000000000";

#[test]
fn the_original_node_protocol_is_reported_as_version_3() {
    let bytes: Vec<u8> = (0..ORIGINAL_0_1_2.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&ORIGINAL_0_1_2[i..i + 2], 16).unwrap())
        .collect();
    let mut rx = endpoint(reassembly_only(1024), 0xFEED);
    rx.handle_datagram(at(0), addr(1), &bytes);
    rx.handle_datagram(at(0), addr(1), &bytes);
    let events: Vec<_> = std::iter::from_fn(|| rx.poll_event()).collect();
    assert_eq!(version_errors(events), vec![(addr(1), 3)]);
    let dropped = rx.stats().dropped;
    assert_eq!(dropped.unsupported_version, 2);
    assert_eq!(dropped.not_eventcast, 0);
}
