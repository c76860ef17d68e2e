//! The protocol state machine of one node.

use std::collections::{HashSet, VecDeque};
use std::net::SocketAddr;
use std::time::Instant;

use bson::{Bson, RawDocument};
use tracing::{debug, trace};

use crate::body::{decode_body, encode_body, BodyError};
use crate::config::{Config, ConfigError};
use crate::crypto::{Encryption, Guard, Inbound, KeyLimit, Keyring, Unreadable};
use crate::ids::{MessageSeq, SegmentIndex, SenderId};
use crate::reassembly::{Abandoned, Drop, Outcome, Reassembler};
use crate::stats::Stats;
use crate::wire::{
    DataFrame, DataHeader, DecodeError, Flags, DATA_HEADER_LEN, MAX_DATAGRAM_SIZE, SEAL_OVERHEAD,
};

/// Source addresses remembered so that a protocol-version error is reported
/// once per address rather than once per datagram.
const MAX_VERSION_REPORTS: usize = 256;

/// One node's protocol state: its outgoing stream and everything it is
/// reassembling from others.
///
/// The endpoint performs no I/O and reads no clock. Drive it like this:
///
/// 1. feed it inputs: [`handle_datagram`](Self::handle_datagram) for every
///    datagram received, [`emit`](Self::emit) for every event to send, and
///    [`handle_timeout`](Self::handle_timeout) when the instant returned by
///    [`poll_timeout`](Self::poll_timeout) has passed;
/// 2. after every input, drain every output: send each
///    [`poll_transmit`](Self::poll_transmit) datagram, deliver each
///    [`poll_event`](Self::poll_event), and re-arm the timer from
///    `poll_timeout`.
///
/// Bad input from the network is never an error: it is dropped, counted in
/// [`stats`](Self::stats) and logged at debug level.
pub struct Endpoint {
    config: Config,
    id: SenderId,
    next_seq: u64,
    reassembler: Reassembler,
    transmits: VecDeque<Transmit>,
    events: VecDeque<EndpointEvent>,
    version_reported: HashSet<SocketAddr>,
    /// Seals what leaves, opens what arrives (crypto/guard.rs).
    guard: Guard,
    stats: Stats,
}

/// Where a datagram goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Destination {
    /// The multicast group.
    Group,
}

/// A datagram for the driver to send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Transmit {
    /// Where to.
    pub destination: Destination,
    /// The whole datagram.
    pub contents: Vec<u8>,
}

/// Something the application should hear about.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum EndpointEvent {
    /// A complete event from another node.
    Message(ReceivedMessage),
    /// Another node speaks a protocol this node cannot read.
    ProtocolError(ProtocolError),
    /// The key this node seals with nears the number of datagrams it may
    /// seal: make another key primary.
    KeyLimit(KeyLimit),
}

/// A complete event received from another node.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct ReceivedMessage {
    /// The sender's id.
    pub sender: SenderId,
    /// The message's number in the sender's stream.
    pub seq: MessageSeq,
    /// The address the completing datagram came from.
    pub from: SocketAddr,
    /// The event name.
    pub name: String,
    /// The arguments.
    pub args: Vec<Bson>,
}

/// A protocol problem with another node, reported to the application.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProtocolError {
    /// A node at `from` sends protocol version `version`; this node speaks 1.
    /// Reported once per source address (the original's `EPRVERSION`).
    #[error(
        "{from} sends eventcast protocol version {version}; this node speaks {}",
        crate::wire::VERSION
    )]
    UnsupportedVersion {
        /// Where it came from.
        from: SocketAddr,
        /// The version it sends.
        version: u8,
    },
    /// A node sends datagrams this node cannot read: unencrypted ones while
    /// this node requires encryption, or ones encrypted with a key it does
    /// not have. Reported once per sender and reason (up to 256).
    #[error("{from} (sender {}) sends datagrams this node cannot read: {reason}",
        sender.map_or_else(|| "unknown".to_owned(), |s| s.to_string()))]
    Unreadable {
        /// Where the first such datagram came from.
        from: SocketAddr,
        /// The sender id it claims, when it names one (not authenticated).
        sender: Option<SenderId>,
        /// Why it cannot be read.
        reason: Unreadable,
    },
}

