//! A repair that fills a gap under a long run of held messages (a receiver
//! that fell behind under a burst) hands them over as the application
//! takes them: the queue of decoded events stays bounded, the rest stay
//! held (compact), and everything comes out once, in order, with the loss
//! reported after the messages before it.
#![allow(clippy::unwrap_used)]

use crate::common::*;
use eventcast_proto::wire::Frame;
use eventcast_proto::{EndpointEvent, LossReason};

/// Events the sender emits.
const N: u64 = 10_000;

/// More than the receiver hands over at once (1,024).
const BOUND: u64 = 1024;

/// Alice's data datagrams for `N` small events (batched), each 10 ms
/// after the one before, so that the stream advances plausibly.
fn burst() -> Vec<Vec<u8>> {
    let mut alice = endpoint(config(1024), 1);
    for i in 0..N {
        alice
            .emit(t0(), "e", &[bson::Bson::Int64(i as i64)])
            .unwrap();
    }
    transmits(&mut alice)
        .into_iter()
        .filter(|d| matches!(Frame::parse(d), Ok(Frame::Data(_) | Frame::Batch(_))))
        .collect()
}

#[test]
fn a_repair_releases_held_messages_as_they_are_taken() {
    let data = burst();
    assert!(data.len() > 10, "{} datagrams", data.len());
    let mut bob = endpoint(config(1024), 2);
    // The first datagram arrives, the second is lost, the rest are held.
    bob.handle_datagram(at(0), addr(1), &data[0]);
    let first = messages(&mut bob).len() as u64;
    for (i, d) in data.iter().enumerate().skip(2) {
        bob.handle_datagram(at(i as u64 / 10), addr(1), d);
    }
    assert!(events(&mut bob).is_empty());
    let held = bob.stats().held_messages;
    assert!(held > 2 * BOUND, "{held} held");

    // The repair: at most BOUND decoded events wait; the rest stay held.
    bob.handle_datagram(at(100), addr(1), &data[1]);
    let after = bob.stats().held_messages;
    assert!(
        after > 0 && after + BOUND >= held,
        "{after} of {held} still held"
    );

    // Taken one by one, all of them come, once, in order.
    let seqs: Vec<u64> = messages(&mut bob).iter().map(|m| m.seq.get()).collect();
    assert_eq!(seqs, (first..N).collect::<Vec<_>>());
    assert_eq!(bob.stats().held_messages, 0);
    assert_eq!(bob.stats().messages_lost, 0);
}

#[test]
fn a_loss_comes_after_the_held_messages_before_it() {
    let data = burst();
    let mut bob = endpoint(config(1024), 2);
    bob.handle_datagram(at(0), addr(1), &data[0]);
    let first = messages(&mut bob).len() as u64;
    // Lost: datagram 1, repaired, and one half-way, never repaired.
    let never = data.len() / 2;
    for (i, d) in data.iter().enumerate().skip(2) {
        if i != never {
            bob.handle_datagram(at(i as u64 / 10), addr(1), d);
        }
    }
    bob.handle_datagram(at(100), addr(1), &data[1]);
    // The gap half-way expires before the application takes anything.
    bob.handle_timeout(at(100 + 60_000));
    let mut next = first;
    let mut lost = 0;
    while let Some(event) = bob.poll_event() {
        match event {
            EndpointEvent::Message(m) => {
                assert_eq!(m.seq.get(), next, "in order");
                next += 1;
            }
            EndpointEvent::Loss(l) => {
                assert_eq!(l.first.get(), next, "the loss after what came before it");
                assert_ne!(l.reason, LossReason::Evicted);
                next += l.count;
                lost += l.count;
            }
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(next, N);
    assert!(lost > 0 && lost < BOUND, "{lost} lost");
}
