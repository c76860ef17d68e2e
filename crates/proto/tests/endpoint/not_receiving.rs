//! A node that does not receive events (`set_receiving(false)`: a
//! send-only node) drops other nodes' data unread and counts it; a
//! challenge or an answer in the clear is dropped as malformed whether the
//! node receives or not, before anything else looks at it.
#![allow(clippy::unwrap_used)]

use eventcast_proto::wire::{Challenge, Frame};
use eventcast_proto::SenderId;

use crate::common::*;

#[test]
fn a_node_that_does_not_receive_drops_data_unread_and_counts_it() {
    let mut sender = endpoint(reassembly_only(64), 0xA);
    let mut quiet = endpoint(reassembly_only(64), 0xB);
    quiet.set_receiving(false);
    assert!(!quiet.is_receiving());
    sender.emit(t0(), "small", &[]).unwrap();
    sender
        .emit(t0(), "large", &[binary(vec![7; 1000])])
        .unwrap();
    let datagrams = transmits(&mut sender);
    let data = datagrams
        .iter()
        .filter(|d| matches!(Frame::parse(d), Ok(Frame::Data(_) | Frame::Batch(_))))
        .count();
    assert!(data > 2, "{data}");
    for d in &datagrams {
        quiet.handle_datagram(at(0), addr(1), d);
    }
    let s = quiet.stats();
    assert_eq!(s.dropped.not_receiving, data as u64, "{s:#?}");
    assert_eq!(s.segments_received, 0);
    assert_eq!(s.partial_messages, 0);
    assert_eq!(s.senders, 0, "the sender is not even heard");
    assert!(messages(&mut quiet).is_empty());
    assert_accounting(&s);
}

/// A challenge from `from` to `target`, in the clear.
fn plain_challenge(from: u64, target: u64) -> Vec<u8> {
    let mut datagram = Vec::new();
    Challenge {
        from: SenderId::new(from),
        target: SenderId::new(target),
        nonce: [1; 16],
        waited_ms: 0,
    }
    .write(&mut datagram);
    datagram
}

#[test]
fn a_challenge_in_the_clear_is_dropped_as_malformed() {
    for receiving in [true, false] {
        let mut me = endpoint(reassembly_only(64), 0xB);
        me.set_receiving(receiving);
        me.handle_datagram(at(0), addr(1), &plain_challenge(0xA, 0xB));
        // One carrying this node's own id is no different.
        me.handle_datagram(at(0), addr(1), &plain_challenge(0xB, 0xA));
        let s = me.stats();
        assert_eq!(s.dropped.malformed, 2, "receiving {receiving}: {s:#?}");
        assert_eq!(s.own_datagrams, 0);
        assert_eq!(s.control_received, 0);
        assert_eq!(s.senders, 0);
        assert!(events(&mut me).is_empty());
        assert_accounting(&s);
    }
}
