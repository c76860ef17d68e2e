//! Encrypted nodes over real sockets (in a private network namespace):
//! every kind of event arrives, segmented ones included, and nothing on the
//! wire is readable; a node with another key, or none, delivers nothing and
//! reports each sender once.
#![allow(clippy::unwrap_used)]

use crate::common::*;
use eventcast::bson::{doc, spec::BinarySubtype, Binary, Bson, Regex};
use eventcast::Unreadable;
use eventcast::{Config, Eventcast, Key, Notice, ProtocolError};

const PASSPHRASE: &str = "correct horse battery staple";

/// Every BSON type the original's suite exchanged, and bodies of 1 KB to
/// 1000 KB.
fn every_kind() -> Vec<(&'static str, Vec<Bson>)> {
    let mut events = vec![
        ("none", vec![]),
        ("one", vec![Bson::String("hello".into())]),
        (
            "many",
            vec![
                Bson::Document(doc! {"a": 1, "b": {"c": [1, 2]}}),
                Bson::Array(vec![Bson::Int32(1), Bson::String("x".into())]),
                Bson::Null,
                Bson::String("ünïcødé ✓".into()),
                Bson::Int64(-42),
                Bson::Double(1.5),
                Bson::Boolean(true),
                Bson::DateTime(eventcast::bson::DateTime::from_millis(1_383_000_000_000)),
                Bson::RegularExpression(Regex {
                    pattern: "^a+".try_into().unwrap(),
                    options: "i".try_into().unwrap(),
                }),
            ],
        ),
    ];
    for (i, size) in [1_000usize, 10_000, 100_000, 1_000_000]
        .into_iter()
        .enumerate()
    {
        let bytes = (0..size).map(|b| (b * 31 + i) as u8).collect();
        events.push((
            "blob",
            vec![Bson::Binary(Binary {
                subtype: BinarySubtype::Generic,
                bytes,
            })],
        ));
    }
    events
}

#[test]
fn encrypted_nodes_exchange_every_kind_of_event() {
    netns_test::run(|| {
        block_on(async {
            let port = free_port();
            let a = Eventcast::new(config(port).key(PASSPHRASE)).unwrap();
            let key = Key::from_bytes([7; 16]);
            // The other node knows the passphrase as a decrypt key only, and
            // seals with a raw key that the first node learns at run time.
            let b = Eventcast::new(config(port).key(key.clone()).decrypt_key(PASSPHRASE)).unwrap();
            a.start().await.unwrap();
            b.start().await.unwrap();
            a.keys().add(key).await.unwrap();
            let mut at_a = a.subscribe();
            let mut at_b = b.subscribe();
            let sent = every_kind();
            for (name, args) in &sent {
                a.emit(name, args).unwrap();
                let got = next_remote(&mut at_b).await;
                assert_eq!(got.name(), *name);
                assert!(got.raw_args() == args.as_slice(), "{name} differs");
                b.emit(name, args).unwrap();
                let got = next_remote(&mut at_a).await;
                assert_eq!(got.name(), *name);
                assert!(got.raw_args() == args.as_slice(), "{name} differs");
            }
            // Exactly once: nothing arrived beyond what was awaited.
            for sub in [&mut at_a, &mut at_b] {
                let extra = std::iter::from_fn(|| sub.try_recv()).find(|e| !e.is_local());
                assert!(extra.is_none(), "delivered twice: {extra:?}");
            }
            // Stopped first: heartbeats and statuses still go out until
            // then, and the two counts compared below are read apart.
            let nodes = [a, b];
            stop_all(&nodes).await;
            for node in &nodes {
                let s = node.stats().protocol;
                assert_nothing_dropped(&s);
                assert_eq!(s.datagrams_sealed, s.datagrams_sent, "{s:#?}");
                assert!(s.datagrams_opened > 0);
                let keys = node.keys().list().await.unwrap();
                assert_eq!(keys.iter().filter(|k| k.primary).count(), 1);
                assert_eq!(
                    keys.iter().find(|k| k.primary).unwrap().sealed,
                    s.datagrams_sealed
                );
            }
        })
    });
}

/// A node that skips the handshake (`danger_skip_handshake`) and one that
/// does not exchange events both ways: the first challenges no one, but
/// answers the second's challenges (it once left them unanswered, and the
/// second then delivered nothing of it).
#[test]
fn a_node_that_skips_the_handshake_is_heard_by_one_that_does_not() {
    netns_test::run(|| {
        block_on(async {
            let port = free_port();
            let skip =
                Eventcast::new(config(port).key(PASSPHRASE).danger_skip_handshake(true)).unwrap();
            let strict = Eventcast::new(config(port).key(PASSPHRASE)).unwrap();
            skip.start().await.unwrap();
            strict.start().await.unwrap();
            let mut at_strict = strict.subscribe();
            let mut at_skip = skip.subscribe();
            skip.emit("from-skip", &("a",)).unwrap();
            assert_eq!(next_remote(&mut at_strict).await.name(), "from-skip");
            strict.emit("from-strict", &("b",)).unwrap();
            assert_eq!(next_remote(&mut at_skip).await.name(), "from-strict");
            let (s, t) = (skip.stats().protocol, strict.stats().protocol);
            assert_eq!(s.challenges_sent, 0, "{s:?}");
            assert!(s.answers_sent >= 1, "{s:?}");
            assert_eq!(t.senders_verified, 1, "{t:?}");
            assert_eq!(s.dropped.malformed + t.dropped.malformed, 0);
            stop_all(&[skip, strict]).await;
        })
    });
}

