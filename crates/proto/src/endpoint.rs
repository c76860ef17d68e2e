//! The protocol state machine of one node.

use std::collections::{HashSet, VecDeque};
use std::net::SocketAddr;
use std::time::Instant;

use bson::{Bson, RawDocument};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use tracing::{debug, trace};

use crate::body::{encode_body, BodyError};
use crate::config::{Config, ConfigError};
use crate::crypto::{Encryption, Guard, Inbound, KeyLimit, Keyring, Unreadable};
use crate::ids::{MessageSeq, SenderId};
use crate::peer::PeerInfo;
use crate::reassembly::{Abandoned, Drop, Heard, Outcome, Reassembler};
use crate::recovery::{Arrival, Cx, Recovery};
use crate::sender::Sender;
use crate::stats::Stats;
use crate::wire::{
    DataFrame, DecodeError, Flags, Frame, DATA_HEADER_LEN, MAX_DATAGRAM_SIZE, SEAL_OVERHEAD,
};

/// The loss-recovery context: the endpoint's fields recovery works on,
/// borrowed one by one so that `self.recovery` stays free.
macro_rules! cx {
    ($e:ident) => {
        Cx {
            config: &$e.config,
            reasm: &mut $e.reassembler,
            stats: &mut $e.stats,
            events: &mut $e.events,
            control: &mut $e.control,
            me: $e.id,
            joined: $e.joined,
        }
    };
}

/// Source addresses remembered so that a protocol-version error is reported
/// once per address rather than once per datagram.
const MAX_VERSION_REPORTS: usize = 256;

/// One node's protocol state: its outgoing stream (send queue, pacing,
/// retransmit store, heartbeats) and, for every sender it hears, reassembly,
/// loss recovery and ordering.
///
/// The endpoint performs no I/O, reads no clock and draws random numbers
/// (NACK back-off) only from a generator seeded at creation. Drive it like
/// this:
///
/// 1. feed it inputs: [`handle_datagram`](Self::handle_datagram) for every
///    datagram received, [`emit`](Self::emit) for every event to send, and
///    [`handle_timeout`](Self::handle_timeout) when the instant returned by
///    [`poll_timeout`](Self::poll_timeout) has passed;
/// 2. after every input, drain every output: send each
///    [`poll_transmit`](Self::poll_transmit) datagram (it returns `None`
///    when the pacer holds the rest back; `poll_timeout` then says when to
///    come back), deliver each [`poll_event`](Self::poll_event), and re-arm
///    the timer from `poll_timeout`.
///
/// Bad input from the network is never an error: it is dropped, counted in
/// [`stats`](Self::stats) and logged at debug level.
pub struct Endpoint {
    config: Config,
    id: SenderId,
    reassembler: Reassembler,
    recovery: Recovery,
    sender: Sender,
    /// NACKs and heartbeats: sent before anything paced.
    control: VecDeque<Vec<u8>>,
    events: VecDeque<EndpointEvent>,
    version_reported: HashSet<SocketAddr>,
    /// Seals what leaves, opens what arrives (crypto/guard.rs).
    guard: Guard,
    stats: Stats,
    paced: bool,
    /// When this node joined the group (see `handle_join`).
    joined: Option<Instant>,
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
    /// Messages of another node are lost for good.
    Loss(Loss),
}

/// Messages `first .. first + count` of `sender` will never be delivered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Loss {
    /// The sender.
    pub sender: SenderId,
    /// The first message lost.
    pub first: MessageSeq,
    /// How many consecutive messages, from `first` on.
    pub count: u64,
    /// Why.
    pub reason: LossReason,
}

impl std::fmt::Display for Loss {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let what = if self.count == 1 {
            "message"
        } else {
            "messages"
        };
        let last = self.first.get().saturating_add(self.count - 1);
        write!(f, "{} {what} from {} lost", self.count, self.sender)?;
        if self.count == 1 {
            write!(f, " (seq {})", self.first)?;
        } else {
            write!(f, " (seq {}..={last})", self.first)?;
        }
        write!(f, ": {}", self.reason)
    }
}

/// Why messages were given up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum LossReason {
    /// The sender stopped answering: `max_retransmit_attempts` NACKs went
    /// unanswered and nothing came from it for `heartbeat_max`.
    Unrecoverable,
    /// No progress for `message_ttl`.
    Expired,
    /// The sender's heartbeat says it no longer has them.
    NotRepairable,
    /// Pushed out by newer messages: past the window, or no memory left to
    /// wait for them.
    Overrun,
    /// The sender was forgotten to make room for others.
    Evicted,
}

