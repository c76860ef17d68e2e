//! The handshake (PROTOCOL.md §16.8): a keyed node accepts a sender's
//! datagrams only once the sender has answered its challenge, from the
//! packet number the answer vouches for on. Replays of a run that has
//! ended, and of a live sender's traffic from before the node started,
//! deliver nothing; what is held meanwhile is bounded.
#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use eventcast_proto::crypto::{Encryption, Handshake, InsecureSeededNonces};
use eventcast_proto::wire::{Frame, SealedFrame};
use eventcast_proto::{Endpoint, EndpointEvent};

use crate::common::*;
use crate::sealing::*;

/// Every datagram `e` has ready at `now`, unpaced.
fn out(e: &mut Endpoint, now: Instant) -> Vec<Vec<u8>> {
    e.set_paced(false);
    let mut buf = Vec::new();
    let all = std::iter::from_fn(|| e.poll_transmit(now, &mut buf).map(|_| buf.clone())).collect();
    e.set_paced(true);
    all
}

fn feed(e: &mut Endpoint, now: Instant, datagrams: &[Vec<u8>]) {
    for d in datagrams {
        e.handle_datagram(now, addr(1), d);
    }
}

/// The messages among `e`'s events (losses and reports skipped).
fn delivered(e: &mut Endpoint) -> Vec<String> {
    events(e)
        .into_iter()
        .filter_map(|ev| match ev {
            EndpointEvent::Message(m) => Some(m.name.to_string()),
            _ => None,
        })
        .collect()
}

/// An endpoint with the handshake and these settings.
fn with_handshake(id: u64, hs: Handshake) -> Endpoint {
    encrypted(
        config(1024),
        id,
        Encryption::new(ring(&[key(1)]), InsecureSeededNonces::new(id)).handshake(hs),
    )
}

/// Runs `e`'s timers up to `until`, dropping whatever it sends.
fn idle_until(e: &mut Endpoint, until: Instant) {
    while let Some(t) = e.poll_timeout().filter(|t| *t <= until) {
        e.handle_timeout(t);
        out(e, t);
        events(e);
    }
}

#[test]
fn a_live_sender_is_delivered_once_it_answers() {
    let mut tx = sealed(config(1024), 0xAB, &[key(1)]);
    let mut rx = sealed(config(1024), 1, &[key(1)]);
    for name in ["a", "b", "c"] {
        tx.emit(t0(), name, &[]).unwrap();
    }
    feed(&mut rx, t0(), &out(&mut tx, t0()));
    assert!(delivered(&mut rx).is_empty(), "held until the answer");
    let s = rx.stats();
    assert!(s.handshake_held >= 1 && s.handshake_held_bytes > 0, "{s:?}");
    let challenge = out(&mut rx, t0());
    assert_eq!(challenge.len(), 1);
    assert_eq!(rx.stats().challenges_sent, 1);
    feed(&mut tx, at(1), &challenge);
    let answer = out(&mut tx, at(1));
    assert_eq!(answer.len(), 1);
    assert_eq!(tx.stats().answers_sent, 1);
    feed(&mut rx, at(2), &answer);
    assert_eq!(delivered(&mut rx), ["a", "b", "c"]);
    tx.emit(at(3), "d", &[]).unwrap();
    feed(&mut rx, at(3), &out(&mut tx, at(3)));
    assert_eq!(delivered(&mut rx), ["d"], "no second challenge");
    let s = rx.stats();
    assert_eq!((s.senders_verified, s.challenges_sent), (1, 1));
    assert_eq!((s.handshake_held, s.handshake_held_bytes), (0, 0));
    assert_eq!(s.dropped.total(), 0, "{s:?}");
    assert_accounting(&s);
}

