//! Legacy-mode nodes among themselves, through real sockets: segmented and
//! encrypted events both ways, a dropped segment repaired through
//! `__ec_retx`, and a node answering a 0.1.x peer's request.
//!
//! The original puts unicast and multicast on one socket bound to 0.0.0.0
//! on the group's port, so on one host a unicast datagram to that port
//! reaches only one of the sockets sharing it. Where a test needs a unicast
//! to reach one node, that node (or the raw socket playing a peer) is the
//! only one bound to the address it is sent to: the sender of the lost
//! segment binds 127.0.0.2, which beats 0.0.0.0 for unicast to 127.0.0.2.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns

use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::time::Instant;

use crate::common::{
    block_on, collect_remote, free_port, guard, legacy_config, next_remote, stop_all, wait_until,
};
use crate::support::*;
use bson::{doc, Bson, DateTime, Regex};
use eventcast::Notice;
use eventcast_proto::legacy::{
    Datagram, Decoder, Encoder, Incoming, InsecureLegacyCipher, LegacyId, LegacyIdentity,
    ReassemblyLimits, Timeout,
};

const KEY: &str = "correct horse battery staple";

/// Every BSON type the original sends, and 20 kB so that it is segmented.
fn big_args() -> Vec<Bson> {
    vec![
        Bson::Document(doc! {"obj": 2, "nested": {"deep": [1, "two", Bson::Null]}}),
        Bson::Array(vec![1.into(), 2.into(), 3.into()]),
        Bson::Null,
        "héllo wörld ✓ 日本".into(),
        5.into(),
        2.5.into(),
        true.into(),
        Bson::DateTime(DateTime::from_millis(1_383_000_000_000)),
        Bson::RegularExpression(Regex {
            pattern: "serialize me please".try_into().unwrap(),
            options: "i".try_into().unwrap(),
        }),
        "x".repeat(20_000).into(),
    ]
}

#[test]
fn legacy_nodes_exchange_segmented_encrypted_events() {
    netns_test::run(|| {
        block_on(async {
            let config = legacy_config(free_port())
                .max_payload_size(512)
                .insecure_legacy_key(KEY);
            let a = start(config.clone()).await;
            let b = start(config).await;
            let mut at_a = a.subscribe();
            let mut at_b = b.subscribe();
            a.emit("from-a", &big_args()).expect("emit");
            b.emit("from-b", &big_args()).expect("emit");
            b.emit("small", &("one", 1)).expect("emit");
            let got = collect_remote(&mut at_a, 2).await;
            assert_eq!(got[0].name(), "from-b");
            assert_eq!(got[0].raw_args(), big_args());
            assert_eq!(got[0].sender(), b.id());
            assert_eq!(got[1].args::<(String, i32)>().unwrap(), ("one".into(), 1));
            let got = next_remote(&mut at_b).await;
            assert_eq!(
                (got.name(), got.raw_args(), got.sender()),
                ("from-a", &big_args()[..], a.id())
            );
            // own emits fired local listeners once, and came back only as
            // self-filtered datagrams, every one of them
            wait_until("a's own datagrams heard back", || {
                let l = a.stats().legacy;
                l.datagrams_sent > 0 && l.own_datagrams == l.datagrams_sent
            })
            .await;
            let sa = a.stats();
            assert_eq!(sa.legacy.messages_sent, 1);
            assert!(sa.legacy.own_datagrams > 1, "{sa:?}");
            assert!(sa.legacy.datagrams_sent > 40, "segmented: {sa:?}");
            assert_eq!(sa.legacy.messages_received, 2);
            assert_eq!(sa.legacy.dropped.total(), 0, "{sa:?}");
            assert_eq!(sa.protocol.messages_received, 2);
            stop_all(&[a, b]).await;
        })
    });
}

/// The 0.1.x protocol has no heartbeats or sequence numbers, and the
/// legacy endpoint keeps nothing per sender: `peers` is empty, even with
/// events received.
#[test]
fn legacy_nodes_list_no_peers() {
    netns_test::run(|| {
        block_on(async {
            let config = legacy_config(free_port());
            let a = start(config.clone()).await;
            let b = start(config).await;
            let mut at_b = b.subscribe();
            a.emit("hello", &("there",)).expect("emit");
            assert_eq!(next_remote(&mut at_b).await.sender(), a.id());
            assert!(b.peers().await.is_empty());
            stop_all(&[a, b]).await;
        })
    });
}

