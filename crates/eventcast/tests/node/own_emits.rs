//! Two nodes on one host: each hears the other's emits and its own, and its
//! own exactly once. The copy of its own datagrams that multicast loopback
//! brings back never reaches it: a socket filter drops it in the kernel
//! (`self_filter.rs`; the endpoint would recognise and ignore it too).

use crate::common::*;

#[test]
fn each_node_hears_its_own_emits_once_and_the_others() {
    netns_test::run(|| {
        block_on(async {
            let nodes = start_nodes(2, &config(free_port())).await;
            let (a, b) = (&nodes[0], &nodes[1]);
            let (a_hears_a, a_hears_b) = (Recorder::new(), Recorder::new());
            let (b_hears_a, b_hears_b) = (Recorder::new(), Recorder::new());
            a.on("from-a", a_hears_a.listener()).expect("an exact name");
            a.on("from-b", a_hears_b.listener()).expect("an exact name");
            b.on("from-a", b_hears_a.listener()).expect("an exact name");
            b.on("from-b", b_hears_b.listener()).expect("an exact name");

            a.emit("from-a", &("hello from a",)).unwrap();
            b.emit("from-b", &("hello from b",)).unwrap();

            // Local listeners fire inside emit itself.
            assert_eq!(a_hears_a.calls(), 1);
            assert_eq!(b_hears_b.calls(), 1);

            // The other's event arrives.
            wait_until("b's event at a", || a_hears_b.calls() >= 1).await;
            wait_until("a's event at b", || b_hears_a.calls() >= 1).await;
            // Both directions once more, so that anything late would be in.
            let mut a_sub = a.subscribe();
            let mut b_sub = b.subscribe();
            sync(b, &mut a_sub).await;
            sync(a, &mut b_sub).await;

            for (who, recorder) in [
                ("a hears a", &a_hears_a),
                ("a hears b", &a_hears_b),
                ("b hears a", &b_hears_a),
                ("b hears b", &b_hears_b),
            ] {
                assert_eq!(recorder.calls(), 1, "{who}");
            }

            let own = &a_hears_a.events()[0];
            assert!(own.is_local());
            assert_eq!(own.sender(), a.id());
            assert_eq!(own.arg::<String>(0).unwrap(), "hello from a");

            let remote = &b_hears_a.events()[0];
            assert!(!remote.is_local());
            assert_eq!(remote.sender(), a.id());
            assert_eq!(
                remote.from().map(|f| f.port()),
                a.local_addr().map(|l| l.port())
            );
            assert_eq!(remote.arg::<String>(0).unwrap(), "hello from a");
            assert_eq!(a_hears_b.events()[0].sender(), b.id());

            for node in [a, b] {
                let stats = node.stats().protocol;
                assert_eq!(stats.own_datagrams, 0, "own datagrams filtered out");
                assert_eq!(stats.messages_sent, 2);
                assert_eq!(stats.messages_received, 2, "other's emit and sentinel");
                assert_eq!(stats.dropped.total(), 0);
            }
            stop_all(&nodes).await;
        })
    });
}

#[test]
fn sealed_own_datagrams_are_filtered_out_too() {
    netns_test::run(|| {
        block_on(async {
            let nodes = start_nodes(2, &config(free_port()).key("own-filter")).await;
            let (a, b) = (&nodes[0], &nodes[1]);
            let mut at_b = b.subscribe_to(["big"]).expect("an exact name");
            // Large enough for many segments, each a sealed datagram.
            a.emit("big", &("x".repeat(200_000),)).unwrap();
            let event = next_remote(&mut at_b).await;
            assert_eq!(event.str_arg(0).map(str::len), Some(200_000));
            let mut at_a = a.subscribe();
            sync(b, &mut at_a).await;
            let stats = a.stats().protocol;
            assert!(stats.datagrams_sealed > 100, "{stats:#?}");
            assert_eq!(stats.own_datagrams, 0, "{stats:#?}");
            stop_all(&nodes).await;
        })
    });
}
