//! The node's task loop, the same for every [`Driver`]: one task owns the
//! socket and a driver, and `select!`s over a datagram arriving, a command
//! from a handle, the driver's next deadline and cancellation; after each,
//! it drains the driver's outputs into what the handles share. It runs
//! until cancelled or until every handle is gone.

use std::sync::Arc;
use std::time::Instant;

use eventcast_proto::ReceivedMessage;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tracing::{debug, trace, warn};

use crate::busy_poll::{BusyPoll, Expectation, Spun};
use crate::driver::{Clock, Command, Driver, Output};
use crate::give_way::GiveWay;
use crate::inline::{Commands, Engine, State};
use crate::node_socket::NodeSocket;
use crate::recv::{self, DropCounter, RecvBatch};
use crate::send;
use crate::shared::Shared;

/// At most this many datagrams or commands are taken in one turn of the
/// loop before outputs are drained, so one busy input cannot starve the
/// others (quinn's IO_LOOP_BOUND). Reads stop once it is reached; the
/// last may take more (it asks for as many messages as are left, and a
/// message may hold several datagrams, `UDP_GRO`).
const IO_LOOP_BOUND: usize = 160;

/// How long the task waits before trying again when it could not wait for
/// room in the socket's send buffer (see [`send_all`]).
const WAIT_RETRY: std::time::Duration = std::time::Duration::from_millis(5);

/// At most this many outputs are taken from the driver under one hold of
/// its lock (see [`publish`]).
const PUBLISH_AT_ONCE: usize = 64;

/// The task's I/O besides the engine's socket: what the handles share
/// with it.
pub(crate) struct Io {
    pub(crate) commands: mpsc::UnboundedReceiver<Command>,
    pub(crate) cancel: CancellationToken,
    pub(crate) shared: Arc<Shared>,
    /// The largest datagram the node expects: of its own
    /// `max_payload_size`, with any header (see [`RecvBatch::new`]).
    pub(crate) datagram_size: usize,
    /// The longest event body that goes out in one datagram
    /// (`max_payload_size`).
    pub(crate) one_datagram: usize,
    /// The socket hands a sender's GSO message over whole (`UDP_GRO`).
    pub(crate) coalescing: bool,
    /// How long the task polls its socket before it parks
    /// ([`Config::busy_poll`](crate::Config::busy_poll)).
    pub(crate) busy_poll: std::time::Duration,
}

/// Gives the whole send queue back when the task ends, however it ends:
/// were a driver to panic, the events it held would never be released, and
/// handles waiting in `emit_wait` would wait for ever. (Their next attempt
/// then finds the task gone, as after a stop.) Emits stop going inline.
struct ReleaseQueueOnExit<'a, D>(&'a Engine<D>, Arc<Shared>);

impl<D> Drop for ReleaseQueueOnExit<'_, D> {
    fn drop(&mut self) {
        self.0.close();
        self.1.clear_queue();
    }
}

/// Starts the node's task with `driver` on `socket`: returns it and the
/// command channel (`tx`, which `io` receives) for the handles.
pub(crate) fn spawn<D: Driver + Send + 'static>(
    socket: crate::node_socket::NodeSocket,
    driver: D,
    tx: mpsc::UnboundedSender<Command>,
    io: Io,
) -> (tokio::task::JoinHandle<()>, Commands) {
    let engine = Arc::new(Engine::new(
        socket,
        driver,
        io.shared.clone(),
        io.one_datagram,
    ));
    let commands = Commands::new(tx, engine.clone());
    (tokio::spawn(run(engine, io)), commands)
}

