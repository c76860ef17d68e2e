//! Changing any single byte of a sealed datagram, at every position and
//! with several values, makes the receiver reject it: nothing is delivered,
//! and the datagram is counted as dropped (bad tag, unknown key, malformed,
//! another version or not eventcast's, whichever byte was hit). Cutting it
//! short, or extending it, does the same.
#![allow(clippy::unwrap_used)]

use crate::common::*;
use crate::sealing::*;
use eventcast_proto::crypto::Unreadable;
use eventcast_proto::{Endpoint, EndpointEvent, SenderId};

/// A captured sealed datagram of a segmented message (the first of its
/// segments) and one of a single-segment message.
fn captured() -> Vec<Vec<u8>> {
    let mut tx = sealed(config(64), 0xAB, &[key(1)]);
    tx.emit_body(body_of_len(100)).unwrap();
    tx.emit(t0(), "short", &["x".into()]).unwrap();
    let all = transmits(&mut tx);
    vec![all[0].clone(), all[all.len() - 1].clone()]
}

fn receiver() -> Endpoint {
    sealed(config(1024), 1, &[key(1)])
}

fn assert_rejected(rx: &mut Endpoint, what: &str) {
    let s = rx.stats();
    assert_accounting(&s);
    assert_eq!(s.datagrams_opened, 0, "{what} was opened: {s:#?}");
    assert_eq!(s.segments_received, 0, "{what} reached reassembly");
    assert_eq!(s.dropped.total(), 1, "{what}: {s:#?}");
    assert!(messages_or_notices_only(rx), "{what} delivered something");
}

fn messages_or_notices_only(rx: &mut Endpoint) -> bool {
    events(rx)
        .iter()
        .all(|e| !matches!(e, EndpointEvent::Message(_)))
}

#[test]
fn every_single_byte_change_is_rejected() {
    for original in captured() {
        // The untouched datagram is accepted (so the test can fail).
        let mut rx = receiver();
        rx.handle_datagram(t0(), addr(1), &original);
        assert_eq!(rx.stats().datagrams_opened, 1);
        for pos in 0..original.len() {
            for flip in [0x01u8, 0x80, 0xFF] {
                let mut d = original.clone();
                d[pos] ^= flip;
                let mut rx = receiver();
                rx.handle_datagram(t0(), addr(1), &d);
                assert_rejected(&mut rx, &format!("byte {pos} ^ {flip:#04x}"));
            }
        }
    }
}

#[test]
fn truncated_or_extended_datagrams_are_rejected() {
    for original in captured() {
        for cut in 0..original.len() {
            let mut rx = receiver();
            rx.handle_datagram(t0(), addr(1), &original[..cut]);
            assert_rejected(&mut rx, &format!("cut at {cut}"));
        }
        for extra in [&[0u8][..], &[0xFF; 16]] {
            let mut d = original.clone();
            d.extend_from_slice(extra);
            let mut rx = receiver();
            rx.handle_datagram(t0(), addr(1), &d);
            assert_rejected(&mut rx, &format!("extended by {}", extra.len()));
        }
    }
}

#[test]
fn tag_failures_are_counted_as_bad_tag() {
    let d = captured().remove(1);
    let mut rx = receiver();
    let mut tampered = d.clone();
    let last = tampered.len() - 1;
    tampered[last] ^= 1; // in the tag
    rx.handle_datagram(t0(), addr(1), &tampered);
    let mut tampered = d;
    tampered[20] ^= 1; // the packet number, in the clear header
    rx.handle_datagram(t0(), addr(1), &tampered);
    assert_eq!(rx.stats().dropped.bad_tag, 2);
}

/// One receiver opens every datagram into the same buffer: a datagram
/// tampered with between good ones, or a short one after a long one,
/// neither gets through nor spoils what follows.
#[test]
fn one_receiver_opens_each_datagram_alone() {
    let mut tx = sealed(config(1024), 0xAB, &[key(1)]);
    let sent: Vec<(&str, Vec<u8>)> = vec![
        ("long", vec![0x11; 3000]),
        ("s", vec![0x22; 1]),
        ("mid", vec![0x33; 500]),
        ("long", vec![0x44; 2100]),
        ("e", Vec::new()),
    ];
    for (name, bytes) in &sent {
        tx.emit(t0(), name, &[binary(bytes.clone())]).unwrap();
    }
    let mut rx = sealed_one_way(config(1024), 1, &[key(1)]);
    let datagrams = transmits(&mut tx);
    for (i, d) in datagrams.iter().enumerate() {
        // The same datagram with its last tag byte, then its last
        // ciphertext byte, changed: both refused before the good one.
        for back in [1, 17] {
            let mut bad = d.clone();
            let pos = bad.len() - back;
            bad[pos] ^= 0x40;
            rx.handle_datagram(t0(), addr(1), &bad);
            assert_eq!(rx.stats().dropped.bad_tag, (2 * i + back / 17 + 1) as u64);
        }
        rx.handle_datagram(t0(), addr(1), d);
        assert_eq!(rx.stats().datagrams_opened, i as u64 + 1);
    }
    // The bad tags are reported once, for their sender.
    let events = events(&mut rx);
    assert_eq!(
        unreadable(&events),
        [(Some(SenderId::new(0xAB)), Unreadable::BadTag)]
    );
    let got: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            EndpointEvent::Message(m) => Some(m),
            _ => None,
        })
        .collect();
    assert_eq!(got.len(), sent.len());
    for (m, (name, bytes)) in got.iter().zip(&sent) {
        assert_eq!(&*m.name, *name);
        assert_eq!(m.args, vec![binary(bytes.clone())]);
    }
    let s = rx.stats();
    assert_accounting(&s);
    assert_eq!(s.dropped.total(), 2 * datagrams.len() as u64);
}
