//! `Endpoint::set_receiving`: turned off, the endpoint forgets at once
//! what it held of other senders (partial messages, the senders' table)
//! and reads none of their data; turned on again, it starts afresh as a
//! node that joins then: owed what follows, with no loss reported for what
//! was sent before, and no message delivered twice.
#![allow(clippy::unwrap_used)]

use crate::common::*;
use eventcast_proto::wire::Status;
use eventcast_proto::{encode_body, Datagram, EndpointEvent, MessageSeq, SenderId};

const ME: u64 = 0xFEED;

#[test]
fn off_forgets_what_was_held_and_on_starts_afresh() {
    let mut rx = endpoint(config(1024), ME);
    rx.handle_join(at(0));
    let whole = |seq| segments(1, seq, &body_of_len(60), 1024).remove(0);
    rx.handle_datagram(at(1), addr(1), &whole(0));
    // Half of message 1 (two segments).
    let big = segments(1, 1, &body_of_len(1500), 1024);
    rx.handle_datagram(at(2), addr(1), &big[0]);
    let s = rx.stats();
    assert_eq!((s.partial_messages, s.senders), (1, 1), "{s:?}");
    assert_eq!(messages(&mut rx).len(), 1);

    rx.set_receiving(false);
    let s = rx.stats();
    assert_eq!((s.partial_messages, s.partial_bytes, s.senders), (0, 0, 0));
    assert!(rx.peers(at(3)).is_empty());
    // What comes meanwhile is dropped unread, and nothing is asked for.
    for seq in 2..5 {
        rx.handle_datagram(at(3), addr(1), &whole(seq));
    }
    rx.handle_datagram(at(3), addr(1), &big[1]);
    rx.handle_timeout(at(5_000));
    assert!(transmits(&mut rx).is_empty(), "no NACK, no status");
    let s = rx.stats();
    assert_eq!(
        (s.dropped.not_receiving, s.nacks_sent, s.partial_messages),
        (4, 0, 0)
    );
    assert!(events(&mut rx).is_empty());

    // On again: a node that joins at 6 s, while the sender's stream began
    // before. It is owed what follows the first message it hears.
    rx.set_receiving(true);
    rx.handle_join(at(6_000));
    for seq in 5..8 {
        rx.handle_datagram(at(6_001), addr(1), &whole(seq));
    }
    rx.handle_timeout(at(20_000));
    let events = events(&mut rx);
    let delivered: Vec<u64> = events
        .iter()
        .filter_map(|e| match e {
            EndpointEvent::Message(m) => Some(m.seq.get()),
            _ => None,
        })
        .collect();
    assert_eq!(delivered, [5, 6, 7], "{events:?}");
    assert!(
        !events.iter().any(|e| matches!(e, EndpointEvent::Loss(_))),
        "{events:?}"
    );
    let peer = rx.peers(at(20_000))[0];
    assert_eq!((peer.id, peer.lead), (SenderId::new(1), MessageSeq::new(8)));
    assert_accounting(&rx.stats());
}

#[test]
fn setting_what_is_in_force_changes_nothing() {
    let mut rx = endpoint(config(1024), ME);
    let big = segments(1, 0, &body_of_len(1500), 1024);
    rx.handle_datagram(at(1), addr(1), &big[0]);
    rx.set_receiving(true);
    assert_eq!(rx.stats().partial_messages, 1);
    rx.handle_datagram(at(2), addr(1), &big[1]);
    assert_eq!(messages(&mut rx).len(), 1);
}

/// A status owed after a read goes out through `poll_control`, which
/// hands over control frames only (the driver sends them before it reads
/// on); this endpoint's own event waits for `poll_transmit`.
#[test]
fn poll_control_hands_over_a_status_owed_and_never_data() {
    let mut rx = endpoint(config(1024), ME);
    rx.set_paced(false);
    rx.handle_join(at(0));
    let data = segments(1, 0, &body_of_len(4000), 1024);
    let mut out = Datagram::new();
    rx.handle_datagram(at(1), addr(1), &data[0]);
    assert!(
        rx.poll_control(at(1), &mut out).is_none(),
        "no window set: no status owed"
    );

    rx.emit_body(encode_body("mine", &[]).unwrap()).unwrap();
    rx.set_receive_window(4096);
    // The sender's first data read with a window set owes a status.
    rx.handle_datagram(at(2), addr(1), &data[1]);
    assert!(rx.poll_control(at(2), &mut out).is_some());
    let status = Status::parse(out.head()).expect("a status");
    assert_eq!((status.target(), status.offset()), (SenderId::new(1), 2048));
    assert!(
        rx.poll_control(at(2), &mut out).is_none(),
        "control frames only"
    );
    assert_eq!(rx.stats().statuses_sent, 1);

    let sent = transmits(&mut rx);
    assert_eq!(sent.len(), 1, "the event, by poll_transmit");
    assert_eq!(sent[0][3], 0x01, "a data frame");
}