/// Runs the node's task until it is cancelled or every handle is gone.
/// Handles send from their own thread through `engine` when they can (see
/// [`inline`](crate::inline)); the rest comes through `io.commands`.
pub(crate) async fn run<D: Driver>(engine: Arc<Engine<D>>, mut io: Io) {
    let engine = &*engine;
    let _release = ReleaseQueueOnExit(engine, io.shared.clone());
    // Datagrams are read into these buffers, many per system call where
    // the OS allows.
    let mut inbox = RecvBatch::new(io.datagram_size, io.coalescing);
    let mut drops = DropCounter::default();
    // What the send batch is swapped with while the task sends it.
    let mut spare = send::SendBatch::new();
    // Outputs taken from the driver at once, to be handed over.
    let mut taken = Taken::default();
    let mut stopping = false;
    let spare_worker = spare_worker();
    let mut busy = BusyPoll::new(busy_poll_window(io.busy_poll, spare_worker));
    engine
        .lock()
        .driver
        .set_receiving(io.shared.listeners.listening());
    // A reply to the node's emits (an answer from a listener in this
    // turn, or from a thread the last turn handed an event to), for which
    // the task polls before it parks.
    let mut expected = Expectation::new(engine.emits());
    let mut give_way = GiveWay::new(spare_worker);
    while !stopping {
        let armed = engine.lock().arm();
        let deadline = armed.map(tokio::time::Instant::from_std);
        let (spun, read) = busy_poll(engine, &io, &mut busy, &mut expected, armed, &mut inbox);
        let woke = if let Some(received) = read {
            // The poll read datagrams: handled as a wait's read is, read
            // on past tokio's readiness as the poll read. (A stop is seen
            // in `wait`: `stop` ends the node's emits, so the expectation,
            // and with it the polls, end within a window.)
            read_on(
                engine,
                &io,
                &mut inbox,
                &mut drops,
                &mut taken,
                received,
                recv::try_recv_now,
            )
        } else if spun == (Spun::Interrupted { woken: true }) {
            // The poll took the wake-up: this turn's reason, not waited for.
            Woke::Other
        } else {
            let waited = wait(
                engine, &mut io, &mut inbox, &mut drops, &mut taken, deadline,
            );
            give_way.wait(waited).await
        };
        let read = matches!(woke, Woke::Read { .. });
        busy.woke(read);
        if read {
            expected.read();
        }
        stopping = woke == Woke::Stop;
        // The socket had more than one turn's worth to read.
        let bounded = woke == (Woke::Read { bounded: true });
        {
            let mut state = engine.lock();
            state.woke();
            state.driver.set_receiving(io.shared.listeners.listening());
            count_recv(&io.shared, &mut inbox);
            if stopping {
                // Whatever was emitted before stop still goes out, at once.
                let clock = &mut Clock::unread();
                while let Ok(command) = io.commands.try_recv() {
                    engine.apply(&mut state, clock, command);
                }
                state.driver.stopping();
            }
            if !read {
                handle_due(&mut state);
            }
        }
        // Counters first, so that whoever sees a datagram this node sent,
        // or an event it delivered, finds it counted.
        publish(engine, &io.shared, &mut taken);
        // Listeners run in `publish`, on this task: what they emitted (an
        // answer to the event they got) went out from the listener, or
        // goes out in this turn, not after another pass through `select!`.
        let mut answered = false;
        {
            let mut state = engine.lock();
            if read {
                // After the read's deliveries, and the answers to them. The
                // native endpoint handled its deadlines up to the read's
                // clock before each datagram; what fell due since waits for
                // them, as do all of the legacy endpoint's (its requests for
                // what is missing), which handles none before a datagram.
                // What this outputs goes to the listeners in the turn's
                // later `publish`.
                handle_due(&mut state);
            }
            let clock = &mut Clock::unread();
            for _ in 0..IO_LOOP_BOUND {
                match io.commands.try_recv() {
                    Ok(command) => {
                        engine.apply(&mut state, clock, command);
                        answered = true;
                    }
                    Err(_) => break,
                }
            }
        }
        if answered {
            publish(engine, &io.shared, &mut taken);
        }
        // What the pacer lets go now goes in batches.
        send_all(engine, &mut spare).await;
        publish(engine, &io.shared, &mut taken);
        if bounded {
            // More datagrams wait (a burst, or a flood): let the runtime's
            // other tasks and its timers have their turn first. Without
            // this the task stays ready as long as datagrams come, and its
            // worker ran the timers only now and then: under a flood a
            // `sleep` of 5 ms took seconds (`tests/node/flood.rs`, debug
            // build).
            // `yield_now` polls the runtime's driver before it comes back.
            tokio::task::yield_now().await;
            give_way.yielded();
        } else {
            // A chain of replies, each there when the node looks, never
            // makes it wait.
            give_way.after_turn().await;
        }
    }
    debug!(target: "eventcast", id = engine.lock().driver.id(), "node task ends");
}

