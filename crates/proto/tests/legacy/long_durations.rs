//! The legacy endpoint's durations (`limits.message_ttl`,
//! `sent_retention`) are given straight, unvalidated: longer than
//! `MAX_DURATION` is taken as that, so that a deadline (now plus one)
//! cannot overflow, here with `Duration::MAX`.
#![allow(clippy::unwrap_used)]

use std::num::NonZeroUsize;
use std::time::{Duration, Instant};

use bson::{Bson, DateTime};
use eventcast_proto::legacy::{
    LegacyEndpoint, LegacyEndpointConfig, LegacyEndpointEvent, LegacyId, LegacyIdentity,
};

fn node(id: &str, port: u16) -> LegacyEndpoint {
    let identity = LegacyIdentity {
        id: LegacyId::new(id),
        host: "127.0.0.1".into(),
        port,
        hostname: "h".into(),
    };
    let mut config = LegacyEndpointConfig::new(identity, [7; 32]);
    config.max_payload_size = NonZeroUsize::new(256).unwrap();
    config.limits.message_ttl = Duration::MAX;
    config.sent_retention = Duration::MAX;
    LegacyEndpoint::new(config)
}

#[test]
fn durations_longer_than_a_clock_counts_do_not_overflow() {
    let now = Instant::now();
    let mut tx = node("00000000000000a1", 41501);
    let mut rx = node("00000000000000b2", 41502);
    tx.emit(
        now,
        DateTime::now(),
        "long",
        &[Bson::String("x".repeat(2_000))],
    )
    .unwrap();
    let mut datagrams = Vec::new();
    while let Some(t) = tx.poll_transmit() {
        datagrams.push(t.contents);
    }
    assert!(datagrams.len() > 2);
    // One segment late: the receiver holds a partial message with a
    // deadline, then completes it.
    let late = datagrams.remove(1);
    let from = "127.0.0.1:41501".parse().unwrap();
    for d in &datagrams {
        rx.handle_datagram(now, from, d);
    }
    assert_eq!(rx.stats().partial_messages, 1);
    assert!(rx.poll_timeout().unwrap() > now);
    rx.handle_datagram(now, from, &late);
    let got: Vec<_> = std::iter::from_fn(|| rx.poll_event()).collect();
    assert!(
        matches!(&got[..], [LegacyEndpointEvent::Event(e)] if e.event.name() == "long"),
        "{got:?}"
    );
    // The sender's kept copy expires at its (bounded) deadline.
    let due = tx.poll_timeout().unwrap();
    assert!(due > now);
    tx.handle_timeout(due, DateTime::now());
}
