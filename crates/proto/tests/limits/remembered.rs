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

/// Runs `rx`'s timers at each of `times` (ms), then drops what it sends.
fn idle(rx: &mut Endpoint, times: impl Iterator<Item = u64>) {
    for t in times {
        rx.handle_timeout(at(t));
    }
    let _ = transmits(rx);
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

#[test]
fn a_forged_far_datagram_does_not_take_a_forgotten_sender_over() {
    let mut rx = rx(2);
    let mut all = Vec::new();
    rx.handle_datagram(at(100), addr(1), &message(1, 0));
    // Strangers push sender 1 out (heard once): its resume point is kept.
    rx.handle_datagram(at(101), addr(7), &message(50, 0));
    rx.handle_datagram(at(102), addr(7), &message(51, 0));
    all.extend(events(&mut rx));
    // An impersonator, from elsewhere, under sender 1's id, far ahead.
    rx.handle_datagram(at(103), addr(7), &message(1, 1 << 40));
    // Sender 1 goes on.
    for seq in 1..5 {
        rx.handle_datagram(at(104 + seq), addr(1), &message(1, seq));
    }
    rx.handle_timeout(at(20_000));
    all.extend(events(&mut rx));
    // (Counted, not listed: a forged loss may be of 2^40 messages.)
    let lost: u64 = all
        .iter()
        .filter_map(|e| match e {
            EndpointEvent::Loss(l) if l.sender.get() == 1 => Some(l.count),
            _ => None,
        })
        .sum();
    assert_eq!(lost, 0, "no loss reported");
    let got: Vec<u64> = all
        .iter()
        .filter_map(|e| match e {
            EndpointEvent::Message(m) if m.sender.get() == 1 && m.seq.get() < 1 << 40 => {
                Some(m.seq.get())
            }
            _ => None,
        })
        .collect();
    assert_eq!(got, [0, 1, 2, 3, 4], "every honest message, once");
    let s = rx.stats();
    assert_eq!(s.dropped.stale, 0, "{s:?}");
    assert_accounting(&s);
}

#[test]
fn a_sender_re_anchored_after_delivering_delivers_nothing_twice() {
    let mut rx = rx(16);
    let mut all = Vec::new();
    rx.handle_datagram(at(100), addr(1), &message(1, 0));
    // Forged, from elsewhere, far ahead: re-anchors sender 1 (heard once).
    rx.handle_datagram(at(101), addr(7), &message(1, 1 << 40));
    // Sender 1 goes on.
    rx.handle_datagram(at(102), addr(1), &message(1, 1));
    rx.handle_datagram(at(103), addr(1), &message(1, 2));
    idle(&mut rx, (104..150).step_by(3));
    // Its stream began after this node joined: it would be owed from 0.
    rx.handle_datagram(at(150), addr(1), &heartbeat_frame(1, 3, 0, 140));
    idle(&mut rx, (151..300).step_by(3));
    // A repair of message 0 (for another receiver).
    rx.handle_datagram(at(300), addr(1), &message(1, 0));
    rx.handle_timeout(at(20_000));
    all.extend(events(&mut rx));
    assert_delivered_once(&all, 1);
    let got: Vec<u64> = messages_of(&all, 1);
    for seq in [0, 1, 2] {
        assert!(got.contains(&seq), "{seq} not delivered: {got:?}");
    }
    assert!(rx.stats().senders_reanchored >= 1);
    assert_accounting(&rx.stats());
}

#[test]
fn a_sender_forgotten_with_messages_held_delivers_them_once() {
    let mut rx = rx(2);
    let mut all = Vec::new();
    // This node listens before sender 1 starts; 0..5 are lost, message 5
    // is heard first (held for order until a heartbeat tells the join).
    rx.handle_datagram(at(100), addr(1), &message(1, 5));
    // Strangers push it out: what it held is delivered then.
    rx.handle_datagram(at(101), addr(7), &message(50, 0));
    rx.handle_datagram(at(102), addr(7), &message(51, 0));
    all.extend(events(&mut rx));
    rx.handle_datagram(at(110), addr(1), &message(1, 6));
    rx.handle_datagram(at(111), addr(1), &message(1, 7));
    idle(&mut rx, (112..200).step_by(5));
    // Its stream began after this node joined.
    rx.handle_datagram(at(200), addr(1), &heartbeat_frame(1, 8, 0, 150));
    idle(&mut rx, (201..400).step_by(5));
    // Repairs of everything it sent.
    for seq in 0..8 {
        rx.handle_datagram(at(400), addr(1), &message(1, seq));
    }
    rx.handle_timeout(at(20_000));
    all.extend(events(&mut rx));
    assert_delivered_once(&all, 1);
    let got: Vec<u64> = messages_of(&all, 1);
    for seq in [5, 6, 7] {
        assert!(got.contains(&seq), "{seq} not delivered: {got:?}");
    }
    assert_accounting(&rx.stats());
}

#[test]
fn a_forgery_heard_once_and_forgotten_does_not_shut_the_real_sender_out() {
    let mut rx = rx(2);
    // An impersonator speaks first, under sender 1's id, at seq 0.
    rx.handle_datagram(at(100), addr(7), &message(1, 0));
    // Strangers push the id out (heard once): its point, 1, is kept.
    rx.handle_datagram(at(101), addr(8), &message(50, 0));
    rx.handle_datagram(at(102), addr(8), &message(51, 0));
    let _ = events(&mut rx);
    // The real sender, whose stream is far along (a late join).
    let far = 1u64 << 30;
    for k in 0..5 {
        rx.handle_datagram(at(110 + k), addr(1), &message(1, far + k));
    }
    rx.handle_datagram(
        at(120),
        addr(1),
        &heartbeat_frame(1, far + 5, 0, 10_000_000),
    );
    rx.handle_timeout(at(20_000));
    let got = messages_of(&events(&mut rx), 1);
    assert_eq!(got, (far..far + 5).collect::<Vec<_>>());
    let s = rx.stats();
    assert_eq!(s.dropped.implausible, 0, "{s:?}");
    assert_accounting(&s);
}