/// The sender drops the third datagram it would send (a segment of its
/// first event); the receiver asks it by unicast, the sender answers by
/// unicast, the event is delivered once.
#[test]
fn a_dropped_segment_is_repaired_between_legacy_nodes() {
    netns_test::run(|| {
        block_on(async {
            let port = free_port();
            let config = legacy_config(port)
                .max_payload_size(512)
                .insecure_legacy_key(KEY);
            let receiver = start(config.clone()).await;
            let mut events = receiver.subscribe();
            let mut sender_config = config.address("127.0.0.2".parse().unwrap());
            sender_config.legacy.test_drop_datagram = Some(2);
            let sender = start(sender_config).await;

            sender.emit("big", &big_args()).expect("emit");
            let got = next_remote(&mut events).await;
            assert_eq!((got.name(), got.raw_args()), ("big", &big_args()[..]));
            assert_eq!(got.sender(), sender.id());

            // the repair went as described, and nothing else was lost (a
            // slow machine may have asked twice before the answer came)
            let r = receiver.stats().legacy;
            let s = sender.stats().legacy;
            assert!(r.retx_requests_sent >= 1, "{r:?}");
            assert!(s.retx_requests_received >= 1, "{s:?}");
            assert!(s.retx_segments_resent >= 1, "{s:?}");
            assert!(s.retx_segments_resent <= s.retx_requests_received, "{s:?}");
            assert_eq!(s.kept_messages, 1, "{s:?}");
            assert_eq!(r.messages_received, 1);
            assert_eq!(r.partial_messages, 0);
            // (a second answer to a second request would be a duplicate)
            assert_eq!(r.dropped.total(), r.dropped.duplicate, "{r:?}");

            // and the next event goes through untouched
            sender.emit("after", &()).expect("emit");
            assert_eq!(next_remote(&mut events).await.name(), "after");
            assert_eq!(
                receiver.stats().legacy.retx_requests_sent,
                r.retx_requests_sent
            );
            stop_all(&[receiver, sender]).await;
        })
    });
}

/// A raw socket plays a 0.1.x peer: it hears the node's segments on the
/// group, loses one, asks for it by unicast from its own address, and the
/// node answers there with that segment, byte for byte.
#[test]
fn a_node_answers_a_peers_request() {
    netns_test::run(|| {
        block_on(async {
            let port = free_port();
            let node = start(
                legacy_config(port)
                    .max_payload_size(512)
                    .insecure_legacy_key(KEY),
            )
            .await;
            let listener = group_listener(port);
            let unicast = raw_socket(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 0));
            let peer_port = unicast.local_addr().expect("local_addr").port();
            let cipher = InsecureLegacyCipher::from_passphrase(KEY);
            let mut peer = Decoder::new(LegacyId::new("feedfacecafebeef"), Default::default())
                .with_insecure_cipher(cipher.clone());

            node.emit("big", &big_args()).expect("emit");
            let segments = guard(
                "the segments",
                tokio::task::spawn_blocking(move || {
                    let (first, _) = recv(&listener);
                    let count = Datagram::parse(&first).expect("legacy").meta().seq_len();
                    let mut all = vec![first];
                    while all.len() < count as usize {
                        all.push(recv(&listener).0);
                    }
                    all
                }),
            )
            .await
            .expect("join");
            assert!(segments.len() > 10);
            let lost = 3;
            let t = Instant::now();
            for (i, s) in segments.iter().enumerate() {
                if i != lost {
                    assert_eq!(peer.decode(t, s), Ok(Incoming::Buffered));
                }
            }
            // the peer's timer, simulated: one message_ttl later
            let ttl = ReassemblyLimits::default().message_ttl;
            let timeouts = peer.handle_timeout(t + ttl);
            let [Timeout::Missing(m)] = &timeouts[..] else {
                panic!("{timeouts:?}")
            };
            assert_eq!(m.missing, [lost as u32]);
            assert_eq!(m.port, port, "the node's port is the group's");
            assert_eq!(m.key.sender.as_str(), node.id().to_string());
            let node_at: SocketAddr = format!("{}:{}", m.host, m.port).parse().expect("IP:port");
            assert!(!node_at.ip().is_unspecified());

            let identity = LegacyIdentity {
                id: LegacyId::new("feedfacecafebeef"),
                host: "127.0.0.1".into(),
                port: peer_port,
                hostname: "peer".into(),
            };
            let mut encoder = Encoder::new(identity, 1024.try_into().unwrap(), [9; 32])
                .with_insecure_cipher(cipher);
            let request = encoder
                .encode_retx(DateTime::now(), &m.request())
                .expect("encodable");
            for d in &request.datagrams {
                unicast.send_to(d, node_at).expect("send the request");
            }
            let (answer, from) = guard(
                "the answer",
                tokio::task::spawn_blocking(move || recv(&unicast)),
            )
            .await
            .expect("join");
            assert_eq!(from.port(), port, "answered from the group socket");
            assert_eq!(answer, segments[lost]);
            let Ok(Incoming::Event(e)) = peer.decode(t + ttl, &answer) else {
                panic!("the answer did not complete the event")
            };
            assert_eq!((e.name(), &e.args[..]), ("big", &big_args()[..]));

            wait_until("the node's counters", || {
                node.stats().legacy.retx_segments_resent == 1
            })
            .await;
            let s = node.stats().legacy;
            assert_eq!(s.retx_requests_received, 1);
            assert_eq!(s.dropped.retx_unanswerable, 0);
            stop_all(&[node]).await;
        })
    });
}

