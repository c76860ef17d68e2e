//! The server restarts in the middle of a stream: nothing that fits in the
//! outage buffer is lost, nothing is doubled. What the server took but had
//! not yet passed on to the receiving bridge when it was killed is lost:
//! core NATS delivers at most once, and the sender's round trip confirms
//! only that the server took it.

use std::time::Duration;

use crate::server::NatsServer;
use crate::support::*;

#[test]
fn a_server_restart_loses_nothing_that_fits_in_the_buffer() {
    netns_test::run(|| {
        block_on(async {
            let mut server = NatsServer::start("");
            let (lan_a, lan_b) = (lan_port(), lan_port());
            let (_na, bridge_a) = bridge(lan_a, &server.url(), "a").await;
            let (_nb, bridge_b) = bridge(lan_b, &server.url(), "b").await;
            let alice = node(lan_a).await;
            let bob = node(lan_b).await;
            let mut at_bob = bob.subscribe_to(["n", "done"]).expect("subscribe");

            let mut expected = Vec::new();
            let mut i = 0;
            // Before: delivered at once.
            for _ in 0..20 {
                alice.emit("n", &[i]).expect("emit");
                expected.push(i);
                i += 1;
            }
            until_stats(&bridge_b, "the first events", |s| {
                s.nats_to_lan_events == 20
            })
            .await;

            // During: the server dies while events are being published.
            let emitter = {
                let alice = alice.clone();
                tokio::spawn(async move {
                    for j in 20..40 {
                        alice.emit("n", &[j]).expect("emit");
                        tokio::time::sleep(Duration::from_millis(5)).await;
                    }
                })
            };
            tokio::time::sleep(Duration::from_millis(30)).await;
            server.kill();
            emitter.await.expect("emitter");
            expected.extend(20..40);
            i = 40;
            until_stats(&bridge_a, "the disconnection", |s| !s.connected).await;
            for _ in 0..30 {
                alice.emit("n", &[i]).expect("emit");
                expected.push(i);
                i += 1;
            }
            until_stats(&bridge_a, "the buffer to hold them", |s| {
                s.buffered_events >= 30
            })
            .await;

            // After: the buffer goes out in order, then what follows.
            server.restart();
            for _ in 0..10 {
                alice.emit("n", &[i]).expect("emit");
                expected.push(i);
                i += 1;
            }
            alice.emit("done", &()).expect("emit");
            let mut got = Vec::new();
            loop {
                let event = next_remote(&mut at_bob).await;
                if event.name() == "done" {
                    break;
                }
                got.push(event.arg::<i32>(0).expect("int"));
            }
            // Every event once, in order; of those published while the
            // server was killed (20..40) the one or two it had taken but not
            // yet passed on may be missing (seen once in a CI run: 25).
            let missing: Vec<i32> = expected
                .iter()
                .filter(|e| !got.contains(e))
                .copied()
                .collect();
            let context = format!(
                "got {got:?}; bridge a: {:#?}, bridge b: {:#?}",
                bridge_a.stats(),
                bridge_b.stats()
            );
            assert!(
                got.windows(2).all(|w| w[0] < w[1]),
                "in order, once: {context}"
            );
            assert!(got.iter().all(|e| expected.contains(e)), "{context}");
            assert!(
                missing.len() <= 2 && missing.iter().all(|e| (20..40).contains(e)),
                "missing {missing:?}: {context}"
            );
            // The bridge counts an event as out of its buffer once its
            // publish returns, which may be after Bob already has it.
            until_stats(&bridge_a, "the buffer to empty", |s| {
                s.buffered_bytes == 0 && s.lan_to_nats_events == 81
            })
            .await;
            let a = bridge_a.stats();
            assert!(a.reconnects >= 1, "{a:#?}");
            assert_eq!(a.dropped(), 0, "{a:#?}");
            let b = bridge_b.stats();
            assert!(b.reconnects >= 1, "{b:#?}");
            bridge_a.stop().await;
            bridge_b.stop().await;
        })
    });
}

/// Beyond the buffer, events are dropped, counted and reported.
#[test]
fn what_does_not_fit_is_dropped_and_counted() {
    netns_test::run(|| {
        block_on(async {
            let mut server = NatsServer::start("");
            let lan = lan_port();
            let config = eventcast_bridge::BridgeConfig::new([server.url()]).buffer_bytes(1000);
            let (_node, bridge) = bridge_with(lan, config).await;
            let mut notices = bridge.notices();
            let alice = node(lan).await;
            server.kill();
            until_stats(&bridge, "the disconnection", |s| !s.connected).await;
            let arg = "y".repeat(300);
            for _ in 0..10 {
                alice.emit("n", &(arg.as_str(),)).expect("emit");
            }
            until_stats(&bridge, "the drops", |s| {
                s.buffered_events + s.dropped_buffer_full == 10
            })
            .await;
            let stats = bridge.stats();
            assert_eq!(stats.buffered_events, 3, "{stats:#?}");
            assert_eq!(stats.dropped_buffer_full, 7, "{stats:#?}");
            assert!(stats.buffered_bytes <= 1000);
            let full = within(
                async {
                    loop {
                        if let Ok(n @ eventcast_bridge::BridgeNotice::BufferFull { .. }) =
                            notices.recv().await
                        {
                            return n;
                        }
                    }
                },
                "the buffer-full notice",
            )
            .await;
            assert_eq!(
                full,
                eventcast_bridge::BridgeNotice::BufferFull { limit: 1000 }
            );
            drop(bridge);
        })
    });
}
