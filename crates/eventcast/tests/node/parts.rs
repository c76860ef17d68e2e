//! A body written in parts (`node/parts.rs`) whose caller's value panics
//! while it is written, or whose node is stopped meanwhile: the events
//! emitted after it still go out, and nothing stays reserved.
#![allow(clippy::unwrap_used)]

use std::cell::Cell;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::mpsc;
use std::time::Duration;

use crate::common::*;
use eventcast::Eventcast;

/// A short string argument that counts its serializations and runs
/// `then` in serialization number `at`: an emit serializes its arguments
/// a few times (to size, to plan, to write the body), the last of which
/// writes the body, so `at` is what [`passes`] counts for the same shape.
struct Second<F: Fn()> {
    calls: Cell<usize>,
    at: usize,
    then: F,
}

impl<F: Fn()> Second<F> {
    fn new(at: usize, then: F) -> Self {
        Self {
            calls: Cell::new(0),
            at,
            then,
        }
    }
}

impl<F: Fn()> serde::Serialize for Second<F> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let n = self.calls.get() + 1;
        self.calls.set(n);
        if n == self.at {
            (self.then)();
        }
        s.serialize_str("s")
    }
}

/// How many times `node` serializes the argument `emit` gives it, in an
/// event it sends as "twin" (which nobody here listens to). A node of its
/// own counts: a node that has sent a large body makes a spare buffer for
/// the next of that size (`spare.rs`), which is then written whole.
async fn passes(
    node: &Eventcast,
    emit: impl Fn(&Second<fn()>) -> Result<(), eventcast::Error>,
) -> usize {
    let count: Second<fn()> = Second::new(0, || {});
    // Tried until the send queue has room (a body before it may still be
    // going out), counting the last try alone.
    guard("room for the twin", async {
        count.calls.set(0);
        while emit(&count).is_err() {
            tokio::time::sleep(Duration::from_millis(2)).await;
            count.calls.set(0);
        }
    })
    .await;
    wait_until("the twin sent", || {
        node.stats().protocol.send_queue_bytes == 0
    })
    .await;
    count.calls.get()
}

/// A body of about 600 KB: in parts, and within a receiver's window.
fn long() -> String {
    "l".repeat(600_000)
}

/// Emits `name` with `args`, whose `second` counts its serializations,
/// until the send queue has room for it (a body before it may still be
/// going out); whether it panicked then.
async fn panics<F: Fn()>(
    node: &Eventcast,
    name: &str,
    args: &impl serde::Serialize,
    second: &Second<F>,
) -> bool {
    guard("room for the emit", async {
        loop {
            second.calls.set(0);
            match catch_unwind(AssertUnwindSafe(|| node.emit(name, args))) {
                Err(_) => return true,
                Ok(Err(eventcast::Error::Emit(eventcast::EmitError::QueueFull { .. }))) => {
                    tokio::time::sleep(Duration::from_millis(2)).await
                }
                Ok(_) => return false,
            }
        }
    })
    .await
}

#[test]
fn a_value_that_panics_while_its_body_is_written_holds_nothing_up() {
    netns_test::run(|| {
        block_on(async {
            let mut config = config(free_port());
            // Room for one such body: a reservation left behind would
            // refuse the next one.
            config.protocol.max_send_queue_bytes = 700_000;
            let nodes = start_nodes(3, &config).await;
            let (a, b, c) = (&nodes[0], &nodes[1], &nodes[2]);
            let mut sub = b.subscribe_to(["blob", "after"]).expect("exact names");
            let long = long();
            let at = passes(c, |v| c.emit("twin", &(long.as_str(), v))).await;
            // After its first parts went: the rest is made up with bytes no receiver takes.
            let late = (long.as_str(), Second::new(at, || panic!("late")));
            assert!(panics(a, "blob", &late, &late.1).await);
            // (The task publishes its counters when it gets to them.)
            wait_until("the first parts sent", || {
                a.stats().protocol.messages_sent_in_parts == 1
            })
            .await;
            // Before anything was handed over: its room is given back.
            // (Longer: the spare made for the first does not fit it.)
            let longer = "l".repeat(690_000);
            let at = passes(c, |v| c.emit("twin", &(v, longer.as_str()))).await;
            let early = (Second::new(at, || panic!("early")), longer.as_str());
            assert!(panics(a, "blob", &early, &early.0).await);
            wait_until("the sender's queue empty", || {
                a.stats().protocol.send_queue_bytes == 0
            })
            .await;
            assert_eq!(a.stats().protocol.messages_sent_in_parts, 1);
            // Room for it once the padded body has gone: a reservation
            // left behind would keep it waiting.
            let whole = (long.as_str(), "whole");
            let sent = a.emit_wait("blob", &whole);
            guard("room for a whole body", sent).await.unwrap();
            a.emit("after", &(1,)).unwrap();
            let blob = next_remote(&mut sub).await;
            assert_eq!(blob.str_arg(1), Some("whole"));
            assert_eq!(next_remote(&mut sub).await.name(), "after");
            // The body made up reached the receiver, malformed.
            wait_until("the malformed body dropped", || {
                b.stats().protocol.dropped.bad_body == 1
            })
            .await;
            stop_all(&nodes).await;
        })
    });
}

#[test]
fn stop_waits_for_a_body_being_written_and_what_came_after_it_goes_out() {
    netns_test::run(|| {
        block_on(async {
            let nodes = start_nodes(3, &config(free_port())).await;
            let (a, b, c) = (&nodes[0], &nodes[1], &nodes[2]);
            let mut sub = b.subscribe_to(["blob", "after"]).expect("exact names");
            let (writing_tx, writing) = mpsc::channel();
            let (go, go_rx) = mpsc::channel::<()>();
            let at = passes(c, |v| c.emit("twin", &(long().as_str(), v))).await;
            let writer = {
                let a = a.clone();
                std::thread::spawn(move || {
                    let long = long();
                    let paused = Second::new(at, || {
                        writing_tx.send(()).unwrap();
                        go_rx.recv().unwrap();
                    });
                    a.emit("blob", &(long.as_str(), paused))
                })
            };
            writing.recv_timeout(Duration::from_secs(10)).unwrap();
            // Emitted while the body is being written: it goes after it.
            a.emit("after", &(2,)).unwrap();
            let stopping = tokio::spawn({
                let a = a.clone();
                async move { a.stop().await }
            });
            tokio::time::sleep(Duration::from_millis(100)).await;
            assert!(!stopping.is_finished(), "stop waits for the body");
            go.send(()).unwrap();
            writer.join().unwrap().unwrap();
            guard("stop", stopping).await.unwrap();
            let blob = next_remote(&mut sub).await;
            assert_eq!((blob.name(), blob.str_arg(1)), ("blob", Some("s")));
            assert_eq!(next_remote(&mut sub).await.name(), "after");
            b.stop().await;
            c.stop().await;
        })
    });
}