impl std::fmt::Display for LossReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            LossReason::Unrecoverable => "the sender stopped answering NACKs",
            LossReason::Expired => "no progress for message_ttl",
            LossReason::NotRepairable => "no longer in the sender's retransmit window",
            LossReason::Overrun => "overrun by newer messages",
            LossReason::Evicted => "sender forgotten to make room for others",
        })
    }
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
    /// The send queue is full (`max_send_queue_bytes`): wait until the
    /// pacer has sent some of it.
    #[error("send queue full: {queued} bytes queued, max_send_queue_bytes is {max}")]
    QueueFull {
        /// Bytes queued now.
        queued: usize,
        /// The limit.
        max: usize,
    },
}

impl Endpoint {
    /// Creates an endpoint that sends as `id`. Draw `id` at random for every
    /// start: a restarted node must be a new sender. The NACK back-off
    /// generator is seeded from `id`; see [`with_seed`](Self::with_seed).
    pub fn new(config: Config, id: SenderId) -> Result<Self, ConfigError> {
        Self::with_seed(config, id, id.get())
    }

    /// Creates an endpoint whose random choices come from `seed`.
    pub fn with_seed(config: Config, id: SenderId, seed: u64) -> Result<Self, ConfigError> {
        config.validate()?;
        Ok(Self {
            guard: Guard::plaintext(config.max_senders),
            sender: Sender::new(&config, id),
            recovery: Recovery::new(ChaCha8Rng::seed_from_u64(seed)),
            config,
            id,
            reassembler: Reassembler::new(),
            control: VecDeque::new(),
            events: VecDeque::new(),
            version_reported: HashSet::new(),
            stats: Stats::default(),
            paced: true,
            joined: None,
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

    /// Queues an event for the group: encodes it and makes its datagrams
    /// available from [`poll_transmit`](Self::poll_transmit). Local
    /// listeners are the driver's business, not the endpoint's.
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
    /// segment to carry it. A body that does not fit the send queue is
    /// refused as [`EmitError::QueueFull`].
    pub fn emit_body(&mut self, body: &[u8]) -> Result<MessageSeq, EmitError> {
        RawDocument::from_bytes(body).map_err(|e| BodyError::Malformed(e.to_string()))?;
        let max = self.config.max_message_size;
        if body.len() > max {
            return Err(EmitError::MessageTooLarge {
                len: body.len(),
                max,
            });
        }
        if !self.sender.has_room(&self.config, body.len()) {
            return Err(EmitError::QueueFull {
                queued: self.sender.queue_bytes(),
                max: self.config.max_send_queue_bytes,
            });
        }
        let seq = self.sender.queue(body.to_vec());
        self.stats.messages_sent += 1;
        self.stats.send_queue_bytes = self.sender.queue_bytes() as u64;
        trace!(%seq, len = body.len(), "message queued");
        Ok(seq)
    }

    /// Whether a body of `len` bytes fits the send queue now.
    pub fn has_room(&self, len: usize) -> bool {
        self.sender.has_room(&self.config, len)
    }

    /// Turns pacing on (the default) or off. Off, [`poll_transmit`](Self::poll_transmit)
    /// hands out everything queued at once: for a last flush before the
    /// endpoint is dropped.
    pub fn set_paced(&mut self, paced: bool) {
        self.paced = paced;
    }

    /// Tells the endpoint that its node joined the group (started
    /// listening) at `now`. Call it once, when the socket is ready, before
    /// any datagram. Without it, the instant of the first input counts.
    ///
    /// This defines which senders' history the node is owed: a sender whose
    /// stream (its message 0) began after `now` owes this node every
    /// message, and a loss of any of them is repaired or reported; a sender
    /// first heard mid-stream that was already sending before `now` owes it
    /// only what follows the first message heard (a late joiner never asks
    /// for history).
    pub fn handle_join(&mut self, now: Instant) {
        self.joined = Some(now);
    }

    /// Feeds one received datagram.
    ///
    /// Deadlines at or before `now` are handled first, as by
    /// [`handle_timeout`](Self::handle_timeout): a segment that arrives after
    /// its message's deadline cannot revive it, whichever of the socket and
    /// the timer the driver serves first.
    pub fn handle_datagram(&mut self, now: Instant, from: SocketAddr, datagram: &[u8]) {
        self.joined.get_or_insert(now);
        self.handle_timeout(now);
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
        let frame = match Frame::parse(datagram) {
            Ok(frame) => frame,
            Err(e) => return self.drop_undecodable(from, datagram, e),
        };
        let control = matches!(frame, Frame::Heartbeat(_) | Frame::Nack(_));
        if frame.sender() == self.id {
            self.stats.own_datagrams += 1;
            self.stats.own_control += u64::from(control);
            return;
        }
        self.stats.control_received += u64::from(control);
        self.recovery.heard(now, frame.sender());
        match frame {
            Frame::Data(data) => self.handle_data(now, from, &data),
            Frame::Batch(batch) => {
                self.stats.batches_received += 1;
                let retransmission = batch.flags().contains(Flags::RETRANSMISSION);
                for (i, body) in batch.bodies().iter().enumerate() {
                    self.stats.batched_messages_received += 1;
                    let seq = batch.first().get() + i as u64;
                    let mut abandoned = Abandoned::default();
                    let outcome = self.reassembler.insert_whole(
                        now,
                        &self.config,
                        from,
                        batch.sender(),
                        seq,
                        body.len(),
                        &mut abandoned,
                    );
                    let outcome = match outcome {
                        Outcome::Complete(_) => Outcome::Complete(body.to_vec()),
                        other => other,
                    };
                    self.after_insert(
                        now,
                        from,
                        batch.sender(),
                        seq,
                        retransmission,
                        outcome,
                        abandoned,
                    );
                }
            }
            Frame::Heartbeat(hb) => {
                self.stats.heartbeats_received += 1;
                let mut abandoned = Abandoned::default();
                let heard = Heard {
                    from,
                    lead: hb.lead().get(),
                };
                self.reassembler.touch(
                    now,
                    &self.config,
                    hb.sender(),
                    hb.lead().get(),
                    heard,
                    &mut abandoned,
                );
                self.count_abandoned(&abandoned);
                let mut cx = cx!(self);
                self.recovery.on_heartbeat(
                    now,
                    &mut cx,
                    hb.sender(),
                    hb.lead().get(),
                    hb.trail().get(),
                    std::time::Duration::from_millis(u64::from(hb.age_ms())),
                );
                self.forget_evicted(abandoned);
            }
            Frame::Nack(nack) => {
                if nack.target() == self.id {
                    self.sender
                        .on_nack(now, &self.config, &nack, &mut self.stats);
                } else {
                    self.stats.nacks_overheard += 1;
                    let mut cx = cx!(self);
                    self.recovery.on_overheard_nack(now, &mut cx, &nack);
                }
            }
        }
        self.refresh_gauges();
    }

    fn handle_data(&mut self, now: Instant, from: SocketAddr, frame: &DataFrame<'_>) {
        let h = *frame.header();
        let mut abandoned = Abandoned::default();
        let outcome = self
            .reassembler
            .insert(now, &self.config, from, frame, &mut abandoned);
        let retransmission = h.flags.contains(Flags::RETRANSMISSION);
        self.after_insert(
            now,
            from,
            h.sender,
            h.seq.get(),
            retransmission,
            outcome,
            abandoned,
        );
    }

    #[allow(clippy::too_many_arguments)]
    fn after_insert(
        &mut self,
        now: Instant,
        from: SocketAddr,
        sender: SenderId,
        seq: u64,
        retransmission: bool,
        outcome: Outcome,
        abandoned: Abandoned,
    ) {
        self.count_abandoned(&abandoned);
        let drops = &mut self.stats.dropped;
        let arrival = match outcome {
            Outcome::Buffered => {
                self.stats.segments_received += 1;
                Arrival::Buffered
            }
            Outcome::Complete(body) => {
                self.stats.segments_received += 1;
                Arrival::Complete(body)
            }
            Outcome::Dropped(reason) => {
                match reason {
                    Drop::Duplicate => drops.duplicate += 1,
                    Drop::Stale => drops.stale += 1,
                    Drop::TooLarge => drops.message_too_large += 1,
                    Drop::OverBudget => drops.over_budget += 1,
                    Drop::Inconsistent => drops.malformed += 1,
                }
                debug!(%from, %sender, seq, ?reason, "segment dropped");
                if reason == Drop::TooLarge {
                    return self.forget_evicted(abandoned);
                }
                Arrival::Dropped
            }
        };
        let mut cx = cx!(self);
        self.recovery
            .on_data(now, &mut cx, sender, seq, from, retransmission, arrival);
        self.forget_evicted(abandoned);
    }

    fn count_abandoned(&mut self, abandoned: &Abandoned) {
        self.stats.dropped.abandoned += abandoned.partials;
        self.stats.senders_evicted += abandoned.senders;
    }

    fn forget_evicted(&mut self, abandoned: Abandoned) {
        for sender in abandoned.evicted {
            let mut cx = cx!(self);
            self.recovery.forget(&mut cx, sender);
        }
    }

    /// Handles every deadline at or before `now`: expiry of partial
    /// messages, NACKs due, losses that become final, heartbeats, the
    /// retransmit store's window.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.joined.get_or_insert(now);
        self.expire(now);
        let mut cx = cx!(self);
        self.recovery.handle_timeout(now, &mut cx);
        if let Some(hb) = self
            .sender
            .handle_timeout(now, &self.config, &mut self.stats)
        {
            self.control.push_back(hb);
        }
        self.refresh_gauges();
    }

    /// The next datagram to send: NACKs and heartbeats first, then repairs,
    /// then new data, as far as the pacer lets them go at `now`; sealed when
    /// the keyring has a primary key (every datagram, retransmissions
    /// included, gets a fresh packet number and nonce here).
    pub fn poll_transmit(&mut self, now: Instant) -> Option<Transmit> {
        loop {
            let transmit = self.next_plaintext(now)?;
            let (guard, stats, events) = (&mut self.guard, &mut self.stats, &mut self.events);
            if let Some(t) = guard.outbound(transmit, self.id, stats, events) {
                return Some(t);
            }
        }
    }

    fn next_plaintext(&mut self, now: Instant) -> Option<Transmit> {
        if let Some(contents) = self.control.pop_front() {
            self.sender.charge_unpaced(now, contents.len());
            self.stats.datagrams_sent += 1;
            self.stats.bytes_sent += contents.len() as u64;
            return Some(Transmit {
                destination: Destination::Group,
                contents,
            });
        }
        let contents =
            self.sender
                .poll_transmit(now, &self.config, !self.paced, &mut self.stats)?;
        Some(Transmit {
            destination: Destination::Group,
            contents,
        })
    }

    /// The next event for the application.
    pub fn poll_event(&mut self) -> Option<EndpointEvent> {
        self.events.pop_front()
    }

    /// When [`handle_timeout`](Self::handle_timeout) (or, for the pacer,
    /// [`poll_transmit`](Self::poll_transmit)) should next be called.
    pub fn poll_timeout(&self) -> Option<Instant> {
        [
            self.reassembler.next_deadline(),
            self.recovery.next_timeout(),
            self.sender.next_timeout(&self.config),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// Counters and gauges.
    pub fn stats(&self) -> Stats {
        self.stats
    }

    /// The senders this endpoint tracks now, by id, with how long ago each
    /// was last heard at `now`: at most `max_senders` of them (as many as
    /// [`Stats::senders`]).
    ///
    /// A sender is tracked from its first data or heartbeat datagram on
    /// until it is forgotten to make room for another (least recently
    /// heard first). A node that only listens sends no heartbeat (nothing
    /// to announce) and so never appears here.
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// use eventcast_proto::{Config, Endpoint, SenderId};
    ///
    /// let now = Instant::now();
    /// let mut alice = Endpoint::new(Config::default(), SenderId::new(1)).unwrap();
    /// let mut bob = Endpoint::new(Config::default(), SenderId::new(2)).unwrap();
    /// alice.emit(now, "greet", &[]).unwrap();
    /// let from = "192.0.2.1:4000".parse().unwrap();
    /// while let Some(t) = alice.poll_transmit(now) {
    ///     bob.handle_datagram(now, from, &t.contents);
    /// }
    /// let peers = bob.peers(now + Duration::from_secs(2));
    /// assert_eq!(peers.len(), 1);
    /// assert_eq!((peers[0].id, peers[0].addr), (SenderId::new(1), from));
    /// assert_eq!(peers[0].since_heard, Duration::from_secs(2));
    /// assert_eq!((peers[0].lead.get(), peers[0].delivered), (1, 1));
    /// ```
    pub fn peers(&self, now: Instant) -> Vec<PeerInfo> {
        self.reassembler.peers(now)
    }

    fn expire(&mut self, now: Instant) {
        if self.reassembler.next_deadline().is_none_or(|d| d > now) {
            return;
        }
        for (sender, seq, have, count) in self.reassembler.expire(now) {
            self.stats.dropped.expired += 1;
            debug!(%sender, %seq, have, count, "partial message expired");
            let mut cx = cx!(self);
            self.recovery.on_expired(&mut cx, sender, seq.get());
        }
        self.refresh_gauges();
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
        self.stats.window_bytes = self.reassembler.window_bytes() as u64;
        self.stats.senders = self.reassembler.senders() as u64;
        self.stats.replay_senders = self.guard.replay_senders() as u64;
        self.stats.replay_senders_evicted = self.guard.replay_evicted();
        self.stats.held_messages = self.recovery.held() as u64;
        self.stats.recovery_bytes = self.reassembler.recovery_bytes() as u64;
        self.stats.send_queue_bytes = self.sender.queue_bytes() as u64;
        self.stats.retransmit_store_bytes = self.sender.store_bytes() as u64;
        self.stats.send_rate = self.sender.rate();
    }
}
