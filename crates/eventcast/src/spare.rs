//! The buffer of a node's next large body, sent or received, made ready
//! before it is needed.
//!
//! A large body stays in the retransmit store for `retransmit_window` (3 s
//! by default), so a stream of large events (a camera's frames) never gets
//! a freed body's memory back in its first seconds: every body is fresh
//! memory, mapped by the allocator and faulted in (`prefault.rs`) before
//! the encoder can write it, 0.2-0.3 ms for 1 MiB on the VMs measured, all
//! of it between the `emit` and the first datagram. Once a large body has
//! gone to the socket and the node has emitted no other for [`IDLE`], a
//! buffer of the same size is mapped and faulted in for the next one, on
//! the runtime's blocking pool; the next body of about that size is
//! written into it. Not at once: on a host with few CPUs, faulting in a
//! spare right after the send took the CPU the event's receivers needed.
//! A burst of large events, with no pause of [`IDLE`], gets fresh buffers
//! as before.
//!
//! A receiving node keeps a second spare, for the reassembly buffer of
//! its next large message (`Config::buffer_source` in eventcast-proto):
//! the allocator hands a stream's second message fresh memory too (the
//! first one's free raised glibc's mmap threshold, so the second grows the
//! heap), and a listener that keeps its events keeps their memory. The
//! spare is owed when a large message begins, and made [`IDLE`] after it
//! is delivered, unless another began since.
//!
//! Up to [`SLOTS`] spares each way per node, of bodies from [`MIN`] to
//! [`MAX`] bytes: two streams of different sizes (a camera's frames and a
//! lidar's scans) each find theirs, where one spare would be made for one
//! stream and replaced for the other every time. A spare made beyond
//! [`SLOTS`] replaces the one made or used longest ago. Larger bodies go
//! out paced over many milliseconds, where the faults matter less than a
//! spare of their size held between events would.
//!
//! A node told the sizes of the events it expects
//! (`Config::expected_event_sizes`) makes a receiving spare of each when it
//! starts ([`SpareBody::prepare`]): for its first message, which would
//! otherwise find none. Its receiving spares serve messages of about
//! those sizes as those from [`MIN`] to [`MAX`], up to 64 MiB (a spare owed after each,
//! of the room made at start, so that a stream whose frames grow a little
//! keeps finding it): the node was told to hold their memory.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

/// The smallest body given a spare: below it the allocator mostly reuses
/// memory, and faults are few (as `prefault::MIN_SPARE`).
pub(crate) const MIN: usize = crate::prefault::MIN_SPARE;

/// The largest body given a spare unless the node was told to expect
/// events of its size: a 4 MiB event's, with room for its name and
/// headers (see [`room_for`]).
pub(crate) const MAX: usize = room_for(4 * 1024 * 1024);

/// The smallest body a spare may take: 0.8 of the room made for the
/// smallest expected size (see [`fits`]); smaller ones are refused
/// without the lock.
const LEAST: usize = room_for(MIN_EXPECTED_EVENT_SIZE) / 5 * 4;

const _: () = assert!(MIN_EXPECTED_EVENT_SIZE >= MIN && LEAST <= MIN);

/// What [`SpareBody::serve_sizes`] saw of the releases, for
/// [`SpareBody::prepare`]: a spare made after a later release is not kept.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Generation(u64);

/// Spares a [`SpareBody`] holds at most: each made of a body's size, at
/// most [`MAX`] (so at most 9 MiB each way), or of an expected size.
pub(crate) const SLOTS: usize = 2;

/// The most sizes [`Config::expected_event_sizes`](crate::Config::expected_event_sizes) takes.
pub const MAX_EXPECTED_EVENT_SIZES: usize = 2;

// Each expected size keeps a spare: the node holds no more than that.
const _: () = assert!(MAX_EXPECTED_EVENT_SIZES <= SLOTS);

/// The smallest of [`Config::expected_event_sizes`](crate::Config::expected_event_sizes): below it the
/// allocator mostly hands out memory already present.
pub const MIN_EXPECTED_EVENT_SIZE: usize = 256 * 1024;

/// The largest of [`Config::expected_event_sizes`](crate::Config::expected_event_sizes): the default
/// `max_message_size`.
pub const MAX_EXPECTED_EVENT_SIZE: usize = 64 * 1024 * 1024;

/// How long a node emits no large body (or begins to receive no large
/// message, after one was delivered) before its spare is made: a large
/// event's receivers on this host are done with it well within that.
pub(crate) const IDLE: Duration = Duration::from_millis(5);

/// A node's spare body buffer.
#[derive(Debug, Default)]
pub(crate) struct SpareBody {
    inner: Mutex<Inner>,
    /// Whether a spare is owed: the one check every emit makes.
    due: AtomicBool,
    /// Spares handed over by [`take_ready`](Self::take_ready) so far.
    lent: AtomicU64,
}

