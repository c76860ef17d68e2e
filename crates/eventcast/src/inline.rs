//! The node's driver, shared by its task and its handles, so that an event
//! can leave from the thread that emits it.
//!
//! Through the task alone, a round trip crossed threads more often than it
//! had to: `emit` handed the event to the node's task through a channel,
//! waking that task on another thread, and the task sent it. Now an emit
//! that finds the node idle goes out at once from the caller's thread (the
//! socket is non-blocking): idle is nothing waiting in the channel or in
//! the driver for the task, nothing left in the send batch, and at least
//! [`INLINE_GAP`] since the previous emit, or the task began handing
//! events to the listeners since (the first answer of a listener goes
//! out from the listener however fast the round trip). The pacer still
//! decides what may go.
//!
//! Emits closer together are a burst, which goes out in batches (one
//! system call for many events) rather than one call per event: the
//! caller's thread queues the event in the driver itself, when the lock
//! is free, and wakes the task once for all the events queued before its
//! next batch (no channel, no clock read while a burst goes on). The task
//! sends its batches without the lock, so that the caller's thread seldom
//! finds it taken; when it does, the event goes through the channel.
//!
//! The driver sees the events in the order they were emitted either way:
//! an emit reaches the driver directly only while no command waits in the
//! channel. What an inline emit leaves to do (datagrams the pacer or the
//! socket held back, an earlier deadline, notices) wakes the task.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, TryLockError};
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, Notify};

use crate::driver::{Clock, Command, Driver, Outgoing, Output};
use crate::node_socket::NodeSocket;
use crate::send::{self, SendBatch, SendCounts};
use crate::shared::Shared;

/// An emit sooner than this after the previous one goes through the task
/// (unless the task began handing events to the listeners between them:
/// it answers them): it is likely part of a burst, which goes out in
/// batches.
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
    /// The task is sending a batch taken out of `outbox`, without the
    /// lock: nothing may be sent from elsewhere until it is back.
    sending: bool,
}

impl<D: Driver> State<D> {
    /// Fills the send batch with what the driver lets go at `now`; `true`
    /// if the batch is full and the driver may have more.
    fn fill(&mut self, now: Instant) -> bool {
        let Self { driver, outbox, .. } = self;
        outbox.fill(|d| driver.poll_transmit(now, d))
    }

    /// Takes the driver's datagrams into the send batch one by one up to
    /// the first of new data (what is owed ahead of it, a control frame
    /// or a repair, goes along in order): whether that one was taken. Not
    /// for a driver that does not count its data ([`Driver::data_taken`]),
    /// and not when the driver lets none go or the batch is full first.
    /// That datagram is the event just emitted, unless an older one the
    /// pacer or the window held back is still queued: then the older one
    /// goes first, and the new one with the rest, in a second call.
    fn fill_through_data(&mut self, now: Instant) -> bool {
        let Self { driver, outbox, .. } = self;
        let Some(before) = driver.data_taken() else {
            return false;
        };
        while outbox.fill_one(|d| driver.poll_transmit(now, d)) {
            if driver.data_taken() != Some(before) {
                return true;
            }
        }
        false
    }

    /// Sends what the send batch holds, without waiting
    /// ([`send::try_send`]).
    fn send(&mut self, socket: &NodeSocket) -> std::io::Result<()> {
        send::try_send(socket, &mut self.outbox)
    }

    /// Fills the send batch with the driver's control frames alone (see
    /// [`Driver::poll_control`]), unless datagrams taken earlier are
    /// still unsent (they go first); whether it holds any now.
    pub(crate) fn fill_control(&mut self, now: Instant) -> bool {
        if self.unsent() {
            return false;
        }
        let Self { driver, outbox, .. } = self;
        outbox.fill(|d| driver.poll_control(now, d));
        !outbox.is_empty()
    }

    /// Whether the send batch holds datagrams not sent yet, here or in
    /// the task's hands.
    fn unsent(&self) -> bool {
        self.sending || !self.outbox.is_empty()
    }

    /// The task takes the send batch to send it without the lock, leaving
    /// `empty` (an empty batch) in its place.
    pub(crate) fn take_outbox(&mut self, empty: &mut SendBatch) {
        std::mem::swap(&mut self.outbox, empty);
        self.sending = true;
    }

    /// The task gives the send batch back, with whatever the socket did
    /// not take; `empty` gets the empty one back.
    pub(crate) fn return_outbox(&mut self, empty: &mut SendBatch) {
        std::mem::swap(&mut self.outbox, empty);
        self.sending = false;
    }

