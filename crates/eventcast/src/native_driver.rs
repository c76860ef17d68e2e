//! The native protocol's driver (see [`Driver`]): an [`Endpoint`] and where
//! its datagrams go.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use bson::Bson;
use eventcast_proto::crypto::{Encryption, KeyInfo, Keyring, KeyringError};
use eventcast_proto::{
    encode_body, BufferSource, Datagram, EmitError, Endpoint, EndpointEvent, MessageSeq, PeerInfo,
    ReceivedMessage, ReserveHook, SenderId,
};
use tracing::{debug, warn};

use crate::config::Config;
use crate::driver::{Clock, Driver, KeyChange, Outgoing, Output};
use crate::error::Error;
use crate::event::Event;
use crate::nonces::OsNonces;
use crate::notice::Notice;
use crate::recycle::BodyPool;
use crate::spare::SpareBody;
use crate::stats::NodeStats;

/// Encodes an event for the native protocol: one body with its name and
/// arguments.
pub(crate) fn encode(name: &str, args: &[Bson]) -> Result<Outgoing, Error> {
    let body = encode_body(name, args).map_err(EmitError::from)?;
    Ok(Outgoing::Native(body))
}

/// An [`Endpoint`] with where its datagrams go.
pub(crate) struct Native {
    endpoint: Endpoint,
    group: SocketAddr,
    /// `send_queue_released` when last polled.
    released: u64,
    /// Bytes of events the endpoint refused, not given back yet.
    refused: usize,
    /// The body being handed over in parts, until its next `Start`.
    open: Option<MessageSeq>,
    /// `datagrams_sealed` when the keys were last polled.
    sealed: u64,
    /// The keyring changed since the keys were last polled.
    keys_changed: bool,
    /// `Config::send_only`: never receives, whoever listens.
    send_only: bool,
    /// When the socket was ready: the earliest the node can join.
    started: Instant,
    /// The reassembly buffer of the next large message (`spare.rs`).
    receive_spare: Arc<SpareBody>,
    /// Where the buffers of small bodies the store let go go, and a
    /// vector to take them into (`recycle.rs`).
    bodies: Arc<BodyPool>,
    spent: Vec<Vec<u8>>,
}

impl Native {
    /// The endpoint of a run that sends as `id` to `group`, with a copy of
    /// the handle's keyring. It receives nothing until the task says
    /// somebody listens, and joins then, so that senders whose stream
    /// begins later owe this node all of it. It advertises a receive
    /// window of a quarter of `recv_buffer`, the receive buffer the kernel
    /// granted (Linux reports twice what was asked, half of it for its own
    /// bookkeeping, and a datagram takes more of it than its payload).
    /// A large message is put together in `spare`'s buffer when it has
    /// one ready, and a spare for the next one is made after it is
    /// delivered (`spare.rs`). The buffers of small bodies the store lets
    /// go are handed to `bodies` (`recycle.rs`).
    pub(crate) fn new(
        config: &Config,
        id: SenderId,
        ring: Keyring,
        group: SocketAddr,
        recv_buffer: usize,
        spare: &Arc<SpareBody>,
        bodies: &Arc<BodyPool>,
    ) -> Result<Self, Error> {
        let plaintext_only = ring.is_empty();
        let encryption = Encryption::new(ring, OsNonces::new())
            .danger_accept_plaintext(config.encryption.danger_accept_plaintext)
            .danger_skip_handshake(config.encryption.danger_skip_handshake);
        // The head of a large reassembly buffer is faulted in at once
        // (`prefault.rs`).
        let mut protocol = config.protocol.clone();
        protocol
            .reserve_hook
            .get_or_insert(ReserveHook(crate::prefault::receive));
        // A large message's buffer is the spare made for it, when ready;
        // taking it (or finding none) owes the next one, made once the
        // message is delivered (`poll_output`).
        let lender = Arc::clone(spare);
        protocol
            .buffer_source
            .get_or_insert_with(|| BufferSource(Arc::new(move |len| lender.take_ready(len))));
        let mut endpoint = match Endpoint::with_encryption(protocol.clone(), id, encryption) {
            // A payload size too large for sealed datagrams: without a
            // key, the node runs without encryption (`keys().add` then fails).
            Err(eventcast_proto::ConfigError::SealedPayloadSize(_)) if plaintext_only => {
                Endpoint::new(protocol, id)
            }
            other => other,
        }
        .map_err(|e| Error::Config(e.into()))?;
        endpoint.set_receiving(false);
        endpoint.set_receive_window(recv_buffer / 4);
        Ok(Self {
            endpoint,
            group,
            released: 0,
            refused: 0,
            open: None,
            sealed: 0,
            keys_changed: false,
            send_only: config.send_only,
            started: Instant::now(),
            receive_spare: Arc::clone(spare),
            bodies: Arc::clone(bodies),
            spent: Vec::new(),
        })
    }
}

impl Driver for Native {
    fn poll_timeout(&self) -> Option<Instant> {
        self.endpoint.poll_timeout()
    }

    fn handle_timeout(&mut self, now: Instant) {
        self.endpoint.handle_timeout(now);
    }

