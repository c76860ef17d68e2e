//! How the node's task lets the other tasks of its worker run when it has
//! not waited for a while.
//!
//! The task returns to the runtime when it waits. A chain of replies, each
//! in the socket when the node looks for it (by a busy-poll, or because
//! the socket's readiness is still set), never makes it wait: a task that
//! a listener spawned, or woke, waited behind it for as long as the chain
//! went on (`a_chain_of_polls_lets_the_workers_other_tasks_run_too`). On
//! tokio's multi-thread runtime such a task is put in the worker's LIFO
//! slot, which no other worker takes from; on `current_thread` nothing
//! else runs while the task holds the thread.

use std::future::Future;
use std::time::{Duration, Instant};

use tokio::task::JoinHandle;

/// How long the task may keep its worker without waiting before it gives
/// way.
pub(crate) const HOLD_AT_MOST: Duration = Duration::from_millis(1);

/// When the task last gave its worker back, and how it gives way.
pub(crate) struct GiveWay {
    since: Instant,
    /// The runtime has another worker to take tasks from this one's queue.
    spare_worker: bool,
    /// The last empty task spawned to nudge the LIFO slot (see
    /// [`GiveWay::after_turn`]).
    nudged: Option<JoinHandle<()>>,
}

impl GiveWay {
    /// Counting from now; `spare_worker`: whether another worker of the
    /// runtime can take the tasks this one queues.
    pub(crate) fn new(spare_worker: bool) -> Self {
        Self {
            since: Instant::now(),
            spare_worker,
            nudged: None,
        }
    }

    /// Awaits `future`, noting whether the task gave its worker back on
    /// the way (the future returned `Pending`).
    pub(crate) async fn wait<F: Future>(&mut self, future: F) -> F::Output {
        let mut future = std::pin::pin!(future);
        let mut pended = false;
        let output = std::future::poll_fn(|cx| {
            let poll = future.as_mut().poll(cx);
            pended |= poll.is_pending();
            poll
        })
        .await;
        if pended {
            self.since = Instant::now();
        }
        output
    }

    /// The task returned to the runtime by other means (`yield_now`).
    pub(crate) fn yielded(&mut self) {
        self.since = Instant::now();
    }

    /// At the end of a turn: gives way if the task has held its worker
    /// for [`HOLD_AT_MOST`] or more.
    ///
    /// With a spare worker, an empty task spawned here takes the LIFO
    /// slot, the task that was there goes to the run queue, and tokio
    /// wakes an idle worker for it (only then): the node's task stays
    /// where it is. Returning to the runtime (`yield_now`) would free the
    /// slot too, but the node's task would wait in the queue itself and
    /// another worker, woken, took it over: after such a return the two
    /// nodes of a round trip spun on one CPU, taking turns (figure 2's p99
    /// several times higher on the 2-CPU benchmark VM, even for one
    /// return every 10 ms).
    ///
    /// No second empty task while the last has not run: it is in the slot
    /// still (nothing came after it, and moving it would wake a worker for
    /// nothing, with the same cost to the round trips), or a task that
    /// came after it moved it to the queue, where a worker takes it, and
    /// the next turn after that spawns another. An empty task runs when
    /// the node's task next waits, if no other worker took it first.
    /// (While tokio has the slot off, for the rest of a worker's tick
    /// after three tasks in a row from it, or for good with
    /// `disable_lifo_slot`, every spawn goes to the queue and wakes a
    /// worker, as a task the listener spawns does then too.)
    ///
    /// So a task held up here waits at least [`HOLD_AT_MOST`], then for
    /// the turn to end, then for a worker to be free to take it: usually
    /// little more, but not bounded if every other worker is held too.
    ///
    /// Without a spare worker, nothing else would take the slot's task or
    /// the queue's: the task yields.
    pub(crate) async fn after_turn(&mut self) {
        if self.since.elapsed() < HOLD_AT_MOST {
            return;
        }
        if self.spare_worker {
            if self.nudged.as_ref().is_some_and(|n| !n.is_finished()) {
                // Checked again at the next turn's end.
                return;
            }
            self.nudged = Some(tokio::spawn(async {}));
        } else {
            tokio::task::yield_now().await;
        }
        self.since = Instant::now();
    }
}
