//! A short busy-poll of the node's socket before its task parks
//! ([`Config::busy_poll`](crate::Config::busy_poll), 150 us by default),
//! while a reply to what the node emitted is expected.
//!
//! A reply is expected ([`Expectation`]) from the first time the task,
//! about to park, sees that the node emitted since it last looked, for
//! the configured window, or until a datagram comes: polls that the
//! task's timers or commands cut short do not stretch it, and a node that
//! emits nothing never polls.
//!
//! A task that parks waits for the runtime's worker to sleep in
//! `epoll_wait` and for the kernel to wake it when a datagram comes. On a
//! virtual machine that wake-up is the dearest part of a round trip: the
//! idle virtual CPU halts and must be brought back. When an answer is due
//! within microseconds (a request and its reply), polling the socket for
//! that long before parking takes the reply without the wake-up.
//!
//! The window adapts by KVM's halt-polling rule, on the time from the
//! start of a poll that found nothing (or of a turn that did not poll, the
//! window being at nothing) to what ended the park after it: a datagram
//! within the configured window doubles the window (from an eighth of the
//! configured one, up to it); anything later than the configured window
//! (a datagram, a timer, a command) halves it, and below an eighth it is
//! nothing; a wake-up other than a datagram within the window says
//! nothing. So a peer that answers within the window keeps it whole, and
//! a stream whose gaps are longer than the window, or timers alone, take
//! it to nothing in four turns.

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Waker};
use std::time::{Duration, Instant};

/// Whether a reply to the node's own emits is expected, and until when
/// (see the module docs).
#[derive(Debug)]
pub(crate) struct Expectation {
    /// The node's emit count when the task last looked.
    emits: u64,
    /// The end of the expectation, if there is one.
    until: Option<Instant>,
}

impl Expectation {
    /// No reply expected; `emits` is the node's emit count now.
    pub(crate) fn new(emits: u64) -> Self {
        Self { emits, until: None }
    }

    /// The task is about to park, the node's emit count at `emits`: an
    /// emit since the last look starts an expectation of `window` from
    /// `now`. Returns its end, if a reply is still expected. The clock is
    /// read only when there is an expectation to start or end: a node
    /// that does not emit (most receivers) pays nothing per turn.
    pub(crate) fn look(
        &mut self,
        emits: u64,
        now: impl FnOnce() -> Instant,
        window: Duration,
    ) -> Option<Instant> {
        if emits == self.emits && self.until.is_none() {
            return None;
        }
        let now = now();
        if emits != self.emits {
            self.emits = emits;
            self.until = Some(now + window);
        }
        self.until = self.until.filter(|&until| now < until);
        self.until
    }

    /// A datagram came: the reply, or traffic that ends the wait anyway.
    pub(crate) fn read(&mut self) {
        self.until = None;
    }
}

/// The node task's busy-poll state.
#[derive(Debug)]
pub(crate) struct BusyPoll {
    /// The configured window (zero: off).
    max: Duration,
    /// How long the next poll lasts at most.
    window: Duration,
    /// When the poll that found nothing started (or the turn that did not
    /// poll, the window being at nothing): what ends the park after it
    /// teaches the window.
    waiting_since: Option<Instant>,
}

/// How a poll ended.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Spun {
    /// No poll: off, the window at nothing, or work due now.
    Skipped,
    /// `ready` found datagrams (the task's poll reads them, see
    /// [`spin`](BusyPoll::spin)), or a read failed: either ends the
    /// expectation, and the window is whole again.
    Ready,
    /// Something else wants the task: a command, a stop, a wake-up
    /// (`woken`: the wake-up was taken by the poll, so the task's turn is
    /// owed without waiting for it again).
    Interrupted { woken: bool },
    /// The window passed.
    RanOut,
    /// The task's next deadline (or the end of the expectation) came
    /// before the window passed.
    Due,
}

impl BusyPoll {
    /// Busy-polls for up to `max` (zero: never).
    pub(crate) fn new(max: Duration) -> Self {
        Self {
            max,
            window: max,
            waiting_since: None,
        }
    }

    /// The window of the next poll.
    #[cfg(test)]
    fn window(&self) -> Duration {
        self.window
    }

    /// Whether a window is configured at all (zero: the task never polls,
    /// and there is nothing to learn).
    pub(crate) fn configured(&self) -> bool {
        !self.max.is_zero()
    }

    /// The configured window: how long a reply is expected after an emit.
    pub(crate) fn max(&self) -> Duration {
        self.max
    }

    /// Whether the next turn polls at all.
    pub(crate) fn polls(&self) -> bool {
        !self.window.is_zero()
    }

