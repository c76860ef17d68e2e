//! The captures of eventcast 0.1.2, replayed through real sockets to a
//! legacy-mode node: it delivers exactly the listed events through the
//! public API, asks for lost segments as the original would, and takes the
//! repair on its group socket. (The codec's own tests decode the same
//! captures without sockets.)
//!
//! Every test here binds the captures' fixed port, so each runs in a
//! namespace of its own (`netns_test::run_alone`), also when the whole run
//! shares one (`scripts/netns cargo test ...`).

#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns

use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::time::Instant;

use crate::common::{block_on, guard, legacy_config, stop_all, wait_until};
use crate::support::*;
use bson::Bson;
use eventcast::{Eventcast, Notice, SenderId, Subscription};
use eventcast_proto::legacy::{
    Decoder, Incoming, LegacyId, LegacyProblem, ReassemblyLimits, RetxRequest,
};

/// Where the replayed datagrams come from: the capture's own `host:port`,
/// so that the node's requests for missing segments reach this socket
/// (bound to 127.0.0.1 exactly, it beats the node's 0.0.0.0 for unicast,
/// and never hears the group).
fn capture_sender() -> std::net::UdpSocket {
    raw_socket(SocketAddrV4::new(Ipv4Addr::LOCALHOST, CAPTURE_PORT))
}

fn group() -> SocketAddr {
    SocketAddr::from((GROUP, CAPTURE_PORT))
}

async fn node_for(v: &Vector) -> (Eventcast, Subscription) {
    assert_eq!(v.port, CAPTURE_PORT);
    // The capture's max_payload_size is its sender's; a receiver takes
    // any, and this node's own requests fit one datagram at the default.
    let mut config = legacy_config(CAPTURE_PORT);
    if let Some(key) = &v.key {
        config = config.insecure_legacy_key(key.clone());
    }
    let node = Eventcast::new(config).expect("valid config");
    let events = node.subscribe();
    node.start().await.expect("start");
    (node, events)
}

/// The next `n` events of `sub`, as (name, args).
async fn next_events(sub: &mut Subscription, n: usize) -> Vec<(String, Bson)> {
    let mut out = Vec::new();
    for e in crate::common::collect_remote(sub, n).await {
        assert_eq!(e.sender(), SenderId::new(0x0123_4567_89ab_cdef));
        assert_eq!(e.from(), Some("127.0.0.1:41500".parse().unwrap()));
        assert_eq!(e.seq(), None);
        out.push((e.name().to_owned(), Bson::Array(e.raw_args().to_vec())));
    }
    out
}

/// Sends `order` of the capture's packets and checks that exactly the
/// listed events arrive, once.
fn replay(name: &str, order: impl Fn(usize) -> Vec<usize>) {
    block_on(async {
        let v = Vector::load(name);
        let (node, mut events) = node_for(&v).await;
        let sender = capture_sender();
        let packets = v.packets();
        for i in order(packets.len()) {
            sender.send_to(&packets[i], group()).expect("send");
        }
        let want = v.events();
        assert_eq!(next_events(&mut events, want.len()).await, want);
        // Nothing more: an event sent after them is the next one delivered.
        let mut delivered = want.len() as u64;
        if v.key.is_none() {
            sender
                .send_to(&fresh_event("after", &[]), group())
                .expect("send");
            let next = next_events(&mut events, 1).await;
            assert_eq!(next, [("after".to_owned(), Bson::Array(vec![]))]);
            delivered += 1;
        }
        let s = node.stats();
        assert_eq!(s.legacy.messages_received, delivered, "{s:?}");
        assert_eq!(
            s.legacy.dropped.total(),
            s.legacy.dropped.duplicate,
            "{s:?}"
        );
        assert_eq!(s.protocol.messages_received, s.legacy.messages_received);
        stop_all(&[node]).await;
    });
}

#[test]
fn plain_captures_deliver_the_listed_events() {
    netns_test::run_alone(|| replay("plain", |n| (0..n).collect()));
}

#[test]
fn encrypted_captures_deliver_the_listed_events() {
    netns_test::run_alone(|| replay("enc", |n| (0..n).collect()));
}

