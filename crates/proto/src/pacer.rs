//! Sending-rate control: a token bucket driven by `now`, whose rate adapts
//! to loss reports, in the manner of TCP's slow start and congestion
//! avoidance. While the sender has more to send than the rate lets through,
//! the rate grows: it doubles every [`SLOW_START_DOUBLING`] until the first
//! loss report, and grows additively after that. The first loss report (a
//! NACK) ends the slow start by halving the rate (it had at most doubled
//! since the loss began); later reports take a quarter off. As in TCP
//! without its restart after idle, the rate a sender reached is kept
//! across quiet spells.
//!
//! Receivers that advertise a window (status frames, `window.rs`) take
//! the blindness away: while one counts, the bucket is as deep as the
//! smallest window, so that an event's first window goes out at once, and
//! a rate still in its slow start (no loss report yet) starts at the
//! limit: the windows hold the sender to what the receivers read, and
//! loss reports still cut the rate as they do without windows. When no
//! receiver counts any more, the bucket is `burst` deep again and the rate
//! goes back to at most what it was before the windows lifted it. A fixed
//! rate (`adaptive_rate` off) is left as it is.
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

/// How much of its rate a sender that is held back may catch up on at once
/// when its wake-up comes late: two timer ticks (at most `max_window`).
const CATCH_UP: Duration = Duration::from_millis(2);

/// What the first loss report leaves of a rate that was still doubling.
const SLOW_START_DECREASE: f64 = 0.5;

