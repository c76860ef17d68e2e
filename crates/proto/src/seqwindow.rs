//! Which of a sender's recent messages are finished (delivered or given up),
//! so that late and duplicate segments are dropped and every message is
//! delivered at most once.

/// Messages tracked per sender. Older ones are "stale".
pub(crate) const WINDOW: u64 = 65536;
const WORDS: usize = (WINDOW / 64) as usize;

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

/// A sliding bitmap over `[base, base + WINDOW)` of finished messages.
#[derive(Clone, Debug)]
pub(crate) struct SeqWindow {
    base: u64,
    bits: [u64; WORDS],
}

impl SeqWindow {
    /// A window for a sender first heard with message `first`. Half the
    /// window lies below it, so messages reordered before it still count.
    pub(crate) fn new(first: u64) -> Self {
        Self {
            base: first.saturating_sub(WINDOW / 2),
            bits: [0; WORDS],
        }
    }

    /// The lowest message the window still tracks.
    pub(crate) fn base(&self) -> u64 {
        self.base
    }

    /// Slides the window forward, if needed, so that it covers `seq`.
    /// Returns whether it moved.
    pub(crate) fn cover(&mut self, seq: u64) -> bool {
        if seq < self.base || seq - self.base < WINDOW {
            return false;
        }
        let new_base = seq - (WINDOW - 1);
        if new_base - self.base >= WINDOW {
            self.bits = [0; WORDS];
        } else {
            for s in self.base..new_base {
                self.set(s, false);
            }
        }
        self.base = new_base;
        true
    }

    /// What the window knows of `seq` (call [`cover`](Self::cover) first).
    pub(crate) fn status(&self, seq: u64) -> SeqStatus {
        if seq < self.base {
            SeqStatus::Stale
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
        if seq >= self.base && seq - self.base < WINDOW {
            self.set(seq, true);
        }
    }

    /// Records that every seq in `lo..hi` inside the window is finished.
    pub(crate) fn finish_range(&mut self, lo: u64, hi: u64) {
        let lo = lo.max(self.base);
        let hi = hi.min(self.base.saturating_add(WINDOW));
        for seq in lo..hi {
            self.set(seq, true);
        }
    }

    fn get(&self, seq: u64) -> bool {
        let bit = seq % WINDOW;
        self.bits[(bit / 64) as usize] & (1 << (bit % 64)) != 0
    }

    fn set(&mut self, seq: u64, on: bool) {
        let bit = seq % WINDOW;
        let word = &mut self.bits[(bit / 64) as usize];
        if on {
            *word |= 1 << (bit % 64);
        } else {
            *word &= !(1 << (bit % 64));
        }
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
        // the bit of a slid-out message does not leak into its ring slot
        assert!(w.cover(11 + WINDOW - 1));
        assert_eq!(w.status(10 + WINDOW), SeqStatus::Open);
        // a jump further than the window clears everything
        assert!(w.cover(100 * WINDOW));
        assert_eq!(w.status(100 * WINDOW), SeqStatus::Open);
        assert!(!w.cover(100 * WINDOW));
    }

    #[test]
    fn high_first_seq_does_not_overflow() {
        let mut w = SeqWindow::new(u64::MAX);
        w.finish(u64::MAX - 1);
        assert_eq!(w.status(u64::MAX - 1), SeqStatus::Finished);
        assert!(!w.cover(u64::MAX));
    }
}