#[test]
fn a_node_without_a_key_reports_an_encrypted_sender() {
    netns_test::run(|| {
        block_on(async {
            let port = free_port();
            let node = Eventcast::new(config(port).key(PASSPHRASE)).unwrap();
            let plain = Eventcast::new(config(port)).unwrap();
            plain.start().await.unwrap();
            node.start().await.unwrap();
            let mut notices = plain.notices();
            node.emit("secret-event-name", &("secret argument",))
                .unwrap();
            let notice = guard("a notice", notices.recv()).await.unwrap();
            match notice {
                Notice::ProtocolError(ProtocolError::Unreadable { sender, reason, .. }) => {
                    assert_eq!(sender, Some(node.id()));
                    assert_eq!(reason, Unreadable::UnknownKey);
                }
                other => panic!("{other:?}"),
            }
            assert_eq!(plain.stats().protocol.messages_received, 0);
            stop_all(&[node, plain]).await;
        })
    });
}

#[test]
fn a_wrong_key_delivers_nothing_and_is_reported_once_per_sender() {
    netns_test::run(|| {
        block_on(async {
            let port = free_port();
            let receiver = Eventcast::new(config(port).key(PASSPHRASE)).unwrap();
            receiver.start().await.unwrap();
            let mut notices = receiver.notices();
            let mut events = receiver.subscribe();
            let wrong: Vec<Eventcast> = start_nodes(2, &config(port).key("wrong")).await;
            let plain = start_nodes(1, &config(port)).await;
            for node in wrong.iter().chain(&plain) {
                for i in 0..20 {
                    node.emit("nope", &(i, "x".repeat(3000))).unwrap();
                }
            }
            // Then a legitimate node: once its event is in, everything sent
            // before was handled.
            let friend = start_nodes(1, &config(port).key(PASSPHRASE)).await;
            let sent_before = sync(&friend[0], &mut events).await;
            assert!(sent_before.is_empty(), "{sent_before:?}");
            let mut reports = Vec::new();
            while let Ok(n) = notices.try_recv() {
                if let Notice::ProtocolError(ProtocolError::Unreadable { sender, reason, .. }) = n {
                    reports.push((sender.unwrap(), reason));
                }
            }
            reports.sort_by_key(|(s, _)| *s);
            let mut expected = vec![
                (wrong[0].id(), Unreadable::UnknownKey),
                (wrong[1].id(), Unreadable::UnknownKey),
                (plain[0].id(), Unreadable::Unencrypted),
            ];
            expected.sort_by_key(|(s, _)| *s);
            assert_eq!(reports, expected);
            // Once they have stopped and the friend's next event is in,
            // every datagram they sent (segments and heartbeats) was handled.
            stop_all(&wrong).await;
            stop_all(&plain).await;
            let sent_after = sync(&friend[0], &mut events).await;
            assert!(sent_after.is_empty(), "{sent_after:?}");
            let sent = |nodes: &[Eventcast]| -> u64 {
                nodes
                    .iter()
                    .map(|n| n.stats().protocol.datagrams_sent)
                    .sum()
            };
            let d = receiver.stats().protocol.dropped;
            // 20 events of 3 segments each per node, and their heartbeats.
            assert!(d.no_key >= 2 * 60, "{d:#?}");
            assert_eq!(d.no_key, sent(&wrong), "{d:#?}");
            assert!(d.unencrypted >= 60, "{d:#?}");
            assert_eq!(d.unencrypted, sent(&plain), "{d:#?}");
            stop_all(&friend).await;
            receiver.stop().await;
        })
    });
}

#[test]
fn keyring_calls_check_their_arguments() {
    netns_test::run(|| {
        block_on(async {
            let node = Eventcast::new(config(free_port()).key(PASSPHRASE)).unwrap();
            let keys = node.keys().list().await.unwrap();
            assert_eq!(keys.len(), 1);
            let primary = keys[0].fingerprint;
            assert!(matches!(
                node.keys().remove(primary).await,
                Err(eventcast::Error::Keyring(_))
            ));
            let other = Key::from_bytes([1; 16]).fingerprint();
            assert!(node.keys().set_primary(other).await.is_err());
            let shown = format!("{:?}", node.config());
            assert!(!shown.contains("horse"), "{shown}");
            // Changes made while stopped hold at the next start.
            let added = node.keys().add(Key::from_bytes([1; 16])).await.unwrap();
            node.keys().set_primary(added).await.unwrap();
            node.start().await.unwrap();
            node.emit("x", &()).unwrap();
            let keys = node.keys().list().await.unwrap();
            assert!(keys.iter().any(|k| k.fingerprint == added && k.primary));
            node.stop().await;
        })
    });
}

#[test]
fn bad_key_settings_are_refused() {
    let c = Config::default().decrypt_key("only a decrypt key");
    assert!(Eventcast::new(c).is_err());
    let c = Config::default().key("k").max_payload_size(65_474);
    assert!(Eventcast::new(c).is_err());
}