/// Handles the driver's deadlines that are due: the task checks the clock
/// itself rather than trust its sleep.
fn handle_due<D: Driver>(state: &mut State<D>) {
    let now = Instant::now();
    if state.driver.poll_timeout().is_some_and(|t| t <= now) {
        state.driver.handle_timeout(now);
    }
}

/// Sends the driver's control frames (a status a read made owed) now,
/// without waiting for the socket, counters first; data and repairs, and
/// whatever the socket does not take, wait for the turn's [`send_all`].
fn send_control<D: Driver>(engine: &Engine<D>, shared: &Shared) {
    let mut state = engine.lock();
    if !state.fill_control(Instant::now()) {
        return;
    }
    state.publish_counters(shared);
    // `WouldBlock` leaves the rest in the batch, for `send_all`.
    let _ = send::try_send(&engine.socket, &mut state.outbox);
}

/// Sends what the driver lets go now, in batches, waiting for the socket
/// when it takes no more. Each batch is sent without the lock (swapped
/// with `spare`), so that handles can queue the events of a burst
/// meanwhile; the task takes those too before it returns.
async fn send_all<D: Driver>(engine: &Engine<D>, spare: &mut send::SendBatch) {
    // Whether a failed wait for room was logged in this call.
    let mut warned = false;
    loop {
        let more = {
            let mut state = engine.lock();
            let more = if state.outbox.is_empty() {
                engine.fill(&mut state, Instant::now())
            } else {
                true
            };
            if state.outbox.is_empty() {
                return;
            }
            state.take_outbox(spare);
            more
        };
        let blocked = send::try_send(&engine.socket, spare).is_err();
        engine.lock().return_outbox(spare);
        if blocked {
            if let Err(e) = engine.socket.writable().await {
                // No wait for room could be set up (the descriptor or the
                // epoll watch limit reached). Returning would leave the
                // batch, and events queued behind it, until something else
                // woke the task: try again shortly instead.
                engine.lock().outbox.count_wait_failure();
                if !std::mem::replace(&mut warned, true) {
                    warn!(target: "eventcast", error = %e, "cannot wait for room to send; retrying");
                }
                tokio::time::sleep(WAIT_RETRY).await;
            }
        } else if !more && !engine.waiting() {
            return;
        }
    }
}

/// Drains the driver's outputs other than datagrams into what the handles
/// share: counters first, so that a listener reading them sees its event,
/// then the keys, the room made in the send queue, and the deliveries.
/// Listeners run here, on this task, without the driver's lock: what they
/// emit may go out from here at once. The outputs are taken
/// [`PUBLISH_AT_ONCE`] at a time into `taken` (moved, not copied), so
/// that a burst takes the lock once per run of events rather than once
/// per event, and is never all taken out at once. One dispatcher for the
/// run.
fn publish<D: Driver>(engine: &Engine<D>, shared: &Shared, taken: &mut Taken) {
    let mut dispatcher = shared.listeners.dispatcher();
    let mut first = true;
    // The first emit from here on answers these events (`inline.rs`).
    let mut answer = true;
    loop {
        {
            let mut state = engine.lock();
            if !taken.given_back.is_empty() {
                state.driver.give_back(&mut taken.given_back);
            }
            if std::mem::take(&mut first) {
                state.publish_counters(shared);
            }
            while taken.outputs.len() < PUBLISH_AT_ONCE {
                match state.next_output() {
                    Some(output) => taken.outputs.push(output),
                    None => break,
                }
            }
        }
        if taken.outputs.is_empty() {
            return;
        }
        for output in taken.outputs.drain(..) {
            match output {
                Output::Event(event) => {
                    if std::mem::take(&mut answer) {
                        engine.answering();
                    }
                    dispatcher.dispatch(&event);
                    // The listeners are done with it: the driver may make
                    // the next events in it, if nothing else holds it.
                    taken.given_back.extend(event.into_reusable());
                }
                Output::Notice(notice) => shared.notify(notice),
            }
        }
    }
}

/// The outputs taken from the driver at once, to be handed over, and the
/// received messages handed over that nothing else holds since, to be
/// given back to the driver ([`Driver::give_back`]) at the next hold of
/// its lock.
struct Taken {
    outputs: Vec<Output>,
    given_back: Vec<Arc<ReceivedMessage>>,
}

