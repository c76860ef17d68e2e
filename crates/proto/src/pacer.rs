//! Sending-rate control: a token bucket driven by `now`, whose rate adapts
//! to loss reports (additive increase while the sender has more to send,
//! multiplicative decrease, by a quarter, when a receiver sends a NACK).
//!
//! NACKs come from congestion (a receiver's buffer overflowing) and from
//! plain random loss alike, and the sender cannot tell which. Halving on
//! each cut throughput through 1% random loss to a seventh; a quarter off
//! keeps it at half, and still backs off a receiver that is overrun within
//! a few repair timeouts.

use std::time::{Duration, Instant};

use crate::config::Config;

/// How fast the adaptive rate grows while the sender is held back by it,
/// in bytes per second per second.
const RATE_GAIN: f64 = 32.0 * 1024.0 * 1024.0;

/// What a loss report leaves of the rate.
const DECREASE: f64 = 0.75;

/// The token bucket.
#[derive(Debug)]
pub(crate) struct Pacer {
    rate: f64,
    tokens: f64,
    last: Option<Instant>,
    burst: f64,
    min: f64,
    max: f64,
    adaptive: bool,
    /// Since when the sender has been held back (it had something to send
    /// and not enough tokens): the rate grows only then.
    limited_since: Option<Instant>,
    last_decrease: Option<Instant>,
    decrease_interval: Duration,
}

impl Pacer {
    pub(crate) fn new(config: &Config) -> Self {
        Self {
            rate: config.initial_rate as f64,
            tokens: config.burst as f64,
            last: None,
            burst: config.burst as f64,
            min: config.min_rate as f64,
            max: config.rate_limit as f64,
            adaptive: config.adaptive_rate,
            limited_since: None,
            last_decrease: None,
            decrease_interval: config.repair_timeout,
        }
    }

    /// The current rate, bytes per second.
    pub(crate) fn rate(&self) -> u64 {
        self.rate as u64
    }

    fn refill(&mut self, now: Instant) {
        let Some(last) = self.last else {
            self.last = Some(now);
            return;
        };
        let Some(dt) = now.checked_duration_since(last) else {
            return;
        };
        let dt = dt.as_secs_f64();
        if self.adaptive {
            if let Some(since) = self.limited_since {
                if since <= now {
                    self.rate = (self.rate + RATE_GAIN * dt).min(self.max);
                }
            }
        }
        self.tokens = (self.tokens + self.rate * dt).min(self.burst);
        self.last = Some(now);
    }

    /// Takes the tokens for a datagram of `size` bytes if there are enough
    /// (a datagram larger than the bucket needs a full bucket).
    pub(crate) fn try_take(&mut self, now: Instant, size: usize) -> bool {
        self.refill(now);
        let need = (size as f64).min(self.burst);
        if self.tokens >= need {
            self.tokens -= size as f64;
            self.limited_since = None;
            true
        } else {
            self.limited_since.get_or_insert(now);
            false
        }
    }

    /// Takes tokens without waiting (control frames, unpaced flushes): the
    /// bucket may go into debt.
    pub(crate) fn force_take(&mut self, now: Instant, size: usize) {
        self.refill(now);
        self.tokens -= size as f64;
    }

    /// When a datagram of `size` bytes may go.
    pub(crate) fn ready_at(&self, size: usize) -> Option<Instant> {
        let last = self.last?;
        let need = (size as f64).min(self.burst) - self.tokens;
        if need <= 0.0 {
            return Some(last);
        }
        // At least one microsecond, so that the wake-up finds the tokens.
        let secs = (need / self.rate).max(1e-6);
        Some(last + Duration::from_secs_f64(secs.min(3600.0)))
    }

    /// A receiver reported loss: take a quarter off the rate, at most once
    /// per repair
    /// timeout (one loss event usually brings several NACKs).
    pub(crate) fn on_loss_report(&mut self, now: Instant) -> bool {
        if !self.adaptive {
            return false;
        }
        if self.last_decrease.is_some_and(|t| {
            now.checked_duration_since(t)
                .is_none_or(|d| d < self.decrease_interval)
        }) {
            return false;
        }
        self.last_decrease = Some(now);
        self.rate = (self.rate * DECREASE).max(self.min);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> Config {
        Config {
            initial_rate: 1_000_000,
            burst: 10_000,
            ..Config::default()
        }
    }

    #[test]
    fn burst_then_rate() {
        let t = Instant::now();
        let mut p = Pacer::new(&config());
        for _ in 0..10 {
            assert!(p.try_take(t, 1000));
        }
        assert!(!p.try_take(t, 1000));
        // 1000 bytes at 1 MB/s: 1 ms
        assert_eq!(p.ready_at(1000), Some(t + Duration::from_millis(1)));
        assert!(!p.try_take(t + Duration::from_micros(500), 1000));
        assert!(p.try_take(t + Duration::from_millis(1), 1000));
    }

    #[test]
    fn adapts() {
        let t = Instant::now();
        let mut p = Pacer::new(&config());
        assert!(p.on_loss_report(t));
        assert_eq!(p.rate(), 750_000);
        assert!(
            !p.on_loss_report(t + Duration::from_millis(1)),
            "once per interval"
        );
        assert!(p.on_loss_report(t + Duration::from_millis(500)));
        assert_eq!(p.rate(), 562_500);
        for i in 2..10 {
            p.on_loss_report(t + Duration::from_millis(500 * i));
        }
        assert_eq!(p.rate(), 262_144, "floored at min_rate");
        // held back for a second: grows
        let t1 = t + Duration::from_secs(1);
        assert!(
            p.try_take(t1, 20_000),
            "a full bucket sends a large datagram"
        );
        assert!(!p.try_take(t1, 20_000));
        p.try_take(t1 + Duration::from_secs(1), 20_000);
        assert!(p.rate() > 30_000_000, "{}", p.rate());
    }
}
