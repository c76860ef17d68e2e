//! The node's task loop, shared by the native driver and the legacy one:
//! one task owns the socket and a protocol core, and `select!`s over a
//! datagram arriving, a command from a handle, the core's next deadline and
//! cancellation; after each, it drains the core's outputs. It runs until
//! cancelled or until every handle is gone.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use eventcast_proto::crypto::{Fingerprint, Key};
use eventcast_proto::PeerInfo;
use tokio::net::UdpSocket;
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;
use tracing::{debug, trace, warn};

use crate::recv::{self, DropCounter, Received};
use crate::shared::Shared;

/// At most this many datagrams or commands are taken in one turn of the
/// loop before outputs are drained, so one busy input cannot starve the
/// others (quinn's IO_LOOP_BOUND).
const IO_LOOP_BOUND: usize = 160;

/// The largest datagram the socket reads.
const RECV_BUFFER: usize = 65_536;

/// What handles ask of the task.
pub(crate) enum Command {
    /// Send an encoded event body to the group.
    Emit(Vec<u8>),
    /// Add a key to the ring.
    AddKey(Key),
    /// Make a key of the ring the one that seals.
    UseKey(Fingerprint),
    /// Remove a key from the ring.
    RemoveKey(Fingerprint),
    /// Answer with the senders the core tracks now.
    Peers(oneshot::Sender<Vec<PeerInfo>>),
}

/// A protocol core as the loop drives it.
pub(crate) trait Core {
    /// When [`handle_timeout`](Self::handle_timeout) is next due.
    fn poll_timeout(&self) -> Option<Instant>;
    /// Handles every deadline at or before `now`.
    fn handle_timeout(&mut self, now: Instant);
    /// A command from a handle.
    fn apply(&mut self, command: Command);
    /// A datagram from the socket.
    fn handle_datagram(&mut self, now: Instant, from: SocketAddr, datagram: &[u8]);
    /// The task is stopping: what is left goes out at once (after this,
    /// the loop drains the outputs one last time).
    fn stopping(&mut self) {}
    /// The next datagram to send, and where, if one may go now.
    fn poll_transmit(&mut self, now: Instant) -> Option<(Vec<u8>, SocketAddr)>;
    /// Publishes counters and delivers events and notices. Called before
    /// the datagrams of a turn are sent (twice when listeners emitted in
    /// the first call), and after.
    fn publish(&mut self, shared: &Shared);
    /// For the log: the core's sender id.
    fn id(&self) -> String;
}

/// The task's I/O: the socket and what the handles share with it.
pub(crate) struct Io {
    pub(crate) socket: UdpSocket,
    pub(crate) commands: mpsc::UnboundedReceiver<Command>,
    pub(crate) cancel: CancellationToken,
    pub(crate) shared: Arc<Shared>,
}

/// Runs the node's task until it is cancelled or every handle is gone.
pub(crate) async fn run(mut core: impl Core, mut io: Io) {
    let mut buf = vec![0u8; RECV_BUFFER];
    let mut drops = DropCounter::default();
    let mut stopping = false;
    while !stopping {
        let deadline = core.poll_timeout().map(tokio::time::Instant::from_std);
        tokio::select! {
            _ = io.cancel.cancelled() => stopping = true,
            command = io.commands.recv() => match command {
                Some(command) => {
                    core.apply(command);
                    for _ in 1..IO_LOOP_BOUND {
                        match io.commands.try_recv() {
                            Ok(command) => core.apply(command),
                            Err(_) => break,
                        }
                    }
                }
                None => stopping = true,
            },
            received = recv::recv(&io.socket, &mut buf) => {
                received_one(&mut core, &io, &mut drops, received, &buf);
                for _ in 1..IO_LOOP_BOUND {
                    match recv::try_recv(&io.socket, &mut buf) {
                        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                        other => received_one(&mut core, &io, &mut drops, other, &buf),
                    }
                }
            }
            _ = sleep_until(deadline), if deadline.is_some() => {}
        }
        if stopping {
            // Whatever was emitted before stop still goes out, at once.
            while let Ok(command) = io.commands.try_recv() {
                core.apply(command);
            }
            core.stopping();
        }
        // Check the clock ourselves rather than trust the sleep.
        let now = Instant::now();
        if core.poll_timeout().is_some_and(|t| t <= now) {
            core.handle_timeout(now);
        }
        // Counters first, so that whoever sees a datagram this node sent,
        // or an event it delivered, finds it counted.
        core.publish(&io.shared);
        // Listeners run in `publish`, on this task: what they emitted (an
        // answer to the event they got) goes out in this turn, not after
        // another pass through `select!`.
        let mut answered = false;
        for _ in 0..IO_LOOP_BOUND {
            match io.commands.try_recv() {
                Ok(command) => {
                    core.apply(command);
                    answered = true;
                }
                Err(_) => break,
            }
        }
        if answered {
            core.publish(&io.shared);
        }
        while let Some((contents, to)) = core.poll_transmit(Instant::now()) {
            if let Err(e) = io.socket.send_to(&contents, to).await {
                io.shared.stats_mut().send_errors += 1;
                warn!(target: "eventcast", %to, error = %e, "send failed");
            }
        }
        core.publish(&io.shared);
    }
    debug!(target: "eventcast", id = core.id(), "node task ends");
}

fn received_one(
    core: &mut impl Core,
    io: &Io,
    drops: &mut DropCounter,
    received: std::io::Result<Received>,
    buf: &[u8],
) {
    match received {
        Ok(Received {
            len,
            from,
            drops: count,
        }) => {
            if let Some(count) = count {
                let new = drops.update(count);
                if new > 0 {
                    io.shared.stats_mut().kernel_drops += new;
                    debug!(
                        target: "eventcast", new, total = count,
                        "the kernel dropped datagrams: receive buffer full"
                    );
                }
            }
            trace!(target: "eventcast", %from, len, "datagram received");
            core.handle_datagram(Instant::now(), from, &buf[..len]);
        }
        Err(e) => {
            io.shared.stats_mut().recv_errors += 1;
            debug!(target: "eventcast", error = %e, "receive failed");
        }
    }
}

async fn sleep_until(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}