impl Default for Taken {
    fn default() -> Self {
        Self {
            outputs: Vec::with_capacity(PUBLISH_AT_ONCE),
            given_back: Vec::with_capacity(PUBLISH_AT_ONCE),
        }
    }
}

/// What ended the task's wait.
#[derive(Debug, PartialEq, Eq)]
enum Woke {
    /// A stop, or every handle gone.
    Stop,
    /// Datagrams, read and handed to the driver; `bounded`: more than one
    /// turn's worth (the loop's bound reached on full reads).
    Read { bounded: bool },
    /// Commands (applied), a wake-up or a deadline.
    Other,
}

/// Waits for the task's next reason to turn: a stop, commands (applied
/// here), an emit's wake-up, datagrams (read and handed to the driver
/// here) or `deadline`.
async fn wait<D: Driver>(
    engine: &Engine<D>,
    io: &mut Io,
    inbox: &mut RecvBatch,
    drops: &mut DropCounter,
    taken: &mut Taken,
    deadline: Option<tokio::time::Instant>,
) -> Woke {
    tokio::select! {
        _ = io.cancel.cancelled() => Woke::Stop,
        command = io.commands.recv() => {
            let Some(command) = command else {
                return Woke::Stop;
            };
            let mut state = engine.lock();
            state.woke();
            let clock = &mut Clock::unread();
            engine.apply(&mut state, clock, command);
            for _ in 1..IO_LOOP_BOUND {
                match io.commands.try_recv() {
                    Ok(command) => engine.apply(&mut state, clock, command),
                    Err(_) => break,
                }
            }
            Woke::Other
        }
        () = engine.wake.notified() => Woke::Other,
        received = recv::recv(&engine.socket, inbox, IO_LOOP_BOUND) => {
            read_on(engine, io, inbox, drops, taken, received, recv::try_recv)
        }
        _ = sleep_until(deadline), if deadline.is_some() => Woke::Other,
    }
}

/// Whether the runtime the task runs on has another worker to run what
/// this one queues while the task holds it.
fn spare_worker() -> bool {
    use tokio::runtime::{Handle, RuntimeFlavor};
    let handle = Handle::current();
    handle.runtime_flavor() == RuntimeFlavor::MultiThread && handle.metrics().num_workers() >= 2
}

/// Hands the first read of a turn, `received` (into `inbox`), to the
/// driver, and reads on with `read_more` while reads come back full, up
/// to the loop's bound. A read that took less than it could emptied the
/// socket's queue, and asking again would cost a system call (`EAGAIN`)
/// before this turn's deliveries and answers. The readiness stays set
/// until a read finds nothing, so the next turn reads what came
/// meanwhile. A busy-poll's read reads on past that readiness
/// ([`recv::try_recv_now`]), which tokio has not learnt while the task
/// polls: through it, the loop would stop after the first read.
fn read_on<D: Driver>(
    engine: &Engine<D>,
    io: &Io,
    inbox: &mut RecvBatch,
    drops: &mut DropCounter,
    taken: &mut Taken,
    received: std::io::Result<usize>,
    read_more: fn(&NodeSocket, &mut RecvBatch, usize) -> std::io::Result<usize>,
) -> Woke {
    let mut full = matches!(received, Ok(n) if inbox.read_full(n));
    let mut handled = handle_read(engine, io, drops, received, inbox, taken);
    while full && handled < IO_LOOP_BOUND {
        hand_over(engine, &io.shared, taken);
        let max = IO_LOOP_BOUND - handled;
        let received = read_more(&engine.socket, inbox, max);
        if matches!(&received, Err(e) if e.kind() == std::io::ErrorKind::WouldBlock) {
            break;
        }
        full = matches!(received, Ok(n) if inbox.read_full(n));
        handled += handle_read(engine, io, drops, received, inbox, taken);
    }
    Woke::Read {
        bounded: full && handled >= IO_LOOP_BOUND,
    }
}