/// A node that skips the handshake (`danger_skip_handshake`, one-way
/// links) challenges no one, but still answers: it once counted the
/// challenges of nodes with the handshake as malformed, and those nodes
/// then held and discarded everything it sent.
#[test]
fn a_node_that_skips_the_handshake_still_answers_challenges() {
    let mut skip = sealed_one_way(config(1024), 0xAB, &[key(1)]);
    let mut rx = sealed(config(1024), 1, &[key(1)]);
    skip.emit(t0(), "a", &[]).unwrap();
    feed(&mut rx, t0(), &out(&mut skip, t0()));
    let challenge = out(&mut rx, t0());
    assert_eq!(challenge.len(), 1);
    feed(&mut skip, at(1), &challenge);
    let answer = out(&mut skip, at(1));
    assert_eq!(answer.len(), 1, "answered");
    assert_eq!(skip.stats().answers_sent, 1);
    assert_eq!(skip.stats().dropped.malformed, 0);
    feed(&mut rx, at(2), &answer);
    assert_eq!(delivered(&mut rx), ["a"]);
    assert_eq!(rx.stats().senders_verified, 1);

    // The other way, nothing is held and no challenge goes out.
    rx.emit(at(3), "b", &[]).unwrap();
    feed(&mut skip, at(3), &out(&mut rx, at(3)));
    assert_eq!(delivered(&mut skip), ["b"]);
    assert!(out(&mut skip, at(3)).is_empty(), "no challenge");
    let s = skip.stats();
    assert_eq!((s.challenges_sent, s.handshake_held), (0, 0));
    assert_eq!(s.dropped.total(), 0, "{s:?}");
    assert_eq!(rx.stats().dropped.total(), 0, "{:?}", rx.stats());
}

#[test]
fn challenges_and_answers_travel_sealed() {
    let mut tx = sealed(config(1024), 0xAB, &[key(1)]);
    let mut rx = sealed(config(1024), 1, &[key(1)]);
    tx.emit(t0(), "a", &[]).unwrap();
    feed(&mut rx, t0(), &out(&mut tx, t0()));
    let challenge = out(&mut rx, t0());
    assert!(SealedFrame::parse(&challenge[0]).is_ok());
    feed(&mut tx, t0(), &challenge);
    assert!(SealedFrame::parse(&out(&mut tx, t0())[0]).is_ok());
    // In the clear, either one is dropped as malformed.
    let mut plain = endpoint(config(1024), 5);
    let c = eventcast_proto::wire::Challenge {
        from: eventcast_proto::SenderId::new(9),
        target: eventcast_proto::SenderId::new(5),
        nonce: [1; 16],
        waited_ms: 0,
    };
    let mut bytes = Vec::new();
    c.write(&mut bytes);
    assert!(matches!(Frame::parse(&bytes), Ok(Frame::Challenge(_))));
    plain.handle_datagram(t0(), addr(1), &bytes);
    assert_eq!(plain.stats().dropped.malformed, 1);
    assert!(
        out(&mut plain, t0()).is_empty(),
        "no answer to a plaintext challenge"
    );
}

#[test]
fn a_replayed_run_that_has_ended_delivers_nothing() {
    let hs = Handshake::default();
    // A run, captured; then it ends (its sender is gone).
    let mut old = sealed(config(1024), 0xD0, &[key(1)]);
    for _ in 0..20 {
        old.emit_body(body_of_len(600)).unwrap();
    }
    let mut captured = out(&mut old, t0());
    drop(old);
    // Two kept back, to replay later.
    let last = captured.pop().unwrap();
    let next_to_last = captured.pop().unwrap();
    let mut rx = with_handshake(1, hs);
    let start = at(60_000);
    feed(&mut rx, start, &captured);
    let mut challenges = out(&mut rx, start).len();
    // No answer ever comes: the node asks again, backing off, then gives up.
    let give_up = start + hs.max_wait();
    while let Some(t) = rx.poll_timeout().filter(|t| *t <= give_up) {
        rx.handle_timeout(t);
        challenges += out(&mut rx, t).len();
    }
    assert!(delivered(&mut rx).is_empty());
    let s = rx.stats();
    assert_eq!(challenges as u32, hs.attempts);
    assert_eq!(s.challenges_sent, u64::from(hs.attempts));
    assert_eq!(s.senders_unanswered, 1);
    assert_eq!(s.dropped.unverified, captured.len() as u64);
    assert_eq!((s.handshake_held, s.handshake_held_bytes), (0, 0));
    // Replayed again in the cool-down: dropped at once, no new challenge.
    let later = give_up + Duration::from_millis(1);
    feed(&mut rx, later, &[next_to_last]);
    assert!(out(&mut rx, later).is_empty());
    assert_eq!(rx.stats().dropped.unverified, captured.len() as u64 + 1);
    assert!(delivered(&mut rx).is_empty());
    // After it: a new round, as unanswered as the first.
    let after = later + hs.cooldown;
    feed(&mut rx, after, &[last]);
    assert_eq!(out(&mut rx, after).len(), 1, "challenged again");
    idle_until(&mut rx, after + hs.max_wait());
    assert!(delivered(&mut rx).is_empty());
    assert_eq!(rx.stats().senders_unanswered, 2);
}

