//! Heartbeats forged by a stranger or an impersonator (docs/PROTOCOL.md
//! §9.7, docs/SECURITY.md): a heartbeat from elsewhere than a sender's
//! data never makes it believed real, nor gives it a home.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;

use crate::common::*;
use eventcast_proto::wire::{Frame, Heartbeat, NackEntry};
use eventcast_proto::{Endpoint, EndpointEvent, MessageSeq, SenderId};

const ME: u64 = 0xFEED;
const S: u64 = 0x5;

fn heartbeat(sender: u64, lead: u64, trail: u64, age_ms: u32) -> Vec<u8> {
    let mut out = Vec::new();
    Heartbeat::new(
        SenderId::new(sender),
        MessageSeq::new(lead),
        MessageSeq::new(trail),
        age_ms,
    )
    .unwrap()
    .write(&mut out);
    out
}

/// A whole small event `seq` of `sender`.
fn event(sender: u64, seq: u64) -> Vec<u8> {
    segments(sender, seq, &body_of_len(60), 1024).remove(0)
}

/// The NACKs the endpoint sends now: (target, entries).
fn nacks(rx: &mut Endpoint) -> Vec<(u64, Vec<NackEntry>)> {
    transmits(rx)
        .iter()
        .filter_map(|d| match Frame::parse(d) {
            Ok(Frame::Nack(n)) => Some((n.target().get(), n.entries().to_vec())),
            _ => None,
        })
        .collect()
}

/// The whole messages `entries` ask for.
fn asked(entries: &[NackEntry]) -> impl Iterator<Item = u64> + '_ {
    entries.iter().flat_map(|e| match *e {
        NackEntry::Messages { first, count } => first.get()..first.get() + u64::from(count),
        _ => 0..0,
    })
}

/// The seqs of `sender` delivered, and the losses reported, in `events`.
fn delivered_and_lost(events: &[EndpointEvent], sender: u64) -> (Vec<u64>, usize) {
    let seqs = events
        .iter()
        .filter_map(|e| match e {
            EndpointEvent::Message(m) if m.sender.get() == sender => Some(m.seq.get()),
            _ => None,
        })
        .collect();
    let losses = events
        .iter()
        .filter(|e| matches!(e, EndpointEvent::Loss(_)))
        .count();
    (seqs, losses)
}

/// An impersonator's heartbeat from elsewhere, agreeing with a real
/// sender's data before that sender is believed, made it believed with
/// the impersonator's address as its home: the sender's own data no
/// longer vouched for anything, so the gap it opened was never asked for
/// nor reported (1 event delivered, the rest held for ever).
#[test]
fn a_heartbeat_from_elsewhere_does_not_take_a_senders_home() {
    let mut rx = endpoint(config(1024), ME);
    rx.handle_join(at(0));
    let first = segments(S, 0, &body_of_len(1500), 1024);
    rx.handle_datagram(at(100), addr(1), &first[0]);
    // The impersonator, from elsewhere: its lead agrees with S's data.
    rx.handle_datagram(at(101), addr(7), &heartbeat(S, 1, 0, 50));
    rx.handle_datagram(at(102), addr(1), &first[1]);
    // 1 and 2 are lost; 3 .. 40 arrive, with S's own heartbeats.
    let mut wanted = BTreeSet::new();
    let mut t = 102;
    for k in 3..40u64 {
        t = 103 + k * 5;
        rx.handle_datagram(at(t), addr(1), &event(S, k));
        if k % 10 == 0 {
            rx.handle_datagram(at(t), addr(1), &heartbeat(S, k + 1, 0, t as u32));
        }
        rx.handle_timeout(at(t + 1));
        for (_, entries) in nacks(&mut rx) {
            wanted.extend(asked(&entries));
        }
    }
    assert!(
        wanted.contains(&1) && wanted.contains(&2),
        "the gap S opened from its own address was not asked for: {wanted:?}, {:?}",
        rx.stats()
    );
    // The repairs come: everything is delivered, in order, nothing lost.
    for k in [1, 2] {
        rx.handle_datagram(at(t + 2), addr(1), &event(S, k));
    }
    let (seqs, losses) = delivered_and_lost(&events(&mut rx), S);
    assert_eq!(seqs, (0..40).collect::<Vec<_>>());
    assert_eq!(losses, 0);
    assert_eq!(rx.stats().held_messages, 0);
}
