//! Which of a sender's recent messages are finished (delivered or given up),
//! so that late and duplicate segments are dropped and every message is
//! delivered at most once.
//!
//! The window spans [`WINDOW`] message numbers, enough for seconds of a
//! fast stream of small events, so that a message waiting for repair is
//! not pushed out by the ones that follow it. Its memory follows what is
//! unsettled, not its span: everything below the lowest unfinished message
//! is one mark (`low`), and above it the finished bits are kept in chunks
//! of [`CHUNK`] messages, allocated when a bit is set and freed when `low`
//! passes them. An in-order stream holds a chunk or two; the most it can
//! hold is `WINDOW / 8` bytes (128 KiB), when a hole stays open while a
//! whole window of messages arrives after it. Chunks beyond the first
//! [`FREE_CHUNKS`] are charged to the receiver's memory budgets.

use std::collections::BTreeMap;

/// Messages tracked per sender. Older ones are "stale".
pub(crate) const WINDOW: u64 = 1 << 20;

/// Messages per chunk of the bitmap.
pub(crate) const CHUNK: u64 = 4096;

const WORDS: usize = (CHUNK / 64) as usize;

/// Bytes one chunk takes, bookkeeping included (charged to the budgets).
pub(crate) const CHUNK_BYTES: usize = WORDS * 8 + 64;

/// Chunks a sender's window holds without charge: enough for a stream
/// that is in order, or nearly.
pub(crate) const FREE_CHUNKS: usize = 2;

/// What the window knows of a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SeqStatus {
    /// Below the window: too old to tell, treated as already seen.
    Stale,
    /// Delivered or given up.
    Finished,
    /// Not finished: may be delivered.
    Open,
}

/// The finished messages of `[base, base + WINDOW)`: all of `[base, low)`,
/// and the bits set in the chunks above.
#[derive(Clone, Debug)]
pub(crate) struct SeqWindow {
    base: u64,
    low: u64,
    /// Chunk number (`seq / CHUNK`) to its bits; only chunks that have a
    /// bit set at or above `low`.
    chunks: BTreeMap<u64, Box<[u64; WORDS]>>,
}

impl SeqWindow {
    /// A window for a sender first heard with message `first`. Half the
    /// window lies below it, so messages reordered before it still count.
    pub(crate) fn new(first: u64) -> Self {
        let base = first.saturating_sub(WINDOW / 2);
        Self {
            base,
            low: base,
            chunks: BTreeMap::new(),
        }
    }

    /// The lowest message the window still tracks.
    pub(crate) fn base(&self) -> u64 {
        self.base
    }

    /// Bytes the chunks take now beyond the free allowance: what the
    /// budgets are charged.
    pub(crate) fn bytes(&self) -> usize {
        self.chunks.len().saturating_sub(FREE_CHUNKS) * CHUNK_BYTES
    }

    /// What finishing `seq` would add to [`bytes`](Self::bytes).
    pub(crate) fn charge_for(&self, seq: u64) -> usize {
        let new_chunk =
            seq > self.low && seq - self.base < WINDOW && !self.chunks.contains_key(&(seq / CHUNK));
        if new_chunk && self.chunks.len() >= FREE_CHUNKS {
            CHUNK_BYTES
        } else {
            0
        }
    }

    /// Slides the window forward, if needed, so that it covers `seq`.
    /// Returns whether it moved.
    pub(crate) fn cover(&mut self, seq: u64) -> bool {
        if seq < self.base || seq - self.base < WINDOW {
            return false;
        }
        self.base = seq - (WINDOW - 1);
        if self.low < self.base {
            self.low = self.base;
            self.settle();
        }
        true
    }

    /// What the window knows of `seq` (call [`cover`](Self::cover) first).
    pub(crate) fn status(&self, seq: u64) -> SeqStatus {
        if seq < self.base {
            SeqStatus::Stale
        } else if seq < self.low {
            SeqStatus::Finished
        } else if seq - self.base >= WINDOW {
            SeqStatus::Open
        } else if self.get(seq) {
            SeqStatus::Finished
        } else {
            SeqStatus::Open
        }
    }

    /// Records that `seq` is finished. It must be inside the window.
    pub(crate) fn finish(&mut self, seq: u64) {
        if seq < self.low || seq - self.base >= WINDOW {
            return;
        }
        self.set(seq);
        if seq == self.low {
            self.settle();
        }
    }

    /// Records that every seq in `lo..hi` inside the window is finished.
    pub(crate) fn finish_range(&mut self, lo: u64, hi: u64) {
        let lo = lo.max(self.low);
        let hi = hi.min(self.base.saturating_add(WINDOW));
        if lo >= hi {
            return;
        }
        if lo == self.low {
            // The common case (a loss at the bottom): no bits needed.
            self.low = hi;
        } else {
            for seq in lo..hi {
                self.set(seq);
            }
        }
        self.settle();
    }