/// Hands what one read took to the driver, under its lock (whoever
/// listens now decides whether they are read), [`HANDLED_AT_ONCE`]
/// datagrams at a time; between two parts, the control frames they made
/// owed are sent and what they completed goes to the listeners (as before
/// each further read); returns how many datagrams (or errors) it counts
/// for the loop's bound.
fn handle_read<D: Driver>(
    engine: &Engine<D>,
    io: &Io,
    drops: &mut DropCounter,
    received: std::io::Result<usize>,
    inbox: &RecvBatch,
    taken: &mut Taken,
) -> usize {
    if let Err(e) = received {
        io.shared.stats_mut().recv_errors += 1;
        debug!(target: "eventcast", error = %e, "receive failed");
        return 1;
    }
    let mut n = 0;
    in_parts(
        inbox.datagrams(),
        HANDLED_AT_ONCE,
        |part| {
            let mut state = engine.lock();
            state.woke();
            let state = &mut *state;
            state.driver.set_receiving(io.shared.listeners.listening());
            let own = engine.socket.own.total();
            n += received_some(&mut state.driver, io, drops, own, part);
        },
        || hand_over(engine, &io.shared, taken),
    );
    n.max(1)
}

/// What is owed between two reads, or two parts of one: a status owed to
/// a sender goes first (a sender held back by this node's window sends on
/// while the rest is read, rather than once the socket is empty), then
/// what was completed goes to the listeners (a burst's events are handed
/// over while they are fresh in the cache, and freed before the next ones
/// are made).
fn hand_over<D: Driver>(engine: &Engine<D>, shared: &Shared, taken: &mut Taken) {
    send_control(engine, shared);
    publish(engine, shared, taken);
}

/// The most datagrams of one read handed to the driver before what they
/// completed goes to the listeners: a read of messages the kernel handed
/// over whole (`UDP_GRO`) holds up to 64 datagrams each, and a burst's
/// events, each an allocation, would otherwise all wait for the last of
/// them (a 1M small-event burst's peak RSS rose by 3-5 MiB).
const HANDLED_AT_ONCE: usize = 32;

/// Calls `part` with `items`, `size` at a time (at least one; none if
/// there are none), and `between` after each part that is not the last.
fn in_parts<I: Iterator>(
    items: I,
    size: usize,
    mut part: impl FnMut(&mut std::iter::Take<&mut std::iter::Peekable<I>>),
    mut between: impl FnMut(),
) {
    let mut items = items.peekable();
    while items.peek().is_some() {
        part(&mut items.by_ref().take(size.max(1)));
        if items.peek().is_some() {
            between();
        }
    }
}

/// Hands `datagrams` (of one read) to the driver; returns how many.
/// `own`: the node's own datagrams its socket filter has dropped or is
/// about to, which the kernel's drop count holds too.
fn received_some<'a>(
    driver: &mut impl Driver,
    io: &Io,
    drops: &mut DropCounter,
    own: u64,
    datagrams: &mut impl Iterator<Item = (&'a recv::Received, &'a [u8])>,
) -> usize {
    let mut n = 0;
    // One reading of the clock for all the datagrams of one part.
    let mut clock = Clock::unread();
    for (received, datagram) in datagrams {
        n += 1;
        if let Some(count) = received.drops {
            let new = drops.update(count, own);
            if new > 0 {
                io.shared.stats_mut().kernel_drops += new;
                debug!(
                    target: "eventcast", new, total = drops.reported(), own_filtered = own,
                    "the kernel dropped datagrams: receive buffer full"
                );
            }
        }
        trace!(target: "eventcast", from = %received.from, len = datagram.len(), "datagram received");
        driver.handle_datagram(clock.now(), received.from, datagram);
    }
    n
}

/// Adds what reading cost to the node's counters.
fn count_recv(shared: &Shared, inbox: &mut RecvBatch) {
    let recv = inbox.take_counts();
    if recv == Default::default() {
        return;
    }
    let mut stats = shared.stats_mut();
    stats.recv_calls += recv.calls;
    stats.recv_call_datagrams += recv.datagrams;
    stats.recv_coalesced += recv.coalesced;
    stats.recv_truncated += recv.truncated;
    stats.batch_fallbacks += recv.fallbacks;
}

/// The busy-poll window the task uses: `configured` on a multi-thread
/// runtime of two workers or more (`spare_worker`), on Unix; none
/// elsewhere: with one worker (`current_thread`, or a multi-thread
/// runtime of one) polling would hold the thread the application's tasks
/// need, and the poll has been measured on Linux alone.
fn busy_poll_window(configured: std::time::Duration, spare_worker: bool) -> std::time::Duration {
    if cfg!(unix) && spare_worker {
        configured
    } else {
        std::time::Duration::ZERO
    }
}

