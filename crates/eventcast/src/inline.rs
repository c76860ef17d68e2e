//! The node's driver, shared by its task and its handles, so that an event
//! can leave from the thread that emits it.
//!
//! Through the task alone, a round trip crossed threads more often than it
//! had to: `emit` handed the event to the node's task through a channel,
//! waking that task on another thread, and the task sent it. Now an emit
//! that finds the node idle goes out at once from the caller's thread (the
//! socket is non-blocking): idle is nothing waiting in the channel,
//! nothing left in the send batch, and at least [`INLINE_GAP`] since the
//! previous emit. The pacer still decides what may go. Emits closer
//! together go through the channel as before, so that the task sends a
//! burst in batches (one system call for many events) rather than one
//! call per event.
//!
//! The driver sees the events in the order they were emitted either way:
//! an emit goes inline only while no command waits in the channel. What
//! an inline emit leaves to do (datagrams the pacer or the socket held
//! back, an earlier deadline, notices) wakes the task.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tokio::net::UdpSocket;
use tokio::sync::{mpsc, Notify};

use crate::driver::{Command, Driver, Outgoing, Output};
use crate::send::{self, SendBatch, SendCounts};
use crate::shared::Shared;

/// An emit sooner than this after the previous one goes through the task:
/// it is likely part of a burst, which goes out in batches.
pub(crate) const INLINE_GAP: Duration = Duration::from_micros(20);

/// The driver and what goes with it, under one lock.
pub(crate) struct State<D> {
    pub(crate) driver: D,
    /// Datagrams taken from the driver and not sent yet (the socket would
    /// have blocked): they go before any other.
    pub(crate) outbox: SendBatch,
    /// The deadline the task sleeps until, while it sleeps.
    armed: Option<Instant>,
    /// The task is between two sleeps: it looks at the driver again
    /// before it sleeps.
    running: bool,
    /// Outputs an inline emit took from the driver, for the task to hand
    /// over before the driver's next ones.
    outputs: VecDeque<Output>,
}

impl<D: Driver> State<D> {
    /// Fills the send batch with what the driver lets go at `now`; `true`
    /// if the batch is full and the driver may have more.
    pub(crate) fn fill(&mut self, now: Instant) -> bool {
        let Self { driver, outbox, .. } = self;
        outbox.fill(|d| driver.poll_transmit(now, d))
    }

    /// Publishes the driver's counters, keys and released send-queue
    /// bytes, and what sending cost, into what the handles share.
    pub(crate) fn publish_counters(&mut self, shared: &Shared) {
        let send = self.outbox.take_counts();
        {
            let mut stats = shared.stats_mut();
            self.driver.publish_stats(&mut stats);
            add_send_counts(&mut stats, send);
        }
        if let Some(keys) = self.driver.poll_keys() {
            *shared.keys_mut() = keys;
        }
        let released = self.driver.poll_released();
        if released > 0 {
            shared.release_queue(released);
        }
    }

    /// The next output to hand over: an inline emit's first, then the
    /// driver's.
    pub(crate) fn next_output(&mut self) -> Option<Output> {
        self.outputs
            .pop_front()
            .or_else(|| self.driver.poll_output())
    }

    /// The task goes to sleep until the driver's next deadline: returns it.
    pub(crate) fn arm(&mut self) -> Option<Instant> {
        self.armed = self.driver.poll_timeout();
        self.running = false;
        self.armed
    }

    /// The task woke up.
    pub(crate) fn woke(&mut self) {
        self.running = true;
    }

    /// Whether the task must wake for the driver's deadline: it sleeps
    /// until a later one, or none.
    fn deadline_moved_up(&self) -> bool {
        if self.running {
            return false;
        }
        match (self.driver.poll_timeout(), self.armed) {
            (Some(new), Some(armed)) => new < armed,
            (Some(_), None) => true,
            (None, _) => false,
        }
    }
}

/// Adds what sending cost and met to the node's counters.
fn add_send_counts(stats: &mut crate::stats::NodeStats, send: SendCounts) {
    stats.send_calls += send.calls;
    stats.send_call_datagrams += send.datagrams;
    stats.send_errors += send.errors;
    stats.send_batch_errors += send.batch_errors;
    stats.batch_fallbacks += send.batch_fallbacks;
    stats.gso_fallbacks += send.gso_fallbacks;
}

/// What the task and the handles share of one run: the socket, the
/// driver, and how the handles reach the task.
pub(crate) struct Engine<D> {
    pub(crate) socket: UdpSocket,
    state: Mutex<State<D>>,
    /// Commands sent through the channel and not applied yet.
    pending: AtomicUsize,
    /// When the last emit began, in nanoseconds since `epoch` (0: none).
    last_emit: AtomicU64,
    epoch: Instant,
    /// Wakes the task for what an inline emit left to it.
    pub(crate) wake: Notify,
    /// The task ended: nothing goes inline any more.
    closed: AtomicBool,
    shared: Arc<Shared>,
}