/// A native and a legacy node on one group do not understand each other:
/// each counts the other's datagrams and reports it once, and both go on
/// talking with their own kind.
#[test]
fn native_and_legacy_nodes_share_a_group_without_harm() {
    netns_test::run(|| {
        block_on(async {
            let port = free_port();
            let legacy = legacy_config(port);
            let native = crate::common::config(port);
            let l1 = start(legacy.clone()).await;
            let l2 = start(legacy).await;
            let n1 = start(native.clone()).await;
            let n2 = start(native).await;
            let mut l1_notices = l1.notices();
            let mut n1_notices = n1.notices();
            let mut at_l1 = l1.subscribe();
            let mut at_n1 = n1.subscribe();

            l2.emit("legacy", &big_args()).expect("emit");
            n2.emit("native", &big_args()).expect("emit");
            let got = next_remote(&mut at_l1).await;
            assert_eq!((got.name(), got.sender()), ("legacy", l2.id()));
            let got = next_remote(&mut at_n1).await;
            assert_eq!((got.name(), got.sender()), ("native", n2.id()));
            // each counts the other's datagrams, and tells once
            wait_until("native datagrams counted", || {
                l1.stats().legacy.dropped.native > 0
            })
            .await;
            wait_until("legacy datagrams counted", || {
                n1.stats().protocol.dropped.unsupported_version > 0
            })
            .await;
            wait_until("the notices", || {
                !l1_notices.is_empty() && !n1_notices.is_empty()
            })
            .await;
            // and both still hear their own kind
            l2.emit("legacy2", &()).expect("emit");
            n2.emit("native2", &()).expect("emit");
            assert_eq!(next_remote(&mut at_l1).await.name(), "legacy2");
            assert_eq!(next_remote(&mut at_n1).await.name(), "native2");

            // One snapshot: native datagrams still arrive between two.
            let s1 = l1.stats();
            let l = s1.legacy;
            assert!(l.dropped.native > 0, "{l:?}");
            assert_eq!(l.dropped.total(), l.dropped.native, "{l:?}");
            assert_eq!(s1.protocol.dropped.unsupported_version, l.dropped.native);
            let n = n1.stats().protocol;
            assert!(n.dropped.unsupported_version > 0, "{n:?}");
            assert_eq!(n.dropped.total(), n.dropped.unsupported_version, "{n:?}");

            match l1_notices.try_recv() {
                Ok(Notice::LegacyProtocolError(p)) => {
                    assert!(p.to_string().contains("native protocol"), "{p}")
                }
                other => panic!("unexpected {other:?}"),
            }
            match n1_notices.try_recv() {
                Ok(Notice::ProtocolError(e)) => assert!(e.to_string().contains("version 3"), "{e}"),
                other => panic!("unexpected {other:?}"),
            }
            stop_all(&[l1, l2, n1, n2]).await;
        })
    });
}
