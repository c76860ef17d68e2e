//! The sending side of flow control: the windows receivers advertised in
//! their status frames, as positions in this sender's stream.
//!
//! A position is a count of body bytes: message `seq` starts where the
//! bodies of every earlier message end. A receiver that has read up to
//! `pos` and advertises `window` lets the sender have new data up to
//! `pos + window` on its way; the slowest receiver that counts sets the
//! limit. Receivers are strangers on a LAN without a key, so what they say
//! is bounded:
//!
//! - a window is clamped to `burst ..= max_window`;
//! - a position is clamped to what was sent (never ahead of it);
//! - a receiver not heard for three `heartbeat_max` no longer counts;
//! - a receiver that holds the sender back for `repair_timeout` without
//!   its own position moving stops counting (it *lapses*) until it reports
//!   progress: a receiver that left, or a forged one that never reads,
//!   stalls the sender that long at most, whatever other receivers read
//!   meanwhile (when any receiver's progress restarted every clock, forged
//!   receivers that never read held a sender at `min_rate` for as long as
//!   a real one kept reading);
//! - while held back, the sender still trickles new data out at `min_rate`:
//!   a forged receiver that reads a little at a time cannot hold it below
//!   that;
//! - at most [`MAX_RECEIVERS`] are tracked; a new one replaces the least
//!   recently heard.
//!
//! With no receiver counting, the sender is blind and paces as it did
//! before status frames existed.

use std::time::{Duration, Instant};

use crate::config::Config;
use crate::ids::SenderId;

/// Receivers whose windows a sender tracks at once.
pub(crate) const MAX_RECEIVERS: usize = 256;

#[derive(Clone, Copy, Debug)]
struct Peer {
    id: SenderId,
    pos: u64,
    window: u64,
    heard: Instant,
    /// When its position last moved (or it was first heard).
    moved: Instant,
    lapsed: bool,
}

impl Peer {
    /// Whether `size` more bytes beyond `sent` fit this receiver's window
    /// (a datagram larger than the window goes when nothing is in flight).
    fn admits(&self, sent: u64, size: u64) -> bool {
        self.pos >= sent || self.pos + self.window >= sent + size
    }

    /// Whether it sets the limit now: not lapsed, and heard within
    /// `forget`.
    fn counts(&self, now: Instant, forget: Duration) -> bool {
        !self.lapsed && now.saturating_duration_since(self.heard) < forget
    }
}

/// What the windows say about the next datagram of new data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// No receiver counts: pace blind.
    Blind,
    /// It may go.
    Go,
    /// A receiver's window is full.
    Wait,
}

/// The receivers' windows.
#[derive(Debug)]
pub(crate) struct Windows {
    peers: Vec<Peer>,
    min_window: u64,
    max_window: u64,
    stall: Duration,
    forget: Duration,
    /// Since when the windows have held the sender back.
    blocked_since: Option<Instant>,
    /// While held back: when the first receiver holding it back lapses,
    /// unless it reports progress first.
    next_lapse: Option<Instant>,
    min_rate: f64,
    /// Since when the windows have held the sender back (positions moving
    /// or not), and what it trickled out since.
    trickle: Option<(Instant, u64)>,
    /// When the trickle lets the next datagram go, while held back.
    trickle_at: Option<Instant>,
}

impl Windows {
    pub(crate) fn new(config: &Config) -> Self {
        Self {
            peers: Vec::new(),
            min_window: config.burst as u64,
            max_window: (config.max_window as u64).max(config.burst as u64),
            stall: config.repair_timeout,
            forget: config.heartbeat_max * 3,
            blocked_since: None,
            next_lapse: None,
            min_rate: config.min_rate as f64,
            trickle: None,
            trickle_at: None,
        }
    }

    /// A receiver's status: it has read up to `pos` (already clamped to
    /// `sent`, what was sent) and takes `window` more bytes. A receiver
    /// first heard more than its window behind `sent` starts lapsed: it
    /// would hold the sender back at once, and counts only once it reports
    /// progress (a stranger's status from a new id every few milliseconds,
    /// at the stream's start, otherwise held the sender at `min_rate` for
    /// as long as it went on, each one until it lapsed).
    pub(crate) fn on_status(
        &mut self,
        now: Instant,
        id: SenderId,
        pos: u64,
        window: u32,
        sent: u64,
    ) {
        let window = u64::from(window).clamp(self.min_window, self.max_window);
        if let Some(p) = self.peers.iter_mut().find(|p| p.id == id) {
            if pos > p.pos {
                p.pos = pos;
                p.moved = now;
                p.lapsed = false;
            }
            p.window = window;
            p.heard = now;
            return;
        }
        let mut peer = Peer {
            id,
            pos,
            window,
            heard: now,
            moved: now,
            lapsed: false,
        };
        peer.lapsed = !peer.admits(sent, 0);
        if self.peers.len() < MAX_RECEIVERS {
            self.peers.push(peer);
        } else if let Some(oldest) = self.peers.iter_mut().min_by_key(|p| p.heard) {
            *oldest = peer;
        }
    }