#[test]
fn a_live_senders_earlier_traffic_is_not_vouched_for() {
    let mut tx = sealed(config(1024), 0xAB, &[key(1)]);
    for i in 0..10 {
        tx.emit(t0(), "old", &[bson::Bson::Int32(i)]).unwrap();
    }
    let captured = out(&mut tx, t0());
    // The sender runs on (heartbeats); ten seconds later a node starts,
    // and the captured datagrams are replayed to it.
    let start = at(10_000);
    idle_until(&mut tx, start);
    let mut rx = sealed(config(1024), 1, &[key(1)]);
    rx.handle_join(start);
    feed(&mut rx, start, &captured);
    feed(&mut tx, start, &out(&mut rx, start));
    let answer = out(&mut tx, start);
    feed(&mut rx, start, &answer);
    assert!(delivered(&mut rx).is_empty());
    let s = rx.stats();
    assert_eq!(s.senders_verified, 1);
    assert_eq!(s.dropped.unvouched, captured.len() as u64, "{s:?}");
    // Replayed after the answer: still refused. The live stream goes on.
    feed(&mut rx, start, &captured);
    tx.emit(start, "new", &[]).unwrap();
    let got = converse(&mut tx, &mut rx, start, start + Duration::from_secs(5));
    assert_eq!(got, ["new"]);
    let s = rx.stats();
    assert_eq!(
        s.dropped.unvouched + s.dropped.replayed,
        2 * captured.len() as u64
    );
    assert_accounting(&s);
}

#[test]
fn what_is_held_is_bounded() {
    let mut hs = Handshake::default();
    hs.max_held_per_sender = 5;
    hs.max_held_bytes = 3_000;
    let mut rx = with_handshake(1, hs);
    let mut total = 0;
    for id in [0xA1, 0xA2] {
        let mut tx = sealed(config(1024), id, &[key(1)]);
        for _ in 0..8 {
            tx.emit_body(body_of_len(600)).unwrap();
        }
        let d = out(&mut tx, t0());
        total += d.len() as u64;
        feed(&mut rx, t0(), &d);
        let s = rx.stats();
        assert!(s.handshake_held_bytes <= hs.max_held_bytes as u64, "{s:?}");
    }
    let s = rx.stats();
    assert!(s.handshake_held <= 5, "{s:?}");
    assert_eq!(s.handshake_held + s.dropped.unverified, total, "{s:?}");
    assert!(s.dropped.unverified >= total - 5);
}

