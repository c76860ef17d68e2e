//! Duration settings are bounded (`MAX_DURATION`): every timer an endpoint
//! arms is `now` plus one of them, and that must not overflow an `Instant`.
//! At the bound, two endpoints exchange a message in segments, one of
//! them late, and the sender's timers fire and re-arm; a nanosecond over
//! it, each setting is refused by name.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use crate::common::*;
use eventcast_proto::{Config, ConfigError, Endpoint, EndpointEvent, SenderId, MAX_DURATION};

/// Every duration setting of `Config`, by name.
fn durations(c: &mut Config) -> [(&'static str, &mut Duration); 8] {
    [
        ("message_ttl", &mut c.message_ttl),
        ("nack_backoff_min", &mut c.nack_backoff_min),
        ("nack_backoff_max", &mut c.nack_backoff_max),
        ("repair_timeout", &mut c.repair_timeout),
        ("retransmit_window", &mut c.retransmit_window),
        ("repair_linger", &mut c.repair_linger),
        ("heartbeat_min", &mut c.heartbeat_min),
        ("heartbeat_max", &mut c.heartbeat_max),
    ]
}

fn at_the_bound() -> Config {
    let mut c = Config::default();
    for (_, d) in durations(&mut c) {
        *d = MAX_DURATION;
    }
    c
}

#[test]
fn durations_at_the_bound_arm_timers_without_overflow() {
    let config = at_the_bound();
    let mut tx = endpoint(config.clone(), 0xA);
    let mut rx = endpoint(config, 0xB);
    tx.emit(t0(), "long", &[binary(vec![7; 10_000])]).unwrap();
    let mut datagrams = transmits(&mut tx);
    assert!(datagrams.len() > 2);
    // The second segment comes last: meanwhile the receiver holds a partial
    // message and a gap, each with a deadline a week away.
    let late = datagrams.remove(1);
    for d in &datagrams {
        rx.handle_datagram(at(0), addr(1), d);
    }
    assert_eq!(rx.stats().partial_messages, 1);
    assert!(rx.poll_timeout().unwrap() > t0());
    rx.handle_datagram(at(1), addr(1), &late);
    let whole = events(&mut rx)
        .into_iter()
        .filter(|e| matches!(e, EndpointEvent::Message(m) if &*m.name == "long"))
        .count();
    assert_eq!((whole, rx.stats().partial_messages), (1, 0));
    // The sender's timers (heartbeats, the retransmit window) fire, each
    // arming the next from its own deadline, weeks on.
    let mut fired = 0;
    while let Some(due) = tx.poll_timeout().filter(|_| fired < 4) {
        assert!(due > t0());
        tx.handle_timeout(due);
        fired += 1;
    }
    assert_eq!(fired, 4, "the sender's timers stopped");
}

#[test]
fn each_duration_over_the_bound_is_refused_naming_it() {
    for i in 0..8 {
        let mut c = Config::default();
        let (name, d) = durations(&mut c).into_iter().nth(i).unwrap();
        *d = MAX_DURATION + Duration::from_nanos(1);
        let err = c.validate().unwrap_err();
        assert_eq!(
            err,
            ConfigError::TooLong {
                name,
                value: MAX_DURATION + Duration::from_nanos(1)
            }
        );
        assert!(err.to_string().contains(name), "{err}");
    }
    // The bound itself is taken, and so is Duration::MAX refused whole.
    at_the_bound().validate().unwrap();
    let mut c = Config::default();
    c.message_ttl = Duration::MAX;
    let Err(err) = Endpoint::new(c, SenderId::new(1)) else {
        panic!("an endpoint with message_ttl = Duration::MAX");
    };
    assert!(
        matches!(
            err,
            ConfigError::TooLong {
                name: "message_ttl",
                ..
            }
        ),
        "{err:?}"
    );
}
