//! The buffers of small bodies, used again for the next small bodies
//! emitted.
//!
//! A small event's body is copied out of the encoder's scratch buffer
//! into a buffer of about its size (`arglist::encode_direct`), which goes
//! to the node's driver, on the task's thread or the emitting one
//! (`inline.rs`). The retransmit store keeps a copy of its bytes in
//! memory it shares among short bodies (eventcast-proto's `arena.rs`), and
//! gives the buffer back (`Endpoint::take_spent_bodies`): the driver hands
//! it to the handle's [`BodyPool`], and the encoder copies a later body
//! into it. Neither thread calls the allocator for a small event.
//!
//! Each buffer its own allocation, kept in the store until it let it go,
//! was a `malloc` on the emitting thread and a `free` on the node's task:
//! glibc serves a `free` of another thread's memory under its arena's
//! lock, and in a burst of a million small events the node's task spent
//! over a quarter of its time freeing (docs/benchmarks-history.md, "The
//! sender's kept messages").
//!
//! Bounded: a buffer given back on a thread that emits small events goes
//! to its stash first (no lock: the emitting thread, when its emit went
//! out inline), up to [`BATCH`], then to the pool, which keeps at most
//! [`POOL_MAX`] (the store gives back only bodies of at most 2,048 bytes,
//! and the encoder makes or takes buffers of at most twice a body's
//! length); a thread whose stash is empty takes up to [`BATCH`] from the
//! pool at once. A thread's stash lives as long as the thread: 64 small
//! buffers at most, on a thread that emitted.

use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};

/// The most buffers a pool keeps.
pub(crate) const POOL_MAX: usize = 4096;

/// Buffers a thread keeps in its stash, and takes from the pool at once.
pub(crate) const BATCH: usize = 64;

/// The most room a buffer the store gives back has (eventcast-proto keeps
/// none with more: twice its longest short body).
const LONGEST: usize = 4096;

thread_local! {
    /// Buffers this thread gave back or took from a pool and has not used
    /// yet (any node's: a buffer is only memory).
    static STASH: Cell<Vec<Vec<u8>>> = const { Cell::new(Vec::new()) };
    /// This thread encoded a small body: buffers given back on it may go
    /// to its stash (a node's task thread that never emits keeps none).
    static EMITS: Cell<bool> = const { Cell::new(false) };
}

/// Buffers for small bodies, given back by the node's driver and taken by
/// its handles' encoder.
#[derive(Debug, Default)]
pub(crate) struct BodyPool {
    bufs: Mutex<Vec<Vec<u8>>>,
    /// How many `bufs` holds, read without the lock.
    len: AtomicUsize,
}

impl BodyPool {
    /// Keeps the buffers of `spent`: in this thread's stash up to [`BATCH`]
    /// if the thread emits, in the pool up to [`POOL_MAX`]; the others are
    /// freed. Leaves it empty.
    pub(crate) fn give(&self, spent: &mut Vec<Vec<u8>>) {
        if EMITS.get() {
            let mut stash = STASH.take();
            let room = BATCH.saturating_sub(stash.len()).min(spent.len());
            stash.extend(spent.drain(..room));
            STASH.set(stash);
        }
        if !spent.is_empty() && self.len.load(Ordering::Relaxed) < POOL_MAX {
            let mut bufs = self.lock();
            let room = POOL_MAX.saturating_sub(bufs.len());
            let keep = spent.len().min(room);
            bufs.extend(spent.drain(..keep));
            self.len.store(bufs.len(), Ordering::Relaxed);
        }
        spent.clear();
    }

