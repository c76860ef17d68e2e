//! What a node's start makes ready for `Config::expected_event_sizes`,
//! seen from inside: the spares each way, by the time `start` returns.
#![allow(clippy::unwrap_used)]

use super::Eventcast;
use crate::config::Config;
use crate::spare::room_for;
use crate::wire_protocol::WireProtocol;

const MIB: usize = 1 << 20;
/// Above the sizes a spare serves unless expected.
const LARGE: usize = 8 * MIB;

/// The rooms of the node's sending and receiving spares.
fn rooms(node: &Eventcast) -> (Vec<usize>, Vec<usize>) {
    (node.handle.spare.rooms(), node.handle.receive_spare.rooms())
}

#[test]
fn a_start_makes_the_expected_sizes_buffers_before_it_returns() {
    netns_test::run(|| {
        netns_test::block_on(async {
            let told = |config: Config| {
                config
                    .multicast_ttl(0)
                    .expected_event_size(LARGE)
                    .expected_event_size(300 * 1024)
            };
            let both = [room_for(LARGE), room_for(300 * 1024)].to_vec();
            // Receiving ones only: the sending side is left as it is.
            let cases = [
                (told(Config::default()), (Vec::new(), both)),
                // Sends only: it never puts a message together.
                (
                    told(Config::default().send_only(true)),
                    (Vec::new(), Vec::new()),
                ),
                // The legacy protocol uses neither.
                (
                    told(Config::default().wire_protocol(WireProtocol::LegacyV3)),
                    (Vec::new(), Vec::new()),
                ),
                (Config::default().multicast_ttl(0), (Vec::new(), Vec::new())),
            ];
            for (config, expected) in cases {
                let what = format!("{config:?}");
                let node = Eventcast::bare(config).unwrap();
                node.start().await.unwrap();
                assert_eq!(rooms(&node), expected, "{what}");
                // A start of a running node changes nothing; a stop lets
                // them go, the next start makes them again.
                node.start().await.unwrap();
                assert_eq!(rooms(&node), expected, "{what}");
                node.stop().await;
                assert_eq!(rooms(&node), (Vec::new(), Vec::new()), "{what}");
                node.start().await.unwrap();
                assert_eq!(rooms(&node), expected, "{what}");
                node.stop().await;
            }
        })
    });
}

#[test]
fn a_start_given_up_while_the_buffers_are_made_leaves_none() {
    netns_test::run(|| {
        netns_test::block_on(async {
            let config = Config::default()
                .multicast_ttl(0)
                .expected_event_size(LARGE);
            let node = Eventcast::bare(config).unwrap();
            // Polled once, then dropped: the blocking pool is making the
            // buffer then (faulting in 9 MiB takes far longer than the
            // poll). (A timeout of 1 us was tried: tokio's timer ticks in
            // milliseconds, and a warm machine finished the start first.)
            let mut start = Box::pin(node.start());
            let first = std::future::poll_fn(|cx| {
                std::task::Poll::Ready(std::future::Future::poll(start.as_mut(), cx).is_pending())
            })
            .await;
            assert!(first, "the start finished in its first poll");
            drop(start);
            assert!(!node.is_running());
            // Once the blocking pool is done, nothing is kept.
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            assert_eq!(rooms(&node), (Vec::new(), Vec::new()));
            // A later start makes them as usual.
            node.start().await.unwrap();
            assert_eq!(rooms(&node), (Vec::new(), vec![room_for(LARGE)]));
            node.stop().await;
        })
    });
}
