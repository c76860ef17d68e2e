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
//! whole window of messages arrives after it. A chunk whose messages are
//! all finished (a range given up at once) keeps no bits. What the chunks
//! take beyond [`FREE_CHUNKS`] chunks of bits is charged to the
//! receiver's memory budgets.

use std::collections::BTreeMap;

/// Messages tracked per sender. Older ones are "stale".
pub(crate) const WINDOW: u64 = 1 << 20;

/// Messages per chunk of the bitmap.
pub(crate) const CHUNK: u64 = 4096;

const WORDS: usize = (CHUNK / 64) as usize;

/// Bytes one chunk of bits takes, bookkeeping included (charged to the
/// budgets).
pub(crate) const CHUNK_BYTES: usize = WORDS * 8 + 64;

/// Bytes a chunk whose messages are all finished takes (no bits).
pub(crate) const FULL_CHUNK_BYTES: usize = 64;

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
    /// Chunk number (`seq / CHUNK`) to its bits (`None`: all set); only
    /// chunks that have a bit set at or above `low`.
    chunks: BTreeMap<u64, Option<Box<[u64; WORDS]>>>,
    /// What the chunks take, bookkeeping included.
    cost: usize,
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
            cost: 0,
        }
    }

    /// A window whose messages below `resume` are all finished: for a
    /// sender forgotten earlier and heard again, which must not deliver
    /// what it delivered before.
    pub(crate) fn starting_at(resume: u64) -> Self {
        let mut window = Self::new(resume);
        window.low = resume;
        window
    }

    /// The first message at or after `seq` that is not finished (stale
    /// ones count as finished): `seq` itself if it is open.
    pub(crate) fn next_open(&self, seq: u64) -> u64 {
        let mut s = seq.max(self.low);
        loop {
            if s - self.base >= WINDOW {
                return s;
            }
            let chunk = s / CHUNK;
            let chunk_end = (chunk + 1).saturating_mul(CHUNK);
            match self.chunks.get(&chunk) {
                None => return s,
                Some(None) => {}
                Some(Some(bits)) => {
                    let mut word = ((s % CHUNK) / 64) as usize;
                    while word < WORDS {
                        let shift = s % 64;
                        let ones = u64::from((bits[word] >> shift).trailing_ones()).min(64 - shift);
                        if shift + ones < 64 {
                            return s + ones;
                        }
                        s += 64 - shift;
                        word += 1;
                    }
                }
            }
            if chunk_end <= s && s != chunk_end {
                return s;
            }
            if chunk_end == u64::MAX {
                return u64::MAX;
            }
            s = chunk_end;
        }
    }

    /// The lowest message the window still tracks.
    pub(crate) fn base(&self) -> u64 {
        self.base
    }

    /// Bytes the chunks take now beyond the free allowance: what the
    /// budgets are charged.
    pub(crate) fn bytes(&self) -> usize {
        self.cost.saturating_sub(FREE_CHUNKS * CHUNK_BYTES)
    }

    /// Whether finishing `seq` would take a new chunk.
    fn needs_chunk(&self, seq: u64) -> bool {
        seq > self.low && seq - self.base < WINDOW && !self.chunks.contains_key(&(seq / CHUNK))
    }

    /// Takes the chunk finishing `seq` would need, now: what
    /// [`charge_for`](Self::charge_for) said is charged when it is
    /// checked (a partial message opening), not later, when the budgets
    /// may be full (the message expiring).
    pub(crate) fn reserve(&mut self, seq: u64) {
        if self.needs_chunk(seq) {
            self.cost += CHUNK_BYTES;
            self.chunks.insert(seq / CHUNK, Some(Box::new([0; WORDS])));
        }
    }

    /// What finishing `seq` would add to [`bytes`](Self::bytes).
    pub(crate) fn charge_for(&self, seq: u64) -> usize {
        if self.needs_chunk(seq) {
            let allowance = FREE_CHUNKS * CHUNK_BYTES;
            (self.cost + CHUNK_BYTES).saturating_sub(allowance)
                - self.cost.saturating_sub(allowance)
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
            // Whole chunks need no bits; the ends do.
            let mut seq = lo;
            while seq < hi {
                let chunk = seq / CHUNK;
                let chunk_end = (chunk + 1).saturating_mul(CHUNK);
                if seq % CHUNK == 0 && chunk_end <= hi {
                    self.chunks.insert(chunk, None);
                    seq = chunk_end;
                } else {
                    self.set(seq);
                    seq += 1;
                }
            }
            self.recount();
        }
        self.settle();
    }

    /// Recomputes what the chunks take.
    fn recount(&mut self) {
        self.cost = self.chunks.values().map(chunk_cost).sum();
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
                if let Some((_, freed)) = self.chunks.pop_first() {
                    self.cost -= chunk_cost(&freed);
                }
            }
            let bits = match self.chunks.get(&chunk) {
                None => return,
                Some(None) => {
                    // All finished: on past it.
                    let end = (chunk + 1).saturating_mul(CHUNK);
                    if end == self.low {
                        return;
                    }
                    self.low = end;
                    continue;
                }
                Some(Some(bits)) => bits,
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
        match self.chunks.get(&(seq / CHUNK)) {
            None => false,
            Some(None) => true,
            Some(Some(bits)) => {
                let bit = seq % CHUNK;
                bits[(bit / 64) as usize] & (1 << (bit % 64)) != 0
            }
        }
    }

    fn set(&mut self, seq: u64) {
        let cost = &mut self.cost;
        let chunk = self.chunks.entry(seq / CHUNK).or_insert_with(|| {
            *cost += CHUNK_BYTES;
            Some(Box::new([0; WORDS]))
        });
        if let Some(bits) = chunk {
            let bit = seq % CHUNK;
            bits[(bit / 64) as usize] |= 1 << (bit % 64);
        }
    }
}

