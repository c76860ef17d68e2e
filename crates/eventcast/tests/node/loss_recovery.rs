//! Real sockets through real loss: inside a namespace that drops 10% of
//! incoming UDP datagrams at random (NACKs, repairs and heartbeats
//! included), three nodes each emit 100 KiB events; every node gets every
//! other node's events complete, exactly once, in each sender's order,
//! and no loss is reported.

use std::collections::BTreeMap;

use crate::common::*;
use eventcast::bson::{spec::BinarySubtype, Binary, Bson};
use eventcast::Notice;

const NODES: usize = 3;
const EACH: usize = 4;
const SIZE: usize = 100 * 1024;

fn blob(sender: usize, i: usize) -> Bson {
    Bson::Binary(Binary {
        subtype: BinarySubtype::Generic,
        bytes: (0..SIZE).map(|k| (k * 31 + sender * 7 + i) as u8).collect(),
    })
}

#[test]
fn events_of_100_kib_through_ten_percent_loss() {
    netns_test::run_with_loss(10, || {
        block_on(async {
            let nodes = start_nodes(NODES, &config(free_port())).await;
            let mut notices: Vec<_> = nodes.iter().map(|n| n.notices()).collect();
            let mut subs: Vec<_> = nodes
                .iter()
                .map(|n| n.subscribe_to(["blob"]).expect("exact names"))
                .collect();
            for i in 0..EACH {
                for (s, node) in nodes.iter().enumerate() {
                    node.emit("blob", &(s as i32, i as i32, blob(s, i)))
                        .expect("emit");
                }
            }
            for (r, sub) in subs.iter_mut().enumerate() {
                let want = (NODES - 1) * EACH;
                let collect = async {
                    let mut events = Vec::new();
                    while events.len() < want {
                        match sub.recv().await {
                            Some(e) if !e.is_local() => events.push(e),
                            Some(_) => {}
                            None => panic!("subscription closed"),
                        }
                    }
                    events
                };
                let events = match tokio::time::timeout(TIMEOUT, collect).await {
                    Ok(events) => events,
                    Err(_) => {
                        for (k, node) in nodes.iter().enumerate() {
                            eprintln!("node {k}: {:?}", node.stats().protocol);
                        }
                        panic!("node {r}: not all {want} events within {TIMEOUT:?}");
                    }
                };
                let mut next: BTreeMap<i32, i32> = BTreeMap::new();
                for event in &events {
                    let (s, i): (i32, i32) = (event.arg(0).unwrap(), event.arg(1).unwrap());
                    assert_ne!(s as usize, r, "its own event came back");
                    assert_eq!(event.sender(), nodes[s as usize].id());
                    // In each sender's order, none twice, none skipped.
                    let expected = next.entry(s).or_insert(0);
                    assert_eq!(i, *expected, "node {r}: from {s}");
                    *expected += 1;
                    assert!(
                        event.raw_args()[2] == blob(s as usize, i as usize),
                        "node {r}: event {i} of {s} damaged"
                    );
                }
            }
            let (mut nacks, mut repairs) = (0, 0);
            for (r, node) in nodes.iter().enumerate() {
                let stats = node.stats().protocol;
                eprintln!("node {r}: {stats:?}");
                assert_eq!(stats.messages_lost, 0, "node {r}");
                assert_eq!(stats.messages_received, ((NODES - 1) * EACH) as u64);
                nacks += stats.nacks_sent;
                repairs += stats.repairs_received;
                while let Ok(notice) = notices[r].try_recv() {
                    assert!(!matches!(notice, Notice::Loss(_)), "node {r}: {notice:?}");
                }
            }
            // The loss rule drops 10% of what leaves a socket. With UDP GSO
            // a run of up to 64 segments leaves as one packet, so one node
            // may lose nothing; across the nodes, some asked and got
            // repairs.
            assert!(nacks > 0 && repairs > 0, "{nacks} NACKs, {repairs} repairs");
            stop_all(&nodes).await;
        })
    });
}