/// With as many rounds in progress as `max_senders` (senders that never
/// answer, such as replays of runs that have ended), a new sender's
/// datagrams are dropped and counted apart (`rounds_full`); once a round
/// ends, the new sender is challenged.
#[test]
fn a_full_table_of_rounds_is_counted_apart() {
    let mut c = config(1024);
    c.max_senders = 2;
    let mut rx = encrypted(
        c,
        1,
        Encryption::new(ring(&[key(1)]), InsecureSeededNonces::new(1)),
    );
    let mut senders: Vec<Endpoint> = [0xA1, 0xA2, 0xA3]
        .map(|id| sealed(config(1024), id, &[key(1)]))
        .into();
    let mut emit = |i: usize, now: Instant| {
        senders[i].emit(now, "x", &[]).unwrap();
        out(&mut senders[i], now)
    };
    feed(&mut rx, t0(), &emit(0, t0()));
    feed(&mut rx, t0(), &emit(1, t0()));
    let late = emit(2, t0());
    feed(&mut rx, t0(), &late);
    let s = rx.stats();
    assert_eq!(s.rounds_full, late.len() as u64, "{s:?}");
    assert_eq!(s.dropped.unverified, late.len() as u64, "{s:?}");
    assert_eq!(out(&mut rx, t0()).len(), 2, "two challenges");
    // The first two never answer: given up, and the third is challenged.
    let after = t0() + Handshake::default().max_wait() + Duration::from_millis(1);
    idle_until(&mut rx, after);
    assert_eq!(rx.stats().senders_unanswered, 2);
    feed(&mut rx, after, &emit(2, after));
    assert_eq!(out(&mut rx, after).len(), 1, "challenged now");
    assert_eq!(rx.stats().rounds_full, late.len() as u64);
}

#[test]
fn many_challengers_share_answers() {
    let mut tx = sealed(config(1024), 0xAB, &[key(1)]);
    tx.emit(t0(), "hello", &[]).unwrap();
    let data = out(&mut tx, t0());
    let mut nodes: Vec<Endpoint> = (0..100)
        .map(|i| sealed(config(1024), 1000 + i, &[key(1)]))
        .collect();
    let mut challenges = Vec::new();
    for rx in &mut nodes {
        feed(rx, t0(), &data);
        challenges.extend(out(rx, t0()));
    }
    assert_eq!(challenges.len(), 100);
    feed(&mut tx, t0(), &challenges);
    // Answers: one at once, then one per interval, 32 challenges each.
    let mut answers = out(&mut tx, t0());
    idle_until_collect(&mut tx, at(1_000), &mut answers);
    assert_eq!(answers.len(), 4, "ceil(100 / 32)");
    assert_eq!(tx.stats().answers_sent, 4);
    for rx in &mut nodes {
        feed(rx, at(1_000), &answers);
        assert_eq!(delivered(rx), ["hello"]);
        assert_eq!(rx.stats().senders_verified, 1);
    }
}

/// Runs `a` and `b` up to `until`, each hearing everything the other
/// sends; returns the names `b` delivered.
fn converse(a: &mut Endpoint, b: &mut Endpoint, from: Instant, until: Instant) -> Vec<String> {
    let mut now = from;
    let mut got = Vec::new();
    loop {
        for _ in 0..8 {
            let (x, y) = (out(a, now), out(b, now));
            if x.is_empty() && y.is_empty() {
                break;
            }
            feed(b, now, &x);
            feed(a, now, &y);
        }
        got.extend(delivered(b));
        events(a);
        let next = [a.poll_timeout(), b.poll_timeout()]
            .into_iter()
            .flatten()
            .min();
        match next.filter(|t| *t <= until) {
            Some(t) => {
                now = now.max(t);
                a.handle_timeout(now);
                b.handle_timeout(now);
            }
            None => return got,
        }
    }
}

/// Runs `e`'s timers up to `until`, keeping what it sends.
fn idle_until_collect(e: &mut Endpoint, until: Instant, sent: &mut Vec<Vec<u8>>) {
    while let Some(t) = e.poll_timeout().filter(|t| *t <= until) {
        e.handle_timeout(t);
        sent.extend(out(e, t).into_iter().filter(|d| is_answer(d)));
    }
}

/// Whether `d` (sealed) is at least as long as an answer with one entry
/// and not a heartbeat: answers are the only such datagrams an idle
/// sender sends (heartbeats are 83 bytes sealed, answers at least 97).
fn is_answer(d: &[u8]) -> bool {
    d.len() >= 15 + 32 + 50
}