/// What one chunk takes.
fn chunk_cost(chunk: &Option<Box<[u64; WORDS]>>) -> usize {
    match chunk {
        Some(_) => CHUNK_BYTES,
        None => FULL_CHUNK_BYTES,
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
        // one given up above a hole: whole chunks without bits
        let low = w.low;
        w.finish_range(low + 10, low + 10 + WINDOW / 2);
        assert_eq!(w.status(low + 9), SeqStatus::Open);
        assert_eq!(w.status(low + 10), SeqStatus::Finished);
        assert_eq!(w.status(low + 9 + WINDOW / 2), SeqStatus::Finished);
        assert_eq!(w.status(low + 10 + WINDOW / 2), SeqStatus::Open);
        let full = (WINDOW / 2 / CHUNK) as usize;
        assert!(
            w.cost <= full * FULL_CHUNK_BYTES + 2 * CHUNK_BYTES,
            "{}",
            w.cost
        );
        // and when the hole is filled, it all settles
        for seq in low..low + 10 {
            w.finish(seq);
        }
        assert_eq!(w.low, low + 10 + WINDOW / 2);
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
                let len = if x % 5 == 0 { 9000 } else { 10 };
                w.finish_range(lo, lo + len);
                model.extend(lo..lo + len);
            }
        }
        // the first open seq from each seq, computed backwards
        let mut open = vec![0u64; 40_001];
        open[40_000] = (40_000..).find(|s| !model.contains(s)).unwrap_or(u64::MAX);
        for seq in (0..40_000).rev() {
            open[seq] = if model.contains(&(seq as u64)) {
                open[seq + 1]
            } else {
                seq as u64
            };
        }
        for seq in 0..40_000 {
            assert_eq!(w.next_open(seq), open[seq as usize], "next open from {seq}");
            let want = if model.contains(&seq) {
                SeqStatus::Finished
            } else {
                SeqStatus::Open
            };
            assert_eq!(w.status(seq), want, "seq {seq}");
        }
    }

    #[test]
    fn next_open_steps_over_what_is_finished() {
        let mut w = SeqWindow::new(0);
        assert_eq!(w.next_open(5), 5);
        w.finish(5);
        w.finish(6);
        assert_eq!(w.next_open(5), 7);
        assert_eq!(w.next_open(0), 0);
        // a range of whole chunks and bits at its ends
        w.finish_range(100, 100 + 10 * CHUNK + 7);
        assert_eq!(w.next_open(100), 100 + 10 * CHUNK + 7);
        assert_eq!(w.next_open(150), 100 + 10 * CHUNK + 7);
        w.finish_range(0, 5);
        assert_eq!(w.next_open(0), 7);
        for seq in 7..100 {
            w.finish(seq);
        }
        assert_eq!(w.next_open(0), 100 + 10 * CHUNK + 7);
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