    /// No poll this turn. `learn`: the window is at nothing, and how soon
    /// a datagram ends this park says whether to poll again (not so when
    /// polling is ruled out for other reasons).
    pub(crate) fn skip(&mut self, learn: bool) -> Spun {
        self.waiting_since = (learn && self.configured()).then(Instant::now);
        Spun::Skipped
    }

    /// The smallest window polled: below it, not at all.
    fn floor(&self) -> Duration {
        self.max / 8
    }

    /// Polls `ready` (whether the socket had datagrams: the task reads
    /// them there, and keeps what it read) until it says so,
    /// `interrupted` says so, `woken` (the task's wake-up) is ready, the
    /// window passes or `deadline` comes (whichever is first).
    pub(crate) fn spin(
        &mut self,
        deadline: Option<Instant>,
        mut ready: impl FnMut() -> bool,
        mut interrupted: impl FnMut() -> bool,
        woken: impl Future<Output = ()>,
    ) -> Spun {
        if !self.polls() {
            return self.skip(true);
        }
        self.waiting_since = None;
        let start = Instant::now();
        let window_end = start + self.window;
        let end = deadline.map_or(window_end, |d| d.min(window_end));
        if end <= start {
            // The task has work due now: no poll, and nothing to learn.
            return Spun::Skipped;
        }
        let mut woken = pin!(woken);
        let mut cx = Context::from_waker(Waker::noop());
        loop {
            if ready() {
                self.window = self.max;
                return Spun::Ready;
            }
            if interrupted() {
                return Spun::Interrupted { woken: false };
            }
            if woken.as_mut().poll(&mut cx).is_ready() {
                return Spun::Interrupted { woken: true };
            }
            if Instant::now() >= end {
                self.waiting_since = Some(start);
                return if end < window_end {
                    Spun::Due
                } else {
                    Spun::RanOut
                };
            }
            std::hint::spin_loop();
        }
    }

    /// The task woke from the park after a poll that found nothing (or
    /// after no poll): `by_datagram`, whether a datagram woke it.
    pub(crate) fn woke(&mut self, by_datagram: bool) {
        if let Some(since) = self.waiting_since.take() {
            self.learn(since.elapsed(), by_datagram);
        }
    }

