//! The node's one task: it owns the socket and the protocol endpoint, and
//! runs until cancelled or until every handle is gone.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use eventcast_proto::crypto::{Fingerprint, Key};
use eventcast_proto::{Endpoint, EndpointEvent};
use tokio::net::UdpSocket;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tracing::{debug, trace, warn};

use crate::event::Event;
use crate::node::Shared;
use crate::notice::Notice;

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
}

pub(crate) struct Driver {
    pub(crate) endpoint: Endpoint,
    pub(crate) socket: UdpSocket,
    pub(crate) group: SocketAddr,
    pub(crate) commands: mpsc::UnboundedReceiver<Command>,
    pub(crate) cancel: CancellationToken,
    pub(crate) shared: Arc<Shared>,
}

impl Driver {
    pub(crate) async fn run(mut self) {
        let mut buf = vec![0u8; RECV_BUFFER];
        let mut stopping = false;
        while !stopping {
            let deadline = self
                .endpoint
                .poll_timeout()
                .map(tokio::time::Instant::from_std);
            tokio::select! {
                _ = self.cancel.cancelled() => stopping = true,
                command = self.commands.recv() => match command {
                    Some(command) => {
                        self.apply(command);
                        for _ in 1..IO_LOOP_BOUND {
                            match self.commands.try_recv() {
                                Ok(command) => self.apply(command),
                                Err(_) => break,
                            }
                        }
                    }
                    None => stopping = true,
                },
                received = self.socket.recv_from(&mut buf) => {
                    self.received(received, &buf);
                    for _ in 1..IO_LOOP_BOUND {
                        match self.socket.try_recv_from(&mut buf) {
                            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                            other => self.received(other, &buf),
                        }
                    }
                }
                _ = sleep_until(deadline), if deadline.is_some() => {}
            }
            if stopping {
                // Whatever was emitted before stop still goes out, at once.
                while let Ok(command) = self.commands.try_recv() {
                    self.apply(command);
                }
                self.endpoint.set_paced(false);
            }
            // Check the clock ourselves rather than trust the sleep.
            let now = Instant::now();
            if self.endpoint.poll_timeout().is_some_and(|t| t <= now) {
                self.endpoint.handle_timeout(now);
            }
            self.drain().await;
        }
        debug!(target: "eventcast", id = %self.endpoint.id(), "node task ends");
    }

    fn apply(&mut self, command: Command) {
        match command {
            Command::Emit(body) => {
                if let Err(e) = self.endpoint.emit_body(&body) {
                    // The handle checked the size already; this is a bug.
                    warn!(target: "eventcast", error = %e, "event not sent");
                }
            }
            // The handle checked each of these against its copy of the ring.
            Command::AddKey(key) => self.rekey(|ring| ring.add(key).map(drop)),
            Command::UseKey(fp) => self.rekey(|ring| ring.use_key(fp)),
            Command::RemoveKey(fp) => self.rekey(|ring| ring.remove(fp)),
        }
    }

    fn rekey(
        &mut self,
        change: impl FnOnce(
            &mut eventcast_proto::crypto::Keyring,
        ) -> Result<(), eventcast_proto::crypto::KeyringError>,
    ) {
        let result = match self.endpoint.keyring_mut() {
            Some(ring) => change(ring),
            None => Err(eventcast_proto::crypto::KeyringError::NotEncrypting),
        };
        match result {
            Ok(()) => self.publish_keys(),
            Err(e) => warn!(target: "eventcast", error = %e, "keyring change not applied"),
        }
    }

    /// Lets the handles see how many datagrams each key sealed.
    fn publish_keys(&self) {
        if let Some(ring) = self.endpoint.keyring() {
            *self.shared.keys_mut() = ring.keys();
        }
    }

    fn received(&mut self, received: std::io::Result<(usize, SocketAddr)>, buf: &[u8]) {
        match received {
            Ok((len, from)) => {
                trace!(target: "eventcast", %from, len, "datagram received");
                self.endpoint
                    .handle_datagram(Instant::now(), from, &buf[..len]);
            }
            Err(e) => {
                self.shared.stats_mut().recv_errors += 1;
                debug!(target: "eventcast", error = %e, "receive failed");
            }
        }
    }

    async fn drain(&mut self) {
        let before = self.endpoint.stats().send_queue_released;
        while let Some(transmit) = self.endpoint.poll_transmit(Instant::now()) {
            if let Err(e) = self.socket.send_to(&transmit.contents, self.group).await {
                self.shared.stats_mut().send_errors += 1;
                warn!(target: "eventcast", group = %self.group, error = %e, "send failed");
            }
        }
        // Counters first, so that a listener reading them sees its event.
        let stats = self.endpoint.stats();
        let sealed_more = {
            let mut shared = self.shared.stats_mut();
            let moved = shared.protocol.datagrams_sealed != stats.datagrams_sealed;
            shared.protocol = stats;
            moved
        };
        if sealed_more {
            self.publish_keys();
        }
        let released = stats.send_queue_released.saturating_sub(before);
        if released > 0 {
            self.shared.release_queue(released as usize);
        }
        while let Some(event) = self.endpoint.poll_event() {
            match event {
                EndpointEvent::Message(message) => {
                    debug!(
                        target: "eventcast",
                        name = message.name, sender = %message.sender, from = %message.from,
                        "event received"
                    );
                    self.shared.listeners.dispatch(&Event::remote(message));
                }
                EndpointEvent::ProtocolError(error) => {
                    warn!(target: "eventcast", %error, "protocol error");
                    self.shared.notify(Notice::ProtocolError(error));
                }
                EndpointEvent::KeyLimit(limit) => {
                    warn!(
                        target: "eventcast",
                        key = %limit.fingerprint, sealed = limit.sealed, refuse_at = limit.refuse_at,
                        "the group key nears its limit of datagrams: rotate it"
                    );
                    self.shared.notify(Notice::KeyLimit(limit));
                }
                EndpointEvent::Loss(loss) => {
                    warn!(target: "eventcast", %loss, "events lost");
                    self.shared.notify(Notice::Loss(loss));
                }
                other => debug!(target: "eventcast", ?other, "endpoint event ignored"),
            }
        }
    }
}

async fn sleep_until(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}