    /// Publishes the driver's counters, keys and released send-queue
    /// bytes, and what sending cost, into what the handles share; hands
    /// the buffers of small bodies the driver is done with to the
    /// handles' encoder (`recycle.rs`). After each turn of the task and
    /// each inline emit.
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
        self.driver.recycle_bodies();
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
    stats.fragment_fallbacks += send.fragment_fallbacks;
    stats.send_wait_failures += send.wait_failures;
}

/// What the task and the handles share of one run: the socket, the
/// driver, and how the handles reach the task.
pub(crate) struct Engine<D> {
    pub(crate) socket: NodeSocket,
    state: Mutex<State<D>>,
    /// Commands sent through the channel and not applied yet.
    pending: AtomicUsize,
    /// When the last emit that read the clock began.
    last_emit: LastEmit,
    /// Events a handle queued in the driver wait for the task's next
    /// batch: the task has been woken for them.
    waiting: AtomicBool,
    /// Wakes the task for what an inline emit left to it.
    pub(crate) wake: Notify,
    /// The task ended: nothing goes inline any more.
    closed: AtomicBool,
    /// Events emitted through this engine, whichever way they went (the
    /// task reads it to tell whether a reply may come soon).
    emits: AtomicU64,
    /// The longest event body that goes out in one datagram.
    one_datagram: usize,
    shared: Arc<Shared>,
}

impl<D: Driver> Engine<D> {
    pub(crate) fn new(
        socket: NodeSocket,
        driver: D,
        shared: Arc<Shared>,
        one_datagram: usize,
    ) -> Self {
        Self {
            socket,
            state: Mutex::new(State {
                driver,
                outbox: SendBatch::new(),
                armed: None,
                running: true,
                outputs: VecDeque::new(),
                sending: false,
            }),
            pending: AtomicUsize::new(0),
            last_emit: LastEmit::new(),
            waiting: AtomicBool::new(false),
            wake: Notify::new(),
            closed: AtomicBool::new(false),
            emits: AtomicU64::new(0),
            one_datagram,
            shared,
        }
    }

    /// The driver, for the task.
    pub(crate) fn lock(&self) -> MutexGuard<'_, State<D>> {
        // A panic under the lock ends the task (and the run) anyway.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Hands a command from the channel to the driver; the commands the
    /// task takes in one turn share one `clock`.
    pub(crate) fn apply(&self, state: &mut State<D>, clock: &mut Clock, command: Command) {
        let driver = &mut state.driver;
        match command {
            Command::Emit(event) => driver.emit(clock, event),
            Command::Keys(change) => driver.change_keys(change),
            Command::Peers(reply) => {
                // The asker may be gone already; nothing to do then.
                let _ = reply.send(driver.peers(clock.now()));
            }
        }
        self.pending.fetch_sub(1, Ordering::AcqRel);
    }

    /// The task fills the send batch (see [`State::fill`]), taking the
    /// events handles queued meanwhile (the next one queued wakes it
    /// again).
    ///
    /// The time of the last emit is left as it is: an emit that waited
    /// did not read the clock, and taking the task's time instead made a
    /// ping that followed an answer by a little more than [`INLINE_GAP`]
    /// look like part of a burst, so that every round trip after one
    /// queued emit took the hop through the task (2 us more a round trip
    /// in figure 2). So during a long burst the first emit after each of
    /// the task's batches, or after each run of events handed to the
    /// listeners, may go out from the caller's thread.
    pub(crate) fn fill(&self, state: &mut State<D>, now: Instant) -> bool {
        self.waiting.store(false, Ordering::Release);
        state.fill(now)
    }

    /// How many events were emitted through this engine so far.
    pub(crate) fn emits(&self) -> u64 {
        self.emits.load(Ordering::Relaxed)
    }

    /// Whether events queued by handles wait for the task.
    pub(crate) fn waiting(&self) -> bool {
        self.waiting.load(Ordering::Acquire)
    }

    /// The task hands events to the listeners: the next emit is taken for
    /// an answer, no part of a burst however soon it follows the previous
    /// one (see [`LastEmit::answering`]).
    pub(crate) fn answering(&self) {
        self.last_emit.answering();
    }

    /// Whether commands wait in the channel.
    fn queued(&self) -> bool {
        self.pending.load(Ordering::Acquire) != 0
    }

    /// Queues `event` in the driver for the task's next batch (the caller
    /// holds the lock, and no command waits in the channel), and wakes the
    /// task if it was not woken for earlier ones.
    fn queue(&self, mut state: MutexGuard<'_, State<D>>, clock: &mut Clock, event: Outgoing) {
        state.driver.emit(clock, event);
        let first = !self.waiting.swap(true, Ordering::AcqRel);
        drop(state);
        if first {
            self.wake.notify_one();
        }
    }
}

