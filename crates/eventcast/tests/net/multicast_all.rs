//! IP_MULTICAST_ALL is off: a node hears only the group it joined, even
//! when another group on this host uses the same port.

use std::net::{IpAddr, Ipv4Addr};

use crate::common::*;

#[test]
fn a_node_does_not_hear_another_group_on_the_same_port() {
    netns_test::run(|| {
        block_on(async {
            let port = free_port();
            let group = |last| IpAddr::V4(Ipv4Addr::new(239, 1, 2, last));
            let here = config(port).multicast_membership(group(3));
            let there = config(port).multicast_membership(group(4));
            let nodes = start_nodes(2, &here).await;
            let (listener, sentinel) = (&nodes[0], &nodes[1]);
            let other = start_nodes(2, &there).await;
            let mut heard = listener.subscribe();
            let mut other_heard = other[1].subscribe();

            other[0].emit("elsewhere", &("not for group .3",)).unwrap();
            // It reached this host's sockets of group .4 ...
            assert_eq!(next_remote(&mut other_heard).await.name(), "elsewhere");
            // ... and by the time a later event of group .3 arrives, the
            // listener would have handled it too, had it been delivered.
            let before = sync(sentinel, &mut heard).await;
            assert!(before.is_empty(), "heard another group: {before:?}");
            let stats = listener.stats().protocol;
            assert_eq!(data_received(listener), 1, "the sentinel only");
            assert_eq!(stats.dropped.total(), 0);

            // And the other way round.
            let mut other_heard = other[0].subscribe();
            listener.emit("here", &()).unwrap();
            let before = sync(&other[1], &mut other_heard).await;
            assert!(before.is_empty(), "heard another group: {before:?}");
            assert_eq!(data_received(&other[0]), 1, "the sentinel only");

            stop_all(&nodes).await;
            stop_all(&other).await;
        })
    });
}