#[test]
fn segmented_captures_reassemble_in_reverse_with_duplicates() {
    netns_test::run_alone(|| {
        replay("seg", |n| {
            let mut order: Vec<usize> = (0..n).rev().collect();
            order.insert(3, 4);
            order.push(0);
            order
        })
    });
}

#[test]
fn encrypted_segmented_captures_reassemble_shuffled() {
    netns_test::run_alone(|| {
        replay("encseg", |n| {
            // a fixed interleaving: odd indexes first, then even, one twice
            let mut order: Vec<usize> = (1..n).step_by(2).chain((0..n).step_by(2)).collect();
            order.insert(2, 1);
            order
        })
    });
}

#[test]
fn a_captured_request_for_another_node_is_counted_not_delivered() {
    netns_test::run_alone(|| {
        block_on(async {
            let nack = Vector::load("nack");
            let plain = Vector::load("plain");
            let (node, mut events) = node_for(&nack).await;
            let sender = capture_sender();
            sender.send_to(&nack.packets()[0], group()).expect("send");
            // then an ordinary event: once it is here, the request was handled
            sender.send_to(&plain.packets()[0], group()).expect("send");
            assert_eq!(next_events(&mut events, 1).await, plain.events()[..1]);
            let s = node.stats().legacy;
            assert_eq!(s.retx_requests_received, 1);
            assert_eq!(s.dropped.retx_not_ours, 1);
            assert_eq!(s.retx_segments_resent, 0);
            assert_eq!(s.datagrams_sent, 0);
            stop_all(&[node]).await;
        })
    });
}

/// The segmented capture without segments 2 and 5: the node asks the
/// capture's `host:port` for exactly those (the request `nack.json` holds),
/// says where to answer (its real address, the group's port), and delivers
/// the event once they arrive at that port.
#[test]
fn lost_captured_segments_are_asked_for_and_repaired() {
    netns_test::run_alone(|| {
        block_on(async {
            let seg = Vector::load("seg");
            let nack = Vector::load("nack");
            let (node, mut events) = node_for(&seg).await;
            let sender = capture_sender();
            let packets = seg.packets();
            for (i, p) in packets.iter().enumerate() {
                if i != 2 && i != 5 {
                    sender.send_to(p, group()).expect("send");
                }
            }

            // The request, by unicast to the capture's 127.0.0.1:41500.
            let request = tokio::task::spawn_blocking(move || {
                let got = recv(&sender);
                (sender, got)
            });
            let (sender, (datagram, from)) = guard("the request", request).await.expect("join");
            assert_eq!(from.port(), CAPTURE_PORT, "sent from the group socket");
            let mut reader = Decoder::new(LegacyId::new("reader"), ReassemblyLimits::default());
            let Ok(Incoming::Retx {
                from: meta,
                request,
            }) = reader.decode(Instant::now(), &datagram)
            else {
                panic!("not a retransmission request: {datagram:?}");
            };
            let captured = RetxRequest::from_payload(&nack.events()[0].1).expect("captured");
            assert_eq!(request, captured);
            assert_eq!(meta.name, "__ec_retx");
            assert_eq!(meta.id.as_str(), node.id().to_string());
            // The node's own address (the system's choice of source towards
            // the group), never 0.0.0.0, and its bound port, the group's.
            let host: Ipv4Addr = meta.host.parse().expect("an IPv4 address");
            assert!(!host.is_unspecified(), "{host}");
            assert_eq!(meta.port, CAPTURE_PORT);
            assert!(!meta.hostname.is_empty());
            assert!(node.stats().legacy.retx_requests_sent >= 1);

            // The answer by unicast to the node's address. (Should that be
            // 127.0.0.1, which this socket holds, the same port on ve0's
            // address reaches the node alone.)
            let host = if host.is_loopback() {
                Ipv4Addr::new(10, 200, 0, 1)
            } else {
                host
            };
            let to = SocketAddr::from((host, meta.port));
            for i in [5, 2] {
                sender.send_to(&packets[i], to).expect("send the repair");
            }
            assert_eq!(next_events(&mut events, 1).await, seg.events());
            let s = node.stats().legacy;
            assert_eq!(s.messages_received, 1);
            assert_eq!(s.partial_messages, 0);
            assert_eq!(s.dropped.expired, 0);
            stop_all(&[node]).await;
        })
    });
}

