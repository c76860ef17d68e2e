//! A node that joined before a sender's stream began, and first hears that
//! sender through a repair (a retransmission answering another node's
//! NACK), is owed the stream from 0 once the sender's own heartbeat tells
//! it is young: it asks for what it missed at once, as it does for a young
//! stream first heard through its heartbeat, not only after the sender has
//! sent it enough datagrams to earn a NACK.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;

use crate::common::*;
use eventcast_proto::wire::{Flags, Frame, NackEntry};
use eventcast_proto::{Endpoint, EndpointEvent};

const ME: u64 = 0xFEED;
const S: u64 = 0x5;

/// A whole small event `seq` of S, sent live or (`flags`) as a repair.
fn event(seq: u64, flags: Flags) -> Vec<u8> {
    whole_event(S, seq, 60, flags)
}

/// Adds the whole messages the NACKs the endpoint sends now ask of S to
/// `wanted`.
fn asked_now(rx: &mut Endpoint, wanted: &mut BTreeSet<u64>) {
    for d in transmits(rx) {
        if let Ok(Frame::Nack(n)) = Frame::parse(&d) {
            assert_eq!(n.target().get(), S);
            for e in n.entries() {
                if let NackEntry::Messages { first, count } = *e {
                    wanted.extend(first.get()..first.get() + u64::from(count));
                }
            }
        }
    }
}

/// S began 500 ms after this node joined. This node missed its first
/// three messages, then heard message 2 repaired for another node, S's
/// heartbeat (lead 3, 500 ms old) and message 5 (3 and 4 lost here); then
/// S went quiet (its next heartbeat is a second away). The heartbeat
/// settled the join (owed from 0), but S had earned this node's NACK
/// budget only a third of a NACK per datagram after the first: nothing
/// was asked for until S sent more, and a quiet sender's gaps expired
/// (`Expired`) unasked, where a young stream first heard through its
/// heartbeat is asked at once.
#[test]
fn a_sender_first_heard_through_a_repair_is_asked_at_once() {
    let mut rx = endpoint(config(1024), ME);
    rx.handle_join(at(0));
    rx.handle_datagram(at(1000), addr(1), &event(2, Flags::RETRANSMISSION));
    rx.handle_datagram(at(1001), addr(1), &heartbeat_frame(S, 3, 0, 500));
    rx.handle_datagram(at(1002), addr(1), &event(5, Flags::empty()));
    let mut wanted = BTreeSet::new();
    for t in 1003..1100 {
        rx.handle_timeout(at(t));
        asked_now(&mut rx, &mut wanted);
    }
    assert_eq!(
        wanted,
        BTreeSet::from([0, 1, 3, 4]),
        "what S's stream lacks here was not asked for: {:?}",
        rx.stats()
    );
    // The repairs come: everything is delivered once, in order.
    for k in [0, 1, 3, 4] {
        rx.handle_datagram(at(1100), addr(1), &event(k, Flags::RETRANSMISSION));
    }
    let told = events(&mut rx);
    assert_eq!(messages_of(&told, S), (0..6).collect::<Vec<_>>());
    assert!(
        !told.iter().any(|e| matches!(e, EndpointEvent::Loss(_))),
        "{told:?}"
    );
}