/// Datagrams held for the answer (copied out of the buffer they were
/// opened into) and the ones opened after it (read from that buffer) are
/// delivered intact, whatever their sizes and order.
#[test]
fn held_and_later_datagrams_arrive_intact() {
    let mut tx = sealed(config(1024), 0xAB, &[key(1)]);
    let mut rx = sealed(config(1024), 1, &[key(1)]);
    let arg = |n: usize, b: u8| vec![binary(vec![b; n])];
    tx.emit(t0(), "held-long", &arg(2500, 1)).unwrap();
    tx.emit(t0(), "held-short", &arg(3, 2)).unwrap();
    feed(&mut rx, t0(), &out(&mut tx, t0()));
    let challenge = out(&mut rx, t0());
    feed(&mut tx, at(1), &challenge);
    tx.emit(at(1), "later-long", &arg(1800, 3)).unwrap();
    tx.emit(at(1), "later-short", &arg(0, 4)).unwrap();
    // The answer first, then the later events.
    feed(&mut rx, at(2), &out(&mut tx, at(1)));
    let got: Vec<_> = events(&mut rx)
        .into_iter()
        .filter_map(|ev| match ev {
            EndpointEvent::Message(m) => Some((m.name.to_string(), m.args.clone())),
            _ => None,
        })
        .collect();
    let want = [
        ("held-long", arg(2500, 1)),
        ("held-short", arg(3, 2)),
        ("later-long", arg(1800, 3)),
        ("later-short", arg(0, 4)),
    ];
    assert_eq!(got.len(), want.len(), "{got:?}");
    for ((name, args), (want_name, want_args)) in got.iter().zip(want) {
        assert_eq!(name, want_name);
        assert_eq!(*args, want_args);
    }
    let s = rx.stats();
    assert_eq!(s.dropped.total(), 0, "{s:?}");
    assert_accounting(&s);
}

#[test]
fn handshake_durations_longer_than_a_clock_counts_do_not_overflow() {
    let mut hs = Handshake::default();
    hs.first_wait = Duration::MAX;
    hs.cooldown = Duration::MAX;
    hs.slack = Duration::MAX;
    hs.answer_interval = Duration::MAX;
    let mut tx = with_handshake(0xAB, hs);
    let mut rx = with_handshake(1, hs);
    tx.emit(t0(), "a", &[]).unwrap();
    feed(&mut rx, t0(), &out(&mut tx, t0()));
    let challenge = out(&mut rx, t0());
    assert_eq!(challenge.len(), 1);
    feed(&mut tx, at(1), &challenge);
    feed(&mut rx, at(2), &out(&mut tx, at(1)));
    assert_eq!(delivered(&mut rx), ["a"]);
    // The next timers fire, and arm others.
    let mut fired = 0;
    for e in [&mut tx, &mut rx] {
        while let Some(due) = e.poll_timeout().filter(|_| fired < 8) {
            e.handle_timeout(due);
            out(e, due);
            fired += 1;
        }
    }
    assert!(fired > 0, "no timer armed");
}

/// Settings whose bytes held fill up with one event of 40 datagrams of
/// 1,024 bytes (the per-sender limit, 256, is far).
fn small_held_budget() -> Handshake {
    let mut hs = Handshake::default();
    hs.max_held_bytes = 20_000;
    hs
}

/// One sender alone may hold all the room (its large first event is held
/// whole), but a newer sender's datagrams take room from it rather than
/// being dropped: they once were, for as long as the first held on (4.7 s
/// for a replay of a run that has ended), and the newer sender's events
/// waited for repairs.
#[test]
fn one_sender_does_not_keep_newer_ones_out_of_the_held_bytes() {
    let hs = small_held_budget();
    let mut rx = with_handshake(1, hs);
    let mut big = sealed(config(1024), 0xB1, &[key(1)]);
    big.emit(t0(), "big", &[binary(vec![7; 40 * 1024])])
        .unwrap();
    let big_datagrams = out(&mut big, t0());
    feed(&mut rx, t0(), &big_datagrams);
    let s = rx.stats();
    assert!(
        s.handshake_held_bytes > 19_000,
        "alone, all the room: {s:?}"
    );
    assert_eq!(s.held_displaced, 0);
    let refused_alone = s.dropped.unverified;

    let mut small = sealed(config(1024), 0xB2, &[key(1)]);
    small.emit(t0(), "small", &[binary(vec![8; 800])]).unwrap();
    let small_datagrams = out(&mut small, t0());
    feed(&mut rx, t0(), &small_datagrams);
    let s = rx.stats();
    assert_eq!(s.held_displaced, 1, "one of big's, for small's: {s:?}");
    assert_eq!(s.dropped.unverified, refused_alone + 1, "{s:?}");
    assert!(s.handshake_held_bytes <= hs.max_held_bytes as u64, "{s:?}");
    assert_accounting(&s);

    // Only the newer sender answers: its event goes on at once.
    let challenges = out(&mut rx, t0());
    assert_eq!(challenges.len(), 2);
    feed(&mut small, at(1), &challenges);
    feed(&mut rx, at(2), &out(&mut small, at(1)));
    assert_eq!(delivered(&mut rx), ["small"]);
    assert_eq!(rx.stats().senders_verified, 1);
}

