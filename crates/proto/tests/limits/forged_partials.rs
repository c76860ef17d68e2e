//! A partial message an impersonator forged from elsewhere, past what the
//! sender itself vouched for (docs/PROTOCOL.md §9.7, docs/SECURITY.md):
//! when it expires it is dropped and counted (`dropped.expired`), but it
//! is not the sender's loss, and its seq stays open for the sender's own
//! message.
#![allow(clippy::unwrap_used)]

use crate::common::*;
use eventcast_proto::wire::{Frame, NackEntry};
use eventcast_proto::{Config, Endpoint, EndpointEvent};

const ME: u64 = 0xFEED;
const S: u64 = 0x5;

/// Where the forgery points: past S's 0 .. 10, well inside the window a
/// receiver takes as plausible.
const FORGED: u64 = 50;

/// A whole small event `seq` of S.
fn event(seq: u64) -> Vec<u8> {
    segments(S, seq, &body_of_len(60), 1024).remove(0)
}

/// The losses of S reported in `events`: (first, count).
fn losses(events: &[EndpointEvent]) -> Vec<(u64, u64)> {
    losses_of(events, S)
}

/// A node configured `c`, joined at 0, that heard S's 0 .. 10 from
/// addr(1), then at 200 ms an impersonator's first segment (of two) of
/// message [`FORGED`] from addr(7).
fn forged_after_ten(c: Config) -> Endpoint {
    let mut rx = endpoint(c, ME);
    rx.handle_join(at(0));
    for k in 0..10 {
        rx.handle_datagram(at(100 + k), addr(1), &event(k));
    }
    let forged = segments(S, FORGED, &body_of_len(1500), 1024);
    rx.handle_datagram(at(200), addr(7), &forged[0]);
    rx
}

/// S, established at addr(1), sent 0 .. 10 and says so in its heartbeats
/// (lead 10) while it pauses; an impersonator at addr(7) sends the first
/// segment of a two-segment message 50, which then expires. It was
/// reported lost (`Expired`) and marked finished, so S's own 50, when S
/// got there, was dropped as a duplicate: the forgery cost a real event
/// and drew a loss report S never earned.
/// S sends 10 ..= FORGED + 10 from its home from `until` ms on: every
/// message of it, 0 ..= FORGED + 10, is then delivered (in `told`),
/// nothing is reported lost or dropped as a duplicate, and the forged
/// partial was dropped once, on expiry.
fn sender_gets_there(rx: &mut Endpoint, until: u64, told: &mut Vec<EndpointEvent>, name: &str) {
    for k in 10..=FORGED + 10 {
        rx.handle_datagram(at(until + k), addr(1), &event(k));
    }
    rx.handle_timeout(at(until + 100));
    told.extend(events(rx));
    let mut got = messages_of(told, S);
    got.sort_unstable();
    assert_eq!(
        got,
        (0..=FORGED + 10).collect::<Vec<_>>(),
        "{name}: {:?}",
        rx.stats()
    );
    assert_eq!(losses(told), [], "{name}");
    let s = rx.stats();
    assert_eq!(
        (s.messages_lost, s.dropped.duplicate, s.dropped.expired),
        (0, 0, 1),
        "{name}: {s:?}"
    );
}

#[test]
fn an_expired_forged_partial_past_what_the_sender_vouched_for_is_not_its_loss() {
    for (name, c) in receiver_configs() {
        let ttl = c.message_ttl.as_millis() as u64;
        let mut rx = forged_after_ten(c);
        // S pauses past the forged message's time, heard through its
        // heartbeats (lead 10: it vouches for nothing past 9).
        let until = 200 + ttl + 1000;
        for t in (210..until).step_by(10) {
            if t % 500 == 0 {
                rx.handle_datagram(at(t), addr(1), &heartbeat_frame(S, 10, 0, t as u32));
            }
            rx.handle_timeout(at(t));
        }
        let mut told = events(&mut rx);
        assert_eq!(rx.stats().dropped.expired, 1, "{name}: {:?}", rx.stats());
        assert_eq!(losses(&told), [], "{name}: lost past what S vouched for");
        // S gets there, and past it.
        sender_gets_there(&mut rx, until, &mut told, name);
        assert_delivered_once(&told, S);
        let s = rx.stats();
        assert_eq!(s.partial_messages, 0, "{name}: {s:?}");
        assert_accounting(&s);
    }
}

/// The NACKs `rx` sends now: the messages and the segments' messages they
/// name.
fn asked(rx: &mut Endpoint) -> Vec<u64> {
    transmits(rx)
        .iter()
        .filter_map(|d| match Frame::parse(d) {
            Ok(Frame::Nack(n)) => Some(n.entries().to_vec()),
            _ => None,
        })
        .flatten()
        .flat_map(|e| match e {
            NackEntry::Messages { first, count } => first.get()..first.get() + u64::from(count),
            NackEntry::Segments { seq, .. } | NackEntry::SegmentBitmap { seq, .. } => {
                seq.get()..seq.get() + 1
            }
        })
        .collect()
}