#[derive(Debug, Default)]
struct Inner {
    /// The spares, empty, their pages present: at most [`SLOTS`], the one
    /// made or used longest ago first.
    bufs: Vec<Vec<u8>>,
    /// The size of the last large body taken, for [`SpareBody::refill`].
    owed: usize,
    /// Large bodies taken so far: a refill scheduled after one is
    /// dropped if another came since.
    taken: u64,
    /// The rooms of the spares [`SpareBody::prepare`] made: bodies they
    /// suit are served whatever their size.
    expected: Vec<usize>,
    /// Releases so far: a spare [`SpareBody::prepare`] made meanwhile is
    /// dropped, not kept by a stopped node.
    released: u64,
}

impl SpareBody {
    /// A buffer for a body of `size` bytes: the spare, empty, when its
    /// room is `size` to a quarter more; else a fresh one with its pages
    /// faulted in. Either way a spare of `size` is owed.
    pub(crate) fn take(&self, size: usize) -> Vec<u8> {
        self.take_ready(size).unwrap_or_else(|| {
            let mut buf = Vec::with_capacity(size);
            crate::prefault::spare(&mut buf);
            buf
        })
    }

    /// The spare, empty, if it suits a body of `size` bytes (as
    /// [`take`](Self::take) would hand it over); else `None`, and the
    /// caller allocates. A spare of `size` is owed either way, when `size`
    /// is served (from [`MIN`] to [`MAX`], or an expected size). A
    /// receiving node asks this for the reassembly buffer of a large
    /// message.
    pub(crate) fn take_ready(&self, size: usize) -> Option<Vec<u8>> {
        // Without the lock: every emit asks, small ones too.
        if size < LEAST {
            return None;
        }
        let mut inner = lock(&self.inner);
        if !inner.serves(size) {
            return None;
        }
        self.owe_locked(&mut inner, size);
        let i = inner.fitting(size)?;
        self.lent.fetch_add(1, Ordering::Relaxed);
        Some(inner.bufs.remove(i))
    }

    /// How many spares [`take_ready`](Self::take_ready) handed over.
    pub(crate) fn lent(&self) -> u64 {
        self.lent.load(Ordering::Relaxed)
    }

    /// Whether the spare is there and suits a body of `size`, as
    /// [`take`](Self::take) would hand it over.
    pub(crate) fn ready_for(&self, size: usize) -> bool {
        let inner = lock(&self.inner);
        inner.serves(size) && inner.fitting(size).is_some()
    }

    /// A body of `size` was written without a buffer from here (in parts,
    /// `node/parts.rs`): a spare of its size is owed, as after
    /// [`take`](Self::take).
    pub(crate) fn owe(&self, size: usize) {
        let mut inner = lock(&self.inner);
        if inner.serves(size) {
            self.owe_locked(&mut inner, size);
        }
    }

    fn owe_locked(&self, inner: &mut Inner, size: usize) {
        inner.owed = size;
        inner.taken += 1;
        self.due.store(true, Ordering::Release);
    }

