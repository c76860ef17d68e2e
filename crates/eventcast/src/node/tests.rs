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
            // Receiving ones only: the sending side makes its spares after
            // the bodies that need one.
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
                let sends_large = config.expected_event_sizes.contains(&LARGE)
                    && config.wire_protocol == WireProtocol::Native;
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
                // The sending side serves a body of an expected size: one
                // is owed after it, where above 4.5 MiB none would be.
                let spare = &node.handle.spare;
                let _ = spare.take(LARGE + 100);
                assert_eq!(spare.owes(), sends_large, "{what}");
                node.stop().await;
            }
        })
    });
}
