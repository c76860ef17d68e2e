//! Duration settings are bounded (`MAX_DURATION`): every timer an endpoint
//! arms is `now` plus one of them, and that must not overflow an `Instant`.
//! At the bound, two endpoints exchange a message in segments, one of
//! them late, and their first timers fire.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use crate::common::*;
use eventcast_proto::{Config, ConfigError, Endpoint, EndpointEvent, SenderId, MAX_DURATION};

fn at_the_bound() -> Config {
    let mut c = Config::default();
    c.message_ttl = MAX_DURATION;
    c.nack_backoff_min = MAX_DURATION;
    c.nack_backoff_max = MAX_DURATION;
    c.repair_timeout = MAX_DURATION;
    c.retransmit_window = MAX_DURATION;
    c.repair_linger = MAX_DURATION;
    c.heartbeat_min = MAX_DURATION;
    c.heartbeat_max = MAX_DURATION;
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
    // Each timer that fires arms the next from its own deadline, weeks on.
    for end in [&mut tx, &mut rx] {
        for _ in 0..4 {
            let Some(due) = end.poll_timeout() else { break };
            end.handle_timeout(due);
        }
    }
}

#[test]
fn a_duration_over_the_bound_is_refused_naming_it() {
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
    assert!(err.to_string().contains("message_ttl"), "{err}");
}