/// When the last emit that read the clock began, to tell the emits of a
/// burst, which go out in batches, from lone ones and answers, which go
/// out at once.
struct LastEmit {
    epoch: Instant,
    /// Nanoseconds since `epoch` (0: none, or [`answering`](Self::answering)
    /// since).
    at: AtomicU64,
}

impl LastEmit {
    fn new() -> Self {
        Self {
            epoch: Instant::now(),
            at: AtomicU64::new(0),
        }
    }

    /// Whether an emit beginning at `now` follows the previous one within
    /// [`INLINE_GAP`], with no [`answering`](Self::answering) between
    /// them; `now` is the last from then on.
    fn in_burst(&self, now: Instant) -> bool {
        let at = (now.saturating_duration_since(self.epoch).as_nanos() as u64).max(1);
        let previous = self.at.swap(at, Ordering::Relaxed);
        previous != 0 && at.saturating_sub(previous) < INLINE_GAP.as_nanos() as u64
    }

    /// Events go to the listeners. An answer to them follows the answer
    /// to the ones before by one round trip, shorter than [`INLINE_GAP`]
    /// on a fast link: counted as part of a burst, it waited for the rest
    /// of the task's turn instead of going out from the listener (about
    /// 0.3-1 us more a round trip in the ping and pong roles,
    /// benchmarks-history.md, "An answer goes out from its listener").
    /// Only the first emit after each such call counts so: the answers
    /// to a read's many events still go in batches after the first, and
    /// an application thread that emits first takes it instead (its emit
    /// goes out at once if the node is otherwise idle).
    fn answering(&self) {
        self.at.store(0, Ordering::Relaxed);
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
    /// Sends `event` from this thread if the node is idle, or queues it in
    /// the driver for the task's next batch (see the module
    /// documentation); gives it back if it must go through the channel.
    fn try_emit(&self, event: Outgoing) -> Result<(), Outgoing>;
    /// Commands sent through the channel and not applied yet.
    fn pending(&self) -> &AtomicUsize;
}

impl<D: Driver + Send> Emitter for Engine<D> {
    fn try_emit(&self, event: Outgoing) -> Result<(), Outgoing> {
        self.emits.fetch_add(1, Ordering::Relaxed);
        // Commands waiting: the task is behind, so this event goes after
        // them, without touching the lock the task works under.
        if self.queued() || self.closed.load(Ordering::Acquire) {
            return Err(event);
        }
        // Events queued for the task's next batch: a burst goes on, and
        // the clock need not be read.
        let mut clock = Clock::unread();
        if self.waiting() || self.last_emit.in_burst(clock.now()) {
            let state = match self.state.try_lock() {
                Ok(state) => state,
                Err(TryLockError::Poisoned(e)) => e.into_inner(),
                // The task holds it: through the channel rather than wait.
                Err(TryLockError::WouldBlock) => return Err(event),
            };
            if self.queued() {
                return Err(event);
            }
            self.queue(state, &mut clock, event);
            return Ok(());
        }
        // The task holds the lock only between two awaits, never while
        // listeners run: waiting for it is short, and shorter than
        // waking it.
        let mut state = self.lock();
        if self.queued() {
            return Err(event);
        }
        if state.unsent() || self.waiting() {
            // Datagrams before it are still to go: it goes after them.
            self.queue(state, &mut clock, event);
            return Ok(());
        }
        let now = clock.now();
        let small = event.fits_one_datagram(self.one_datagram);
        state.driver.emit(&mut clock, event);
        // A small event is most often all there is to send: its datagram
        // (with whatever was owed ahead of it) goes out before the driver
        // is asked for more, which, when there is none, is most of what
        // filling the batch costs (off the answer's way). Anything more,
        // and the event itself if an older one was still queued, goes in
        // a second call.
        let mut blocked =
            small && state.fill_through_data(now) && state.send(&self.socket).is_err();
        let more = !blocked && state.fill(now);
        blocked = blocked || (!state.outbox.is_empty() && state.send(&self.socket).is_err());
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_emit_soon_after_another_is_part_of_a_burst() {
        let last = LastEmit::new();
        let t = Instant::now();
        assert!(!last.in_burst(t), "the first emit");
        assert!(last.in_burst(t + INLINE_GAP / 2));
        let later = t + INLINE_GAP / 2 + INLINE_GAP * 2;
        assert!(!last.in_burst(later), "a lone emit");
    }

    #[test]
    fn an_emit_after_a_delivery_answers_it_and_is_no_part_of_a_burst() {
        let last = LastEmit::new();
        let t = Instant::now();
        assert!(!last.in_burst(t));
        last.answering();
        let answer = t + INLINE_GAP / 4;
        assert!(!last.in_burst(answer), "the answer to what was delivered");
        assert!(
            last.in_burst(answer + INLINE_GAP / 4),
            "a second emit without a delivery between"
        );
    }
}
