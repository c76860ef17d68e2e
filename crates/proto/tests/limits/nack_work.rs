//! What one NACK makes a sender do is bounded by its repair budget, not
//! by what the NACK asks for: a forged NACK whose 64 entries each cover a
//! store of 50,000 small messages queues no more than the burst of
//! repairs and counts no more than 4,096 refused segments (before the
//! bound, it collected and counted all 3.2 million). An honest NACK still
//! gets every segment it asks for while the budget lasts, each once
//! however often its entries repeat it.
#![allow(clippy::unwrap_used)]

use crate::common::*;
use eventcast_proto::wire::{Frame, Nack, NackEntry};
use eventcast_proto::{Endpoint, MessageSeq, SenderId};

const ME: u64 = 1;
/// The repair budget's burst, and the most refused segments one NACK
/// counts (`sender/nack.rs`).
const BURST: u64 = 4096;

/// A sender that has sent `n` single-segment messages, all at `t0()`
/// (every one of them still in its retransmit store).
fn sender(n: u64) -> Endpoint {
    let mut e = endpoint(config(1024), ME);
    for _ in 0..n {
        e.emit_body(body_of_len(60)).unwrap();
    }
    transmits(&mut e);
    assert_eq!(e.stats().messages_sent, n);
    e
}

/// Hands `e` a NACK with `entries` from node 2 and returns the seqs of
/// the messages it repairs, in the order sent.
fn nack(e: &mut Endpoint, entries: Vec<NackEntry>) -> Vec<u64> {
    let mut d = Vec::new();
    Nack::new(SenderId::new(2), SenderId::new(ME), entries)
        .unwrap()
        .write(&mut d);
    e.handle_datagram(t0(), addr(2), &d);
    let mut seqs = Vec::new();
    for d in transmits(e) {
        match Frame::parse(&d).unwrap() {
            Frame::Batch(b) => {
                seqs.extend((0..b.bodies().len() as u64).map(|i| b.first().get() + i))
            }
            Frame::Data(f) => seqs.push(f.header().seq.get()),
            _ => {}
        }
    }
    seqs
}

fn messages_from(first: u64, count: u32) -> NackEntry {
    NackEntry::Messages {
        first: MessageSeq::new(first),
        count,
    }
}

#[test]
fn a_nack_for_a_whole_large_store_costs_no_more_than_the_budget() {
    const N: u64 = 50_000;
    let mut e = sender(N);
    let repaired = nack(&mut e, vec![messages_from(0, u32::MAX); 64]);
    let s = e.stats();
    // The burst, the oldest first, each once.
    assert_eq!(repaired, (0..BURST).collect::<Vec<_>>());
    // What it looked at past the budget is bounded too: it counted at most
    // the burst refused, not 64 * 50,000 - 4,096.
    assert!(s.repairs_refused > 0, "{s:?}");
    assert!(s.repairs_refused <= BURST, "{s:?}");
    assert_eq!(s.repairs_lingered, 0);

    // The same again at once: the budget is spent (it is checked before
    // `repair_linger`, so what was just repaired counts as refused, not
    // lingered); still bounded.
    assert!(nack(&mut e, vec![messages_from(0, u32::MAX); 64]).is_empty());
    let s = e.stats();
    assert!(s.repairs_refused <= 2 * BURST, "{s:?}");
    assert!(s.repairs_lingered <= BURST, "{s:?}");
}

#[test]
fn an_honest_nack_gets_what_it_asks_for_once_and_the_rest_is_counted_refused() {
    let mut e = sender(8000);
    // Overlapping and repeated ranges, a segment range and a bitmap inside
    // them, and a bitmap outside: 100..1100 and 2000, each once.
    let mut entries = vec![messages_from(100, 1000); 30];
    entries.push(messages_from(100, 500));
    entries.push(messages_from(600, 500));
    entries.push(NackEntry::Segments {
        seq: MessageSeq::new(500),
        first: 0,
        count: u32::MAX,
    });
    entries.push(NackEntry::SegmentBitmap {
        seq: MessageSeq::new(700),
        first: 0,
        bits: u32::MAX,
    });
    entries.extend([0b1, 0b1, 0b11].map(|bits| NackEntry::SegmentBitmap {
        seq: MessageSeq::new(2000),
        first: 0,
        bits,
    }));
    let repaired = nack(&mut e, entries);
    let mut expected: Vec<u64> = (100..1100).collect();
    expected.push(2000);
    assert_eq!(repaired, expected);
    let s = e.stats();
    assert_eq!((s.repairs_refused, s.repairs_lingered), (0, 0), "{s:?}");

    // What is left of the budget (4,096 - 1,001 = 3,095) goes to the
    // next NACK; what it asks for beyond that is counted refused, exactly
    // while it is no more than the burst.
    let repaired = nack(&mut e, vec![messages_from(3000, 5000)]);
    assert_eq!(repaired, (3000..6095).collect::<Vec<_>>());
    let s = e.stats();
    assert_eq!(
        (s.repairs_refused, s.repairs_lingered),
        (8000 - 6095, 0),
        "{s:?}"
    );
}