/// Why [`Endpoint::emit`] refused an event. Always the caller's doing, never
/// the network's.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EmitError {
    /// The encoded body is larger than `max_message_size`.
    #[error("event body is {len} bytes, larger than max_message_size ({max} bytes)")]
    MessageTooLarge {
        /// Encoded size.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The arguments cannot be encoded as BSON.
    #[error(transparent)]
    Encode(#[from] BodyError),
}

impl Endpoint {
    /// Creates an endpoint that sends as `id`. Draw `id` at random for every
    /// start: a restarted node must be a new sender.
    pub fn new(config: Config, id: SenderId) -> Result<Self, ConfigError> {
        config.validate()?;
        Ok(Self {
            guard: Guard::plaintext(config.max_senders),
            config,
            id,
            next_seq: 0,
            reassembler: Reassembler::new(),
            transmits: VecDeque::new(),
            events: VecDeque::new(),
            version_reported: HashSet::new(),
            stats: Stats::default(),
        })
    }

    /// Creates an endpoint that seals every datagram it sends with the
    /// ring's primary key and opens every datagram it receives with the
    /// ring's keys (see [`crate::crypto`]). With an empty ring it sends and
    /// accepts plaintext until a key is added. Unless
    /// [`danger_accept_plaintext`](Encryption::danger_accept_plaintext) is
    /// set, it drops unencrypted datagrams while it holds a key.
    ///
    /// Sealing adds 50 bytes to a datagram, so `max_payload_size` may be at
    /// most 65424 here.
    pub fn with_encryption(
        config: Config,
        id: SenderId,
        encryption: Encryption,
    ) -> Result<Self, ConfigError> {
        if config.max_payload_size + DATA_HEADER_LEN + SEAL_OVERHEAD > MAX_DATAGRAM_SIZE {
            return Err(ConfigError::SealedPayloadSize(config.max_payload_size));
        }
        let mut endpoint = Self::new(config, id)?;
        endpoint.guard = Guard::new(encryption, endpoint.config.max_senders);
        Ok(endpoint)
    }

    /// The keyring, if this endpoint was created with encryption.
    pub fn keyring(&self) -> Option<&Keyring> {
        self.guard.keyring()
    }

    /// The keyring, to add, remove or switch keys while running; `None` if
    /// this endpoint was created without encryption.
    pub fn keyring_mut(&mut self) -> Option<&mut Keyring> {
        self.guard.keyring_mut()
    }

    /// This endpoint's sender id.
    pub fn id(&self) -> SenderId {
        self.id
    }

    /// The settings in force.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Queues an event for the group: encodes it, cuts it into segments and
    /// makes them available from [`poll_transmit`](Self::poll_transmit).
    /// Local listeners are the driver's business, not the endpoint's.
    pub fn emit(
        &mut self,
        _now: Instant,
        name: &str,
        args: &[Bson],
    ) -> Result<MessageSeq, EmitError> {
        let body = encode_body(name, args)?;
        self.emit_body(&body)
    }

    /// Queues an already encoded body (see [`encode_body`]).
    ///
    /// Only the document's frame (length prefix and final zero byte) is
    /// checked here, not its contents. A body without it is refused as
    /// [`BodyError::Malformed`]; an empty one, in particular, would have no
    /// segment to carry it.
    pub fn emit_body(&mut self, body: &[u8]) -> Result<MessageSeq, EmitError> {
        RawDocument::from_bytes(body).map_err(|e| BodyError::Malformed(e.to_string()))?;
        let max = self.config.max_message_size;
        if body.len() > max {
            return Err(EmitError::MessageTooLarge {
                len: body.len(),
                max,
            });
        }
        let seq = MessageSeq::new(self.next_seq);
        self.next_seq += 1;
        let size = self.config.max_payload_size;
        let count = body.len().div_ceil(size).max(1);
        for (index, chunk) in body.chunks(size).enumerate() {
            let header = DataHeader {
                flags: Flags::empty(),
                sender: self.id,
                seq,
                // Both fit in u32: body.len() <= max_message_size < 4 GiB.
                index: SegmentIndex::new(index as u32),
                count: count as u32,
                message_len: body.len() as u32,
            };
            let mut contents = Vec::with_capacity(DATA_HEADER_LEN + chunk.len());
            header.write(&mut contents);
            contents.extend_from_slice(chunk);
            self.stats.datagrams_sent += 1;
            self.stats.bytes_sent += contents.len() as u64;
            self.transmits.push_back(Transmit {
                destination: Destination::Group,
                contents,
            });
        }
        self.stats.messages_sent += 1;
        trace!(%seq, len = body.len(), segments = count, "message queued");
        Ok(seq)
    }

    /// Feeds one received datagram.
    ///
    /// Deadlines at or before `now` are handled first, as by
    /// [`handle_timeout`](Self::handle_timeout): a segment that arrives after
    /// its message's deadline cannot revive it, whichever of the socket and
    /// the timer the driver serves first.
    pub fn handle_datagram(&mut self, now: Instant, from: SocketAddr, datagram: &[u8]) {
        self.expire(now);
        self.stats.datagrams_received += 1;
        self.stats.bytes_received += datagram.len() as u64;
        let (guard, stats, events) = (&mut self.guard, &mut self.stats, &mut self.events);
        let opened;
        let datagram = match guard.inbound(from, datagram, self.id, stats, events) {
            Inbound::Plain => datagram,
            Inbound::Opened(inner) => {
                opened = inner;
                &opened[..]
            }
            Inbound::Dropped => return self.refresh_gauges(),
        };
        let frame = match DataFrame::parse(datagram) {
            Ok(frame) => frame,
            Err(e) => return self.drop_undecodable(from, datagram, e),
        };
        let h = *frame.header();
        if h.sender == self.id {
            self.stats.own_datagrams += 1;
            return;
        }
        let mut abandoned = Abandoned::default();
        let outcome = self
            .reassembler
            .insert(now, &self.config, &frame, &mut abandoned);
        self.stats.dropped.abandoned += abandoned.partials;
        self.stats.senders_evicted += abandoned.senders;
        let drops = &mut self.stats.dropped;
        match outcome {
            Outcome::Buffered => self.stats.segments_received += 1,
            Outcome::Complete(body) => {
                self.stats.segments_received += 1;
                self.deliver(h.sender, h.seq, from, &body);
            }
            Outcome::Dropped(reason) => {
                match reason {
                    Drop::Duplicate => drops.duplicate += 1,
                    Drop::Stale => drops.stale += 1,
                    Drop::TooLarge => drops.message_too_large += 1,
                    Drop::OverBudget => drops.over_budget += 1,
                    Drop::Inconsistent => drops.malformed += 1,
                }
                debug!(%from, sender = %h.sender, seq = %h.seq, ?reason, "segment dropped");
            }
        }
        self.refresh_gauges();
    }

    /// Handles every deadline at or before `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.expire(now);
    }

    /// The next datagram to send, sealed when the keyring has a primary key.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        loop {
            let transmit = self.transmits.pop_front()?;
            let (guard, stats, events) = (&mut self.guard, &mut self.stats, &mut self.events);
            if let Some(t) = guard.outbound(transmit, self.id, stats, events) {
                return Some(t);
            }
        }
    }

    /// The next event for the application.
    pub fn poll_event(&mut self) -> Option<EndpointEvent> {
        self.events.pop_front()
    }

    /// When [`handle_timeout`](Self::handle_timeout) should next be called.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.reassembler.next_deadline()
    }

    /// Counters and gauges.
    pub fn stats(&self) -> Stats {
        self.stats
    }

    fn expire(&mut self, now: Instant) {
        if self.reassembler.next_deadline().is_none_or(|d| d > now) {
            return;
        }
        for (sender, seq, have, count) in self.reassembler.expire(now) {
            self.stats.dropped.expired += 1;
            debug!(%sender, %seq, have, count, "partial message expired");
        }
        self.refresh_gauges();
    }

    fn deliver(&mut self, sender: SenderId, seq: MessageSeq, from: SocketAddr, body: &[u8]) {
        match decode_body(body) {
            Ok((name, args)) => {
                self.stats.messages_received += 1;
                trace!(%sender, %seq, %from, name, "message delivered");
                self.events
                    .push_back(EndpointEvent::Message(ReceivedMessage {
                        sender,
                        seq,
                        from,
                        name,
                        args,
                    }));
            }
            Err(e) => {
                self.stats.dropped.bad_body += 1;
                debug!(%sender, %seq, %from, error = %e, "message body dropped");
            }
        }
    }

    fn drop_undecodable(&mut self, from: SocketAddr, datagram: &[u8], e: DecodeError) {
        let drops = &mut self.stats.dropped;
        match e {
            DecodeError::BadMagic => match crate::wire::legacy_version(datagram) {
                Some(version) => self.report_version(from, version),
                None => drops.not_eventcast += 1,
            },
            DecodeError::UnsupportedVersion { version } => self.report_version(from, version),
            _ => drops.malformed += 1,
        }
        debug!(%from, error = %e, "datagram dropped");
    }

    /// Counts a datagram of another protocol version and reports it to the
    /// application once per source address.
    fn report_version(&mut self, from: SocketAddr, version: u8) {
        self.stats.dropped.unsupported_version += 1;
        if self.version_reported.len() < MAX_VERSION_REPORTS && self.version_reported.insert(from) {
            self.events.push_back(EndpointEvent::ProtocolError(
                ProtocolError::UnsupportedVersion { from, version },
            ));
        }
    }

    fn refresh_gauges(&mut self) {
        self.stats.partial_messages = self.reassembler.partial_messages() as u64;
        self.stats.partial_bytes = self.reassembler.partial_bytes() as u64;
        self.stats.senders = self.reassembler.senders() as u64;
        self.stats.replay_senders = self.guard.replay_senders() as u64;
        self.stats.replay_senders_evicted = self.guard.replay_evicted();
    }
}