/// Garbage, truncated captures and another version leave the node working;
/// each is counted under its reason, and the version is reported.
#[test]
fn broken_datagrams_are_counted_and_the_node_keeps_working() {
    netns_test::run_alone(|| {
        block_on(async {
            let plain = Vector::load("plain");
            let (node, mut events) = node_for(&plain).await;
            let mut notices = node.notices();
            let sender = capture_sender();
            let good = &plain.packets()[1];
            let mut v2 = good.clone();
            // `v` is the meta's first field: int32 at offset 2 + 4 + 1 + 2
            assert_eq!(&v2[7..9], b"v\0");
            v2[9] = 2;
            let broken: Vec<Vec<u8>> = vec![
                Vec::new(),
                vec![0],
                good[..good.len() / 2].to_vec(),
                vec![0xff; 1000],
                good[..good.len() - 3].to_vec(),
            ];
            for b in &broken {
                sender.send_to(b, group()).expect("send");
            }
            sender.send_to(&v2, group()).expect("send");
            sender.send_to(good, group()).expect("send");
            assert_eq!(next_events(&mut events, 1).await, plain.events()[1..2]);
            let d = node.stats().legacy.dropped;
            assert_eq!(d.malformed, broken.len() as u64, "{d:?}");
            assert_eq!(d.unsupported_version, 1, "{d:?}");
            assert_eq!(d.total(), broken.len() as u64 + 1);
            wait_until("the version notice", || !notices.is_empty()).await;
            match notices.try_recv() {
                Ok(Notice::LegacyProtocolError(p)) => {
                    assert!(p.to_string().contains("version 2"), "{p}")
                }
                other => panic!("unexpected {other:?}"),
            }
            stop_all(&[node]).await;
        })
    });
}

#[test]
fn wrong_or_missing_keys_drop_and_report() {
    netns_test::run_alone(|| {
        block_on(async {
            let enc = Vector::load("enc");
            let plain = Vector::load("plain");
            // no key: encrypted events dropped; plain ones still delivered
            let (node, mut events) = node_for(&plain).await;
            let sender = capture_sender();
            sender.send_to(&enc.packets()[0], group()).expect("send");
            sender.send_to(&plain.packets()[0], group()).expect("send");
            assert_eq!(next_events(&mut events, 1).await, plain.events()[..1]);
            assert_eq!(node.stats().legacy.dropped.encrypted_without_key, 1);
            stop_all(&[node]).await;
            drop(sender);

            // another key: dropped as undecryptable; unencrypted refused
            let config = legacy_config(CAPTURE_PORT).insecure_legacy_key("not the key");
            let node = Eventcast::new(config).expect("valid");
            let mut notices = node.notices();
            node.start().await.expect("start");
            let sender = capture_sender();
            sender.send_to(&enc.packets()[0], group()).expect("send");
            sender.send_to(&plain.packets()[0], group()).expect("send");
            wait_until("two drops", || node.stats().legacy.dropped.total() == 2).await;
            let d = node.stats().legacy.dropped;
            // a wrong key shows as bad padding, or (1 in 256) as garbage
            assert_eq!(d.decrypt_failed + d.malformed, 1, "{d:?}");
            assert_eq!(d.unencrypted_with_key, 1, "{d:?}");
            // one notice for both: one source, one kind of problem
            wait_until("notices", || notices.len() >= 2).await;
            assert!(matches!(notices.try_recv(), Ok(Notice::Started { .. })));
            match notices.try_recv() {
                Ok(Notice::LegacyProtocolError(LegacyProblem::Encryption { from, .. })) => {
                    assert_eq!(from.port(), CAPTURE_PORT)
                }
                other => panic!("unexpected {other:?}"),
            }
            assert!(notices.is_empty());
            stop_all(&[node]).await;
        })
    });
}
