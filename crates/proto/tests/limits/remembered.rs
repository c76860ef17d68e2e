//! A sender forgotten after delivering is remembered (its id and where it
//! resumes): heard again, it is never owed its stream from 0 again, and
//! nothing it delivered is delivered twice. And a table full of live,
//! believed senders refuses newcomers rather than push one of them out.
#![allow(clippy::unwrap_used)]

use crate::common::*;
use eventcast_proto::wire::Heartbeat;
use eventcast_proto::{Endpoint, EndpointEvent, MessageSeq, SenderId};

/// Message `seq` of `sender`, one datagram.
fn message(sender: u64, seq: u64) -> Vec<u8> {
    segments(sender, seq, &body_of_len(60), 1024).remove(0)
}

fn heartbeat(sender: u64, lead: u64) -> Vec<u8> {
    let mut out = Vec::new();
    Heartbeat::new(
        SenderId::new(sender),
        MessageSeq::new(lead),
        MessageSeq::new(0),
        0,
    )
    .unwrap()
    .write(&mut out);
    out
}

/// (delivered seqs, lost seqs) of `sender` among `events`.
fn outcome(events: &[EndpointEvent], sender: u64) -> (Vec<u64>, Vec<u64>) {
    let mut got = Vec::new();
    let mut lost = Vec::new();
    for e in events {
        match e {
            EndpointEvent::Message(m) if m.sender.get() == sender => got.push(m.seq.get()),
            EndpointEvent::Loss(l) if l.sender.get() == sender => {
                lost.extend(l.first.get()..l.first.get() + l.count)
            }
            _ => {}
        }
    }
    (got, lost)
}

fn rx(max_senders: usize) -> Endpoint {
    let mut c = config(1024);
    c.max_senders = max_senders;
    let mut rx = endpoint(c, 0xFEED);
    rx.handle_join(at(0));
    rx
}

#[test]
fn a_forgotten_sender_resumes_where_it_was() {
    let mut rx = rx(4);
    let mut all = Vec::new();
    for seq in 0..5 {
        rx.handle_datagram(at(1 + seq), addr(1), &message(1, seq));
    }
    all.extend(events(&mut rx));
    // Silent for longer than three heartbeat intervals: strangers push it
    // out (each sends two events, so they are believed and heard).
    for s in 100..110 {
        for seq in 0..2 {
            rx.handle_datagram(at(5000 + s), addr(2), &message(s, seq));
        }
    }
    all.extend(events(&mut rx));
    let s = rx.stats();
    assert!(s.senders_evicted >= 1, "{s:?}");
    assert_eq!(s.senders_remembered, s.senders_evicted, "{s:?}");
    // Sender 1 again: a heartbeat (its stream is young: it could claim to
    // be owed from 0), a repair of an old message, then new ones.
    rx.handle_datagram(at(9000), addr(1), &heartbeat(1, 5));
    rx.handle_datagram(at(9001), addr(1), &message(1, 2));
    for seq in 5..8 {
        rx.handle_datagram(at(9002 + seq), addr(1), &message(1, seq));
    }
    rx.handle_timeout(at(20_000));
    all.extend(events(&mut rx));
    let (got, lost) = outcome(&all, 1);
    assert_eq!(got, [0, 1, 2, 3, 4, 5, 6, 7], "nothing twice");
    assert!(lost.is_empty(), "{lost:?}");
    assert!(rx.stats().senders_resumed >= 1);
    assert_accounting(&rx.stats());
}

#[test]
fn live_believed_senders_are_never_pushed_out() {
    let mut rx = rx(4);
    for s in 1..=4 {
        for seq in 0..3 {
            rx.handle_datagram(at(seq), addr(1), &message(s, seq));
        }
    }
    // A thousand one-datagram strangers within the next second.
    for s in 1000..2000 {
        rx.handle_datagram(at(10 + s / 2), addr(2), &message(s, 0));
    }
    let s = rx.stats();
    assert_eq!((s.senders_evicted, s.senders_refused), (0, 1000), "{s:?}");
    assert_eq!(s.dropped.refused, 1000);
    assert_accounting(&s);
    // The four go on.
    for sender in 1..=4 {
        rx.handle_datagram(at(1200), addr(1), &message(sender, 3));
    }
    let (got, _) = outcome(&events(&mut rx), 3);
    assert_eq!(got, [0, 1, 2, 3]);
}
