//! Tests of `legacy/endpoint.rs`.

use super::*;

fn config(id: &str, port: u16, key: Option<&str>) -> LegacyEndpointConfig {
    let identity = LegacyIdentity {
        id: LegacyId::new(id),
        host: "127.0.0.1".into(),
        port,
        hostname: "test".into(),
    };
    let mut c = LegacyEndpointConfig::new(identity, [port as u8; 32]);
    c.max_payload_size = NonZeroUsize::new(1024).unwrap_or(NonZeroUsize::MIN);
    c.insecure_cipher = key.map(InsecureLegacyCipher::from_passphrase);
    c
}

fn addr(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}

fn wall() -> DateTime {
    DateTime::from_millis(1_795_238_379_911)
}

fn drain(e: &mut LegacyEndpoint) -> Vec<LegacyTransmit> {
    std::iter::from_fn(|| e.poll_transmit()).collect()
}

fn events(e: &mut LegacyEndpoint) -> Vec<LegacyEndpointEvent> {
    std::iter::from_fn(|| e.poll_event()).collect()
}

fn big_args() -> Vec<Bson> {
    vec!["x".repeat(5000).into(), Bson::Null, 5.into()]
}

/// Alice sends a segmented message to Bob minus one segment; Bob asks
/// by unicast, Alice answers by unicast, Bob delivers it once.
fn repair(key: Option<&str>) {
    let t = Instant::now();
    let mut alice = LegacyEndpoint::new(config("aaaaaaaaaaaaaaaa", 1000, key));
    let mut bob = LegacyEndpoint::new(config("bbbbbbbbbbbbbbbb", 2000, key));
    alice.emit(t, wall(), "big", &big_args()).unwrap();
    let sent = drain(&mut alice);
    assert!(sent.len() > 3);
    assert!(sent
        .iter()
        .all(|s| s.destination == LegacyDestination::Group));
    for (i, s) in sent.iter().enumerate() {
        if i != 2 {
            bob.handle_datagram(t, addr(1000), &s.contents);
        }
    }
    assert!(events(&mut bob).is_empty());
    let ttl = ReassemblyLimits::default().message_ttl;
    assert_eq!(bob.poll_timeout(), Some(t + ttl));
    bob.handle_timeout(t + ttl, wall());
    let asks = drain(&mut bob);
    assert_eq!(asks.len(), 1);
    assert_eq!(asks[0].destination, LegacyDestination::Unicast(addr(1000)));
    assert_eq!(bob.stats().retx_requests_sent, 1);
    alice.handle_datagram(t + ttl, addr(2000), &asks[0].contents);
    let again = drain(&mut alice);
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].destination, LegacyDestination::Unicast(addr(2000)));
    assert_eq!(again[0].contents, sent[2].contents);
    assert_eq!(alice.stats().retx_requests_received, 1);
    assert_eq!(alice.stats().retx_segments_resent, 1);
    bob.handle_datagram(t + ttl, addr(1000), &again[0].contents);
    let got = events(&mut bob);
    let [LegacyEndpointEvent::Event(r)] = &got[..] else {
        panic!("{got:?}")
    };
    assert_eq!(r.event.name(), "big");
    assert_eq!(r.event.args, big_args());
    assert_eq!(r.sender, SenderId::new(0xaaaa_aaaa_aaaa_aaaa));
    assert_eq!(r.from, addr(1000));
    assert_eq!(bob.stats().messages_received, 1);
    assert_eq!(bob.stats().partial_messages, 0);
    assert_eq!(bob.poll_timeout(), None);
    // a second copy of the repair is a duplicate
    bob.handle_datagram(t + ttl, addr(1000), &again[0].contents);
    assert!(events(&mut bob).is_empty());
    assert_eq!(bob.stats().dropped.duplicate, 1);
}

#[test]
fn a_lost_segment_is_repaired() {
    repair(None);
}

#[test]
fn a_lost_encrypted_segment_is_repaired() {
    repair(Some("k"));
}

#[test]
fn unanswered_requests_end_in_expiry() {
    let t = Instant::now();
    let mut alice = LegacyEndpoint::new(config("aaaaaaaaaaaaaaaa", 1000, None));
    let mut bob_config = config("bbbbbbbbbbbbbbbb", 2000, None);
    bob_config.limits.max_retransmit_attempts = 2;
    let mut bob = LegacyEndpoint::new(bob_config);
    alice.emit(t, wall(), "big", &big_args()).unwrap();
    let sent = drain(&mut alice);
    bob.handle_datagram(t, addr(1000), &sent[0].contents);
    let ttl = ReassemblyLimits::default().message_ttl;
    for n in 1..=3u32 {
        bob.handle_timeout(t + ttl * n, wall());
    }
    assert_eq!(drain(&mut bob).len(), 2);
    assert_eq!(bob.stats().retx_requests_sent, 2);
    assert_eq!(bob.stats().dropped.expired, 1);
    assert_eq!(bob.stats().partial_messages, 0);
    assert_eq!(bob.stats().partial_bytes, 0);
    assert_eq!(bob.poll_timeout(), None);
}

