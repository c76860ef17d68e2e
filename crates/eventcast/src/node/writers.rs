//! The node's bodies being written in parts (`parts.rs`): one at a time,
//! and `stop` waiting until none is.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};

use tokio::sync::Notify;

/// The node's bodies being written in parts: one at a time (so that the
/// task knows whose part comes), and `stop` waits until none is (so that
/// no body is left half-queued, holding up what was emitted after it).
#[derive(Default)]
pub(crate) struct Writers {
    /// Held while a body is written.
    one: Mutex<()>,
    /// Bodies admitted and not written yet.
    admitted: AtomicUsize,
    done: Notify,
}

impl Writers {
    /// Counts a body admitted to be written, until the guard is dropped.
    pub(super) fn admit(&self) -> Counted<'_> {
        self.admitted.fetch_add(1, Ordering::AcqRel);
        Counted(self)
    }

    /// Held while a body is written.
    pub(super) fn one_at_a_time(&self) -> MutexGuard<'_, ()> {
        // Nothing is kept under the lock: a panic elsewhere leaves it valid.
        self.one.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Until no admitted body is still being written. Nothing is admitted
    /// once the run's commands are gone, so this ends.
    pub(super) async fn idle(&self) {
        loop {
            let done = self.done.notified();
            tokio::pin!(done);
            done.as_mut().enable();
            if self.admitted.load(Ordering::Acquire) == 0 {
                return;
            }
            done.await;
        }
    }
}

/// A body admitted to be written in parts, counted in [`Writers`] until
/// it is dropped.
pub(super) struct Counted<'w>(&'w Writers);

impl Drop for Counted<'_> {
    fn drop(&mut self) {
        self.0.admitted.fetch_sub(1, Ordering::AcqRel);
        self.0.done.notify_waiters();
    }
}
