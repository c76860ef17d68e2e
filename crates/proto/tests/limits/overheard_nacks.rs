//! Another receiver's NACK (overheard) holds back only what this node
//! would itself ask for: a sender not believed real is asked nothing, so
//! a NACK aimed at it holds nothing back and costs no look at its partial
//! messages (a stranger's partial of a million segments once cost a walk
//! over all of them per overheard NACK). Once it is believed, this node
//! asks for its missing segments at its own round, as if it had never
//! heard that NACK.
#![allow(clippy::unwrap_used)]

use crate::common::*;
use eventcast_proto::wire::{Frame, Heartbeat, Nack, NackEntry};
use eventcast_proto::{MessageSeq, SenderId};

const ME: u64 = 0xFEED;
/// A sender id nothing of which has completed yet.
const A: u64 = 0xA;
/// Another receiver, whose NACKs this node overhears.
const OTHER: u64 = 0x5;

/// `from`'s NACK to `target` with these entries.
fn nack(from: u64, target: u64, entries: Vec<NackEntry>) -> Vec<u8> {
    let mut out = Vec::new();
    Nack::new(SenderId::new(from), SenderId::new(target), entries)
        .unwrap()
        .write(&mut out);
    out
}

/// The (seq, segment index) pairs this node's queued NACKs to `target`
/// ask for (of seqs 0 .. 4, indexes 0 .. 64).
fn asked_segments(rx: &mut eventcast_proto::Endpoint, target: u64) -> Vec<(u64, u32)> {
    let mut asked = Vec::new();
    for d in transmits(rx) {
        let Ok(Frame::Nack(n)) = Frame::parse(&d) else {
            continue;
        };
        assert_eq!(n.target(), SenderId::new(target));
        for e in n.entries() {
            for seq in 0..4 {
                for i in 0..64 {
                    if e.covers(seq, i) {
                        asked.push((seq, i));
                    }
                }
            }
        }
    }
    asked
}

#[test]
fn an_overheard_nack_to_a_sender_not_believed_holds_nothing_back() {
    let mut rx = endpoint(config(1024), ME);
    rx.handle_join(at(0));
    // A's message 0, five segments: all but 1 come (a hole). Four
    // datagrams earn A a NACK from this node (one per three).
    let segs = segments(A, 0, &body_of_len(80), 16);
    assert_eq!(segs.len(), 5);
    for i in [0, 2, 3, 4] {
        rx.handle_datagram(at(10), addr(1), &segs[i]);
    }
    // Before this node's round (at least `nack_backoff_min` away), another
    // receiver asks A for segment 1: the very thing this node would ask.
    let other = nack(
        OTHER,
        A,
        vec![NackEntry::SegmentBitmap {
            seq: MessageSeq::new(0),
            first: 1,
            bits: 1,
        }],
    );
    rx.handle_datagram(at(10), addr(5), &other);
    assert_eq!(
        rx.stats().nacks_suppressed,
        0,
        "A is not believed real: this node asks it nothing, so holds nothing back"
    );
    // A's heartbeat agrees with its data: believed real now.
    let mut hb = Vec::new();
    Heartbeat::new(SenderId::new(A), MessageSeq::new(1), MessageSeq::new(0), 0)
        .unwrap()
        .write(&mut hb);
    rx.handle_datagram(at(11), addr(1), &hb);
    assert!(asked_segments(&mut rx, A).is_empty());
    // Its round (within `nack_backoff_max`, 6 ms, of the hole), not a
    // `repair_timeout` (40 ms) later as if it had asked already.
    rx.handle_timeout(at(20));
    assert_eq!(
        asked_segments(&mut rx, A),
        [(0, 1)],
        "this node asks for the hole at its own round"
    );
}

#[test]
fn an_overheard_nack_to_a_sender_believed_holds_back_what_it_names_alone() {
    let mut rx = endpoint(config(1024), ME);
    rx.handle_join(at(0));
    // A's message 0 completes: believed real.
    rx.handle_datagram(at(10), addr(1), &segments(A, 0, &body_of_len(40), 1024)[0]);
    assert_eq!(messages(&mut rx).len(), 1);
    // Messages 1 and 2, five segments each, lack segment 1.
    for seq in [1, 2] {
        let segs = segments(A, seq, &body_of_len(80), 16);
        for i in [0, 2, 3, 4] {
            rx.handle_datagram(at(20), addr(1), &segs[i]);
        }
    }
    // Another receiver asks for message 1's hole (and for a segment this
    // node holds of message 2, which does not cover its hole).
    let other = nack(
        OTHER,
        A,
        vec![
            NackEntry::SegmentBitmap {
                seq: MessageSeq::new(1),
                first: 1,
                bits: 1,
            },
            NackEntry::Segments {
                seq: MessageSeq::new(2),
                first: 3,
                count: 1,
            },
        ],
    );
    rx.handle_datagram(at(20), addr(5), &other);
    assert_eq!(rx.stats().nacks_suppressed, 1);
    // At its round this node asks for message 2's hole alone.
    rx.handle_timeout(at(30));
    assert_eq!(asked_segments(&mut rx, A), [(2, 1)]);
}