/// How long the rate takes to double in slow start, while the sender is
/// held back by it. On a LAN a receiver's NACK reaches the sender within a
/// few milliseconds of the loss (its random back-off), so the rate is at
/// most about twice too high when the first report arrives.
const SLOW_START_DOUBLING: Duration = Duration::from_millis(10);

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
    /// No loss report yet: the rate grows exponentially.
    slow_start: bool,
    /// The bucket's depth: `burst`, or the receivers' smallest window.
    depth: f64,
    /// The rate before receivers' windows lifted it to the limit.
    blind_rate: Option<f64>,
    /// The most a late wake-up catches up on: `max_window` (or `burst`).
    catch_up_max: f64,
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
            slow_start: true,
            depth: config.burst as f64,
            blind_rate: None,
            catch_up_max: config.max_window.max(config.burst) as f64,
        }
    }

    /// The smallest window of the receivers that count (`None`: none
    /// does). See the module's documentation. A fixed rate
    /// (`adaptive_rate` off) keeps its bucket and rate.
    pub(crate) fn set_window(&mut self, window: Option<u64>) {
        match window {
            Some(_) if !self.adaptive => {}
            Some(w) => {
                self.depth = (w as f64).max(self.burst);
                if self.slow_start && self.blind_rate.is_none() {
                    self.blind_rate = Some(self.rate);
                    self.rate = self.max;
                }
            }
            None => {
                self.depth = self.burst;
                self.tokens = self.tokens.min(self.depth);
                if let Some(blind) = self.blind_rate.take() {
                    self.rate = self.rate.min(blind);
                }
            }
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
        // A sender held back is owed the tokens of the whole time it waited,
        // at the rate it had, up to `CATCH_UP` of its rate (and no more
        // than `max_window`, whatever the rate): timers wake late (tokio's
        // by up to a millisecond), and a bucket of `burst` alone would cap
        // the rate at `burst` per wake-up. After a quiet spell (see
        // `idle`), `burst` is all it gets.
        let depth = if self.limited_since.is_some() {
            let catch_up = (self.rate * CATCH_UP.as_secs_f64()).min(self.catch_up_max);
            self.depth.max(catch_up)
        } else {
            self.depth
        };
        self.tokens = (self.tokens + self.rate * dt).min(depth.max(self.tokens));
        if self.adaptive {
            if let Some(since) = self.limited_since {
                if since <= now {
                    self.grow(dt);
                }
            }
        }
        self.last = Some(now);
    }

    /// The sender has nothing left to send: it is no longer held back (its
    /// rate stops growing), and the tokens it caught up on beyond `burst`
    /// are not kept for the next burst.
    pub(crate) fn idle(&mut self) {
        self.limited_since = None;
        self.tokens = self.tokens.min(self.depth);
    }

    /// Grows the rate after `dt` seconds of being held back: doubling
    /// every [`SLOW_START_DOUBLING`] in slow start, additively after it.
    fn grow(&mut self, dt: f64) {
        let grown = if self.slow_start {
            self.rate * (dt / SLOW_START_DOUBLING.as_secs_f64()).exp2()
        } else {
            self.rate + RATE_GAIN * dt
        };
        self.rate = grown.min(self.max);
    }

    /// Takes the tokens for a datagram of `size` bytes if there are enough
    /// (a datagram larger than the bucket needs a full bucket).
    pub(crate) fn try_take(&mut self, now: Instant, size: usize) -> bool {
        self.refill(now);
        let need = (size as f64).min(self.depth);
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
        let need = (size as f64).min(self.depth) - self.tokens;
        if need <= 0.0 {
            return Some(last);
        }
        // At least one microsecond, so that the wake-up finds the tokens.
        let secs = (need / self.rate).max(1e-6);
        Some(last + Duration::from_secs_f64(secs.min(3600.0)))
    }

    /// A receiver reported loss: end the slow start by halving the rate, or
    /// take a quarter off it after that; at most once per repair timeout
    /// (one loss event usually brings several NACKs).
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
        let factor = if self.slow_start {
            SLOW_START_DECREASE
        } else {
            DECREASE
        };
        self.slow_start = false;
        self.rate = (self.rate * factor).max(self.min);
        if let Some(blind) = &mut self.blind_rate {
            *blind = blind.min(self.rate);
        }
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
        assert_eq!(p.rate(), 500_000, "the first report ends the slow start");
        assert!(
            !p.on_loss_report(t + Duration::from_millis(1)),
            "once per interval"
        );
        assert!(p.on_loss_report(t + Duration::from_millis(500)));
        assert_eq!(p.rate(), 375_000, "later ones take a quarter");
        for i in 2..10 {
            p.on_loss_report(t + Duration::from_millis(500 * i));
        }
        assert_eq!(p.rate(), 262_144, "floored at min_rate");
        // held back for a second: grows additively, by 32 MiB/s
        let t1 = t + Duration::from_secs(1);
        assert!(
            p.try_take(t1, 20_000),
            "a full bucket sends a large datagram"
        );
        assert!(!p.try_take(t1, 20_000));
        p.try_take(t1 + Duration::from_secs(1), 20_000);
        let expected = 262_144.0 + RATE_GAIN;
        assert!((p.rate() as f64 - expected).abs() < 1000.0, "{}", p.rate());
    }

    /// A driver whose timer wakes at most once a millisecond (tokio's
    /// granularity) still gets the whole rate: 16 MiB in 1,024-byte
    /// datagrams, from the default start, in virtual time, up to a limit
    /// of 1 GiB/s.
    #[test]
    fn coarse_timers_do_not_cap_the_rate() {
        let c = Config {
            rate_limit: 1024 * 1024 * 1024,
            ..Config::default()
        };
        let mut p = Pacer::new(&c);
        let t0 = Instant::now();
        let mut now = t0;
        let mut sent = 0;
        let total = 16 * 1024 * 1024;
        while sent < total {
            while sent < total && p.try_take(now, 1024) {
                sent += 1024;
            }
            let ready = p.ready_at(1024).unwrap();
            now = ready.max(now + Duration::from_millis(1));
        }
        assert_eq!(p.rate(), c.rate_limit, "slow start reached the limit");
        // Doubling from 16 MiB/s reaches 1 GiB/s after 60 ms, with about
        // 14 MiB sent; the rest at the limit takes 2 ms. (A bucket of
        // `burst` per wake-up would cap the rate at 64 MiB/s: 250 ms.)
        let took = now - t0;
        assert!(took < Duration::from_millis(100), "{took:?}");
    }

    /// What a held-back sender caught up on is not kept once it has
    /// nothing left to send, and being idle is not being held back.
    #[test]
    fn idle_drops_the_catch_up_and_stops_growth() {
        let c = Config::default();
        let mut p = Pacer::new(&c);
        let t0 = Instant::now();
        while p.try_take(t0, 1024) {}
        // Held back for 150 ms: the rate reached the limit (in 100), and a
        // late wake-up is owed up to 2 ms of it, far more than `burst`,
        // but no more than `max_window`.
        let t1 = t0 + Duration::from_millis(150);
        while p.try_take(t1, 1024) {}
        assert_eq!(p.rate(), c.rate_limit);
        let t1 = t1 + Duration::from_millis(2);
        assert!(p.try_take(t1, 1024));
        assert!(p.tokens > c.burst as f64 * 10.0, "{}", p.tokens);
        assert!(p.tokens <= c.max_window as f64, "{}", p.tokens);
        p.idle();
        assert!(p.tokens <= c.burst as f64);
        // A second later, the next event starts from `burst` at most.
        let t2 = t1 + Duration::from_secs(1);
        let mut sent = 0;
        while p.try_take(t2, 1024) {
            sent += 1024;
        }
        assert!(sent <= c.burst, "{sent}");
        // After a loss report, idle time does not grow the rate back.
        p.on_loss_report(t2);
        let cut = p.rate();
        p.idle();
        p.force_take(t2 + Duration::from_secs(5), 100);
        assert_eq!(p.rate(), cut);
    }

    /// Receivers' windows: the first window goes at once, at the limit;
    /// loss still cuts the rate; blind again, the rate is back to at most
    /// what it was.
    #[test]
    fn a_window_lets_the_first_window_out_at_once() {
        let t = Instant::now();
        let c = config();
        let mut p = Pacer::new(&c);
        p.set_window(Some(200_000));
        assert_eq!(p.rate(), c.rate_limit, "no slow start from initial_rate");
        // A quiet spell of 1 ms fills the deeper bucket (at `rate_limit`).
        let t1 = t + Duration::from_millis(1);
        p.force_take(t, 0);
        let mut sent = 0;
        while p.try_take(t1, 1000) {
            sent += 1000;
        }
        assert_eq!(sent, 200_000, "the whole window at once");
        assert!(p.on_loss_report(t1));
        assert_eq!(p.rate(), c.rate_limit / 2, "loss still cuts the rate");
        p.set_window(None);
        assert_eq!(p.rate(), c.initial_rate, "blind: the rate it had");
        assert!(p.tokens <= c.burst as f64);
        // After a loss, windows no longer lift the rate.
        p.set_window(Some(200_000));
        assert_eq!(p.rate(), c.initial_rate);
    }

    #[test]
    fn slow_start_doubles_while_held_back() {
        let t = Instant::now();
        let mut p = Pacer::new(&config());
        while p.try_take(t, 1000) {}
        // Held back for 30 ms: three doublings.
        let t1 = t + 3 * SLOW_START_DOUBLING;
        p.try_take(t1, 1000);
        assert!(
            (p.rate() as f64 - 8_000_000.0).abs() < 1000.0,
            "{}",
            p.rate()
        );
        // Not held back (a quiet spell): no growth.
        let t2 = t1 + Duration::from_secs(1);
        assert!(p.try_take(t2, 1000));
        let t3 = t2 + Duration::from_secs(1);
        assert!(p.try_take(t3, 1000));
        assert!(
            (p.rate() as f64 - 8_000_000.0).abs() < 1000.0,
            "{}",
            p.rate()
        );
        // Never past the rate limit.
        while p.try_take(t3, 1000) {}
        p.try_take(t3 + Duration::from_secs(5), 1000);
        assert_eq!(p.rate(), Config::default().rate_limit);
    }
}
