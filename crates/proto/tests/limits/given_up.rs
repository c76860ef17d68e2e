//! Every partial message a receiver gives up unfinished is counted once
//! (`dropped.expired` when it stalls, `dropped.abandoned` otherwise), and
//! reported lost if this node was owed it; history a late joiner is not
//! owed is counted, never reported.
#![allow(clippy::unwrap_used)]

use crate::common::*;
use eventcast_proto::wire::{DataFrame, DataHeader, Flags};
use eventcast_proto::{EndpointEvent, LossReason, MessageSeq, SegmentIndex, SenderId};

const ME: u64 = 0xFEED;
const S: u64 = 0x5;

/// Segment `index` of message `seq` of S (1,500 bytes in two segments),
/// sent live or (`flags`) as a repair.
fn half(seq: u64, index: u32, flags: Flags) -> Vec<u8> {
    let body = body_of_len(1500);
    let chunk = body.chunks(1024).nth(index as usize).unwrap();
    let header = DataHeader {
        flags,
        sender: SenderId::new(S),
        seq: MessageSeq::new(seq),
        index: SegmentIndex::new(index),
        count: 2,
        message_len: body.len() as u32,
    };
    let mut out = Vec::new();
    DataFrame::new(header, chunk).unwrap().write(&mut out);
    out
}

/// A whole small event `seq` of S, sent live.
fn event(seq: u64) -> Vec<u8> {
    segments(S, seq, &body_of_len(60), 1024).remove(0)
}

/// The losses of S reported in `events`: (first, count, reason).
fn losses(events: &[EndpointEvent]) -> Vec<(u64, u64, LossReason)> {
    events
        .iter()
        .filter_map(|e| match e {
            EndpointEvent::Loss(l) if l.sender.get() == S => {
                Some((l.first.get(), l.count, l.reason))
            }
            _ => None,
        })
        .collect()
}

/// Ten minutes in, this node first hears S (an hour old) through half of
/// message 5, repaired for another node, then message 10 sent live, then
/// S's heartbeat: a late join from 10. Message 5, reassembled while the
/// join was pending, was given up as history this node is not owed, but
/// counted nowhere (its other half, when it came, was a duplicate).
#[test]
fn a_partial_given_up_at_a_late_join_is_counted() {
    let mut rx = endpoint(config(1024), ME);
    rx.handle_join(at(0));
    let now = 600_000;
    rx.handle_datagram(at(now), addr(1), &half(5, 0, Flags::RETRANSMISSION));
    rx.handle_datagram(at(now + 1), addr(1), &event(10));
    rx.handle_datagram(at(now + 2), addr(1), &heartbeat_frame(S, 11, 0, 3_600_000));
    rx.handle_datagram(at(now + 3), addr(1), &half(5, 1, Flags::RETRANSMISSION));
    rx.handle_timeout(at(now + 10_000));
    let told = events(&mut rx);
    assert_eq!(messages_of(&told, S), [10]);
    assert_eq!(losses(&told), [], "history reported lost");
    let s = rx.stats();
    assert_eq!(s.late_joins, 1, "{s:?}");
    let d = s.dropped;
    assert_eq!(
        (d.abandoned, d.expired, d.before_start),
        (1, 0, 0),
        "the partial given up is counted once: {s:?}"
    );
    assert_eq!(s.partial_messages, 0);
    assert_accounting(&s);
}

/// S, heard from message 0, sends half of message 3; its heartbeat's trail
/// then says it no longer keeps 3. The partial was reported lost
/// (`NotRepairable`) but, unlike one that expires or slides out of the
/// window, counted in no drop counter.
#[test]
fn a_partial_given_up_as_lost_is_counted() {
    let mut rx = endpoint(config(1024), ME);
    rx.handle_join(at(0));
    for k in 0..3 {
        rx.handle_datagram(at(1000 + k), addr(1), &event(k));
    }
    rx.handle_datagram(at(1010), addr(1), &half(3, 0, Flags::empty()));
    rx.handle_datagram(at(1020), addr(1), &heartbeat_frame(S, 4, 4, 1020));
    let told = events(&mut rx);
    assert_eq!(messages_of(&told, S), [0, 1, 2]);
    assert_eq!(losses(&told), [(3, 1, LossReason::NotRepairable)]);
    let s = rx.stats();
    let d = s.dropped;
    assert_eq!(
        (d.abandoned, d.expired, s.messages_lost),
        (1, 0, 1),
        "the partial given up is counted once: {s:?}"
    );
    assert_eq!(s.partial_messages, 0);
    assert_accounting(&s);
}