    fn emit(&mut self, _clock: &mut Clock, event: Outgoing) {
        let reserved = event.reserved();
        let result = match event {
            Outgoing::Native(body) => self.endpoint.emit_body(body).map(drop),
            Outgoing::Pieces(pieces) => self.endpoint.emit_body_pieces(pieces).map(drop),
            Outgoing::Start { len, first } => {
                self.open = None;
                self.endpoint
                    .emit_body_start(len, first)
                    .map(|seq| self.open = Some(seq))
            }
            Outgoing::Part(part) => match self.open {
                Some(seq) => self.endpoint.emit_body_part(seq, part),
                // Its start was refused (and said so), or came in an
                // earlier run.
                None => Ok(()),
            },
            Outgoing::Legacy { .. } => {
                warn!(target: "eventcast", "a legacy event reached the native driver (a bug): not sent");
                self.refused += reserved;
                return;
            }
        };
        if let Err(e) = result {
            // The handle checked the size and wrote the parts; this is a
            // bug. (A last part refused for its final byte is queued all
            // the same, and reserved nothing of its own.)
            warn!(target: "eventcast", error = %e, "event refused by the endpoint");
            self.refused += reserved;
        }
    }

    fn change_keys(&mut self, change: KeyChange) {
        // The handle checked the change against its copy of the ring.
        let result = match self.endpoint.keyring_mut() {
            Some(ring) => change.apply(ring),
            None => Err(KeyringError::NotEncrypting),
        };
        match result {
            Ok(()) => self.keys_changed = true,
            Err(e) => warn!(target: "eventcast", error = %e, "keyring change not applied"),
        }
    }

    fn peers(&self, now: Instant) -> Vec<PeerInfo> {
        self.endpoint.peers(now)
    }

    fn set_receiving(&mut self, listening: Option<Instant>) {
        let since = listening.filter(|_| !self.send_only);
        if since.is_some() != self.endpoint.is_receiving() {
            debug!(target: "eventcast", receiving = since.is_some(), "receiving other nodes' events: switched");
            self.endpoint.set_receiving(since.is_some());
            if let Some(since) = since {
                // Owed what senders sent since, as a node that started then.
                self.endpoint.handle_join(since.max(self.started));
            }
        }
    }

    fn handle_datagram(&mut self, now: Instant, from: SocketAddr, datagram: &[u8]) {
        self.endpoint.handle_datagram(now, from, datagram);
    }

    fn poll_transmit(&mut self, now: Instant, out: &mut Datagram) -> Option<SocketAddr> {
        // Every native datagram goes to the group (a NACK too: other
        // receivers hear it and hold theirs back).
        self.endpoint.poll_datagram(now, out).map(|_| self.group)
    }

    fn poll_control(&mut self, now: Instant, out: &mut Datagram) -> Option<SocketAddr> {
        self.endpoint.poll_control(now, out).map(|_| self.group)
    }

    fn stopping(&mut self) {
        self.endpoint.set_paced(false);
    }

    fn poll_released(&mut self) -> usize {
        let total = self.endpoint.stats().send_queue_released;
        let sent = total.saturating_sub(self.released);
        self.released = total;
        usize::try_from(sent).unwrap_or(usize::MAX) + std::mem::take(&mut self.refused)
    }

    fn recycle_bodies(&mut self) {
        self.endpoint.take_spent_bodies(&mut self.spent);
        if !self.spent.is_empty() {
            self.bodies.give(&mut self.spent);
        }
    }

    fn give_back(&mut self, messages: &mut Vec<Arc<ReceivedMessage>>) {
        for message in messages.drain(..) {
            self.endpoint.give_back(message);
        }
    }

    fn data_taken(&self) -> Option<u64> {
        Some(self.endpoint.stats().segments_sent)
    }

    fn publish_stats(&self, stats: &mut NodeStats) {
        stats.protocol = self.endpoint.stats();
    }

    fn poll_keys(&mut self) -> Option<Vec<KeyInfo>> {
        let sealed = self.endpoint.stats().datagrams_sealed;
        let sealed_more = std::mem::replace(&mut self.sealed, sealed) != sealed;
        if !(sealed_more || std::mem::take(&mut self.keys_changed)) {
            return None;
        }
        self.endpoint.keyring().map(Keyring::keys)
    }

    fn poll_output(&mut self) -> Option<Output> {
        loop {
            let output = match self.endpoint.poll_event()? {
                EndpointEvent::Message(message) => {
                    // A large message delivered: the spare it owed is made
                    // once no other begins for a while (`spare.rs`). Not
                    // when it began: it may still have been arriving. (One
                    // load when none is owed: asked after every message, as
                    // the sizes a spare takes are the spare's to know.)
                    self.receive_spare.schedule();
                    debug!(
                        target: "eventcast",
                        name = &*message.name, sender = %message.sender, from = %message.from,
                        "event received"
                    );
                    Output::Event(Event::remote(message))
                }
                EndpointEvent::ProtocolError(error) => {
                    warn!(target: "eventcast", %error, "protocol error");
                    Output::Notice(Notice::ProtocolError(error))
                }
                EndpointEvent::KeyLimit(limit) => {
                    warn!(
                        target: "eventcast",
                        key = %limit.fingerprint, sealed = limit.sealed, refuse_at = limit.refuse_at,
                        "the group key nears its limit of datagrams: rotate it"
                    );
                    Output::Notice(Notice::KeyLimit(limit))
                }
                EndpointEvent::Loss(loss) => {
                    warn!(target: "eventcast", %loss, "events lost");
                    Output::Notice(Notice::Loss(loss))
                }
                EndpointEvent::Conflict(conflict) => {
                    warn!(target: "eventcast", %conflict, "conflicting copies of an event");
                    Output::Notice(Notice::Conflict(conflict))
                }
                other => {
                    debug!(target: "eventcast", ?other, "endpoint event ignored");
                    continue;
                }
            };
            return Some(output);
        }
    }

    fn id(&self) -> String {
        self.endpoint.id().to_string()
    }
}
