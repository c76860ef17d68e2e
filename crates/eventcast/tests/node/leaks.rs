//! 1000 start/stop cycles leak no socket, no task and no memory.
//!
//! The only test in its binary, so nothing else opens descriptors or
//! allocates in this process while it counts.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use crate::common::*;
use eventcast::Eventcast;

const CYCLES: usize = 1000;

/// RSS may grow by at most this much between cycle 100 and the last.
const RSS_SLACK_KIB: u64 = 2 * 1024;

#[test]
fn start_stop_cycles_leak_nothing() {
    netns_test::run(|| {
        block_on(async {
            let node = Eventcast::new(config(free_port())).unwrap();
            // A counter, not a Recorder: keeping the events would grow memory.
            let ticks = Arc::new(AtomicUsize::new(0));
            let counter = ticks.clone();
            node.on("tick", move |_| {
                counter.fetch_add(1, Ordering::Relaxed);
            })
            .expect("an exact name");
            // Whatever is set up lazily on the first run is not a leak.
            node.start().await.unwrap();
            node.stop().await;

            let fds = open_fds();
            // No task of the node outlives a stop once tokio has released it
            // (the first run's key derivation and driver a moment later):
            // the baseline is zero, not whatever was still being released.
            wait_until("the first run's tasks released", || alive_tasks() == 0).await;
            let tasks = 0;
            let mut rss_at_100 = 0;
            let mut last_id = node.id();
            for i in 1..=CYCLES {
                node.start().await.unwrap();
                assert_ne!(node.id(), last_id, "cycle {i}: a restart is a new sender");
                last_id = node.id();
                // The socket joined to the group, and the one it sends on.
                assert_eq!(open_fds(), fds + 2, "cycle {i}: two sockets while running");
                node.emit("tick", &(i as i64,)).unwrap();
                node.stop().await;
                assert_eq!(open_fds(), fds, "cycle {i}: sockets closed by stop");
                // stop awaited the task; tokio counts it alive until it has
                // also been released, a moment later.
                wait_until("the task released", || alive_tasks() == tasks).await;
                if i == 100 {
                    rss_at_100 = rss_kib();
                }
            }
            assert_eq!(alive_tasks(), tasks);
            assert_eq!(open_fds(), fds);
            let rss_at_end = rss_kib();
            eprintln!(
                "RSS after cycle 100: {rss_at_100} KiB, after cycle {CYCLES}: {rss_at_end} KiB"
            );
            assert!(
                rss_at_end <= rss_at_100 + RSS_SLACK_KIB,
                "RSS grew from {rss_at_100} KiB to {rss_at_end} KiB"
            );
            assert_eq!(ticks.load(Ordering::Relaxed), CYCLES);
            let stats = node.stats();
            assert_eq!(stats.starts, CYCLES as u64 + 1);
            assert_eq!(stats.send_errors, 0);
            assert!(!stats.running);
        })
    });
}
