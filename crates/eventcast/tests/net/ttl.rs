//! Multicast TTL 0 (this host only) and 1 (this segment) both deliver
//! between nodes on the same host through loopback.

use crate::common::*;

#[test]
fn ttl_0_and_1_deliver_on_this_host() {
    netns_test::run(|| {
        block_on(async {
            for ttl in [0, 1] {
                let config = config(free_port()).multicast_ttl(ttl);
                let nodes = start_nodes(2, &config).await;
                let mut sub = nodes[1].subscribe_to(["ttl"]).expect("exact names");
                nodes[0].emit("ttl", &(ttl,)).unwrap();
                let event = next_remote(&mut sub).await;
                assert_eq!(event.arg::<u32>(0).unwrap(), ttl);
                assert_eq!(event.sender(), nodes[0].id());
                stop_all(&nodes).await;
            }
        })
    });
}
