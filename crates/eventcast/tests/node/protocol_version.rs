//! A datagram of another protocol version is dropped, counted, and reported
//! as a protocol error once per source address (the original's EPRVERSION).

use std::sync::{Arc, Mutex};

use crate::common::*;
use eventcast::Notice;
use eventcast_proto::wire::MAGIC;
use eventcast_proto::{ProtocolError, SenderId};
use tokio::sync::broadcast::error::TryRecvError;

/// A well-formed one-segment data frame with version byte `version`.
fn datagram(version: u8) -> Vec<u8> {
    let payload = eventcast_proto::encode_body("future", &[]).expect("encodable");
    let mut bytes = data_frame(
        SenderId::new(0xF00D),
        0,
        0,
        1,
        payload.len() as u32,
        &payload,
    );
    assert_eq!(bytes[..3], [MAGIC[0], MAGIC[1], 1]);
    bytes[2] = version;
    bytes
}

#[test]
fn other_version_is_counted_and_reported_once_per_source() {
    netns_test::run(|| {
        block_on(async {
            let nodes = start_nodes(2, &config(free_port())).await;
            let (node, peer) = (&nodes[0], &nodes[1]);
            let mut notices = node.notices();
            let called = Arc::new(Mutex::new(Vec::new()));
            let calls = called.clone();
            node.on_notice(move |n| calls.lock().unwrap().push(n.clone()));
            let mut events = node.subscribe();
            let group = node.group_addr().unwrap();

            let v2 = datagram(2);
            let first = send_raw(group, &[&v2, &v2, &[0xEC, 0xA5, 2]]);
            let second = send_raw(group, &[&datagram(2)]);
            wait_until("four datagrams of version 2 counted", || {
                node.stats().protocol.dropped.unsupported_version == 4
            })
            .await;

            // The node still works, and every notice is out by now.
            let before = sync(peer, &mut events).await;
            assert!(before.is_empty(), "delivered: {before:?}");

            let mut reported = Vec::new();
            loop {
                match notices.try_recv() {
                    Ok(Notice::ProtocolError(e)) => reported.push(e),
                    Ok(other) => panic!("unexpected notice {other:?}"),
                    Err(TryRecvError::Empty) => break,
                    Err(e) => panic!("notices: {e}"),
                }
            }
            assert_eq!(reported.len(), 2, "once per source: {reported:?}");
            let mut ports = Vec::new();
            for error in &reported {
                let ProtocolError::UnsupportedVersion { from, version } = error else {
                    panic!("unexpected {error:?}");
                };
                assert_eq!(*version, 2);
                ports.push(from.port());
                let message = error.to_string();
                assert!(message.contains("version 2"), "{message}");
                assert!(message.contains(&from.to_string()), "{message}");
            }
            ports.sort_unstable();
            let mut sources = vec![first.port(), second.port()];
            sources.sort_unstable();
            assert_eq!(ports, sources);
            let called: Vec<Notice> = called.lock().unwrap().clone();
            assert_eq!(
                called,
                reported
                    .into_iter()
                    .map(Notice::ProtocolError)
                    .collect::<Vec<_>>(),
                "on_notice saw the same"
            );

            let dropped = node.stats().protocol.dropped;
            assert_eq!(dropped.unsupported_version, 4);
            assert_eq!(dropped.total(), 4);
            assert_eq!(node.stats().protocol.messages_received, 1);
            stop_all(&nodes).await;
        })
    });
}
