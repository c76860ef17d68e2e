//! Legacy mode, a node that only sends (issue 17): a `send_only` node, or
//! one nobody listens on, reads none of the other nodes' events (no
//! segment is reassembled, no request sent), yet it still answers the
//! `__ec_retx` requests for its own events, encrypted and segmented ones
//! included.
//!
//! As in `nodes.rs`, unicast on one host reaches only one of the sockets
//! sharing a port: where a request must reach the send-only node, it is
//! the only one bound to 127.0.0.2 (and hears no multicast then).

use crate::common::{block_on, collect_remote, free_port, legacy_config, stop_all, wait_until};
use crate::support::start;

const KEY: &str = "correct horse battery staple";

fn config() -> eventcast::Config {
    legacy_config(free_port())
        .max_payload_size(512)
        .insecure_legacy_key(KEY)
}

/// 20 kB: 40 segments of 512 bytes, encrypted.
fn big() -> String {
    "z".repeat(20_000)
}

#[test]
fn a_send_only_legacy_node_reads_no_other_event() {
    netns_test::run(|| {
        block_on(async {
            let config = config();
            let receiver = start(config.clone()).await;
            let mut events = receiver.subscribe();
            let sender = start(config.clone().send_only(true)).await;
            // Nobody listens on this one: it does not read either.
            let talker = start(config).await;

            sender.emit("big", &(big(),)).expect("emit");
            talker.emit("big", &(big(),)).expect("emit");
            talker.emit("small", &(1,)).expect("emit");
            let got = collect_remote(&mut events, 3).await;
            assert_eq!(got.iter().filter(|e| e.sender() == sender.id()).count(), 1);
            wait_until("the send-only node drops the talker's datagrams", || {
                sender.stats().legacy.dropped.not_receiving >= 41
            })
            .await;
            let s = sender.stats().legacy;
            assert_eq!(
                (
                    s.messages_received,
                    s.partial_messages,
                    s.retx_requests_sent
                ),
                (0, 0, 0),
                "{s:?}"
            );
            assert_eq!(
                sender.stats().protocol.dropped.not_receiving,
                s.dropped.not_receiving
            );
            wait_until("the talker drops the sender's datagrams", || {
                talker.stats().legacy.dropped.not_receiving >= 40
            })
            .await;
            let t = talker.stats().legacy;
            assert_eq!((t.messages_received, t.partial_messages), (0, 0), "{t:?}");
            assert_eq!(receiver.stats().legacy.messages_received, 3);
            stop_all(&[receiver, sender, talker]).await;
        })
    });
}

#[test]
fn a_send_only_legacy_node_repairs_its_own_events() {
    netns_test::run(|| {
        block_on(async {
            let config = config();
            let receiver = start(config.clone()).await;
            let mut events = receiver.subscribe();
            let mut sender_config = config
                .address("127.0.0.2".parse().expect("address"))
                .send_only(true);
            sender_config.legacy.test_drop_datagram = Some(2);
            let sender = start(sender_config).await;

            sender.emit("big", &(big(),)).expect("emit");
            let got = collect_remote(&mut events, 1).await;
            assert_eq!(got[0].arg::<String>(0).ok(), Some(big()));
            let s = sender.stats().legacy;
            assert!(s.retx_requests_received >= 1, "{s:?}");
            assert!(s.retx_segments_resent >= 1, "{s:?}");
            assert_eq!((s.messages_received, s.retx_requests_sent), (0, 0));
            stop_all(&[receiver, sender]).await;
        })
    });
}
