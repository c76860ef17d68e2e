//! A node with another key, with no key, or requiring encryption from a
//! node that sends plaintext, delivers nothing, counts every datagram by
//! reason, and reports each sender once, not once per datagram. Plaintext
//! is accepted beside encryption only through `danger_accept_plaintext`.
#![allow(clippy::unwrap_used)]

use crate::common::*;
use crate::sealing::*;
use eventcast_proto::crypto::{Encryption, InsecureSeededNonces, Unreadable};
use eventcast_proto::SenderId;

/// 20 messages of 3 segments each from sender `id` sealing with `keys`.
fn traffic(id: u64, keys: &[eventcast_proto::crypto::Key]) -> Vec<Vec<u8>> {
    let mut tx = if keys.is_empty() {
        endpoint(config(64), id)
    } else {
        sealed(config(64), id, keys)
    };
    for _ in 0..20 {
        tx.emit_body(body_of_len(150)).unwrap();
    }
    transmits(&mut tx)
}

#[test]
fn a_wrong_key_delivers_nothing_and_is_reported_once_per_sender() {
    let mut rx = sealed(config(1024), 1, &[key(1)]);
    let mut sent = 0;
    for sender in [0xA, 0xB] {
        for d in traffic(sender, &[key(2)]) {
            rx.handle_datagram(t0(), addr(1), &d);
            sent += 1;
        }
    }
    let evs = events(&mut rx);
    assert_eq!(
        unreadable(&evs),
        vec![
            (Some(SenderId::new(0xA)), Unreadable::UnknownKey),
            (Some(SenderId::new(0xB)), Unreadable::UnknownKey),
        ]
    );
    assert_eq!(evs.len(), 2, "nothing else: {evs:?}");
    let s = rx.stats();
    assert_eq!(s.dropped.no_key, sent);
    assert_eq!(s.segments_received, 0);
    assert_eq!(s.partial_messages, 0);
    assert_accounting(&s);
    let shown = evs[0].clone();
    let text = match shown {
        eventcast_proto::EndpointEvent::ProtocolError(e) => e.to_string(),
        other => panic!("{other:?}"),
    };
    assert!(text.contains("000000000000000a"), "{text}");
    assert!(text.contains("key this node does not have"), "{text}");
}

#[test]
fn a_colliding_key_id_is_a_bad_tag() {
    // Find two keys whose 32-bit ids collide would take 2^16 tries; instead
    // forge the key id of a captured datagram to name the receiver's key.
    let mut d = traffic(0xA, &[key(2)]).remove(0);
    d[5..9].copy_from_slice(&key(1).id().to_bytes());
    let mut rx = sealed(config(1024), 1, &[key(1)]);
    rx.handle_datagram(t0(), addr(1), &d);
    rx.handle_datagram(t0(), addr(1), &d);
    assert_eq!(rx.stats().dropped.bad_tag, 2);
    assert_eq!(
        unreadable(&events(&mut rx)),
        vec![(Some(SenderId::new(0xA)), Unreadable::BadTag)]
    );
}

#[test]
fn plaintext_is_refused_by_a_node_with_a_key() {
    let mut rx = sealed(config(1024), 1, &[key(1)]);
    let plain = traffic(0xC, &[]);
    for d in &plain {
        rx.handle_datagram(t0(), addr(1), d);
    }
    assert_eq!(
        unreadable(&events(&mut rx)),
        vec![(Some(SenderId::new(0xC)), Unreadable::Unencrypted)]
    );
    let s = rx.stats();
    assert_eq!(s.dropped.unencrypted, plain.len() as u64);
    assert_eq!(s.segments_received, 0);
    assert_accounting(&s);
}

#[test]
fn danger_accept_plaintext_accepts_both() {
    let enc = Encryption::new(ring(&[key(1)]), InsecureSeededNonces::new(1))
        .danger_skip_handshake(true)
        .danger_accept_plaintext(true);
    let mut rx = encrypted(config(1024), 1, enc);
    for d in traffic(0xC, &[]).iter().chain(&traffic(0xD, &[key(1)])) {
        rx.handle_datagram(t0(), addr(1), d);
    }
    assert_eq!(messages(&mut rx).len(), 40);
}

#[test]
fn a_node_without_a_key_reports_encrypted_senders() {
    let mut rx = endpoint(config(1024), 1);
    for d in traffic(0xE, &[key(1)]) {
        rx.handle_datagram(t0(), addr(1), &d);
    }
    assert_eq!(
        unreadable(&events(&mut rx)),
        vec![(Some(SenderId::new(0xE)), Unreadable::UnknownKey)]
    );
    assert_eq!(rx.stats().dropped.no_key, 60);
}

#[test]
fn reports_are_bounded() {
    let mut rx = sealed(config(1024), 1, &[key(1)]);
    let d = traffic(0xA, &[key(2)]).remove(0);
    for sender in 0..1000u64 {
        let mut forged = d.clone();
        forged[9..17].copy_from_slice(&(sender + 100).to_be_bytes());
        rx.handle_datagram(t0(), addr(1), &forged);
    }
    assert_eq!(unreadable(&events(&mut rx)).len(), 256);
    assert_eq!(rx.stats().dropped.no_key, 1000);
}