    /// `bytes` in a buffer of the pool's, if the one on top of this
    /// thread's stash (refilled from the pool when empty) is of about their
    /// length (no smaller, at most twice as long: a buffer far longer than
    /// its body would hold memory for nothing while the event waits to be
    /// sent; one that is not is freed), else in a new one of their length.
    /// Bytes longer than any buffer given back ([`LONGEST`]) go to a new
    /// one at once.
    pub(crate) fn copy(&self, bytes: &[u8]) -> Vec<u8> {
        if bytes.len() > LONGEST {
            return bytes.to_vec();
        }
        EMITS.set(true);
        let mut stash = STASH.take();
        if stash.is_empty() && self.len.load(Ordering::Relaxed) > 0 {
            let mut bufs = self.lock();
            let from = bufs.len().saturating_sub(BATCH);
            stash.extend(bufs.drain(from..));
            self.len.store(bufs.len(), Ordering::Relaxed);
        }
        let len = bytes.len();
        let body = match stash.pop() {
            Some(mut buf) if (len..=2 * len).contains(&buf.capacity()) => {
                buf.clear();
                buf.extend_from_slice(bytes);
                buf
            }
            // Not of this size: freed (a burst's events are mostly alike).
            _ => bytes.to_vec(),
        };
        STASH.set(stash);
        body
    }

    fn lock(&self) -> MutexGuard<'_, Vec<Vec<u8>>> {
        // Nothing panics under this lock; a poisoned one is taken back.
        self.bufs.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The address of a buffer's memory, to tell whether it was reused.
    fn addr(buf: &[u8]) -> usize {
        buf.as_ptr() as usize
    }

    #[test]
    fn a_buffer_given_back_holds_the_next_body_of_its_size() {
        let pool = BodyPool::default();
        let first = pool.copy(b"one body");
        let at = addr(&first);
        pool.give(&mut vec![first]);
        let next = pool.copy(b"two body");
        assert_eq!(next, b"two body");
        assert_eq!(addr(&next), at, "the buffer given back was not used");
        // The pool is empty now: a new buffer.
        assert_eq!(pool.copy(b"three"), b"three");
    }

    #[test]
    fn a_buffer_of_another_size_is_not_used() {
        let pool = BodyPool::default();
        pool.give(&mut vec![Vec::with_capacity(4), Vec::with_capacity(100)]);
        // The stash takes both; the first popped (capacity 100) is too
        // long for 8 bytes, the next (4) too short (not used either, though
        // a buffer grown from it would look alike).
        let a = pool.copy(&[1; 8]);
        let b = pool.copy(&[2; 8]);
        assert_eq!((a.as_slice(), b.as_slice()), (&[1u8; 8][..], &[2u8; 8][..]));
        assert!(a.capacity() < 100, "a buffer far too long was used");
    }

    #[test]
    fn a_thread_keeps_a_batch_and_the_pool_at_most_pool_max() {
        let pool = BodyPool::default();
        // This thread emits.
        let _ = pool.copy(&[0; 16]);
        let mut spent: Vec<Vec<u8>> = (0..BATCH + POOL_MAX + 10).map(|_| vec![0; 16]).collect();
        pool.give(&mut spent);
        assert!(spent.is_empty());
        assert_eq!(pool.len.load(Ordering::Relaxed), POOL_MAX);
        // Both full: one more is freed.
        pool.give(&mut vec![vec![0; 16]]);
        assert_eq!(pool.lock().len(), POOL_MAX);
        assert_eq!(STASH.take().len(), BATCH);
        // This thread's stash is empty now: an emit takes a batch.
        let _ = pool.copy(&[0; 16]);
        assert_eq!(pool.lock().len(), POOL_MAX - BATCH);
        assert_eq!(STASH.take().len(), BATCH - 1);
    }

    #[test]
    fn a_buffer_given_on_one_thread_serves_another() {
        let pool = BodyPool::default();
        let mut spent: Vec<Vec<u8>> = (0..=BATCH).map(|_| vec![0; 16]).collect();
        let last = addr(&spent[BATCH]);
        // A thread that never emitted (a node's task) keeps none: all go
        // to the pool, and an emitting thread takes the newest batch.
        std::thread::scope(|s| {
            s.spawn(|| pool.give(&mut spent));
        });
        assert_eq!(pool.lock().len(), BATCH + 1);
        let taken = std::thread::scope(|s| s.spawn(|| addr(&pool.copy(&[7; 16]))).join());
        assert_eq!(taken.ok(), Some(last));
    }
}