#[test]
fn requests_for_others_or_forgotten_messages_send_nothing() {
    let t = Instant::now();
    let mut alice = LegacyEndpoint::new(config("aaaaaaaaaaaaaaaa", 1000, None));
    let mut carol = LegacyEndpoint::new(config("cccccccccccccccc", 3000, None));
    let mut bob = LegacyEndpoint::new(config("bbbbbbbbbbbbbbbb", 2000, None));
    alice.emit(t, wall(), "big", &big_args()).unwrap();
    let sent = drain(&mut alice);
    bob.handle_datagram(t, addr(1000), &sent[0].contents);
    let ttl = ReassemblyLimits::default().message_ttl;
    bob.handle_timeout(t + ttl, wall());
    let ask = drain(&mut bob).remove(0);
    // reaches carol (same host and port): not hers
    carol.handle_datagram(t + ttl, addr(2000), &ask.contents);
    assert!(drain(&mut carol).is_empty());
    assert_eq!(carol.stats().dropped.retx_not_ours, 1);
    // alice after her retention: forgotten
    let late = t + ttl * 11;
    alice.handle_timeout(late, wall());
    assert_eq!(alice.stats().kept_messages, 0);
    alice.handle_datagram(late, addr(2000), &ask.contents);
    assert!(drain(&mut alice).is_empty());
    assert_eq!(alice.stats().dropped.retx_unanswerable, 1);
}

#[test]
fn own_datagrams_are_ignored_and_counted() {
    let t = Instant::now();
    let mut alice = LegacyEndpoint::new(config("aaaaaaaaaaaaaaaa", 1000, Some("k")));
    alice.emit(t, wall(), "e", &[1.into()]).unwrap();
    alice.emit(t, wall(), "big", &big_args()).unwrap();
    let sent = drain(&mut alice);
    for s in &sent {
        alice.handle_datagram(t, addr(1000), &s.contents);
    }
    assert!(events(&mut alice).is_empty());
    assert_eq!(alice.stats().own_datagrams, sent.len() as u64);
    assert_eq!(alice.stats().messages_sent, 2);
    assert_eq!(alice.stats().datagrams_sent, sent.len() as u64);
}

#[test]
fn foreign_and_broken_datagrams_are_counted_and_reported_once() {
    let t = Instant::now();
    let mut bob = LegacyEndpoint::new(config("bbbbbbbbbbbbbbbb", 2000, None));
    let mut native =
        crate::endpoint::Endpoint::new(crate::config::Config::default(), SenderId::new(7)).unwrap();
    native.emit(t, "n", &[]).unwrap();
    let mut n = Vec::new();
    native.poll_transmit(t, &mut n).unwrap();
    bob.handle_datagram(t, addr(5), &n);
    bob.handle_datagram(t, addr(5), &n);
    bob.handle_datagram(t, addr(6), &[]);
    bob.handle_datagram(t, addr(6), &[0, 5, 1, 2]);
    bob.handle_datagram(t, addr(6), &[0xff; 300]);
    let mut keyed = LegacyEndpoint::new(config("aaaaaaaaaaaaaaaa", 1000, Some("k")));
    keyed.emit(t, wall(), "e", &[]).unwrap();
    let enc = drain(&mut keyed).remove(0).contents;
    bob.handle_datagram(t, addr(7), &enc);
    let s = bob.stats();
    assert_eq!(s.dropped.native, 2);
    assert_eq!(s.dropped.malformed, 3);
    assert_eq!(s.dropped.encrypted_without_key, 1);
    assert_eq!(s.dropped.total(), 6);
    assert_eq!(s.datagrams_received, 6);
    let native_view = s.to_native();
    assert_eq!(native_view.dropped.unsupported_version, 2);
    assert_eq!(native_view.dropped.malformed, 4);
    let problems: Vec<_> = events(&mut bob)
        .into_iter()
        .map(|e| match e {
            LegacyEndpointEvent::Problem(p) => p,
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(
        problems,
        [
            LegacyProblem::NativeProtocol { from: addr(5) },
            LegacyProblem::Encryption {
                from: addr(7),
                error: LegacyError::EncryptedWithoutKey
            },
        ]
    );
    assert!(problems[0].to_string().contains("native protocol"));
}

#[test]
fn hashed_sender_ids_are_counted() {
    let t = Instant::now();
    let mut odd = LegacyEndpoint::new(config("service-a", 1000, None));
    let mut bob = LegacyEndpoint::new(config("bbbbbbbbbbbbbbbb", 2000, None));
    odd.emit(t, wall(), "e", &[]).unwrap();
    bob.handle_datagram(t, addr(1000), &drain(&mut odd).remove(0).contents);
    let got = events(&mut bob);
    let [LegacyEndpointEvent::Event(r)] = &got[..] else {
        panic!("{got:?}")
    };
    assert_eq!(r.sender, LegacyId::new("service-a").sender_id());
    assert_eq!(bob.stats().hashed_sender_ids, 1);
}
