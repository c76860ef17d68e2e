//! A queue bounded in bytes between the node's listener and the writer
//! thread. A full queue makes the listener wait (the node then reads its
//! socket later, and the protocol repairs what the kernel drops meanwhile)
//! rather than drop an event: a recorder loses nothing it was handed.

use std::collections::VecDeque;
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::Duration;

/// What waits to be written, and whether the writer should end.
struct State<T> {
    items: VecDeque<(T, usize)>,
    bytes: usize,
    closed: bool,
    /// Whether the consumer sleeps in `pop`: pushes wake it only then (a
    /// wake is a system call, too dear for every event of a burst).
    consumer_asleep: bool,
    /// Pushes waiting for room now.
    producers_waiting: usize,
    /// How often a push waited for room.
    waits: u64,
}

/// A multi-producer, single-consumer queue of items of known sizes.
pub(crate) struct ByteQueue<T> {
    state: Mutex<State<T>>,
    /// Signalled when an item arrives or the queue closes.
    filled: Condvar,
    /// Signalled when room is made.
    drained: Condvar,
    limit: usize,
}

/// What [`ByteQueue::pop`] found.
pub(crate) enum Popped<T> {
    /// Items, in order.
    Items(Vec<T>),
    /// Nothing within the wait.
    Idle,
    /// Closed and empty.
    Closed,
}

impl<T> ByteQueue<T> {
    /// A queue holding up to `limit` bytes (one item larger than that is
    /// still taken, alone).
    pub(crate) fn new(limit: usize) -> Self {
        Self {
            state: Mutex::new(State {
                items: VecDeque::new(),
                bytes: 0,
                closed: false,
                consumer_asleep: false,
                producers_waiting: 0,
                waits: 0,
            }),
            filled: Condvar::new(),
            drained: Condvar::new(),
            limit,
        }
    }

    fn lock(&self) -> MutexGuard<'_, State<T>> {
        // A panic while holding the lock leaves the queue consistent.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Adds `item` of `size` bytes, waiting while the queue is full; drops
    /// it (returning false) once the queue is closed.
    pub(crate) fn push(&self, item: T, size: usize) -> bool {
        let mut state = self.lock();
        let mut waited = false;
        while !state.closed && state.bytes > 0 && state.bytes + size > self.limit {
            waited = true;
            state.producers_waiting += 1;
            state = self.drained.wait(state).unwrap_or_else(|e| e.into_inner());
            state.producers_waiting -= 1;
        }
        if state.closed {
            return false;
        }
        state.waits += u64::from(waited);
        state.bytes += size;
        state.items.push_back((item, size));
        let wake = state.consumer_asleep;
        drop(state);
        if wake {
            self.filled.notify_one();
        }
        true
    }

    /// Takes everything waiting, waiting up to `wait` for something.
    pub(crate) fn pop(&self, wait: Duration) -> Popped<T> {
        let mut state = self.lock();
        if state.items.is_empty() && !state.closed {
            state.consumer_asleep = true;
            state = self
                .filled
                .wait_timeout(state, wait)
                .map(|(s, _)| s)
                .unwrap_or_else(|e| e.into_inner().0);
            state.consumer_asleep = false;
        }
        if state.items.is_empty() {
            return if state.closed {
                Popped::Closed
            } else {
                Popped::Idle
            };
        }
        let items = state.items.drain(..).map(|(item, _)| item).collect();
        state.bytes = 0;
        let waiting = state.producers_waiting > 0;
        drop(state);
        if waiting {
            self.drained.notify_all();
        }
        Popped::Items(items)
    }

    /// Refuses further items; the consumer still gets those waiting.
    pub(crate) fn close(&self) {
        self.lock().closed = true;
        self.filled.notify_all();
        self.drained.notify_all();
    }

    /// How many pushes had to wait for room.
    pub(crate) fn waits(&self) -> u64 {
        self.lock().waits
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn a_full_queue_makes_the_producer_wait_and_loses_nothing() {
        let queue = Arc::new(ByteQueue::new(100));
        let producer = {
            let queue = Arc::clone(&queue);
            std::thread::spawn(move || {
                for i in 0..1000u32 {
                    assert!(queue.push(i, 30));
                }
                queue.close();
            })
        };
        let mut got = Vec::new();
        loop {
            match queue.pop(Duration::from_millis(10)) {
                Popped::Items(items) => {
                    assert!(items.len() <= 4, "{} items past the limit", items.len());
                    got.extend(items);
                }
                Popped::Idle => {}
                Popped::Closed => break,
            }
        }
        producer.join().unwrap();
        assert_eq!(got, (0..1000).collect::<Vec<_>>());
        assert!(queue.waits() > 0);
        assert!(!queue.push(5, 1), "a closed queue takes nothing");
    }

    #[test]
    fn an_item_larger_than_the_limit_goes_through_alone() {
        let queue = ByteQueue::new(10);
        assert!(queue.push("big", 1000));
        assert!(matches!(queue.pop(Duration::ZERO), Popped::Items(v) if v == ["big"]));
        assert!(matches!(queue.pop(Duration::ZERO), Popped::Idle));
    }
}
