//! The protocol state machine of one node.

mod inbound;

use std::collections::{HashSet, VecDeque};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use bson::{Bson, RawDocument};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use tracing::{debug, trace};

use crate::body::{encode_body, BodyError};
use crate::config::{Config, ConfigError};
use crate::crypto::{Encryption, Guard, Inbound, Keyring};
use crate::datagram::Datagram;
use crate::feedback::Feedback;
use crate::ids::{MessageSeq, SenderId};
use crate::outbox::Outbox;
use crate::peer::PeerInfo;
use crate::receive::Receiver;
use crate::sender::Sender;
use crate::shared::{Destination, EndpointEvent, ReceivedMessage, Timer, Transmit};
use crate::stats::Stats;
use crate::wire::MAX_SEALED_SEGMENT_PAYLOAD;

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
/// 2. after every input, drain every output: send each datagram
///    [`poll_transmit`](Self::poll_transmit) writes into the driver's
///    buffer (it returns `None` when the pacer holds the rest back;
///    `poll_timeout` then says when to come back), deliver each
///    [`poll_event`](Self::poll_event), and re-arm the timer from
///    `poll_timeout` ([`next_timer`](Self::next_timer) also says which
///    timer it is).
///
/// Bad input from the network is never an error: it is dropped, counted in
/// [`stats`](Self::stats) and logged at debug level.
pub struct Endpoint {
    config: Config,
    id: SenderId,
    /// Everything this node keeps about the senders it hears
    /// (receive/).
    receiver: Receiver,
    pub(crate) sender: Sender,
    /// The statuses this node owes the senders it reads (feedback.rs).
    feedback: Feedback,
    /// NACKs, heartbeats and statuses: sent before anything paced.
    control: VecDeque<Vec<u8>>,
    /// Events for the application: the endpoint's own, and those the
    /// guard and the receiver report, drained from them after every input.
    events: Outbox,
    version_reported: HashSet<SocketAddr>,
    /// Seals what leaves, opens what arrives (crypto/guard.rs).
    guard: Guard,
    stats: Stats,
    paced: bool,
    /// Whether other senders' events are received (see
    /// [`set_receiving`](Endpoint::set_receiving)).
    receiving: bool,
    /// The seed the receiver's generator was drawn from, and how many
    /// times the receiver was started afresh (each time from the next
    /// seed, so that a run stays reproducible).
    seed: u64,
    receiver_starts: u64,
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
            feedback: Feedback::new(id, config.max_senders, config.max_window),
            receiver: Receiver::new(&config, id, ChaCha8Rng::seed_from_u64(seed)),
            config,
            id,
            control: VecDeque::new(),
            events: Outbox::default(),
            version_reported: HashSet::new(),
            stats: Stats::default(),
            paced: true,
            receiving: true,
            seed,
            receiver_starts: 0,
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
        if config.max_payload_size > MAX_SEALED_SEGMENT_PAYLOAD {
            return Err(ConfigError::SealedPayloadSize(config.max_payload_size));
        }
        let mut endpoint = Self::new(config, id)?;
        endpoint.guard = Guard::new(encryption, endpoint.config.max_senders, id);
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
        self.emit_body(body)
    }

    /// Queues an already encoded body (see [`encode_body`]).
    ///
    /// Only the document's frame (length prefix and final zero byte) is
    /// checked here, not its contents. A body without it is refused as
    /// [`BodyError::Malformed`]; an empty one, in particular, would have no
    /// segment to carry it. A body that does not fit the send queue is
    /// refused as [`EmitError::QueueFull`]. A body of up to 2,048 bytes is
    /// copied into the retransmit store's memory for short bodies (its
    /// buffer comes back through
    /// [`take_spent_bodies`](Self::take_spent_bodies) once asked for); a
    /// longer `Vec` is queued as it is, without a copy.
    pub fn emit_body(&mut self, body: impl Into<Vec<u8>>) -> Result<MessageSeq, EmitError> {
        let body = body.into();
        RawDocument::from_bytes(&body).map_err(|e| BodyError::Malformed(e.to_string()))?;
        let len = body.len();
        self.check_room(len)?;
        let seq = self.sender.queue(body);
        self.queued(seq, len, Handed::Whole);
        Ok(seq)
    }

    /// Moves into `out` the buffers of the short bodies (up to 2,048
    /// bytes) handed to [`emit_body`](Self::emit_body) since the last call:
    /// the retransmit store keeps a short body's bytes in memory it shares
    /// among them, so the buffer is the caller's again, to encode its next
    /// bodies into rather than allocate. The endpoint keeps them from the
    /// first call on, at most 4,096 between two calls, and none with room
    /// for more than 4,096 bytes (those are freed).
    pub fn take_spent_bodies(&mut self, out: &mut Vec<Vec<u8>>) {
        self.sender.take_spent(out);
    }

    /// Hands back a message this endpoint delivered
    /// ([`EndpointEvent::Message`]) once the application is done with it:
    /// if nothing else holds it (no clone of the `Arc`, no `Weak`), its
    /// arguments are let go and the next messages received are made in
    /// its allocation, and the buffer of a body of up to 1,024 bytes (a
    /// flat one: see [`Args`](crate::Args)) takes the next single-datagram
    /// body of up to that length, rather than fresh memory. Optional: a
    /// message not handed back is freed as usual. At most 512 messages
    /// and 512 buffers are kept; none while the endpoint does not receive
    /// ([`set_receiving`](Self::set_receiving)).
    ///
    /// ```
    /// use eventcast_proto::{encode_body, Config, Endpoint, EndpointEvent, SenderId};
    /// # let t = std::time::Instant::now();
    /// # let from: std::net::SocketAddr = "127.0.0.1:1".parse().unwrap();
    /// let mut tx = Endpoint::new(Config::default(), SenderId::new(1)).unwrap();
    /// let mut rx = Endpoint::new(Config::default(), SenderId::new(2)).unwrap();
    /// rx.handle_join(t);
    /// tx.emit_body(encode_body("hello", &["world".into()]).unwrap()).unwrap();
    /// let mut buf = Vec::new();
    /// while tx.poll_transmit(t, &mut buf).is_some() {
    ///     rx.handle_datagram(t, from, &buf);
    /// }
    /// while let Some(event) = rx.poll_event() {
    ///     if let EndpointEvent::Message(message) = event {
    ///         assert_eq!(&*message.name, "hello");
    ///         rx.give_back(message); // done with it
    ///     }
    /// }
    /// ```
    pub fn give_back(&mut self, message: Arc<ReceivedMessage>) {
        if self.receiving {
            self.receiver.give_back(message);
        }
    }

    /// Whether a body of `len` bytes may be queued: no larger than
    /// `max_message_size`, and room for it in the send queue.
    pub(crate) fn check_room(&self, len: usize) -> Result<(), EmitError> {
        let max = self.config.max_message_size;
        if len > max {
            return Err(EmitError::MessageTooLarge { len, max });
        }
        if !self.sender.has_room(&self.config, len) {
            return Err(EmitError::QueueFull {
                queued: self.sender.queue_bytes(),
                max: self.config.max_send_queue_bytes,
            });
        }
        Ok(())
    }

    /// Counts a message just queued, as its body was handed over.
    pub(crate) fn queued(&mut self, seq: MessageSeq, len: usize, how: Handed) {
        self.stats.messages_sent += 1;
        self.stats.messages_sent_in_parts += u64::from(how == Handed::InParts);
        self.stats.messages_sent_shared += u64::from(how == Handed::Shared);
        self.stats.send_queue_bytes = self.sender.queue_bytes() as u64;
        trace!(%seq, len, "message queued");
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

    /// Tells the endpoint whether its node receives other nodes' events
    /// (the default). A node that only sends (no listeners for other
    /// events) turns it off: other senders' data and batches are then
    /// dropped unread (`dropped.not_receiving`), their heartbeats and NACKs
    /// to others ignored, and, with the handshake, senders it hears are not
    /// challenged, so that it holds no partial message and sends no NACK
    /// and no challenge. It still serves the NACKs and statuses addressed
    /// to it and answers the challenges addressed to it.
    ///
    /// Turning it off forgets everything kept about other senders at once:
    /// partial messages, messages held for order, losses being repaired,
    /// the senders' table. Turning it on again starts that part afresh, as
    /// a node that joins the group now: call
    /// [`handle_join`](Self::handle_join) right after (without it, the next
    /// input counts as joining). It is then owed what senders send from
    /// here on, and reports no loss of what they sent before. Setting what
    /// is already in force changes nothing.
    ///
    /// ```
    /// use std::time::Instant;
    /// use eventcast_proto::{Config, Endpoint, SenderId};
    ///
    /// let mut node = Endpoint::new(Config::default(), SenderId::new(1)).unwrap();
    /// node.set_receiving(false);
    /// assert!(!node.is_receiving());
    /// node.set_receiving(true);
    /// node.handle_join(Instant::now());
    /// assert_eq!(node.stats().senders, 0);
    /// ```
    pub fn set_receiving(&mut self, receiving: bool) {
        if receiving == self.receiving {
            return;
        }
        self.receiving = receiving;
        self.guard.set_challenging(receiving);
        self.receiver_starts += 1;
        let seed = self.seed.wrapping_add(self.receiver_starts);
        self.receiver = Receiver::new(&self.config, self.id, ChaCha8Rng::seed_from_u64(seed));
        let window = self.feedback.window() as usize;
        self.feedback = Feedback::new(self.id, self.config.max_senders, self.config.max_window);
        self.feedback.set_window(window);
        debug!(receiving, "receiving other senders' events: switched");
        self.refresh_gauges();
    }

    /// Whether the endpoint receives other nodes' events.
    pub fn is_receiving(&self) -> bool {
        self.receiving
    }

    /// Tells the endpoint how many bytes of other senders' data its socket
    /// can absorb: the receive window it advertises, in status frames, to
    /// each sender it reads (docs/PROTOCOL.md §2.6, §9.2). The driver
    /// passes a share of the receive buffer the kernel granted. 0 (the
    /// default) advertises nothing: senders then pace blind, as they do
    /// for nodes of earlier versions.
    ///
    /// ```
    /// use eventcast_proto::{Config, Endpoint, SenderId};
    ///
    /// let mut bob = Endpoint::new(Config::default(), SenderId::new(2)).unwrap();
    /// bob.set_receive_window(1 << 20);
    /// assert_eq!(bob.stats().advertised_window, 1 << 20);
    /// ```
    pub fn set_receive_window(&mut self, bytes: usize) {
        self.feedback.set_window(bytes);
        self.stats.advertised_window = u64::from(self.feedback.window());
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
        self.receiver.set_joined(now);
    }

    /// Feeds one received datagram.
    ///
    /// Deadlines at or before `now` are handled first, as by
    /// [`handle_timeout`](Self::handle_timeout): a segment that arrives after
    /// its message's deadline cannot revive it, whichever of the socket and
    /// the timer the driver serves first.
    pub fn handle_datagram(&mut self, now: Instant, from: SocketAddr, datagram: &[u8]) {
        self.receiver.started(now);
        self.handle_timeout(now);
        self.stats.datagrams_received += 1;
        self.stats.bytes_received += datagram.len() as u64;
        match self
            .guard
            .inbound(now, from, datagram, self.id, &mut self.stats)
        {
            Inbound::Plain => self.handle_plain(now, from, datagram),
            Inbound::Opened(inner) => {
                self.handle_plain(now, from, inner.datagram());
                self.guard.give_back(inner);
            }
            Inbound::Dropped => {}
        }
        // What a sender's answer let through, held until now.
        while let Some((from, inner)) = self.guard.poll_released() {
            self.handle_plain(now, from, &inner);
        }
        self.settle();
    }

    /// Handles every deadline at or before `now`: expiry of partial
    /// messages, NACKs due, losses that become final, heartbeats, the
    /// retransmit store's window.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.receiver.started(now);
        self.receiver.queued_outside(self.events.len());
        self.receiver.handle_timeout(now, &mut self.stats);
        self.guard.handle_timeout(now, &mut self.stats);
        // NACKs first, then the heartbeat, as they became due.
        while let Some(nack) = self.receiver.poll_nack() {
            self.control.push_back(nack);
        }
        if let Some(hb) = self
            .sender
            .handle_timeout(now, &self.config, &mut self.stats)
        {
            self.control.push_back(hb);
        }
        self.settle();
    }

    /// Writes the next datagram to send into `buf` (cleared first; its
    /// allocation is reused) and says where it goes: NACKs and heartbeats
    /// first, then repairs, then new data, as far as the pacer lets them
    /// go at `now`; sealed when the keyring has a primary key (every
    /// datagram, retransmissions included, gets a fresh packet number and
    /// nonce here). `None`: nothing to send now (`buf` is then empty).
    pub fn poll_transmit(&mut self, now: Instant, buf: &mut Vec<u8>) -> Option<Transmit> {
        let mut datagram = Datagram::from(std::mem::take(buf));
        let transmit = self.poll_datagram(now, &mut datagram);
        *buf = datagram.into_vec();
        transmit
    }

    /// As [`poll_transmit`](Self::poll_transmit), into a [`Datagram`]: a
    /// data segment sent in the clear is its header in `head` and a slice
    /// of the stored body in `tail`, not copied (a driver sends both parts
    /// as one datagram); anything else is whole in `head`. `None`: nothing
    /// to send now (`out` is then empty).
    pub fn poll_datagram(&mut self, now: Instant, out: &mut Datagram) -> Option<Transmit> {
        self.poll_next(now, out, false)
    }

    /// As [`poll_datagram`](Self::poll_datagram), control frames only: the
    /// handshake's, statuses, NACKs and heartbeats, never data or repairs.
    /// A driver reading a long run of datagrams sends these before it
    /// reads on: a status owed after a quarter of the window was read
    /// lets a sender held back by this receiver's window go on while the
    /// rest is read, rather than once the socket is empty.
    pub fn poll_control(&mut self, now: Instant, out: &mut Datagram) -> Option<Transmit> {
        self.poll_next(now, out, true)
    }

    /// The next datagram, sealed; `control_only`: no data or repairs.
    fn poll_next(
        &mut self,
        now: Instant,
        out: &mut Datagram,
        control_only: bool,
    ) -> Option<Transmit> {
        loop {
            if !self.next_plaintext(now, out, control_only) {
                out.clear();
                return None;
            }
            let sealed = self.guard.outbound(now, out, self.id, &mut self.stats);
            self.drain_guard();
            if sealed {
                return Some(Transmit {
                    destination: Destination::Group,
                    size: out.len(),
                });
            }
        }
    }

    /// Writes the next datagram before sealing into `out`: the
    /// handshake's challenges and answers first, then NACKs, statuses and
    /// heartbeats, then (unless `control_only`) what the sender has.
    fn next_plaintext(&mut self, now: Instant, out: &mut Datagram, control_only: bool) -> bool {
        let handshake = self.guard.poll_control(now, &mut self.stats);
        if let Some(contents) = handshake.or_else(|| self.control.pop_front()) {
            self.sender.charge_unpaced(now, contents.len());
            self.stats.datagrams_sent += 1;
            self.stats.bytes_sent += contents.len() as u64;
            out.clear();
            out.head_mut().extend_from_slice(&contents);
            return true;
        }
        !control_only
            && self
                .sender
                .poll_transmit(now, &self.config, !self.paced, &mut self.stats, out)
    }

    /// The next event for the application.
    pub fn poll_event(&mut self) -> Option<EndpointEvent> {
        if let Some(event) = self.events.pop() {
            return Some(event);
        }
        // Taken all: held messages that waited for room come now.
        if !self.receiver.deliver_waiting(&mut self.stats) {
            return None;
        }
        self.settle();
        self.events.pop()
    }

    /// When [`handle_timeout`](Self::handle_timeout) (or, for the pacer,
    /// [`poll_transmit`](Self::poll_transmit)) should next be called.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.next_timer().map(|(at, _)| at)
    }

    /// The deadline [`poll_timeout`](Self::poll_timeout) returns, with the
    /// kind of timer it belongs to: why the endpoint will wake (for traces
    /// and tests). When several are due at the same instant, the first in
    /// [`Timer`]'s order is named.
    ///
    /// ```
    /// use std::time::Instant;
    /// use eventcast_proto::{Config, Endpoint, SenderId, Timer};
    ///
    /// let now = Instant::now();
    /// let mut alice = Endpoint::new(Config::default(), SenderId::new(1)).unwrap();
    /// assert_eq!(alice.next_timer(), None);
    /// alice.emit(now, "greet", &[]).unwrap();
    /// let mut buf = Vec::new();
    /// while alice.poll_transmit(now, &mut buf).is_some() {}
    /// let (_, why) = alice.next_timer().unwrap();
    /// assert_eq!(why, Timer::Heartbeat);
    /// ```
    pub fn next_timer(&self) -> Option<(Instant, Timer)> {
        [
            self.receiver.next_timer(),
            self.sender.next_timer(&self.config),
            self.guard.next_timer().map(|at| (at, Timer::Handshake)),
        ]
        .into_iter()
        .flatten()
        .min_by_key(|(at, _)| *at)
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
    /// until it is forgotten to make room for another (when `max_senders`
    /// are tracked: one heard once or not believed real, else one silent
    /// for three `heartbeat_max`; docs/PROTOCOL.md §9.7). A node that only listens sends no heartbeat (nothing
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
    /// let mut buf = Vec::new();
    /// while alice.poll_transmit(now, &mut buf).is_some() {
    ///     bob.handle_datagram(now, from, &buf);
    /// }
    /// let peers = bob.peers(now + Duration::from_secs(2));
    /// assert_eq!(peers.len(), 1);
    /// assert_eq!((peers[0].id, peers[0].addr), (SenderId::new(1), from));
    /// assert_eq!(peers[0].since_heard, Duration::from_secs(2));
    /// assert_eq!((peers[0].lead.get(), peers[0].delivered), (1, 1));
    /// ```
    pub fn peers(&self, now: Instant) -> Vec<PeerInfo> {
        self.receiver.peers(now)
    }

    /// Queues an event for the application. A loss that continues the
    /// last one queued (same sender and reason) is merged into it.
    fn queue_event(&mut self, event: EndpointEvent) {
        if self.events.push(event) {
            self.stats.loss_reports += 1;
        }
    }

    /// Takes what the guard reported into the queue.
    fn drain_guard(&mut self) {
        while let Some(event) = self.guard.poll_event() {
            self.queue_event(event);
        }
    }

    /// After an input: takes the sub-parts' events (the guard's first: it
    /// saw the datagram first) and refreshes the gauges.
    fn settle(&mut self) {
        self.drain_guard();
        let losses = self.events.take_all(self.receiver.events_mut());
        self.stats.loss_reports += losses as u64;
        self.refresh_gauges();
    }

    fn refresh_gauges(&mut self) {
        let r = &self.receiver;
        self.stats.partial_messages = r.partial_messages() as u64;
        self.stats.partial_bytes = r.partial_bytes() as u64;
        self.stats.window_bytes = r.window_bytes() as u64;
        self.stats.senders = r.senders() as u64;
        self.stats.senders_remembered = r.remembered() as u64;
        self.stats.replay_senders = self.guard.replay_senders() as u64;
        self.stats.replay_senders_evicted = self.guard.replay_evicted();
        self.stats.held_messages = r.held() as u64;
        self.stats.recovery_bytes = r.recovery_bytes() as u64;
        self.stats.send_queue_bytes = self.sender.queue_bytes() as u64;
        self.stats.retransmit_store_bytes = self.sender.store_bytes() as u64;
        self.stats.send_rate = self.sender.rate();
        let (held, held_bytes) = self.guard.held();
        self.stats.handshake_held = held as u64;
        self.stats.handshake_held_bytes = held_bytes as u64;
    }
}

/// How a message's body was handed to the endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Handed {
    /// In one buffer (`emit_body`).
    Whole,
    /// In parts as it was written (`emit_body_start`).
    InParts,
    /// In pieces shared rather than copied (`emit_body_pieces`).
    Shared,
}
