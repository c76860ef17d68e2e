//! Dropping the last handle stops the node: what it emitted still goes
//! out, its task ends, its socket closes and its subscriptions end.
//! Dropping one clone of several does nothing.
//!
//! The only test in its binary, so nothing else opens descriptors in this
//! process while it counts.

use crate::common::*;
use eventcast::Eventcast;

#[test]
fn dropping_the_last_handle_stops_the_node() {
    netns_test::run(|| {
        block_on(async {
            let config = config(free_port());
            let peer = start_nodes(1, &config).await.remove(0);
            let mut heard = peer.subscribe_to(["n"]).expect("exact names");
            let fds = open_fds();
            // One task per running node: the peer's driver, once its start's
            // key derivation has been released.
            wait_until("the peer's start settled", || alive_tasks() == 1).await;
            let tasks = 1;

            let node = Eventcast::new(config).unwrap();
            node.start().await.unwrap();
            // Its joined socket and the one it sends on.
            assert_eq!(open_fds(), fds + 2);
            assert_eq!(alive_tasks(), tasks + 1);
            let mut own = node.subscribe();

            // One clone of two gone: still running.
            let clone = node.clone();
            drop(clone);
            assert!(node.is_running());
            node.emit("n", &(0,)).unwrap();
            assert_eq!(next_remote(&mut heard).await.arg::<i32>(0).unwrap(), 0);
            assert_eq!(next_event(&mut own).await.name(), "n");

            // The last one: what was emitted still goes out, then it stops.
            for i in 1..=10 {
                node.emit("n", &(i,)).unwrap();
            }
            drop(node);
            let got: Vec<i32> = collect_remote(&mut heard, 10)
                .await
                .iter()
                .map(|e| e.arg(0).unwrap())
                .collect();
            assert_eq!(got, (1..=10).collect::<Vec<_>>());
            wait_until("the socket closed and the task gone", || {
                open_fds() == fds && alive_tasks() == tasks
            })
            .await;
            // Its subscription saw its local emits, then ends.
            for i in 1..=10 {
                assert_eq!(next_event(&mut own).await.arg::<i32>(0).unwrap(), i);
            }
            assert!(guard("the subscription to end", own.recv()).await.is_none());
            peer.stop().await;
        })
    });
}
