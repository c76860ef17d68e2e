//! A flood of forged partial segments from thousands of sender ids, with
//! consistent headers so that every one reaches reassembly: the memory and
//! count gauges never pass the configured limits, expiry gives everything
//! back, and an honest sender gets through afterwards. A single hostile
//! sender cannot take more than its own budget from the others.
#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use crate::common::*;
use eventcast_proto::{Config, Endpoint, EndpointEvent};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const MAX_MESSAGE: usize = 16 * 1024;
const PER_SENDER: usize = 20_000;
const TOTAL: usize = 100_000;
const MAX_PARTIALS: usize = 4;
const MAX_SENDERS: usize = 64;

fn limits() -> Config {
    let mut c = config(1024);
    c.max_message_size = MAX_MESSAGE;
    c.max_partial_bytes_per_sender = PER_SENDER;
    c.max_partial_bytes = TOTAL;
    c.max_partial_messages_per_sender = MAX_PARTIALS;
    c.max_senders = MAX_SENDERS;
    c.message_ttl = Duration::from_millis(500);
    c
}

/// One forged segment with a consistent geometry: of a message of 2 to 32
/// segments of 16 to 1024 bytes (sometimes more than `MAX_MESSAGE` in all),
/// now and then a single-segment one, now and then a far-away seq.
fn forged(rng: &mut ChaCha8Rng, sender: u64) -> Vec<u8> {
    // (Past MAX_SEQ a frame is malformed: forged_extremes.rs covers that.)
    let seq = if rng.random_bool(0.02) {
        rng.random_range(0..=eventcast_proto::wire::MAX_SEQ)
    } else {
        rng.random_range(0..32)
    };
    let size = rng.random_range(16..=1024u32);
    if rng.random_bool(0.02) {
        return datagram(sender, seq, 0, 1, size, &vec![0xEE; size as usize]);
    }
    let count = rng.random_range(2..=32u32);
    let last = rng.random_range(1..=size);
    let len = size * (count - 1) + last;
    let index = rng.random_range(0..count);
    let payload = if index + 1 == count { last } else { size };
    datagram(
        sender,
        seq,
        index,
        count,
        len,
        &vec![0xEE; payload as usize],
    )
}

fn assert_within_limits(rx: &Endpoint) {
    let s = rx.stats();
    assert!(s.partial_bytes <= TOTAL as u64, "{s:?}");
    assert!(s.senders <= MAX_SENDERS as u64, "{s:?}");
    assert!(
        s.partial_messages <= (MAX_SENDERS * MAX_PARTIALS) as u64,
        "{s:?}"
    );
    assert_accounting(&s);
}

/// Sends a whole honest message from a fresh sender and expects it (the
/// forged senders' losses may be reported alongside).
fn honest_message_gets_through(rx: &mut Endpoint, now: Instant, sender: u64) {
    for d in segments(sender, 0, &body_of_len(MAX_MESSAGE), 1024) {
        rx.handle_datagram(now, addr(9), &d);
    }
    let got: Vec<_> = events(rx)
        .into_iter()
        .filter_map(|e| match e {
            EndpointEvent::Message(m) => Some(m),
            EndpointEvent::Loss(l) => {
                assert_ne!(l.sender.get(), sender, "{l:?}");
                None
            }
            // Forged copies that disagree are reported (issue 17).
            EndpointEvent::Conflict(c) => {
                assert_ne!(c.sender.get(), sender, "{c:?}");
                None
            }
            other => panic!("unexpected {other:?}"),
        })
        .collect();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].sender.get(), sender);
}

#[test]
fn thousands_of_forged_senders() {
    for seed in 0..4 {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut rx = endpoint(limits(), 0xFEED);
        let mut now = t0();
        let mut sent = 0;
        while sent < 20_000 {
            // a burst from one of 5000 ids, so that each builds up partials
            // before newer ones push it out
            let sender = rng.random_range(1..=5000);
            for _ in 0..rng.random_range(1..=16) {
                now += Duration::from_micros(rng.random_range(0..1000));
                let d = forged(&mut rng, sender);
                rx.handle_datagram(now, addr(rng.random_range(1..100)), &d);
                if rx.poll_timeout().is_some_and(|t| t <= now) {
                    rx.handle_timeout(now);
                }
                while rx.poll_transmit(now, &mut Vec::new()).is_some() {}
                // Every deadline handled: none may stay due (a timer left
                // due would spin the driver).
                assert!(rx.poll_timeout().is_none_or(|t| t > now));
                assert_within_limits(&rx);
                sent += 1;
            }
        }
        let s = rx.stats();
        assert!(s.senders_evicted > 1500, "{s:?}");
        assert!(s.dropped.over_budget > 0, "{s:?}");
        assert!(s.dropped.abandoned > 0, "{s:?}");
        assert!(s.dropped.message_too_large > 0, "{s:?}");
        assert!(s.dropped.expired > 0, "{s:?}");
        // forged single segments are complete messages with garbage bodies
        assert!(s.dropped.bad_body > 0, "{s:?}");
        assert_eq!(s.messages_received, 0);
        events(&mut rx);

        now += limits().message_ttl;
        rx.handle_timeout(now);
        let s = rx.stats();
        assert_eq!(s.partial_messages, 0);
        assert_eq!(s.partial_bytes, 0);
        assert_eq!(rx.poll_timeout(), None);
        honest_message_gets_through(&mut rx, now, 1_000_000);
    }
}

#[test]
fn one_hostile_sender_cannot_starve_the_others() {
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let mut rx = endpoint(limits(), 0xFEED);
    let mut now = t0();
    for _ in 0..5000 {
        now += Duration::from_micros(100);
        let d = forged(&mut rng, 666);
        rx.handle_datagram(now, addr(6), &d);
        let s = rx.stats();
        assert!(s.partial_bytes <= PER_SENDER as u64, "{s:?}");
        assert!(s.partial_messages <= MAX_PARTIALS as u64, "{s:?}");
    }
    assert!(rx.stats().dropped.over_budget > 0);
    honest_message_gets_through(&mut rx, now, 1);
}