    /// Moves `low` past every finished message above it, and frees the
    /// chunks wholly below it.
    fn settle(&mut self) {
        loop {
            // Chunks below low's chunk are no longer needed.
            let chunk = self.low / CHUNK;
            while let Some((&c, _)) = self.chunks.first_key_value() {
                if c >= chunk {
                    break;
                }
                self.chunks.pop_first();
            }
            let Some(bits) = self.chunks.get(&chunk) else {
                return;
            };
            let mut moved = false;
            let mut word = ((self.low % CHUNK) / 64) as usize;
            while word < WORDS {
                let shift = self.low % 64;
                let ones = (bits[word] >> shift).trailing_ones() as u64;
                let ones = ones.min(64 - shift);
                self.low += ones;
                moved |= ones > 0;
                if shift + ones < 64 {
                    break;
                }
                word += 1;
            }
            if self.low / CHUNK == chunk {
                // Stopped at a hole inside this chunk.
                return;
            }
            // The whole rest of the chunk was finished: on to the next.
            if !moved {
                return;
            }
        }
    }

    fn get(&self, seq: u64) -> bool {
        self.chunks.get(&(seq / CHUNK)).is_some_and(|bits| {
            let bit = seq % CHUNK;
            bits[(bit / 64) as usize] & (1 << (bit % 64)) != 0
        })
    }

    fn set(&mut self, seq: u64) {
        let bits = self
            .chunks
            .entry(seq / CHUNK)
            .or_insert_with(|| Box::new([0; WORDS]));
        let bit = seq % CHUNK;
        bits[(bit / 64) as usize] |= 1 << (bit % 64);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finish_and_slide() {
        let mut w = SeqWindow::new(10);
        assert_eq!(w.base(), 0);
        assert_eq!(w.status(10), SeqStatus::Open);
        w.finish(10);
        assert_eq!(w.status(10), SeqStatus::Finished);
        assert_eq!(w.status(9), SeqStatus::Open);
        // slide so that 10 is the base
        assert!(w.cover(10 + WINDOW - 1));
        assert_eq!(w.base(), 10);
        assert_eq!(w.status(10), SeqStatus::Finished);
        assert_eq!(w.status(9), SeqStatus::Stale);
        // a slid-out message does not alias a new one
        assert!(w.cover(11 + WINDOW - 1));
        assert_eq!(w.status(10 + WINDOW), SeqStatus::Open);
        // a jump further than the window clears everything
        assert!(w.cover(100 * WINDOW));
        assert_eq!(w.status(100 * WINDOW), SeqStatus::Open);
        assert!(!w.cover(100 * WINDOW));
        assert_eq!(w.bytes(), 0);
    }

    #[test]
    fn memory_follows_what_is_unsettled() {
        let mut w = SeqWindow::new(0);
        // in order: low follows, chunks are freed
        for seq in 0..3 * CHUNK {
            w.finish(seq);
        }
        assert_eq!(w.status(3 * CHUNK - 1), SeqStatus::Finished);
        assert!(w.chunks.len() <= 1, "{}", w.chunks.len());
        assert_eq!(w.bytes(), 0);
        // a hole: everything after it is kept
        let hole = 3 * CHUNK;
        for seq in hole + 1..hole + 5 * CHUNK {
            w.finish(seq);
        }
        assert_eq!(w.status(hole), SeqStatus::Open);
        assert_eq!(w.chunks.len(), 5);
        assert_eq!(w.bytes(), 3 * CHUNK_BYTES);
        assert_eq!(w.charge_for(hole + 7 * CHUNK), CHUNK_BYTES);
        assert_eq!(w.charge_for(hole + 2), 0);
        // filled: all settles again
        w.finish(hole);
        assert_eq!(w.status(hole + 5 * CHUNK - 1), SeqStatus::Finished);
        assert_eq!(w.status(hole + 5 * CHUNK), SeqStatus::Open);
        assert!(w.chunks.len() <= 1, "{}", w.chunks.len());
        // a range given up at the bottom needs no bits
        w.finish_range(hole + 5 * CHUNK, hole + 50 * CHUNK);
        assert_eq!(w.status(hole + 50 * CHUNK - 1), SeqStatus::Finished);
        assert!(w.chunks.len() <= 1);
    }

    #[test]
    fn matches_a_plain_set() {
        // a model: finished seqs in a set, stale below base
        let mut w = SeqWindow::new(5000);
        let mut model = std::collections::BTreeSet::new();
        let mut x = 12345u64;
        for _ in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let seq = 5000 + x % 20_000;
            w.finish(seq);
            model.insert(seq);
            if x % 7 == 0 {
                let lo = 5000 + (x >> 8) % 20_000;
                w.finish_range(lo, lo + 10);
                model.extend(lo..lo + 10);
            }
        }
        for seq in 0..30_000 {
            let want = if model.contains(&seq) {
                SeqStatus::Finished
            } else {
                SeqStatus::Open
            };
            assert_eq!(w.status(seq), want, "seq {seq}");
        }
    }

    #[test]
    fn high_first_seq_does_not_overflow() {
        let mut w = SeqWindow::new(u64::MAX);
        w.finish(u64::MAX - 1);
        assert_eq!(w.status(u64::MAX - 1), SeqStatus::Finished);
        assert!(!w.cover(u64::MAX));
        w.finish_range(u64::MAX - 10, u64::MAX);
        assert_eq!(w.status(u64::MAX - 5), SeqStatus::Finished);
    }
}