    /// KVM's rule (see the module docs): `waited` from the start of the
    /// poll to the wake-up, `by_datagram` whether a datagram woke the task.
    fn learn(&mut self, waited: Duration, by_datagram: bool) {
        if waited > self.max {
            self.window /= 2;
            if self.window < self.floor() {
                self.window = Duration::ZERO;
            }
        } else if by_datagram {
            self.window = (self.window * 2).max(self.floor()).min(self.max);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAX: Duration = Duration::from_micros(400);

    fn never() -> std::future::Pending<()> {
        std::future::pending()
    }

    #[test]
    fn off_never_polls_nor_learns() {
        let mut busy = BusyPoll::new(Duration::ZERO);
        let mut polled = false;
        let spun = busy.spin(
            None,
            || std::mem::replace(&mut polled, true),
            || false,
            never(),
        );
        assert_eq!((spun, polled), (Spun::Skipped, false));
        assert_eq!(busy.waiting_since, None);
        busy.woke(true);
        assert_eq!(busy.window(), Duration::ZERO);
    }

    #[test]
    fn a_ready_socket_ends_the_poll_and_keeps_the_window_whole() {
        let mut busy = BusyPoll::new(MAX);
        let mut polls = 0;
        let spun = busy.spin(
            None,
            || {
                polls += 1;
                polls == 3
            },
            || false,
            never(),
        );
        assert_eq!((spun, polls), (Spun::Ready, 3));
        assert_eq!((busy.window(), busy.waiting_since), (MAX, None));
    }

    #[test]
    fn an_interruption_or_a_wake_up_ends_the_poll_and_teaches_nothing() {
        let mut busy = BusyPoll::new(MAX);
        let spun = busy.spin(None, || false, || true, never());
        assert_eq!(spun, Spun::Interrupted { woken: false });
        assert_eq!(busy.waiting_since, None);
        let spun = busy.spin(None, || false, || false, std::future::ready(()));
        assert_eq!(spun, Spun::Interrupted { woken: true });
        assert_eq!(busy.waiting_since, None);
        busy.woke(false);
        assert_eq!(busy.window(), MAX);
    }

    #[test]
    fn a_poll_that_runs_out_lasts_its_window_and_is_learnt_from() {
        let mut busy = BusyPoll::new(MAX);
        let started = Instant::now();
        assert_eq!(busy.spin(None, || false, || false, never()), Spun::RanOut);
        let since = busy.waiting_since.expect("a park to learn from");
        assert!(since >= started && since.elapsed() >= MAX);
    }

    #[test]
    fn late_wake_ups_shrink_the_window_to_nothing_and_soon_datagrams_grow_it_back() {
        let mut busy = BusyPoll::new(MAX);
        let late = MAX + Duration::from_micros(1);
        let mut windows = Vec::new();
        for by_datagram in [true, false, true, false] {
            busy.learn(late, by_datagram);
            windows.push(busy.window().as_micros());
        }
        assert_eq!(windows, [200, 100, 50, 0]);
        // At nothing it no longer polls, and learns from the park instead.
        assert_eq!(busy.spin(None, || true, || false, never()), Spun::Skipped);
        assert!(busy.waiting_since.is_some());
        let mut windows = Vec::new();
        for _ in 0..5 {
            busy.learn(MAX, true);
            windows.push(busy.window().as_micros());
        }
        assert_eq!(windows, [50, 100, 200, 400, 400]);
    }

    #[test]
    fn a_stream_with_gaps_longer_than_the_window_stops_the_polls() {
        // Each poll runs out; the next datagram comes after more than
        // the configured window, counted from the poll's start.
        let mut busy = BusyPoll::new(MAX);
        for _ in 0..4 {
            busy.learn(MAX + MAX / 2, true);
        }
        assert!(!busy.polls());
    }

    #[test]
    fn other_wake_ups_within_the_window_teach_nothing() {
        let mut busy = BusyPoll::new(MAX);
        busy.window = MAX / 4;
        busy.learn(MAX / 2, false);
        assert_eq!(busy.window(), MAX / 4);
        busy.learn(MAX / 2, true);
        assert_eq!(busy.window(), MAX / 2);
    }

    #[test]
    fn a_skip_for_other_reasons_learns_nothing() {
        let mut busy = BusyPoll::new(MAX);
        busy.skip(false);
        assert_eq!(busy.waiting_since, None);
        busy.woke(false);
        assert_eq!(busy.window(), MAX);
    }

    #[test]
    fn an_emit_starts_an_expectation_of_one_window_that_a_datagram_ends() {
        let t0 = Instant::now();
        let us = Duration::from_micros;
        let mut expected = Expectation::new(7);
        // Nothing emitted: nothing expected, at any time.
        assert_eq!(expected.look(7, || t0, MAX), None);
        assert_eq!(expected.look(7, || t0 + us(10), MAX), None);
        // An emit: expected for one window from the look that saw it.
        let seen = t0 + us(20);
        assert_eq!(expected.look(8, || seen, MAX), Some(seen + MAX));
        // Later looks (a poll cut short by a timer, a command) keep it,
        // without stretching it.
        assert_eq!(expected.look(8, || seen + us(100), MAX), Some(seen + MAX));
        assert_eq!(expected.look(8, || seen + MAX, MAX), None);
        assert_eq!(expected.look(8, || seen + MAX + us(1), MAX), None);
        // Another emit starts another; a datagram ends it.
        let again = seen + us(1000);
        assert_eq!(expected.look(9, || again, MAX), Some(again + MAX));
        expected.read();
        assert_eq!(expected.look(9, || again + us(1), MAX), None);
        // Several emits between two looks: one expectation.
        assert_eq!(
            expected.look(12, || again + us(2), MAX),
            Some(again + us(2) + MAX)
        );
    }

    #[test]
    fn the_end_of_an_expectation_ends_the_poll_as_a_deadline_does() {
        let mut busy = BusyPoll::new(Duration::from_secs(5));
        let mut expected = Expectation::new(0);
        let until = expected
            .look(1, Instant::now, Duration::from_millis(2))
            .expect("expected after an emit");
        let started = Instant::now();
        assert_eq!(
            busy.spin(Some(until), || false, || false, never()),
            Spun::Due
        );
        assert!(started.elapsed() < Duration::from_secs(4));
        assert_eq!(
            expected.look(1, Instant::now, Duration::from_millis(2)),
            None
        );
    }

    #[test]
    fn the_poll_ends_at_the_deadline() {
        let mut busy = BusyPoll::new(Duration::from_secs(5));
        let deadline = Instant::now() + Duration::from_millis(2);
        let started = Instant::now();
        assert_eq!(
            busy.spin(Some(deadline), || false, || false, never()),
            Spun::Due
        );
        assert!(started.elapsed() < Duration::from_secs(4));
        // A deadline already passed: no poll, nothing to learn.
        let past = Instant::now();
        assert_eq!(
            busy.spin(Some(past), || false, || false, never()),
            Spun::Skipped
        );
        assert_eq!(busy.waiting_since, None);
    }
}