    /// Whether `size` bytes of new data may go beyond `sent` now; lapses
    /// the receivers that held the sender back too long.
    pub(crate) fn check(&mut self, now: Instant, sent: u64, size: u64) -> (Verdict, u64) {
        let mut lapses = 0;
        loop {
            let mut any = false;
            let mut fits = true;
            for p in self.peers.iter().filter(|p| p.counts(now, self.forget)) {
                any = true;
                fits &= p.admits(sent, size);
            }
            if !any || fits {
                self.blocked_since = None;
                self.next_lapse = None;
                self.trickle = None;
                self.trickle_at = None;
                let verdict = if any { Verdict::Go } else { Verdict::Blind };
                return (verdict, lapses);
            }
            // Each receiver holding the sender back lapses once it has
            // done so for `stall` without its own position moving.
            let since = *self.blocked_since.get_or_insert(now);
            let (forget, stall) = (self.forget, self.stall);
            let mut next_lapse: Option<Instant> = None;
            let mut lapsed_now = 0;
            for p in &mut self.peers {
                if !p.counts(now, forget) || p.admits(sent, size) {
                    continue;
                }
                let at = since.max(p.moved) + stall;
                if at <= now {
                    p.lapsed = true;
                    lapsed_now += 1;
                } else {
                    next_lapse = Some(next_lapse.map_or(at, |n| n.min(at)));
                }
            }
            if lapsed_now == 0 {
                self.next_lapse = next_lapse;
                return (self.trickle(now, size), lapses);
            }
            lapses += lapsed_now;
        }
    }

    /// Held back: whether the `min_rate` floor lets `size` bytes go.
    fn trickle(&mut self, now: Instant, size: u64) -> Verdict {
        let (since, sent) = self.trickle.get_or_insert((now, 0));
        let owed = |bytes: u64| *since + Duration::from_secs_f64(bytes as f64 / self.min_rate);
        let at = owed(*sent + size);
        if at <= now {
            *sent += size;
            self.trickle_at = None;
            return Verdict::Go;
        }
        self.trickle_at = Some(at);
        Verdict::Wait
    }

    /// The smallest window of the receivers that count: how much may go
    /// at once after a quiet spell. `None`: blind.
    pub(crate) fn depth(&self, now: Instant) -> Option<u64> {
        self.peers
            .iter()
            .filter(|p| p.counts(now, self.forget))
            .map(|p| p.window)
            .min()
    }

    /// The position of the slowest receiver that counts.
    pub(crate) fn slowest(&self, now: Instant) -> Option<u64> {
        self.peers
            .iter()
            .filter(|p| p.counts(now, self.forget))
            .map(|p| p.pos)
            .min()
    }

    /// Receivers that count now.
    pub(crate) fn live(&self, now: Instant) -> usize {
        self.peers
            .iter()
            .filter(|p| p.counts(now, self.forget))
            .count()
    }

