//! Several nodes on one port on one host (SO_REUSEADDR / SO_REUSEPORT) all
//! hear each other.

use std::collections::BTreeSet;

use crate::common::*;

const NODES: usize = 5;

#[test]
fn every_node_hears_every_other() {
    netns_test::run(|| {
        block_on(async {
            let port = free_port();
            let nodes = start_nodes(NODES, &config(port)).await;
            let mut subs: Vec<_> = nodes
                .iter()
                .map(|n| n.subscribe_to(["hello"]).expect("exact names"))
                .collect();
            for node in &nodes {
                assert_eq!(node.local_addr().unwrap().port(), port);
            }
            let ids: BTreeSet<_> = nodes.iter().map(|n| n.id()).collect();
            assert_eq!(ids.len(), NODES, "distinct sender ids");

            for (i, node) in nodes.iter().enumerate() {
                node.emit("hello", &(i as i32,)).unwrap();
            }
            for (i, (node, sub)) in nodes.iter().zip(&mut subs).enumerate() {
                let events = collect_remote(sub, NODES - 1).await;
                let senders: BTreeSet<_> = events.iter().map(|e| e.sender()).collect();
                let mut others = ids.clone();
                others.remove(&node.id());
                assert_eq!(senders, others, "node {i} heard every other node");
                for event in &events {
                    let from = nodes.iter().position(|n| n.id() == event.sender()).unwrap();
                    assert_eq!(event.arg::<i32>(0).unwrap(), from as i32);
                }
            }
            for node in &nodes {
                let stats = node.stats().protocol;
                // Filtered out in the kernel (`self_filter.rs`).
                assert_eq!(stats.own_datagrams, 0);
                assert_eq!(stats.messages_received, NODES as u64 - 1);
                assert_eq!(stats.senders, NODES as u64 - 1);
                assert_eq!(stats.dropped.total(), 0);
            }
            stop_all(&nodes).await;
        })
    });
}