/// What the forgery left open is missing as any message never heard: once
/// S vouches for it (its data runs past it), it is asked for, and if no
/// repair comes it is reported lost and the stream goes on past it, in
/// order. Nothing is asked for while only the forgery points there.
#[test]
fn a_forged_partials_seq_left_open_is_asked_for_once_the_sender_vouches_for_it() {
    let c = config(1024);
    let ttl = c.message_ttl.as_millis() as u64;
    let mut rx = forged_after_ten(c);
    let mut wanted: Vec<u64> = Vec::new();
    let until = 200 + ttl + 1000;
    for t in (210..until).step_by(10) {
        if t % 500 == 0 {
            rx.handle_datagram(at(t), addr(1), &heartbeat_frame(S, 10, 0, t as u32));
        }
        rx.handle_timeout(at(t));
        wanted.extend(asked(&mut rx));
    }
    assert_eq!(
        wanted,
        Vec::<u64>::new(),
        "asked for what S never vouched for"
    );
    assert_eq!(rx.stats().dropped.expired, 1, "{:?}", rx.stats());
    // S sends 10 .. 60, but its 50 is lost on the way.
    for k in (10..=FORGED + 10).filter(|&k| k != FORGED) {
        rx.handle_datagram(at(until + k), addr(1), &event(k));
    }
    let mut told = events(&mut rx);
    for t in (until + 100..until + 100 + 2 * ttl).step_by(5) {
        rx.handle_timeout(at(t));
        wanted.extend(asked(&mut rx));
        told.extend(events(&mut rx));
    }
    assert!(wanted.contains(&FORGED), "{wanted:?}, {:?}", rx.stats());
    assert_eq!(losses(&told), [(FORGED, 1)], "{:?}", rx.stats());
    let want: Vec<u64> = (0..=FORGED + 10).filter(|&k| k != FORGED).collect();
    assert_eq!(messages_of(&told, S), want, "{:?}", rx.stats());
    let s = rx.stats();
    assert_eq!((s.held_messages, s.dropped.duplicate), (0, 0), "{s:?}");
    assert_accounting(&s);
}

/// S falls silent after 0 .. 10 (long enough to count as gone), while an
/// impersonator's partial message 50 waits. It was asked for, and with
/// the asks unanswered and S gone, given up as `Unrecoverable` and
/// reported lost before it could expire: S's own 50, when S came back,
/// was dropped as a duplicate.
#[test]
fn a_forged_partial_is_not_given_up_while_the_sender_pauses() {
    for (name, c) in receiver_configs() {
        let ttl = c.message_ttl.as_millis() as u64;
        let mut rx = forged_after_ten(c);
        let mut wanted: Vec<u64> = Vec::new();
        let until = 200 + 2 * ttl;
        for t in (210..until).step_by(5) {
            rx.handle_timeout(at(t));
            wanted.extend(asked(&mut rx));
        }
        let mut told = events(&mut rx);
        assert_eq!(losses(&told), [], "{name}: lost past what S vouched for");
        assert_eq!(wanted, Vec::<u64>::new(), "{name}: asked for");
        sender_gets_there(&mut rx, until, &mut told, name);
        let s = rx.stats();
        assert_accounting(&s);
    }
}

/// S falls silent after 0 .. 10, with an impersonator's partial message
/// 50 waiting (`message_ttl` is long here), until a newcomer takes S's
/// place in a full table. What S left was reported lost (`Evicted`), the
/// forged 50 with it, though S never said it sent it.
#[test]
fn a_forgotten_senders_forged_partial_is_not_its_loss() {
    let mut c = config(1024);
    c.max_senders = 1;
    c.message_ttl = std::time::Duration::from_secs(10);
    let mut rx = forged_after_ten(c);
    for t in (210..3500).step_by(10) {
        rx.handle_timeout(at(t));
    }
    // S is gone by now (silent 3 heartbeat intervals): a newcomer takes
    // its place.
    let other = segments(0x6, 0, &body_of_len(60), 1024).remove(0);
    rx.handle_datagram(at(3500), addr(2), &other);
    let told = events(&mut rx);
    let s = rx.stats();
    assert_eq!(s.senders_evicted, 1, "{s:?}");
    assert_eq!(losses(&told), [], "lost past what S vouched for");
    assert_eq!(messages_of(&told, S), (0..10).collect::<Vec<_>>());
    assert_eq!((s.messages_lost, s.dropped.abandoned), (0, 1), "{s:?}");
    // S comes back (in the newcomer's place, heard once): it resumes
    // where it was, and its own 50 is delivered with the rest.
    for k in 10..=FORGED + 10 {
        rx.handle_datagram(at(3600 + k), addr(1), &event(k));
    }
    let told = events(&mut rx);
    assert_eq!(losses(&told), []);
    assert_eq!(
        messages_of(&told, S),
        (10..=FORGED + 10).collect::<Vec<_>>()
    );
    let s = rx.stats();
    assert_eq!((s.messages_lost, s.dropped.duplicate), (0, 0), "{s:?}");
    assert_accounting(&s);
}