    /// After an emit has handed its body over, or a large message was
    /// delivered: when a spare is owed (the body was large), makes it
    /// [`IDLE`] later on the current tokio runtime's blocking pool, unless
    /// another large body was taken by then. Without a runtime (an emit
    /// from a plain thread), none is made.
    pub(crate) fn schedule(self: &Arc<Self>) {
        // A load first: every emit makes this check, small ones too.
        if !self.due.load(Ordering::Relaxed) || !self.due.swap(false, Ordering::AcqRel) {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let taken = lock(&self.inner).taken;
        let spare = Arc::clone(self);
        runtime.spawn(async move {
            tokio::time::sleep(IDLE).await;
            if lock(&spare.inner).taken == taken {
                // Faulting in pages blocks for a few hundred microseconds.
                let _ = tokio::task::spawn_blocking(move || spare.refill(taken)).await;
            }
        });
    }

    /// Makes the spare owed since large body number `taken`, unless
    /// another was taken since, or every slot is full and a spare that
    /// fits is there (which then counts as used last). Beyond [`SLOTS`],
    /// the spare made or used longest ago is replaced. With a slot free, a
    /// spare is made even when the one left would fit: that one may be
    /// another stream's, of a size within a quarter of this one's.
    fn refill(&self, taken: u64) {
        let size = {
            let mut inner = lock(&self.inner);
            let size = inner.owed;
            if size == 0 || inner.taken != taken {
                return;
            }
            // An expected size's spare is made as at start: its room.
            let size = inner.expected_room(size).unwrap_or(size);
            if inner.bufs.len() >= SLOTS {
                if let Some(i) = inner.fitting(size) {
                    let kept = inner.bufs.remove(i);
                    inner.bufs.push(kept);
                    return;
                }
                // Every slot holds an expected size's spare: they stay.
                if !inner.expected.contains(&size)
                    && inner.bufs.iter().all(|b| inner.is_expected(b))
                {
                    return;
                }
            }
            size
        };
        self.make(size, |inner| inner.taken == taken);
    }

    /// Serves bodies of about each of `sizes` (expected events' sizes,
    /// from `MIN_EXPECTED_EVENT_SIZE` to `MAX_EXPECTED_EVENT_SIZE`) from
    /// now on, as those from [`MIN`] to [`MAX`] are, with a spare made
    /// after each; returns the [`Generation`] for
    /// [`prepare`](Self::prepare), to be taken before the work is handed
    /// to another thread.
    #[must_use]
    pub(crate) fn serve_sizes(&self, sizes: &[usize]) -> Generation {
        let mut inner = lock(&self.inner);
        inner.expected = sizes.iter().map(|&size| room_for(size)).collect();
        Generation(inner.released)
    }

    /// Makes a spare of [`room_for`] each of `sizes` that has none of
    /// that room yet, beyond [`SLOTS`] replacing the one made or used
    /// longest ago (another size's first): what a node told the sizes of
    /// its events does when it starts, after
    /// [`serve_sizes`](Self::serve_sizes) gave `generation`. None is kept
    /// once the spares were released since (a start given up). Blocks
    /// while the pages are faulted in.
    pub(crate) fn prepare(&self, sizes: &[usize], generation: Generation) {
        for &size in sizes {
            let room = room_for(size);
            if lock(&self.inner).bufs.iter().any(|b| b.capacity() == room) {
                continue;
            }
            if !self.make(room, |inner| inner.released == generation.0) {
                return;
            }
        }
    }

    /// Makes a spare of `room` bytes, mapped and faulted in outside the
    /// lock, and keeps it if `current` still holds once the lock is taken
    /// again (whether it did). Beyond [`SLOTS`] one is replaced: the one
    /// made or used longest ago that is not an expected size's, else the
    /// oldest. It is freed (up to 4.5 MiB, or an expected size's room)
    /// after the lock: a receiving task waits on it.
    fn make(&self, room: usize, current: impl Fn(&Inner) -> bool) -> bool {
        let mut buf = Vec::with_capacity(room);
        crate::prefault::spare(&mut buf);
        let mut inner = lock(&self.inner);
        if !current(&inner) {
            return false;
        }
        inner.bufs.push(buf);
        let replaced = (inner.bufs.len() > SLOTS).then(|| {
            let i = inner
                .bufs
                .iter()
                .position(|b| !inner.is_expected(b))
                .unwrap_or(0);
            inner.bufs.remove(i)
        });
        drop(inner);
        drop(replaced);
        true
    }

    /// Lets the spares go, and any refill scheduled before: a stopped node
    /// holds none. Owed again by the next large body.
    pub(crate) fn release(&self) {
        let mut inner = lock(&self.inner);
        inner.owed = 0;
        inner.taken += 1;
        inner.released += 1;
        inner.expected.clear();
        let released = std::mem::take(&mut inner.bufs);
        drop(inner);
        drop(released);
    }

    /// The room of the spare made or used last, if there is one.
    #[cfg(test)]
    pub(crate) fn room(&self) -> Option<usize> {
        lock(&self.inner).bufs.last().map(Vec::capacity)
    }

    /// Whether a spare is owed, to be made once the node is idle.
    #[cfg(test)]
    pub(crate) fn owes(&self) -> bool {
        self.due.load(Ordering::Acquire)
    }

    /// The rooms of all spares, the one made or used longest ago first.
    #[cfg(test)]
    pub(crate) fn rooms(&self) -> Vec<usize> {
        lock(&self.inner).bufs.iter().map(Vec::capacity).collect()
    }
}

impl Inner {
    /// Whether a body of `size` is given a spare: from [`MIN`] to [`MAX`],
    /// or about an expected size.
    fn serves(&self, size: usize) -> bool {
        (MIN..=MAX).contains(&size) || self.expected_room(size).is_some()
    }

    /// Whether `buf` is a spare made for an expected size (its room).
    #[allow(clippy::ptr_arg)] // its capacity, which a slice has not
    fn is_expected(&self, buf: &Vec<u8>) -> bool {
        self.expected.contains(&buf.capacity())
    }

    /// The room made at start for an expected size that suits a body of
    /// `size` with the least room to spare, if there is one.
    fn expected_room(&self, size: usize) -> Option<usize> {
        self.expected
            .iter()
            .copied()
            .filter(|&room| fits(room, size))
            .min()
    }

    /// The spare that suits a body of `size` with the least room to
    /// spare, if any does.
    fn fitting(&self, size: usize) -> Option<usize> {
        self.bufs
            .iter()
            .enumerate()
            .filter(|(_, b)| fits(b.capacity(), size))
            .min_by_key(|(_, b)| b.capacity())
            .map(|(i, _)| i)
    }
}

/// The room of a spare made for events of `size` bytes of argument: an
/// eighth more, so that it suits bodies from 0.9 to 1.125 times `size`
/// (see [`fits`]), the event's name and headers included.
pub(crate) const fn room_for(size: usize) -> usize {
    size + size / 8
}

/// Whether room of `capacity` bytes suits a body of `size`: enough, and at
/// most a quarter more (the body keeps it for seconds in the store).
fn fits(capacity: usize, size: usize) -> bool {
    capacity >= size && capacity - size <= size / 4
}

/// A lock that a panic elsewhere does not poison for good: the slot holds
/// a plain buffer, valid whatever happened.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests;