/// A large first event of a sender heard alone is held whole, however
/// close to the limit it comes, and delivered whole once the sender
/// answers: nothing dropped, nothing to repair.
#[test]
fn a_lone_senders_large_first_event_is_held_whole() {
    let mut rx = with_handshake(1, small_held_budget());
    let mut tx = sealed(config(1024), 0xB1, &[key(1)]);
    tx.emit(t0(), "big", &[binary(vec![7; 17 * 1024])]).unwrap();
    feed(&mut rx, t0(), &out(&mut tx, t0()));
    feed(&mut tx, at(1), &out(&mut rx, t0()));
    feed(&mut rx, at(2), &out(&mut tx, at(1)));
    assert_eq!(delivered(&mut rx), ["big"]);
    let s = rx.stats();
    assert_eq!((s.held_displaced, s.dropped.total()), (0, 0), "{s:?}");
}

/// An answer that comes after the node gave its sender up (the sender was
/// alive, but too slow for every challenge of the round) is counted
/// (`answers_late`); a second answer to a round already answered (a
/// repeated challenge crossed the first answer) is normal, and is not.
#[test]
fn a_late_answer_is_counted_and_a_second_one_is_not() {
    let hs = Handshake::default();
    let mut tx = sealed(config(1024), 0xAB, &[key(1)]);
    let mut rx = with_handshake(1, hs);
    tx.emit(t0(), "a", &[]).unwrap();
    feed(&mut rx, t0(), &out(&mut tx, t0()));
    let first = out(&mut rx, t0());
    let give_up = t0() + hs.max_wait();
    idle_until(&mut rx, give_up);
    assert_eq!(rx.stats().senders_unanswered, 1);
    feed(&mut tx, give_up, &first);
    feed(&mut rx, give_up, &out(&mut tx, give_up));
    let s = rx.stats();
    assert_eq!((s.answers_received, s.answers_late), (1, 1), "{s:?}");
    assert!(delivered(&mut rx).is_empty());

    // Answered twice, to the first challenge and to its repeat.
    let mut tx = sealed(config(1024), 0xAC, &[key(1)]);
    let mut rx = with_handshake(1, hs);
    tx.emit(t0(), "b", &[]).unwrap();
    feed(&mut rx, t0(), &out(&mut tx, t0()));
    let first = out(&mut rx, t0());
    let repeat_at = t0() + hs.first_wait;
    rx.handle_timeout(repeat_at);
    let repeat = out(&mut rx, repeat_at);
    assert_eq!(repeat.len(), 1);
    feed(&mut tx, repeat_at, &first);
    let answers = |tx: &mut Endpoint, now| -> Vec<_> {
        out(tx, now).into_iter().filter(|d| is_answer(d)).collect()
    };
    let answer = answers(&mut tx, repeat_at);
    let later = repeat_at + hs.answer_interval;
    feed(&mut tx, later, &repeat);
    let again = answers(&mut tx, later);
    assert_eq!((answer.len(), again.len()), (1, 1));
    feed(&mut rx, later, &answer);
    feed(&mut rx, later, &again);
    assert_eq!(delivered(&mut rx), ["b"]);
    let s = rx.stats();
    assert_eq!((s.answers_received, s.senders_verified), (2, 1), "{s:?}");
    assert_eq!(s.answers_late, 0);
}
