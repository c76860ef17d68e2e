//! A short busy-poll of the node's socket before its task parks
//! ([`Config::busy_poll`](crate::Config::busy_poll), off by default).
//!
//! A task that parks waits for the runtime's worker to sleep in
//! `epoll_wait` and for the kernel to wake it when a datagram comes. On a
//! virtual machine that wake-up is the dearest part of a round trip: the
//! idle virtual CPU halts and must be brought back. When an answer is due
//! within microseconds (a request and its reply), polling the socket for
//! that long before parking takes the reply without the wake-up.
//!
//! The window adapts as KVM's halt-polling does: it stays whole while
//! polls find datagrams, or while a datagram comes soon after the task
//! parked (the window was too short: it doubles, up to the configured
//! one); it halves after every park that no datagram ended soon, and is
//! nothing below an eighth of the configured one, so that a node whose
//! traffic does not come in answers stops spinning after a few turns.

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Waker};
use std::time::{Duration, Instant};

/// The node task's busy-poll state.
#[derive(Debug)]
pub(crate) struct BusyPoll {
    /// The configured window (zero: off).
    max: Duration,
    /// How long the next poll lasts at most.
    window: Duration,
    /// When the task parked after a poll that found nothing, or with the
    /// window at nothing (a park that a datagram may end soon).
    parked_at: Option<Instant>,
}

/// How a poll ended.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Spun {
    /// No poll: off, or the window shrank to nothing.
    Skipped,
    /// The socket has datagrams.
    Ready,
    /// Something else wants the task: a command, a stop, a wake-up
    /// (`woken`: the wake-up was taken by the poll, so the task's turn is
    /// owed without waiting for it again).
    Interrupted { woken: bool },
    /// The window (or the time to the task's next deadline) passed.
    RanOut,
}

impl BusyPoll {
    /// Busy-polls for up to `max` (zero: never).
    pub(crate) fn new(max: Duration) -> Self {
        Self {
            max,
            window: max,
            parked_at: None,
        }
    }

    /// The window of the next poll.
    #[cfg(test)]
    fn window(&self) -> Duration {
        self.window
    }

    /// Whether the next turn polls at all.
    pub(crate) fn polls(&self) -> bool {
        !self.window.is_zero()
    }

    /// No poll this turn: the task parks at once, and learns from how soon
    /// a datagram ends the park whether to poll again.
    pub(crate) fn skip(&mut self) -> Spun {
        self.parked_at = (!self.max.is_zero()).then(Instant::now);
        Spun::Skipped
    }

    /// The smallest window polled: below it, not at all.
    fn floor(&self) -> Duration {
        self.max / 8
    }

    /// Polls `ready` (whether the socket has datagrams) until it says so,
    /// `interrupted` says so, `woken` (the task's wake-up) is ready, the
    /// window passes or `deadline` comes.
    pub(crate) fn spin(
        &mut self,
        deadline: Option<Instant>,
        mut ready: impl FnMut() -> bool,
        mut interrupted: impl FnMut() -> bool,
        woken: impl Future<Output = ()>,
    ) -> Spun {
        if !self.polls() {
            return self.skip();
        }
        self.parked_at = None;
        let start = Instant::now();
        let mut end = start + self.window;
        if let Some(deadline) = deadline {
            end = end.min(deadline);
        }
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
            let now = Instant::now();
            if now >= end {
                self.parked_at = Some(now);
                return Spun::RanOut;
            }
            std::hint::spin_loop();
        }
    }

    /// The task woke from a park after a poll that found nothing (or
    /// none): `by_datagram`, whether a datagram woke it.
    pub(crate) fn woke(&mut self, by_datagram: bool) {
        let Some(at) = self.parked_at.take() else {
            return;
        };
        if by_datagram && at.elapsed() <= self.max {
            self.window = (self.window * 2).max(self.floor()).min(self.max);
        } else {
            self.window /= 2;
            if self.window < self.floor() {
                self.window = Duration::ZERO;
            }
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
    fn off_never_polls() {
        let mut busy = BusyPoll::new(Duration::ZERO);
        let mut polled = false;
        let spun = busy.spin(
            None,
            || std::mem::replace(&mut polled, true),
            || false,
            never(),
        );
        assert_eq!((spun, polled), (Spun::Skipped, false));
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
        assert_eq!(busy.window(), MAX);
    }

    #[test]
    fn an_interruption_or_a_wake_up_ends_the_poll() {
        let mut busy = BusyPoll::new(MAX);
        let spun = busy.spin(None, || false, || true, never());
        assert_eq!(spun, Spun::Interrupted { woken: false });
        let spun = busy.spin(None, || false, || false, std::future::ready(()));
        assert_eq!(spun, Spun::Interrupted { woken: true });
        // Neither says anything of the window.
        busy.woke(false);
        assert_eq!(busy.window(), MAX);
    }

    #[test]
    fn parks_that_no_datagram_ends_soon_shrink_the_window_to_nothing() {
        let mut busy = BusyPoll::new(MAX);
        let mut windows = Vec::new();
        for _ in 0..4 {
            let (window, started) = (busy.window(), Instant::now());
            assert_eq!(busy.spin(None, || false, || false, never()), Spun::RanOut);
            assert!(started.elapsed() >= window);
            busy.woke(false);
            windows.push(busy.window().as_micros());
        }
        assert_eq!(windows, [200, 100, 50, 0]);
        // At nothing it no longer polls, but still learns from the park.
        assert_eq!(busy.spin(None, || true, || false, never()), Spun::Skipped);
        busy.woke(true);
        assert_eq!(busy.window(), MAX / 8);
        busy.woke(true); // no park since: nothing learnt
        assert_eq!(busy.window(), MAX / 8);
    }

    #[test]
    fn a_datagram_soon_after_a_park_grows_the_window_back() {
        let mut busy = BusyPoll::new(MAX);
        busy.window = MAX / 4;
        busy.spin(None, || false, || false, never());
        busy.woke(true);
        assert_eq!(busy.window(), MAX / 2);
        busy.spin(None, || false, || false, never());
        busy.woke(true);
        assert_eq!(busy.window(), MAX);
        // A datagram long after the park shrinks it.
        busy.spin(None, || false, || false, never());
        busy.parked_at = Some(Instant::now() - 2 * MAX);
        busy.woke(true);
        assert_eq!(busy.window(), MAX / 2);
    }

    #[test]
    fn the_poll_ends_at_the_deadline() {
        let mut busy = BusyPoll::new(Duration::from_secs(5));
        let deadline = Instant::now() + Duration::from_millis(2);
        let started = Instant::now();
        assert_eq!(
            busy.spin(Some(deadline), || false, || false, never()),
            Spun::RanOut
        );
        assert!(started.elapsed() < Duration::from_secs(1));
        // A deadline already passed: no poll.
        let past = Instant::now();
        assert_eq!(
            busy.spin(Some(past), || false, || false, never()),
            Spun::Skipped
        );
    }
}