impl<D: Driver> Engine<D> {
    pub(crate) fn new(socket: UdpSocket, driver: D, shared: Arc<Shared>) -> Self {
        Self {
            socket,
            state: Mutex::new(State {
                driver,
                outbox: SendBatch::new(),
                armed: None,
                running: true,
                outputs: VecDeque::new(),
            }),
            pending: AtomicUsize::new(0),
            last_emit: AtomicU64::new(0),
            epoch: Instant::now(),
            wake: Notify::new(),
            closed: AtomicBool::new(false),
            shared,
        }
    }

    /// The driver, for the task.
    pub(crate) fn lock(&self) -> MutexGuard<'_, State<D>> {
        // A panic under the lock ends the task (and the run) anyway.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Hands a command from the channel to the driver.
    pub(crate) fn apply(&self, state: &mut State<D>, command: Command) {
        let driver = &mut state.driver;
        match command {
            Command::Emit(event) => driver.emit(Instant::now(), event),
            Command::Keys(change) => driver.change_keys(change),
            Command::Peers(reply) => {
                // The asker may be gone already; nothing to do then.
                let _ = reply.send(driver.peers(Instant::now()));
            }
        }
        self.pending.fetch_sub(1, Ordering::AcqRel);
    }

    /// Whether an emit beginning at `now` follows the previous one closely.
    fn in_burst(&self, now: Instant) -> bool {
        let at = (now.saturating_duration_since(self.epoch).as_nanos() as u64).max(1);
        let previous = self.last_emit.swap(at, Ordering::Relaxed);
        previous != 0 && at.saturating_sub(previous) < INLINE_GAP.as_nanos() as u64
    }
}

impl<D> Engine<D> {
    /// The task ends: from now on every emit goes to the channel (and
    /// finds it closed).
    pub(crate) fn close(&self) {
        self.closed.store(true, Ordering::Release);
    }
}

/// An [`Engine`] as the handles see it, whatever its driver.
pub(crate) trait Emitter: Send + Sync {
    /// Sends `event` from this thread if the node is idle (see the module
    /// documentation); gives it back if it must go through the task.
    fn try_emit(&self, event: Outgoing) -> Result<(), Outgoing>;
    /// Commands sent through the channel and not applied yet.
    fn pending(&self) -> &AtomicUsize;
}

impl<D: Driver + Send> Emitter for Engine<D> {
    fn try_emit(&self, event: Outgoing) -> Result<(), Outgoing> {
        let now = Instant::now();
        let queued = || self.pending.load(Ordering::Acquire) != 0;
        // Commands waiting: the task is behind (a burst), so this event
        // goes after them, without touching the lock the task sends under.
        if self.in_burst(now) || queued() || self.closed.load(Ordering::Acquire) {
            return Err(event);
        }
        // The task holds the lock only between two awaits, never while
        // listeners run: waiting for it is short, and shorter than
        // waking it.
        let mut state = self.lock();
        if queued() || !state.outbox.is_empty() {
            return Err(event);
        }
        state.driver.emit(now, event);
        let more = state.fill(now);
        let blocked =
            !state.outbox.is_empty() && send::try_send(&self.socket, &mut state.outbox).is_err();
        state.publish_counters(&self.shared);
        let State {
            driver, outputs, ..
        } = &mut *state;
        while let Some(output) = driver.poll_output() {
            outputs.push_back(output);
        }
        let wake = more || blocked || !state.outputs.is_empty() || state.deadline_moved_up();
        drop(state);
        if wake {
            self.wake.notify_one();
        }
        Ok(())
    }

    fn pending(&self) -> &AtomicUsize {
        &self.pending
    }
}

/// How handles reach the node's task: its command channel, and the
/// engine an emit may go through directly.
#[derive(Clone)]
pub(crate) struct Commands {
    tx: mpsc::UnboundedSender<Command>,
    engine: Arc<dyn Emitter>,
}

impl Commands {
    pub(crate) fn new(tx: mpsc::UnboundedSender<Command>, engine: Arc<dyn Emitter>) -> Self {
        Self { tx, engine }
    }

    /// Sends a command to the task; `Err` if the task has ended.
    pub(crate) fn send(&self, command: Command) -> Result<(), ()> {
        let pending = self.engine.pending();
        pending.fetch_add(1, Ordering::AcqRel);
        self.tx.send(command).map_err(|_| {
            pending.fetch_sub(1, Ordering::AcqRel);
        })
    }

    /// Sends an emitted event: from this thread when the node is idle,
    /// through the task otherwise. `Err` if the task has ended.
    pub(crate) fn emit(&self, event: Outgoing) -> Result<(), ()> {
        match self.engine.try_emit(event) {
            Ok(()) => Ok(()),
            Err(event) => self.send(Command::Emit(event)),
        }
    }
}
