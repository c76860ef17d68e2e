//! An emit that finds the node idle goes out from the caller's thread: it
//! is on the wire, and counted, when `emit` returns. Emits in a burst are
//! queued for the node's task, in its driver or through its channel when
//! the task holds the driver; either way every event arrives, in the order
//! it was emitted, on the multi-threaded runtime and on `current_thread`.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use crate::common::*;
use eventcast::{Eventcast, Subscription};

/// One lone emit after another, each checked on the sender's counters as
/// soon as `emit` returns and then at the receiver.
///
/// Most go out from the caller's thread. One that comes while the task is
/// sending something else (a heartbeat, a status) goes after it, from the
/// task, and is counted only then: under load (the CI's two cores running
/// tests side by side) about one lone emit in a hundred or two did so. So
/// the test asks that most lone emits are on the wire when `emit` returns,
/// and that every one arrives, in order.
async fn lone_emits(a: &Eventcast, sub: &mut Subscription) {
    const LONE: i32 = 20;
    let mut inline = 0;
    for i in 0..LONE {
        // Far from the previous emit: not a burst.
        tokio::time::sleep(Duration::from_millis(5)).await;
        let before = a.stats();
        a.emit("n", &(i,)).unwrap();
        let after = a.stats();
        let counted = after.protocol.messages_sent == before.protocol.messages_sent + 1;
        let sent = after.send_call_datagrams > before.send_call_datagrams;
        inline += i32::from(counted && sent);
        assert_eq!(next_remote(sub).await.arg::<i32>(0).unwrap(), i);
    }
    assert!(
        inline >= LONE / 2,
        "{inline} of {LONE} lone emits were on the wire when `emit` returned"
    );
}

/// Lone emits of events of three datagrams (at the default 1,024-byte
/// `max_payload_size`): most go out from the caller's thread in one
/// system call, their three datagrams together (a lone small event's
/// datagram goes out before the driver is asked for more; a larger one's
/// must not, which would take a call per event more).
async fn lone_emits_of_three_datagrams(a: &Eventcast, sub: &mut Subscription) {
    const LONE: i32 = 20;
    let text = "x".repeat(2_500);
    let mut whole = 0;
    for i in 0..LONE {
        tokio::time::sleep(Duration::from_millis(5)).await;
        let before = a.stats();
        a.emit("n", &(i, &text)).unwrap();
        let after = a.stats();
        let datagrams = after.send_call_datagrams - before.send_call_datagrams;
        let calls = after.send_calls - before.send_calls;
        whole += i32::from(datagrams == 3 && calls == 1);
        let event = next_remote(sub).await;
        assert_eq!(event.arg::<i32>(0).unwrap(), i);
        assert_eq!(event.str_arg(1), Some(text.as_str()));
    }
    assert!(
        whole >= LONE / 2,
        "{whole} of {LONE} lone emits of three datagrams went in one call"
    );
}

/// A burst, then lone emits straight after it, arrive in order.
async fn burst_then_lone(a: &Eventcast, sub: &mut Subscription) {
    for i in 100..300 {
        a.emit("n", &(i,)).unwrap();
    }
    for i in 300..305 {
        tokio::time::sleep(Duration::from_micros(50)).await;
        a.emit("n", &(i,)).unwrap();
    }
    for i in 100..305 {
        assert_eq!(next_remote(sub).await.arg::<i32>(0).unwrap(), i);
    }
}

async fn exchange() {
    let nodes = start_nodes(2, &config(free_port())).await;
    let (a, b) = (&nodes[0], &nodes[1]);
    let mut sub = b.subscribe_to(["n"]).expect("an exact name");
    lone_emits(a, &mut sub).await;
    lone_emits_of_three_datagrams(a, &mut sub).await;
    burst_then_lone(a, &mut sub).await;
    stop_all(&nodes).await;
    let (tx, rx) = (a.stats(), b.stats());
    assert_eq!(tx.send_errors, 0);
    assert_eq!(tx.send_call_datagrams, tx.protocol.datagrams_sent);
    assert_nothing_dropped(&rx.protocol);
}

/// Bursts from several threads at once, while the task sends batches:
/// each thread's events arrive whole and in the order it emitted them.
async fn bursts_from_threads() {
    const THREADS: i32 = 3;
    const EVENTS: i32 = 3_000;
    let nodes = start_nodes(2, &config(free_port())).await;
    let (a, b) = (&nodes[0], &nodes[1]);
    let mut sub = b.subscribe_to(["t"]).expect("an exact name");
    std::thread::scope(|scope| {
        for t in 0..THREADS {
            scope.spawn(move || {
                for i in 0..EVENTS {
                    a.emit("t", &(t, i)).unwrap();
                }
            });
        }
    });
    let mut next = [0; THREADS as usize];
    for _ in 0..THREADS * EVENTS {
        let event = next_remote(&mut sub).await;
        let (t, i) = (event.arg::<i32>(0).unwrap(), event.arg::<i32>(1).unwrap());
        assert_eq!(i, next[t as usize], "thread {t}'s events out of order");
        next[t as usize] += 1;
    }
    stop_all(&nodes).await;
    let (tx, rx) = (a.stats(), b.stats());
    assert_eq!(tx.send_errors, 0);
    assert_nothing_dropped(&rx.protocol);
}

#[test]
fn bursts_from_several_threads_arrive_whole_and_in_order() {
    netns_test::run(|| block_on(bursts_from_threads()));
}

#[test]
fn lone_emits_leave_from_the_caller_and_all_arrive_in_order() {
    netns_test::run(|| block_on(exchange()));
}

#[test]
fn the_same_on_a_current_thread_runtime() {
    netns_test::run(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime")
            .block_on(exchange())
    });
}
