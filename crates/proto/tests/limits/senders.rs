//! `max_senders`: when a new sender arrives and the table is full, the
//! sender heard from least recently is forgotten with its partial messages
//! (`senders_evicted`, `abandoned`), its memory and its deadlines.
#![allow(clippy::unwrap_used)]

use crate::common::*;
use eventcast_proto::{Endpoint, EndpointEvent, LossReason, ReceivedMessage};

/// The messages queued; partials of forgotten senders are reported lost
/// (reason `Evicted`), expired ones too (`Expired`), and nothing else may
/// be there.
fn messages(rx: &mut Endpoint) -> Vec<ReceivedMessage> {
    events(rx)
        .into_iter()
        .filter_map(|e| match e {
            EndpointEvent::Message(m) => Some(std::sync::Arc::unwrap_or_clone(m)),
            EndpointEvent::Loss(l)
                if matches!(l.reason, LossReason::Evicted | LossReason::Expired) =>
            {
                None
            }
            other => panic!("unexpected {other:?}"),
        })
        .collect()
}

const TTL: u64 = 3000;

fn rx(max_senders: usize) -> Endpoint {
    let mut c = reassembly_only(1024);
    c.max_senders = max_senders;
    endpoint(c, 0xFEED)
}

/// The two datagrams of message 0 from `sender`.
fn two(sender: u64) -> Vec<Vec<u8>> {
    segments(sender, 0, &body_of_len(60), 32)
}

#[test]
fn least_recently_heard_sender_is_forgotten() {
    let mut rx = rx(4);
    for s in 1..=4 {
        rx.handle_datagram(at(s * 10), addr(1), &two(s)[0]);
    }
    let full = rx.stats();
    assert_eq!(full.senders, 4);
    assert_eq!(full.partial_messages, 4);
    assert_eq!(rx.poll_timeout(), Some(at(10 + TTL)));

    // sender 1 is heard again (a duplicate counts), so 2 is the oldest now
    rx.handle_datagram(at(45), addr(1), &two(1)[0]);
    rx.handle_datagram(at(50), addr(1), &two(5)[0]);
    let s = rx.stats();
    assert_eq!(s.senders, 4);
    assert_eq!(s.senders_evicted, 1);
    assert_eq!(s.dropped.abandoned, 1);
    assert_eq!(s.partial_messages, 4);
    assert_eq!(s.partial_bytes, full.partial_bytes);
    // sender 2's deadline went with it
    assert_eq!(rx.poll_timeout(), Some(at(10 + TTL)));
    rx.handle_timeout(at(20 + TTL));
    assert_eq!(rx.stats().dropped.expired, 1, "only sender 1's message");
    assert_eq!(rx.poll_timeout(), Some(at(30 + TTL)));

    // the survivors still complete
    for s in [3, 4, 5] {
        rx.handle_datagram(at(60), addr(1), &two(s)[1]);
    }
    let got: Vec<u64> = messages(&mut rx).iter().map(|m| m.sender.get()).collect();
    assert_eq!(got, [3, 4, 5]);
    assert_accounting(&rx.stats());
}

#[test]
fn ties_are_broken_the_same_way_every_time() {
    // All heard at the same instant: the lowest id goes, whatever the
    // order of the table (which is seeded at random per endpoint).
    for _ in 0..20 {
        let mut rx = rx(4);
        for s in [3, 1, 4, 2, 5] {
            rx.handle_datagram(at(0), addr(1), &two(s)[0]);
        }
        assert_eq!(rx.stats().senders_evicted, 1);
        for s in [2, 3, 4, 5] {
            rx.handle_datagram(at(1), addr(1), &two(s)[1]);
        }
        assert_eq!(messages(&mut rx).len(), 4);
        assert_eq!(rx.stats().senders_evicted, 1);
    }
}

#[test]
fn a_table_of_one() {
    let mut rx = rx(1);
    for s in 1..=100 {
        rx.handle_datagram(at(s), addr(1), &two(s)[0]);
        let st = rx.stats();
        assert_eq!(st.senders, 1);
        assert_eq!(st.partial_messages, 1);
        assert_eq!(st.senders_evicted, s - 1);
        assert_eq!(st.dropped.abandoned, s - 1);
    }
    assert_eq!(rx.poll_timeout(), Some(at(100 + TTL)));
    // a single-segment message from a new sender still gets through
    rx.handle_datagram(
        at(200),
        addr(1),
        &segments(7777, 0, &body_of_len(60), 64)[0],
    );
    assert_eq!(messages(&mut rx).len(), 1);
    assert_eq!(rx.stats().partial_messages, 0);
    assert_eq!(rx.poll_timeout(), None);
}
