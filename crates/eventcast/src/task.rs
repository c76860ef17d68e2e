//! The node's task loop, the same for every [`Driver`]: one task owns the
//! socket and a driver, and `select!`s over a datagram arriving, a command
//! from a handle, the driver's next deadline and cancellation; after each,
//! it drains the driver's outputs into what the handles share. It runs
//! until cancelled or until every handle is gone.

use std::sync::Arc;
use std::time::Instant;

use tokio::net::UdpSocket;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tracing::{debug, trace};

use crate::driver::{Command, Driver, Output};
use crate::recv::{self, DropCounter, RecvBatch};
use crate::send::{self, SendBatch};
use crate::shared::Shared;

/// At most this many datagrams or commands are taken in one turn of the
/// loop before outputs are drained, so one busy input cannot starve the
/// others (quinn's IO_LOOP_BOUND).
const IO_LOOP_BOUND: usize = 160;

/// The task's I/O: the socket and what the handles share with it.
pub(crate) struct Io {
    pub(crate) socket: UdpSocket,
    pub(crate) commands: mpsc::UnboundedReceiver<Command>,
    pub(crate) cancel: CancellationToken,
    pub(crate) shared: Arc<Shared>,
}

/// Gives the whole send queue back when the task ends, however it ends:
/// were a driver to panic, the events it held would never be released, and
/// handles waiting in `emit_wait` would wait for ever. (Their next attempt
/// then finds the task gone, as after a stop.)
struct ReleaseQueueOnExit(Arc<Shared>);

impl Drop for ReleaseQueueOnExit {
    fn drop(&mut self) {
        self.0.clear_queue();
    }
}

/// Runs the node's task until it is cancelled or every handle is gone.
pub(crate) async fn run(mut driver: impl Driver, mut io: Io) {
    let _release = ReleaseQueueOnExit(io.shared.clone());
    // Datagrams are read into these buffers, many per system call where
    // the OS allows, and written into these, reused.
    let mut inbox = RecvBatch::new();
    let mut outbox = SendBatch::new();
    let mut drops = DropCounter::default();
    let mut stopping = false;
    driver.set_receiving(io.shared.listeners.listening());
    while !stopping {
        let deadline = driver.poll_timeout().map(tokio::time::Instant::from_std);
        tokio::select! {
            _ = io.cancel.cancelled() => stopping = true,
            command = io.commands.recv() => match command {
                Some(command) => {
                    apply(&mut driver, command);
                    for _ in 1..IO_LOOP_BOUND {
                        match io.commands.try_recv() {
                            Ok(command) => apply(&mut driver, command),
                            Err(_) => break,
                        }
                    }
                }
                None => stopping = true,
            },
            received = recv::recv(&io.socket, &mut inbox, IO_LOOP_BOUND) => {
                let mut taken = received_some(&mut driver, &io, &mut drops, received, &inbox);
                while taken < IO_LOOP_BOUND {
                    let received = recv::try_recv(&io.socket, &mut inbox, IO_LOOP_BOUND - taken);
                    if matches!(&received, Err(e) if e.kind() == std::io::ErrorKind::WouldBlock) {
                        break;
                    }
                    taken += received_some(&mut driver, &io, &mut drops, received, &inbox);
                }
            }
            _ = sleep_until(deadline), if deadline.is_some() => {}
        }
        driver.set_receiving(io.shared.listeners.listening());
        count_io(&io.shared, &mut inbox, &mut outbox);
        if stopping {
            // Whatever was emitted before stop still goes out, at once.
            while let Ok(command) = io.commands.try_recv() {
                apply(&mut driver, command);
            }
            driver.stopping();
        }
        // Check the clock ourselves rather than trust the sleep.
        let now = Instant::now();
        if driver.poll_timeout().is_some_and(|t| t <= now) {
            driver.handle_timeout(now);
        }
        // Counters first, so that whoever sees a datagram this node sent,
        // or an event it delivered, finds it counted.
        publish(&mut driver, &io.shared);
        // Listeners run in `publish`, on this task: what they emitted (an
        // answer to the event they got) goes out in this turn, not after
        // another pass through `select!`.
        let mut answered = false;
        for _ in 0..IO_LOOP_BOUND {
            match io.commands.try_recv() {
                Ok(command) => {
                    apply(&mut driver, command);
                    answered = true;
                }
                Err(_) => break,
            }
        }
        if answered {
            publish(&mut driver, &io.shared);
        }
        // What the pacer lets go now goes in batches.
        loop {
            let more = outbox.fill(|d| driver.poll_transmit(Instant::now(), d));
            if !outbox.is_empty() {
                send::send(&io.socket, &mut outbox).await;
            }
            if !more {
                break;
            }
        }
        count_io(&io.shared, &mut inbox, &mut outbox);
        publish(&mut driver, &io.shared);
    }
    debug!(target: "eventcast", id = driver.id(), "node task ends");
}