    /// While the windows hold the sender back: when the trickle lets the
    /// next datagram go, or the hold lapses, whichever comes first.
    pub(crate) fn wake_at(&self) -> Option<Instant> {
        [self.next_lapse, self.trickle_at]
            .into_iter()
            .flatten()
            .min()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> Config {
        Config {
            burst: 1000,
            max_window: 100_000,
            ..Config::default()
        }
    }

    #[test]
    fn blind_until_a_receiver_reports() {
        let t = Instant::now();
        let mut w = Windows::new(&config());
        assert_eq!(w.check(t, 0, 500), (Verdict::Blind, 0));
        assert_eq!(w.depth(t), None);
        w.on_status(t, SenderId::new(1), 0, 10_000, 0);
        assert_eq!(w.depth(t), Some(10_000));
        assert_eq!(w.check(t, 0, 10_000), (Verdict::Go, 0));
        assert_eq!(w.check(t, 9_000, 1_001), (Verdict::Wait, 0));
        // the receiver read 5,000 bytes: 5,000 more may go
        w.on_status(t, SenderId::new(1), 5_000, 10_000, 0);
        assert_eq!(w.check(t, 10_000, 5_000), (Verdict::Go, 0));
        assert_eq!(w.check(t, 15_000, 1), (Verdict::Wait, 0));
    }

    #[test]
    fn the_slowest_receiver_sets_the_limit() {
        let t = Instant::now();
        let mut w = Windows::new(&config());
        w.on_status(t, SenderId::new(1), 0, 50_000, 0);
        w.on_status(t, SenderId::new(2), 0, 4_000, 0);
        assert_eq!(w.depth(t), Some(4_000));
        assert_eq!(w.check(t, 0, 4_000), (Verdict::Go, 0));
        assert_eq!(w.check(t, 4_000, 100), (Verdict::Wait, 0));
        assert_eq!(w.live(t), 2);
    }

    #[test]
    fn forged_windows_are_clamped() {
        let t = Instant::now();
        let mut w = Windows::new(&config());
        w.on_status(t, SenderId::new(1), 0, u32::MAX, 0);
        assert_eq!(w.depth(t), Some(100_000), "max_window");
        assert_eq!(w.check(t, 100_000, 1), (Verdict::Wait, 0));
        w.on_status(t, SenderId::new(2), 0, 0, 0);
        assert_eq!(w.depth(t), Some(1000), "at least burst");
        // a datagram larger than the window goes when nothing is in flight
        assert_eq!(w.check(t, 0, 1500), (Verdict::Go, 0));
    }

    #[test]
    fn a_receiver_that_stops_reading_lapses() {
        let t = Instant::now();
        let c = config();
        let mut w = Windows::new(&c);
        w.on_status(t, SenderId::new(1), 0, 10_000, 0);
        w.on_status(t, SenderId::new(2), 0, 50_000, 0);
        assert_eq!(w.check(t, 10_000, 1000), (Verdict::Wait, 0));
        // 1,000 bytes at min_rate (256 KiB/s): about 3.8 ms
        let trickle = t + Duration::from_secs_f64(1000.0 / c.min_rate as f64);
        assert_eq!(w.wake_at(), Some(trickle));
        assert_eq!(w.check(trickle, 10_000, 1000), (Verdict::Go, 0));
        assert_eq!(w.check(trickle, 11_000, 1000), (Verdict::Wait, 0));
        let t1 = t + c.repair_timeout;
        // receiver 1 lapses; receiver 2 still counts
        assert_eq!(w.check(t1, 11_000, 1000), (Verdict::Go, 1));
        assert_eq!(w.live(t1), 1);
        // it counts again once it reports progress
        w.on_status(t1, SenderId::new(1), 9_000, 10_000, 0);
        assert_eq!(w.live(t1), 2);
        // not heard for three heartbeat_max: forgotten, blind again
        let t2 = t1 + c.heartbeat_max * 3;
        assert_eq!(w.check(t2, 60_000, 1000), (Verdict::Blind, 0));
    }

    #[test]
    fn a_stalled_receiver_lapses_while_another_reads() {
        let t = Instant::now();
        let c = config();
        let mut w = Windows::new(&c);
        w.on_status(t, SenderId::new(1), 0, 10_000, 0);
        w.on_status(t, SenderId::new(2), 0, 10_000, 0);
        assert_eq!(w.check(t, 10_000, 1000), (Verdict::Wait, 0));
        // receiver 2 reads on, receiver 1 never does
        let t1 = t + c.repair_timeout / 2;
        w.on_status(t1, SenderId::new(2), 10_000, 10_000, 10_000);
        let t2 = t + c.repair_timeout;
        assert_eq!(w.check(t2 - Duration::from_millis(1), 10_000, 1000).1, 0);
        assert_eq!(w.check(t2, 10_000, 1000), (Verdict::Go, 1));
        assert_eq!(w.live(t2), 1);
    }

    #[test]
    fn a_receiver_first_heard_a_window_behind_starts_lapsed() {
        let t = Instant::now();
        let mut w = Windows::new(&config());
        w.on_status(t, SenderId::new(1), 50_000, 10_000, 55_000);
        w.on_status(t, SenderId::new(2), 0, 10_000, 55_000);
        assert_eq!(w.live(t), 1);
        assert_eq!(w.check(t, 55_000, 1000), (Verdict::Go, 0));
        // it counts once it reports progress
        w.on_status(t, SenderId::new(2), 54_000, 10_000, 55_000);
        assert_eq!(w.live(t), 2);
    }

    #[test]
    fn tracks_at_most_max_receivers() {
        let t = Instant::now();
        let mut w = Windows::new(&config());
        for i in 0..(MAX_RECEIVERS as u64 + 50) {
            w.on_status(t + Duration::from_micros(i), SenderId::new(i), 0, 5000, 0);
        }
        assert_eq!(w.live(t + Duration::from_secs(1)), MAX_RECEIVERS);
    }
}