/// Messages a busy-poll's read takes at most (see [`busy_poll`]).
const BUSY_POLL_READ: usize = 1;

/// Polls the socket before the task parks, if `busy` says to (see
/// [`busy_poll`](crate::busy_poll)), a reply is `expected` (the node
/// emitted lately, and no datagram came since), and listeners, and
/// nothing else, take what the node delivers; counts the poll. The poll
/// ends with the expectation at the latest. A node that emitted nothing
/// expects no reply: a listener that only takes a stream in would
/// otherwise spin through every gap shorter than the window. Without
/// listeners nothing answers on this task (a sender alone would spin on
/// a CPU its peers need). A subscription's reader is a task of its own,
/// which this turn may have woken onto this worker, behind the poll (and letting it run
/// first, with a `yield_now`, woke the runtime's other worker and cost
/// more than the poll saved: p50 86 us against 38, figure 2 by hand).
fn busy_poll<D: Driver>(
    engine: &Engine<D>,
    io: &Io,
    busy: &mut BusyPoll,
    expected: &mut Expectation,
    deadline: Option<Instant>,
    inbox: &mut RecvBatch,
) -> (Spun, Option<std::io::Result<usize>>) {
    if !busy.configured() {
        return (Spun::Skipped, None);
    }
    let until = expected.look(engine.emits(), Instant::now, busy.max());
    let Some(until) = until.filter(|_| io.shared.listeners.callbacks_only()) else {
        return (busy.skip(false), None);
    };
    // The poll reads (`recvmmsg`) rather than asks whether there is
    // something to read (`poll(2)`): what it finds is taken in the same
    // system call, and a read that finds nothing costs about as much. It
    // reads one message: asked for more, the kernel tried the next slot
    // (and found it empty) before it returned, on the round trip's path.
    // A read that took its one reads on after it is handed over
    // (`read_on`), by then the answer to it has gone out from its listener
    // (when it could go at once; a control frame owed then goes first),
    // and leaves the size of later reads as it was (`RecvBatch::took`).
    let mut read = None;
    let spun = busy.spin(
        Some(deadline.map_or(until, |d| d.min(until))),
        || match recv::try_recv_now(&engine.socket, inbox, BUSY_POLL_READ) {
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => false,
            received => {
                read = Some(received);
                true
            }
        },
        || !io.commands.is_empty() || io.commands.is_closed() || io.cancel.is_cancelled(),
        engine.wake.notified(),
    );
    if spun != Spun::Skipped {
        let mut stats = io.shared.stats_mut();
        stats.busy_polls += 1;
        stats.busy_poll_hits += u64::from(matches!(read, Some(Ok(_))));
    }
    (spun, read)
}

async fn sleep_until(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::in_parts;

    /// What [`in_parts`] did with `len` items, `size` at a time: each
    /// part's items, and `|` where `between` ran.
    fn parts(len: usize, size: usize) -> Vec<String> {
        let log = std::cell::RefCell::new(Vec::new());
        in_parts(
            0..len,
            size,
            |part| {
                log.borrow_mut()
                    .push(format!("{:?}", part.collect::<Vec<_>>()))
            },
            || log.borrow_mut().push("|".to_owned()),
        );
        log.into_inner()
    }

    /// A read's datagrams go to the driver in parts, the listeners served
    /// between two parts and never after the last (the task publishes
    /// then anyway); a part not wholly taken is not lost.
    #[test]
    fn a_read_is_handled_in_parts() {
        assert_eq!(parts(5, 2), ["[0, 1]", "|", "[2, 3]", "|", "[4]"]);
        assert_eq!(parts(4, 2), ["[0, 1]", "|", "[2, 3]"]);
        assert_eq!(parts(2, 32), ["[0, 1]"]);
        assert!(parts(0, 32).is_empty());
        assert_eq!(parts(2, 0), ["[0]", "|", "[1]"]);
        let mut seen = Vec::new();
        in_parts(0..5, 3, |part| seen.extend(part.take(1)), || {});
        assert_eq!(seen, [0, 1, 2, 3, 4], "what a part leaves goes to the next");
    }
}