/// Hands a command to the driver.
fn apply(driver: &mut impl Driver, command: Command) {
    match command {
        Command::Emit(event) => driver.emit(Instant::now(), event),
        Command::Keys(change) => driver.change_keys(change),
        Command::Peers(reply) => {
            // The asker may be gone already; nothing to do then.
            let _ = reply.send(driver.peers(Instant::now()));
        }
    }
}

/// Drains the driver's outputs other than datagrams into what the handles
/// share: counters first, so that a listener reading them sees its event,
/// then the keys, the room made in the send queue, and the deliveries.
/// Listeners run here, on this task.
fn publish(driver: &mut impl Driver, shared: &Shared) {
    driver.publish_stats(&mut shared.stats_mut());
    if let Some(keys) = driver.poll_keys() {
        *shared.keys_mut() = keys;
    }
    let released = driver.poll_released();
    if released > 0 {
        shared.release_queue(released);
    }
    while let Some(output) = driver.poll_output() {
        match output {
            Output::Event(event) => shared.listeners.dispatch(&event),
            Output::Notice(notice) => shared.notify(notice),
        }
    }
}

/// Hands what one read took to the driver; returns how many datagrams
/// (or errors) it counts for the loop's bound.
fn received_some(
    driver: &mut impl Driver,
    io: &Io,
    drops: &mut DropCounter,
    received: std::io::Result<usize>,
    inbox: &RecvBatch,
) -> usize {
    if let Err(e) = received {
        io.shared.stats_mut().recv_errors += 1;
        debug!(target: "eventcast", error = %e, "receive failed");
        return 1;
    }
    // Whoever listens now decides whether these are read.
    driver.set_receiving(io.shared.listeners.listening());
    let mut n = 0;
    for (received, datagram) in inbox.datagrams() {
        n += 1;
        if let Some(count) = received.drops {
            let new = drops.update(count);
            if new > 0 {
                io.shared.stats_mut().kernel_drops += new;
                debug!(
                    target: "eventcast", new, total = count,
                    "the kernel dropped datagrams: receive buffer full"
                );
            }
        }
        trace!(target: "eventcast", from = %received.from, len = received.len, "datagram received");
        driver.handle_datagram(Instant::now(), received.from, datagram);
    }
    n.max(1)
}

/// Adds what reading and sending cost and met to the node's counters.
fn count_io(shared: &Shared, inbox: &mut RecvBatch, outbox: &mut SendBatch) {
    let recv = inbox.take_counts();
    let send = outbox.take_counts();
    if recv == Default::default() && send == Default::default() {
        return;
    }
    let mut stats = shared.stats_mut();
    stats.recv_calls += recv.calls;
    stats.recv_call_datagrams += recv.datagrams;
    stats.send_calls += send.calls;
    stats.send_call_datagrams += send.datagrams;
    stats.send_errors += send.errors;
    stats.send_batch_errors += send.batch_errors;
    stats.batch_fallbacks += recv.fallbacks + send.batch_fallbacks;
    stats.gso_fallbacks += send.gso_fallbacks;
}

async fn sleep_until(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}
