//! Heartbeats forged by a stranger or an impersonator (docs/PROTOCOL.md
//! §9.7, docs/SECURITY.md): a heartbeat alone never makes a sender
//! believed real, never gives it a home (but a young stream settled from
//! its own heartbeat has its home there once it is believed), and never
//! settles where a node's share of a stream begins when it comes from
//! elsewhere than the sender's home or latest data address.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;

use crate::common::*;
use eventcast_proto::wire::{Frame, NackEntry};
use eventcast_proto::{Endpoint, EndpointEvent, MessageSeq, SenderId};

const ME: u64 = 0xFEED;
const S: u64 = 0x5;

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

/// Runs `rx`'s timers every 5 ms from `from` until `until`, adding the
/// whole messages its NACKs ask for to `wanted`.
fn asked_while_idle(rx: &mut Endpoint, from: u64, until: u64, wanted: &mut BTreeSet<u64>) {
    for t in (from..until).step_by(5) {
        rx.handle_timeout(at(t));
        for (_, entries) in nacks(rx) {
            wanted.extend(asked(&entries));
        }
    }
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
    rx.handle_datagram(at(101), addr(7), &heartbeat_frame(S, 1, 0, 50));
    rx.handle_datagram(at(102), addr(1), &first[1]);
    // 1 and 2 are lost; 3 .. 40 arrive, with S's own heartbeats.
    let mut wanted = BTreeSet::new();
    let mut t = 102;
    for k in 3..40u64 {
        t = 103 + k * 5;
        rx.handle_datagram(at(t), addr(1), &event(S, k));
        if k % 10 == 0 {
            rx.handle_datagram(at(t), addr(1), &heartbeat_frame(S, k + 1, 0, t as u32));
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

/// A young heartbeat under an id a stranger made up was settled at once
/// and made the id believed: one datagram drew a loss report of 1.6
/// million messages never sent (`Overrun`, below the window). It still
/// draws the one NACK it earns (a real sender whose young stream this node
/// missed whole is asked for it: `sim/first_message_lost.rs`), no more.
#[test]
fn a_young_heartbeat_of_a_made_up_id_is_nobodys_loss() {
    let mut rx = endpoint(config(1024), ME);
    rx.handle_join(at(0));
    // Ten minutes in; each made-up id claims a stream 1 s old.
    let now = 600_000;
    let lead = (1u64 << 16) + (1 << 21);
    for (i, id) in [0xBAD, 0xBAE, 0xBAF].into_iter().enumerate() {
        let t = now + i as u64;
        rx.handle_datagram(at(t), addr(9), &heartbeat_frame(id, lead, lead / 2, 1000));
    }
    // Its trail at its lead: nothing repairable, so no NACK; its losses
    // wait too.
    rx.handle_datagram(
        at(now + 5),
        addr(9),
        &heartbeat_frame(0xBB0, 100, 100, 1000),
    );
    let mut targets = Vec::new();
    for t in (now + 10..now + 10_000).step_by(5) {
        rx.handle_timeout(at(t));
        targets.extend(nacks(&mut rx).into_iter().map(|(target, _)| target));
        let told = events(&mut rx);
        assert!(told.is_empty(), "events for made-up ids: {told:?}");
    }
    targets.sort_unstable();
    assert_eq!(targets, [0xBAD, 0xBAE, 0xBAF], "NACKs to made-up ids");
    let s = rx.stats();
    assert_eq!((s.messages_lost, s.loss_reports), (0, 0), "{s:?}");
    assert!(s.losses_waiting > 0, "{s:?}");
}

/// What a heartbeat settling a young stream still does for a real sender:
/// the stream is owed from 0, what this node missed is asked for, and the
/// repairs are delivered in order (the first makes the sender believed).
#[test]
fn a_young_stream_heard_first_through_a_heartbeat_is_owed_from_zero() {
    let mut rx = endpoint(config(1024), ME);
    rx.handle_join(at(0));
    // S began after this node joined; its first 3 messages were lost here.
    rx.handle_datagram(at(1000), addr(1), &heartbeat_frame(S, 3, 0, 20));
    let mut wanted = BTreeSet::new();
    for t in 1001..1100 {
        rx.handle_timeout(at(t));
        for (_, entries) in nacks(&mut rx) {
            wanted.extend(asked(&entries));
        }
    }
    assert_eq!(wanted, BTreeSet::from([0, 1, 2]));
    for k in 0..4 {
        rx.handle_datagram(at(1100), addr(1), &event(S, k));
    }
    let (seqs, losses) = delivered_and_lost(&events(&mut rx), S);
    assert_eq!((seqs, losses), (vec![0, 1, 2, 3], 0));
}

/// An impersonator's heartbeat from elsewhere settled a pending join with
/// the age it claimed: a late joiner made "owed from 0" asks for history
/// and reports it lost. Only the sender's own heartbeats (from its home)
/// settle the join.
#[test]
fn a_heartbeat_from_elsewhere_does_not_settle_the_join() {
    let mut rx = endpoint(config(1024), ME);
    rx.handle_join(at(0));
    // Ten minutes in, S (an hour old) is first heard at message 10.
    let now = 600_000;
    rx.handle_datagram(at(now), addr(1), &event(S, 10));
    rx.handle_datagram(at(now + 1), addr(1), &event(S, 11));
    // The impersonator, from elsewhere: a stream 1 s old.
    rx.handle_datagram(at(now + 2), addr(7), &heartbeat_frame(S, 12, 0, 1000));
    // S's own heartbeat, answering the request for one.
    rx.handle_datagram(at(now + 3), addr(1), &heartbeat_frame(S, 12, 0, 3_600_000));
    let mut wanted = BTreeSet::new();
    asked_while_idle(&mut rx, now + 4, now + 10_000, &mut wanted);
    assert!(wanted.is_empty(), "history asked for: {wanted:?}");
    let (seqs, losses) = delivered_and_lost(&events(&mut rx), S);
    assert_eq!((seqs, losses), (vec![10, 11], 0));
    let s = rx.stats();
    assert_eq!((s.late_joins, s.messages_lost), (1, 0), "{s:?}");
}

/// A sender heard so far only through its own young heartbeat has no
/// home yet; an impersonator's heartbeat from elsewhere then claimed a
/// trail past its first messages, which were dropped and reported lost
/// when they came (any address counted while there was no home).
#[test]
fn a_trail_from_elsewhere_before_any_data_loses_nothing() {
    let mut rx = endpoint(config(1024), ME);
    rx.handle_join(at(0));
    rx.handle_datagram(at(1000), addr(1), &heartbeat_frame(S, 3, 0, 20));
    rx.handle_datagram(at(1001), addr(7), &heartbeat_frame(S, 3, 3, 20));
    for k in 0..4 {
        rx.handle_datagram(at(1002), addr(1), &event(S, k));
    }
    let (seqs, losses) = delivered_and_lost(&events(&mut rx), S);
    assert_eq!((seqs, losses), (vec![0, 1, 2, 3], 0));
    assert_eq!(rx.stats().messages_lost, 0);
}

/// Another receiver's NACK for what a young stream heard through a
/// heartbeat missed holds this node's own NACK back, as for any sender it
/// asks.
#[test]
fn an_overheard_nack_holds_back_a_young_streams_asks() {
    use eventcast_proto::wire::Nack;
    let mut rx = endpoint(config(1024), ME);
    rx.handle_join(at(0));
    rx.handle_datagram(at(1000), addr(1), &heartbeat_frame(S, 3, 0, 20));
    let entries = vec![NackEntry::Messages {
        first: MessageSeq::new(0),
        count: 3,
    }];
    let mut nack = Vec::new();
    Nack::new(SenderId::new(0x77), SenderId::new(S), entries)
        .unwrap()
        .write(&mut nack);
    rx.handle_datagram(at(1000), addr(8), &nack);
    assert!(rx.stats().nacks_suppressed > 0, "{:?}", rx.stats());
}

/// An impersonator's young heartbeat, the first a fresh node hears of an
/// old sender, sets its join point: the node asks for history and
/// reports it lost. What this asserts is what should hold; rebuilding
/// the stream from data from elsewhere than the heartbeat made it hold,
/// but let a forged event take a real young stream's home
/// (`a_forged_event_after_a_young_heartbeat_takes_no_home`), so it was
/// taken back. A second fix (a young heartbeat held as a claim until data
/// from its own address bears it out; branch `fix-holes`, not merged) made
/// both ignored tests here hold, but review found that a forged event
/// after a real young heartbeat, or one resent while the sender is quiet,
/// then took the sender's home (the hole of
/// `a_forged_first_event_from_elsewhere_takes_no_home_for_good`), so its
/// later events were held for ever.
#[test]
#[ignore = "open (SECURITY.md, impersonator row): the fixes tried opened other holes (see the doc above)"]
fn a_young_heartbeat_from_elsewhere_than_the_data_sets_no_join_point() {
    let mut rx = endpoint(config(1024), ME);
    rx.handle_join(at(0));
    let now = 600_000;
    rx.handle_datagram(at(now), addr(7), &heartbeat_frame(S, 1000, 0, 0));
    // The real sender, an hour old, from its own address.
    for k in 1000..1010 {
        rx.handle_datagram(at(now + 1 + k - 1000), addr(1), &event(S, k));
    }
    rx.handle_datagram(
        at(now + 20),
        addr(1),
        &heartbeat_frame(S, 1010, 0, 3_600_000),
    );
    let mut wanted = BTreeSet::new();
    asked_while_idle(&mut rx, now + 21, now + 10_000, &mut wanted);
    assert!(wanted.is_empty(), "history asked for: {wanted:?}");
    let (seqs, losses) = delivered_and_lost(&events(&mut rx), S);
    assert_eq!((seqs, losses), ((1000..1010).collect::<Vec<_>>(), 0));
    assert_eq!(rx.stats().messages_lost, 0, "{:?}", rx.stats());
}

/// A made-up id's young heartbeat, then an event under that id from
/// another address: the heartbeat's claim of missed messages should be
/// nobody's loss (it is reported once the event makes the id believed:
/// 2,162,688 messages; SECURITY.md says so).
#[test]
#[ignore = "open (SECURITY.md, made-up senders): the fixes tried opened other holes (see the test above)"]
fn a_young_heartbeat_then_an_event_from_elsewhere_reports_nothing() {
    let mut rx = endpoint(config(1024), ME);
    rx.handle_join(at(0));
    let now = 600_000;
    let lead = (1u64 << 16) + (1 << 21);
    rx.handle_datagram(at(now), addr(9), &heartbeat_frame(0xBAD, lead, 0, 1000));
    rx.handle_datagram(at(now + 1), addr(8), &event(0xBAD, lead));
    for t in (now + 2..now + 10_000).step_by(5) {
        rx.handle_timeout(at(t));
        transmits(&mut rx);
    }
    let told = events(&mut rx);
    assert!(
        !told.iter().any(|e| matches!(e, EndpointEvent::Loss(_))),
        "{told:?}"
    );
    let s = rx.stats();
    assert_eq!((s.messages_lost, s.loss_reports), (0, 0), "{s:?}");
}

/// A forged first event from elsewhere made that address the sender's
/// home, and the real sender's heartbeats then never settled its pending
/// join: what the node missed of it was never asked for. Heartbeats from
/// where its latest data came tell the age too.
#[test]
fn a_forged_first_event_does_not_stop_the_real_heartbeats_settling_the_join() {
    let mut rx = endpoint(config(1024), ME);
    rx.handle_join(at(0));
    // The node joined before S began; S's 0 .. 2 are lost here, and a
    // forged copy of 3 comes first, from elsewhere.
    rx.handle_datagram(at(1000), addr(7), &event(S, 3));
    let mut wanted = BTreeSet::new();
    for k in 3..20u64 {
        let t = 1001 + k * 10;
        rx.handle_datagram(at(t), addr(1), &event(S, k));
        if k % 5 == 0 {
            rx.handle_datagram(at(t), addr(1), &heartbeat_frame(S, k + 1, 0, 100));
        }
        rx.handle_timeout(at(t + 1));
        for (_, entries) in nacks(&mut rx) {
            wanted.extend(asked(&entries));
        }
    }
    asked_while_idle(&mut rx, 1300, 3000, &mut wanted);
    assert!((0..3).all(|k| wanted.contains(&k)), "asked: {wanted:?}");
}

/// A real young stream heard first through its own heartbeat, then a
/// forged event under its id from elsewhere: the sender's own data still
/// vouches, and a message it later loses is asked for. (Rebuilding the
/// stream from data from another address than the heartbeat's, tried
/// against the holes of the two ignored tests above, let the forged event
/// take the home: message 15 was never asked for, 16 .. 29 held for ever.)
#[test]
fn a_forged_event_after_a_young_heartbeat_takes_no_home() {
    let mut rx = endpoint(config(1024), ME);
    rx.handle_join(at(0));
    rx.handle_datagram(at(1000), addr(1), &heartbeat_frame(S, 3, 0, 20));
    rx.handle_datagram(at(1001), addr(7), &event(S, 3));
    let mut wanted = BTreeSet::new();
    let mut t = 1002;
    for k in 0..30u64 {
        t = 1002 + k * 5;
        if k != 15 {
            rx.handle_datagram(at(t), addr(1), &event(S, k));
        }
        if k % 5 == 4 {
            rx.handle_datagram(
                at(t),
                addr(1),
                &heartbeat_frame(S, k + 1, 0, 20 + t as u32 - 1000),
            );
        }
        rx.handle_timeout(at(t + 1));
        for (_, entries) in nacks(&mut rx) {
            wanted.extend(asked(&entries));
        }
    }
    asked_while_idle(&mut rx, t + 2, t + 3000, &mut wanted);
    assert!(wanted.contains(&15), "asked: {wanted:?}, {:?}", rx.stats());
}

/// An impersonator's complete event, the first a node hears of an old
/// sender, from its own address: that address became the sender's home
/// for good, so the sender's own data vouched for nothing, and what the
/// node then missed of it (15 here) was never asked for nor reported: the
/// messages after it were held for ever. What this asserts is what should
/// hold; it is open (SECURITY.md, impersonator row): two attempts to make
/// a young heartbeat a claim (branch `fix-holes`) were found by review to
/// push the young-heartbeat holes above into this one. A home that moves
/// to an address heard on its own, data included, for three heartbeat
/// intervals (branch `fix-rehome`, not merged) made this hold if the
/// impersonator went quiet, but review found it let a flood that costs an
/// idle sender three heartbeats hand an impersonator an established
/// sender's home, kept by a datagram every three seconds; and the move
/// lowered what the sender vouched for below what was delivered, so a
/// resume point fell and messages were delivered twice.
#[test]
#[ignore = "open (SECURITY.md, impersonator row): a forged first event takes the sender's home"]
fn a_forged_first_event_from_elsewhere_takes_no_home_for_good() {
    let mut rx = endpoint(config(1024), ME);
    rx.handle_join(at(0));
    let now = 600_000;
    rx.handle_datagram(at(now), addr(7), &event(S, 3));
    let mut wanted = BTreeSet::new();
    let mut t = now;
    for k in 3..30u64 {
        t = now + 1 + k * 5;
        if k != 15 {
            rx.handle_datagram(at(t), addr(1), &event(S, k));
        }
        if k % 5 == 4 {
            rx.handle_datagram(at(t), addr(1), &heartbeat_frame(S, k + 1, 0, 3_600_000));
        }
        rx.handle_timeout(at(t + 1));
        for (_, entries) in nacks(&mut rx) {
            wanted.extend(asked(&entries));
        }
    }
    asked_while_idle(&mut rx, t + 2, t + 10_000, &mut wanted);
    assert!(wanted.contains(&15), "asked: {wanted:?}, {:?}", rx.stats());
}
