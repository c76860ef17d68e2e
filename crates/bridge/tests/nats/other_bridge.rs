//! Two bridges for the same prefix on one LAN: found, reported, and one
//! stands by, so that events are not doubled.

use std::time::Duration;

use eventcast_bridge::BridgeNotice;

use crate::server::NatsServer;
use crate::support::*;

#[test]
fn a_second_bridge_on_the_lan_is_reported_and_stands_by() {
    netns_test::run(|| {
        block_on(async {
            let server = NatsServer::start("");
            let (lan_a, lan_b) = (lan_port(), lan_port());
            let (_n1, first) = bridge(lan_a, &server.url(), "a").await;
            let mut notices = first.notices();
            let (_n2, second) = bridge(lan_a, &server.url(), "a-again").await;
            let (_nb, far) = bridge(lan_b, &server.url(), "b").await;
            let alice = node(lan_a).await;
            let bob = node(lan_b).await;
            let mut at_alice = alice.subscribe_to(["probe", "after"]).expect("subscribe");
            let mut at_bob = bob.subscribe_to(["up"]).expect("subscribe");

            // Until both have found each other (the first events may be
            // doubled meanwhile, and are reported).
            within(
                async {
                    while first.stats().other_bridges == 0 || second.stats().other_bridges == 0 {
                        bob.emit("probe", &()).expect("emit");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                },
                "the bridges to find each other",
            )
            .await;
            let (one, two) = (first.stats(), second.stats());
            assert!(one.standing_by != two.standing_by, "exactly one stands by");
            let notice = within(
                async {
                    loop {
                        if let Ok(n @ BridgeNotice::OtherBridge { .. }) = notices.recv().await {
                            return n;
                        }
                    }
                },
                "the report",
            )
            .await;
            let BridgeNotice::OtherBridge {
                bridge,
                site,
                standing_by,
            } = notice
            else {
                unreachable!()
            };
            assert_eq!((bridge.as_str(), site.as_str()), (second.id(), "a-again"));
            assert_eq!(standing_by, one.standing_by);

            // From now on: once each way.
            for i in 0..5 {
                bob.emit("after", &[i]).expect("emit");
            }
            bob.emit("after", &["end"]).expect("emit");
            let mut after = 0;
            loop {
                let event = next_remote(&mut at_alice).await;
                if event.name() == "probe" {
                    continue;
                }
                if event.raw_args()[0] == bson::Bson::from("end") {
                    break;
                }
                after += 1;
            }
            assert_eq!(after, 5, "not doubled");
            alice.emit("up", &[1]).expect("emit");
            alice.emit("up", &[2]).expect("emit");
            assert_eq!(
                next_remote(&mut at_bob).await.arg::<i32>(0).expect("int"),
                1
            );
            assert_eq!(
                next_remote(&mut at_bob).await.arg::<i32>(0).expect("int"),
                2
            );
            bob.emit("after", &["sentinel"]).expect("emit");
            let event = next_remote(&mut at_alice).await;
            assert_eq!(event.raw_args()[0], bson::Bson::from("sentinel"));
            // Counted once each emit returns, maybe after the event arrived.
            until_stats(&far, "the far bridge's count", |s| {
                s.nats_to_lan_events >= 2
            })
            .await;
            drop((first, second, far));
        })
    });
}
