//! A burst into a node whose receive buffer is tiny: the kernel drops most
//! of it, and says so (Linux SO_RXQ_OVFL) with the next datagram the node
//! receives; `NodeStats::kernel_drops` counts them.

use crate::common::*;

const BURST: usize = 3000;

#[test]
fn a_burst_into_a_tiny_receive_buffer_is_counted() {
    netns_test::run(|| {
        block_on(async {
            let port = free_port();
            // The kernel raises 1 byte to its minimum (a few KiB).
            let node = start_nodes(1, &config(port).recv_buffer_size(1)).await;
            let peer = start_nodes(1, &config(port)).await;
            let (node, peer) = (&node[0], &peer[0]);
            assert!(node.stats().recv_buffer_size < 64 * 1024);
            let mut heard = node.subscribe();

            // Not eventcast's (so each one handled is only counted); sent
            // on loopback, so every drop has happened when this returns.
            let datagram = [0x55u8; 1200];
            send_raw(node.group_addr().unwrap(), &vec![&datagram[..]; BURST]);
            // The peer's next datagram tells the count.
            sync(peer, &mut heard).await;

            let stats = node.stats();
            let handled = stats.protocol.dropped.not_eventcast;
            eprintln!(
                "handled {handled} of {BURST}, kernel drops {}",
                stats.kernel_drops
            );
            assert!(stats.kernel_drops > 0, "{stats:?}");
            assert!(handled < BURST as u64);
            // Every datagram of the burst was handled or dropped by the
            // kernel (which may also have dropped some of the peer's).
            assert!(handled + stats.kernel_drops >= BURST as u64, "{stats:?}");
            node.stop().await;
            peer.stop().await;
        })
    });
}

/// A node's own datagrams come back to it (multicast loopback) and its
/// socket filter drops them; the kernel counts those in the same
/// counter as drops for a full buffer. They are not drops.
#[test]
fn a_senders_own_datagrams_are_not_counted() {
    netns_test::run(|| block_on(own_datagrams(true)));
}

/// With multicast loopback off, the group's route through the loopback
/// device (as in these namespaces) still hands the node its datagrams.
#[test]
fn with_multicast_loopback_off_either() {
    netns_test::run(|| block_on(own_datagrams(false)));
}

async fn own_datagrams(loopback: bool) {
    let port = free_port();
    let nodes = start_nodes(2, &config(port).multicast_loopback(loopback)).await;
    let (sender, peer) = (&nodes[0], &nodes[1]);
    let mut at_peer = peer.subscribe();
    let mut at_sender = sender.subscribe();
    // Large events: many datagrams, each filtered at the sender.
    let body = "x".repeat(100_000);
    for i in 0..20i64 {
        sender.emit("big", &(i, body.as_str())).expect("emit");
    }
    let got = sync(sender, &mut at_peer).await;
    assert_eq!(got.len(), 20, "every event arrived");
    // The peer's next datagram carries the sender's count.
    sync(peer, &mut at_sender).await;
    let stats = sender.stats();
    assert!(stats.protocol.datagrams_sent > 20, "{stats:?}");
    assert_eq!(stats.kernel_drops, 0, "{stats:?}");
    stop_all(&nodes).await;
}
