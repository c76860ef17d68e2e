//! Two LANs (two ports of this host) bridged both ways through one server.

use bson::Bson;
use eventcast_bridge::BridgeConfig;

use crate::server::NatsServer;
use crate::support::*;

/// Every event crosses exactly once each way, 1 MiB ones (chunked above
/// the server's max_payload) included, and nothing comes back to the LAN
/// it came from.
#[test]
fn two_lans_exactly_once_both_ways_no_echo() {
    netns_test::run(|| {
        block_on(async {
            let server = NatsServer::start("");
            let (lan_a, lan_b) = (lan_port(), lan_port());
            let (bridge_node_a, bridge_a) = bridge(lan_a, &server.url(), "site-a").await;
            let (bridge_node_b, bridge_b) =
                bridge_with(lan_b, BridgeConfig::new([server.url()]).site("site-b")).await;
            let alice = node(lan_a).await;
            let bob = node(lan_b).await;
            let mut at_alice = alice.subscribe();
            let mut at_bob = bob.subscribe();

            let big = "x".repeat(1024 * 1024);
            for i in 0..20 {
                alice.emit("ping", &(i, "from a")).expect("emit");
            }
            alice.emit("big", &(big.as_str(),)).expect("emit big");
            alice.emit("done.a", &()).expect("emit");
            let mut pings = Vec::new();
            loop {
                let event = next_remote(&mut at_bob).await;
                match event.name() {
                    "ping" => pings.push(event.arg::<i32>(0).expect("int")),
                    "big" => assert_eq!(event.arg::<String>(0).expect("string").len(), 1 << 20),
                    "done.a" => break,
                    other => panic!("unexpected {other} at bob"),
                }
            }
            assert_eq!(
                pings,
                (0..20).collect::<Vec<_>>(),
                "each once, in order; bridge a: {:#?}, bridge b: {:#?}, \
                 a's node: {:#?}, b's node: {:#?}, bob: {:#?}",
                bridge_a.stats(),
                bridge_b.stats(),
                bridge_node_a.stats(),
                bridge_node_b.stats(),
                bob.stats()
            );

            for i in 0..20 {
                bob.emit("pong", &[i]).expect("emit");
            }
            bob.emit("big", &(big.as_str(), 2)).expect("emit big");
            bob.emit("done.b", &()).expect("emit");
            let mut pongs = Vec::new();
            let mut bigs = 0;
            loop {
                let event = next_remote(&mut at_alice).await;
                match event.name() {
                    "pong" => pongs.push(event.arg::<i32>(0).expect("int")),
                    "big" => {
                        assert_eq!(
                            event.raw_args()[1],
                            Bson::Int32(2),
                            "bob's, not alice's echo"
                        );
                        bigs += 1;
                    }
                    "done.b" => break,
                    other => panic!("unexpected {other} at alice (an echo?)"),
                }
            }
            assert_eq!(pongs, (0..20).collect::<Vec<_>>());
            assert_eq!(bigs, 1);

            // A bridge counts an event once its emit (or the server's
            // confirmation) returns, which may be after the event arrived.
            let all = |s: &eventcast_bridge::BridgeStats| {
                s.lan_to_nats_events == 22 && s.nats_to_lan_events == 22
            };
            until_stats(&bridge_a, "bridge a's counts", all).await;
            until_stats(&bridge_b, "bridge b's counts", all).await;
            let (a, b) = (bridge_a.stats(), bridge_b.stats());
            assert_eq!(a.lan_to_nats_events, 22, "{a:#?}");
            assert_eq!(a.nats_to_lan_events, 22, "{a:#?}");
            assert_eq!(b.lan_to_nats_events, 22, "{b:#?}");
            assert_eq!(b.nats_to_lan_events, 22, "{b:#?}");
            assert!(
                a.chunks_sent >= 2 && b.chunks_received >= 2,
                "1 MiB was chunked: {a:#?}"
            );
            assert_eq!((a.dropped(), b.dropped()), (0, 0));
            assert_eq!((a.dropped_own, b.dropped_own), (0, 0), "no_echo");
            assert!(a.lan_to_nats_bytes > 1 << 20 && b.nats_to_lan_bytes > 1 << 20);
            bridge_a.stop().await;
            bridge_b.stop().await;
        })
    });
}

/// A chunked event larger than the receiver's reassembly budget is
/// dropped and counted there; the bridge goes on.
#[test]
fn reassembly_is_bounded() {
    netns_test::run(|| {
        block_on(async {
            let server = NatsServer::start("");
            let (lan_a, lan_b) = (lan_port(), lan_port());
            let sending = BridgeConfig::new([server.url()]).chunk_size(64 * 1024);
            let (_na, bridge_a) = bridge_with(lan_a, sending).await;
            let mut receiving = BridgeConfig::new([server.url()]);
            receiving.reassembly_bytes = 200 * 1024;
            let (_nb, bridge_b) = bridge_with(lan_b, receiving).await;
            let alice = node(lan_a).await;
            let bob = node(lan_b).await;
            let mut at_bob = bob.subscribe_to(["big", "small"]).expect("subscribe");

            alice.emit("big", &("z".repeat(300 * 1024),)).expect("emit");
            alice
                .emit("small", &("z".repeat(150 * 1024),))
                .expect("emit");
            let event = next_remote(&mut at_bob).await;
            assert_eq!(event.name(), "small", "the big one was dropped");
            // Counted once the emit returns, maybe after it arrived.
            until_stats(&bridge_b, "the count", |s| s.nats_to_lan_events == 1).await;
            let b = bridge_b.stats();
            assert_eq!(b.dropped_reassembly, 1, "{b:#?}");
            assert_eq!(b.nats_to_lan_events, 1, "{b:#?}");
            assert_eq!(b.reassembly_bytes, 0, "{b:#?}");
            // Bridge A counts a chunk once its client took it, which may
            // be after B has it all.
            until_stats(&bridge_a, "the chunks counted", |s| s.chunks_sent >= 8).await;
            bridge_a.stop().await;
            bridge_b.stop().await;
        })
    });
}
