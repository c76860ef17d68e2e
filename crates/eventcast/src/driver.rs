//! The native protocol's core in the node's task (see [`task`](crate::task)).

use std::net::SocketAddr;
use std::time::Instant;

use eventcast_proto::{Endpoint, EndpointEvent};
use tracing::{debug, warn};

use crate::event::Event;
use crate::node::Shared;
use crate::notice::Notice;
use crate::task::{Command, Core};

/// An [`Endpoint`] with where its datagrams go.
pub(crate) struct Native {
    pub(crate) endpoint: Endpoint,
    pub(crate) group: SocketAddr,
    /// `send_queue_released` when last published.
    released: u64,
    /// The keyring changed since the keys were last published.
    keys_changed: bool,
}

impl Native {
    pub(crate) fn new(endpoint: Endpoint, group: SocketAddr) -> Self {
        Self {
            endpoint,
            group,
            released: 0,
            keys_changed: false,
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
            Ok(()) => self.keys_changed = true,
            Err(e) => warn!(target: "eventcast", error = %e, "keyring change not applied"),
        }
    }

    /// Lets the handles see how many datagrams each key sealed.
    fn publish_keys(&self, shared: &Shared) {
        if let Some(ring) = self.endpoint.keyring() {
            *shared.keys_mut() = ring.keys();
        }
    }
}

impl Core for Native {
    fn poll_timeout(&self) -> Option<Instant> {
        self.endpoint.poll_timeout()
    }

    fn handle_timeout(&mut self, now: Instant) {
        self.endpoint.handle_timeout(now);
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
            Command::Peers(reply) => {
                // The asker may be gone already; nothing to do then.
                let _ = reply.send(self.endpoint.peers(Instant::now()));
            }
        }
    }

    fn handle_datagram(&mut self, now: Instant, from: SocketAddr, datagram: &[u8]) {
        self.endpoint.handle_datagram(now, from, datagram);
    }

    fn stopping(&mut self) {
        self.endpoint.set_paced(false);
    }

    fn poll_transmit(&mut self, now: Instant) -> Option<(Vec<u8>, SocketAddr)> {
        let mut buf = Vec::new();
        self.endpoint
            .poll_transmit(now, &mut buf)
            .map(|_| (buf, self.group))
    }

    fn publish(&mut self, shared: &Shared) {
        // Counters first, so that a listener reading them sees its event.
        let stats = self.endpoint.stats();
        let sealed_more = {
            let mut stats_mut = shared.stats_mut();
            let moved = stats_mut.protocol.datagrams_sealed != stats.datagrams_sealed;
            stats_mut.protocol = stats;
            moved
        };
        if sealed_more || std::mem::take(&mut self.keys_changed) {
            self.publish_keys(shared);
        }
        let released = stats.send_queue_released.saturating_sub(self.released);
        self.released = stats.send_queue_released;
        if released > 0 {
            shared.release_queue(released as usize);
        }
        while let Some(event) = self.endpoint.poll_event() {
            match event {
                EndpointEvent::Message(message) => {
                    debug!(
                        target: "eventcast",
                        name = message.name, sender = %message.sender, from = %message.from,
                        "event received"
                    );
                    shared.listeners.dispatch(&Event::remote(message));
                }
                EndpointEvent::ProtocolError(error) => {
                    warn!(target: "eventcast", %error, "protocol error");
                    shared.notify(Notice::ProtocolError(error));
                }
                EndpointEvent::KeyLimit(limit) => {
                    warn!(
                        target: "eventcast",
                        key = %limit.fingerprint, sealed = limit.sealed, refuse_at = limit.refuse_at,
                        "the group key nears its limit of datagrams: rotate it"
                    );
                    shared.notify(Notice::KeyLimit(limit));
                }
                EndpointEvent::Loss(loss) => {
                    warn!(target: "eventcast", %loss, "events lost");
                    shared.notify(Notice::Loss(loss));
                }
                other => debug!(target: "eventcast", ?other, "endpoint event ignored"),
            }
        }
    }

    fn id(&self) -> String {
        self.endpoint.id().to_string()
    }
}
