//! A token bucket: the arithmetic the budgets share (the NACK
//! budgets in `receive/budget.rs`, the status budget in `feedback.rs`,
//! the repeated challenges in `crypto/challenger.rs`).
//! Tokens come at a rate from the clock, or one share at a time from what
//! happens, up to a burst; a clock read earlier than the latest one
//! refills nothing, so a reading that runs back cannot refill twice. A
//! leaf: it imports nothing of the core.

use std::time::Instant;

/// Tokens held up to `burst`, and the latest clock reading they were
/// refilled at.
#[derive(Clone, Debug)]
pub(crate) struct TokenBucket {
    tokens: f64,
    /// The latest reading [`refill`](Self::refill) saw (`None`: none yet,
    /// and the first refill adds nothing).
    at: Option<Instant>,
    burst: f64,
}

impl TokenBucket {
    /// A full bucket that has not read the clock.
    pub(crate) const fn full(burst: f64) -> Self {
        Self {
            tokens: burst,
            at: None,
            burst,
        }
    }

    /// An empty bucket, refilled from `now` on.
    pub(crate) const fn empty_at(burst: f64, now: Instant) -> Self {
        Self {
            tokens: 0.0,
            at: Some(now),
            burst,
        }
    }

    /// Adds `rate` tokens a second since the latest reading, up to the
    /// burst, and makes `now` the latest reading if it is later.
    pub(crate) fn refill(&mut self, now: Instant, rate: f64) {
        let since = self
            .at
            .map_or(0.0, |t| now.saturating_duration_since(t).as_secs_f64());
        self.at = Some(self.at.map_or(now, |t| t.max(now)));
        self.tokens = (self.tokens + since * rate).min(self.burst);
    }

    /// Adds `tokens` (a share earned by something that happened), up to
    /// the burst.
    pub(crate) fn earn(&mut self, tokens: f64) {
        self.tokens = (self.tokens + tokens).min(self.burst);
    }

    /// Whether it holds a whole token.
    pub(crate) fn has_one(&self) -> bool {
        self.tokens >= 1.0
    }

    /// Takes a token if it holds one.
    pub(crate) fn take_one(&mut self) -> bool {
        let has = self.has_one();
        if has {
            self.tokens -= 1.0;
        }
        has
    }

    /// Takes `n` tokens whatever it holds: it may go below zero, and pays
    /// that back before it has a token again.
    pub(crate) fn charge(&mut self, n: f64) {
        self.tokens -= n;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn refills_at_the_rate_up_to_the_burst() {
        let t0 = Instant::now();
        let mut b = TokenBucket::empty_at(4.0, t0);
        assert!(!b.has_one());
        b.refill(t0 + Duration::from_millis(10), 100.0);
        assert!(b.take_one(), "one token in 10 ms at 100/s");
        assert!(!b.take_one());
        b.refill(t0 + Duration::from_secs(10), 100.0);
        for _ in 0..4 {
            assert!(b.take_one());
        }
        assert!(!b.take_one(), "no more than the burst");
    }

    #[test]
    fn a_clock_read_earlier_refills_nothing_twice() {
        let t0 = Instant::now();
        let mut b = TokenBucket::empty_at(100.0, t0);
        b.refill(t0 + Duration::from_millis(50), 100.0);
        b.charge(5.0);
        // Earlier than the latest reading: nothing, and the latest stays.
        b.refill(t0, 100.0);
        b.refill(t0 + Duration::from_millis(50), 100.0);
        assert!(!b.has_one(), "the 50 ms counted once");
    }

    #[test]
    fn a_full_bucket_adds_nothing_on_its_first_reading() {
        let mut b = TokenBucket::full(2.0);
        assert!(b.take_one() && b.take_one() && !b.take_one());
        // Emptied before it ever read the clock: the first reading has
        // nothing to measure from.
        b.refill(Instant::now(), 1e9);
        assert!(!b.has_one());
        b.earn(0.5);
        assert!(!b.has_one());
        b.earn(0.5);
        assert!(b.has_one());
        b.charge(3.0);
        b.earn(2.5);
        assert!(!b.has_one(), "a debt is paid back first");
    }

    #[test]
    fn shares_earned_stop_at_the_burst() {
        let mut b = TokenBucket::empty_at(2.0, Instant::now());
        for _ in 0..10 {
            b.earn(1.0);
        }
        assert!(b.take_one() && b.take_one());
        assert!(!b.take_one(), "no more than the burst");
    }
}
