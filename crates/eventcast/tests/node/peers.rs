//! `Eventcast::peers`, through real sockets: a node lists the nodes it
//! hears, by id and address, with their lead and counts; a node that never
//! emits is not listed, nor is the node itself; a stopped node lists
//! nobody.

use crate::common::*;
use eventcast::MessageSeq;

#[test]
fn a_node_lists_the_node_it_hears_and_only_that_one() {
    netns_test::run(|| {
        block_on(async {
            let port = free_port();
            let nodes = start_nodes(3, &config(port)).await;
            let (talker, listener, silent) = (&nodes[0], &nodes[1], &nodes[2]);
            assert!(listener.peers().await.is_empty(), "nothing heard yet");

            let mut sub = listener.subscribe();
            // Silent, but listening: a node nobody listens on tracks nobody.
            let _silent_listens = silent.subscribe();
            talker.emit("greet", &("hello",)).expect("emit");
            let event = next_remote(&mut sub).await;
            assert_eq!(event.sender(), talker.id());

            // The event was dispatched after its datagram was handled, and
            // the request goes to the same task: the snapshot has it.
            let peers = listener.peers().await;
            assert_eq!(peers.len(), 1, "{peers:?}");
            let peer = peers[0];
            assert_eq!(peer.id, talker.id());
            assert_eq!(Some(peer.addr), event.from());
            assert_eq!(
                peer.addr.port(),
                port,
                "every node sends from the group's port"
            );
            assert_eq!(peer.lead, MessageSeq::new(1));
            assert_eq!((peer.delivered, peer.lost), (1, 0));
            assert!(peer.since_heard < TIMEOUT, "{peer:?}");

            // The silent node heard the talker too, and nobody heard the
            // silent one or the listener: they never sent anything.
            wait_until("the silent node hears the talker", || {
                silent.stats().protocol.messages_received == 1
            })
            .await;
            let ids: Vec<_> = silent.peers().await.iter().map(|p| p.id).collect();
            assert_eq!(ids, [talker.id()]);
            assert!(
                talker.peers().await.is_empty(),
                "its own emits do not count"
            );

            listener.stop().await;
            assert!(listener.peers().await.is_empty(), "stopped");
            stop_all(&nodes).await;
        })
    });
}
