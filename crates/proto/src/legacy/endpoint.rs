//! One legacy node's protocol state: the [`Encoder`], the [`Decoder`], the
//! [`SentStore`] and the retransmission exchange, as a state machine
//! without I/O, driven like the native [`Endpoint`](crate::Endpoint).

use std::collections::{HashSet, VecDeque};
use std::net::SocketAddr;
use std::num::NonZeroUsize;
use std::time::{Duration, Instant};

use bson::{Bson, DateTime};
use tracing::{debug, trace};

use super::body::EventBody;
use super::codec::{Decoder, Encoder, Incoming, LegacyEvent, LegacyIdentity};
use super::crypto::InsecureLegacyCipher;
use super::error::{EncodeError, LegacyError, DEFAULT_MAX_PAYLOAD_SIZE, PROTOCOL_VERSION};
use super::ids::LegacyId;
use super::meta::Origin;
use super::retx::RetxRequest;
use super::segment::{ReassemblyLimits, Timeout};
use super::stats::LegacyStats;
use super::store::SentStore;
use crate::ids::SenderId;
use crate::wire::MAGIC;

/// Source addresses (with the kind of problem) remembered so that a problem
/// is reported once per source rather than once per datagram.
const MAX_PROBLEM_REPORTS: usize = 256;

/// Settings of a [`LegacyEndpoint`].
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct LegacyEndpointConfig {
    /// What every plain meta says about this node.
    pub identity: LegacyIdentity,
    /// The original's `maxPayloadSize`: bytes of the serialized message per
    /// segment (default 1024).
    pub max_payload_size: NonZeroUsize,
    /// Reassembly limits and timers (`message_ttl`,
    /// `max_retransmit_attempts`).
    pub limits: ReassemblyLimits,
    /// The original's weak encryption, or none (the default).
    pub insecure_cipher: Option<InsecureLegacyCipher>,
    /// Seed of the generator of `seqId`s and `nonce`s.
    pub rng_seed: [u8; 32],
    /// How long sent segmented messages are kept for retransmission
    /// (default: ten times `message_ttl`, as the original; at most
    /// [`MAX_DURATION`](crate::config::MAX_DURATION), longer is taken as that).
    pub sent_retention: Duration,
    /// Memory those kept messages may hold (default 64 MiB; the oldest
    /// make room, a larger message is not kept).
    pub sent_max_bytes: usize,
    /// How many times each kept message may have its segment count sent
    /// again, all requests together (default 4), so that forged requests
    /// cannot turn the node into an amplifier.
    pub resends_per_segment: usize,
}

impl LegacyEndpointConfig {
    /// The defaults for a node described by `identity`.
    pub fn new(identity: LegacyIdentity, rng_seed: [u8; 32]) -> Self {
        let limits = ReassemblyLimits::default();
        Self {
            identity,
            max_payload_size: NonZeroUsize::new(DEFAULT_MAX_PAYLOAD_SIZE)
                .unwrap_or(NonZeroUsize::MIN),
            sent_retention: limits.message_ttl.saturating_mul(10),
            limits,
            insecure_cipher: None,
            rng_seed,
            sent_max_bytes: 64 * 1024 * 1024,
            resends_per_segment: 4,
        }
    }
}

/// Where a datagram goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum LegacyDestination {
    /// The multicast group.
    Group,
    /// One node, by unicast: a retransmission request, or segments sent
    /// again in answer to one.
    Unicast(SocketAddr),
}

/// A datagram for the driver to send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LegacyTransmit {
    /// Where to.
    pub destination: LegacyDestination,
    /// The whole datagram.
    pub contents: Vec<u8>,
}

/// A complete event received from a legacy node.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct LegacyReceived {
    /// The sender's id as this crate's [`SenderId`]
    /// ([`LegacyId::sender_id`]).
    pub sender: SenderId,
    /// The address the completing datagram came from.
    pub from: SocketAddr,
    /// The event, with the sender's meta.
    pub event: LegacyEvent,
}

/// A problem with another node, reported to the application once per
/// source address and kind.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LegacyProblem {
    /// A node speaking eventcast's native protocol is on the group.
    #[error(
        "{from} speaks eventcast's native protocol; this node speaks the 0.1.x \
         protocol (version {PROTOCOL_VERSION})"
    )]
    NativeProtocol {
        /// Where it came from.
        from: SocketAddr,
    },
    /// A node sends another legacy version (the original's `EPRVERSION`).
    #[error("{from} sends legacy protocol version {version}; this node speaks {PROTOCOL_VERSION}")]
    UnsupportedVersion {
        /// Where it came from.
        from: SocketAddr,
        /// Its `v`.
        version: i32,
    },
    /// A node's messages cannot be read with this node's key, or lack of one.
    #[error("{from}: {error}")]
    Encryption {
        /// Where it came from.
        from: SocketAddr,
        /// [`LegacyError::Decrypt`], [`LegacyError::EncryptedWithoutKey`] or
        /// [`LegacyError::UnencryptedWithKey`].
        error: LegacyError,
    },
}

/// Something the application should hear about.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum LegacyEndpointEvent {
    /// A complete event from another node.
    Event(LegacyReceived),
    /// A node this one cannot understand.
    Problem(LegacyProblem),
}

/// One node speaking eventcast 0.1.2's protocol.
///
/// Like the native [`Endpoint`](crate::Endpoint) it performs no I/O and
/// reads no clock: `now` (monotonic, for timers) and `wall` (the calendar
/// time written into metas) are parameters. Drive it like this:
///
/// 1. feed it inputs: [`handle_datagram`](Self::handle_datagram) for every
///    datagram received (multicast or unicast), [`emit`](Self::emit) for
///    every event to send, and [`handle_timeout`](Self::handle_timeout)
///    when [`poll_timeout`](Self::poll_timeout) has passed;
/// 2. after every input, drain every output: send each
///    [`poll_transmit`](Self::poll_transmit) datagram to its destination,
///    deliver each [`poll_event`](Self::poll_event), re-arm the timer.
///
/// Retransmission as the original does it: a partial message that gets no
/// new segment for `message_ttl` makes the node send an `__ec_retx` request
/// by unicast to the segments' `host:port`, up to `max_retransmit_attempts`
/// times, then it is dropped; a request naming this node's `id` is answered
/// by unicast, to the requester's meta `host:port`, with the kept segments.
///
/// Bad input from the network is never an error: it is dropped, counted in
/// [`stats`](Self::stats) and logged at debug level.
pub struct LegacyEndpoint {
    id: LegacyId,
    encoder: Encoder,
    decoder: Decoder,
    store: SentStore,
    transmits: VecDeque<LegacyTransmit>,
    events: VecDeque<LegacyEndpointEvent>,
    reported: HashSet<(SocketAddr, u8)>,
    stats: LegacyStats,
}

impl LegacyEndpoint {
    /// A new endpoint.
    pub fn new(config: LegacyEndpointConfig) -> Self {
        let id = config.identity.id.clone();
        let mut encoder = Encoder::new(config.identity, config.max_payload_size, config.rng_seed);
        let mut decoder = Decoder::new(id.clone(), config.limits);
        if let Some(cipher) = config.insecure_cipher {
            encoder = encoder.with_insecure_cipher(cipher.clone());
            decoder = decoder.with_insecure_cipher(cipher);
        }
        Self {
            id,
            encoder,
            decoder,
            // As `ReassemblyLimits::ttl` does with message_ttl: expiries
            // are the time now plus this.
            store: SentStore::new(
                config.sent_retention.min(crate::config::MAX_DURATION),
                config.sent_max_bytes,
                config.resends_per_segment,
            ),
            transmits: VecDeque::new(),
            events: VecDeque::new(),
            reported: HashSet::new(),
            stats: LegacyStats::default(),
        }
    }

    /// This node's `id`.
    pub fn id(&self) -> &LegacyId {
        &self.id
    }

    /// Encodes an event and queues its datagrams for the group; a segmented
    /// one is kept for retransmission. Fails, queueing nothing, if it cannot
    /// be encoded (the name `__ec_retx`, a meta over 64 KiB, a datagram
    /// over UDP's limit).
    pub fn emit(
        &mut self,
        now: Instant,
        wall: DateTime,
        name: &str,
        args: &[Bson],
    ) -> Result<(), EncodeError> {
        self.emit_body(now, wall, name, &EventBody::encode(args)?)
    }

    /// Like [`emit`](Self::emit), with the arguments encoded already (by
    /// whoever took the event, so that a refusal reaches them at once).
    pub fn emit_body(
        &mut self,
        now: Instant,
        wall: DateTime,
        name: &str,
        body: &EventBody,
    ) -> Result<(), EncodeError> {
        let encoded = self.encoder.encode_event_body(wall, name, body)?;
        self.store.insert(now, &encoded);
        self.stats.messages_sent += 1;
        for contents in encoded.datagrams {
            self.transmit(LegacyDestination::Group, contents);
        }
        Ok(())
    }

    /// Tells the endpoint whether its node receives other nodes' events
    /// (the default). A node that only sends turns it off: other nodes'
    /// events and segments are then dropped unread (`dropped.not_receiving`)
    /// and the partial messages held are forgotten, so that it holds none
    /// and asks for no retransmission; it still reads the `__ec_retx`
    /// requests and answers those addressed to it.
    pub fn set_receiving(&mut self, receiving: bool) {
        self.decoder.set_receiving(receiving);
        self.gauges();
    }

    /// Whether the endpoint receives other nodes' events.
    pub fn is_receiving(&self) -> bool {
        self.decoder.is_receiving()
    }

    /// Handles one datagram received from `from`.
    pub fn handle_datagram(&mut self, now: Instant, from: SocketAddr, datagram: &[u8]) {
        self.stats.datagrams_received += 1;
        self.stats.bytes_received += datagram.len() as u64;
        match self.decoder.decode(now, datagram) {
            Ok(Incoming::Event(event)) => {
                self.stats.segments_received += 1;
                self.stats.messages_received += 1;
                if !event.origin.id.is_canonical() {
                    self.stats.hashed_sender_ids += 1;
                }
                let sender = event.origin.id.sender_id();
                trace!(target: "eventcast", %from, name = event.name(), "legacy event");
                self.events
                    .push_back(LegacyEndpointEvent::Event(LegacyReceived {
                        sender,
                        from,
                        event,
                    }));
            }
            Ok(Incoming::Retx {
                from: origin,
                request,
            }) => {
                self.stats.segments_received += 1;
                self.answer(from, &origin, &request);
            }
            Ok(Incoming::Buffered) => self.stats.segments_received += 1,
            Ok(Incoming::Duplicate) => self.stats.dropped.duplicate += 1,
            Ok(Incoming::Own) => self.stats.own_datagrams += 1,
            Ok(Incoming::NotReceiving) => self.stats.dropped.not_receiving += 1,
            Err(error) => self.dropped(from, datagram, error),
        }
        self.gauges();
    }

    /// Handles every deadline at or before `now`: sends retransmission
    /// requests for stalled messages (their metas carry `wall`), drops
    /// those that stalled too often, forgets old sent messages.
    pub fn handle_timeout(&mut self, now: Instant, wall: DateTime) {
        self.store.handle_timeout(now);
        for timeout in self.decoder.handle_timeout(now) {
            match timeout {
                Timeout::Missing(m) => {
                    let Some(to) = unicast_addr(&m.host, m.port) else {
                        self.stats.dropped.retx_unaddressable += 1;
                        debug!(
                            target: "eventcast", host = m.host, port = m.port,
                            "legacy: cannot ask for missing segments: host is not an IP address"
                        );
                        continue;
                    };
                    match self.encoder.encode_retx(wall, &m.request()) {
                        Ok(encoded) => {
                            debug!(
                                target: "eventcast", %to, seq_id = %m.key.seq_id,
                                missing = m.missing.len(), attempt = m.attempt,
                                "legacy: asking for missing segments"
                            );
                            self.stats.retx_requests_sent += 1;
                            for contents in encoded.datagrams {
                                self.transmit(LegacyDestination::Unicast(to), contents);
                            }
                        }
                        Err(error) => {
                            debug!(target: "eventcast", %error, "legacy: cannot encode a request");
                        }
                    }
                }
                Timeout::Expired {
                    key,
                    received,
                    seq_len,
                } => {
                    self.stats.dropped.expired += 1;
                    debug!(
                        target: "eventcast", sender = %key.sender, seq_id = %key.seq_id,
                        received, seq_len, "legacy: partial message expired"
                    );
                }
            }
        }
        self.gauges();
    }

    /// When [`handle_timeout`](Self::handle_timeout) should next be called.
    pub fn poll_timeout(&self) -> Option<Instant> {
        match (self.decoder.poll_timeout(), self.store.poll_timeout()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// The next datagram to send.
    pub fn poll_transmit(&mut self) -> Option<LegacyTransmit> {
        self.transmits.pop_front()
    }

    /// The next event or problem for the application.
    pub fn poll_event(&mut self) -> Option<LegacyEndpointEvent> {
        self.events.pop_front()
    }

    /// The counters.
    pub fn stats(&self) -> LegacyStats {
        self.stats
    }

    fn transmit(&mut self, destination: LegacyDestination, contents: Vec<u8>) {
        self.stats.datagrams_sent += 1;
        self.stats.bytes_sent += contents.len() as u64;
        self.transmits.push_back(LegacyTransmit {
            destination,
            contents,
        });
    }

    /// Answers a retransmission request that came from `from` with meta
    /// `origin`.
    fn answer(&mut self, from: SocketAddr, origin: &Origin, request: &RetxRequest) {
        self.stats.retx_requests_received += 1;
        if request.id != self.id {
            self.stats.dropped.retx_not_ours += 1;
            debug!(target: "eventcast", %from, asked = %request.id, "legacy: request for another node");
            return;
        }
        let again = self.store.resend(request);
        if again.is_empty() {
            self.stats.dropped.retx_unanswerable += 1;
            debug!(
                target: "eventcast", %from, seq_id = %request.seq_id,
                "legacy: request for a message no longer kept (or over its resend budget)"
            );
            return;
        }
        // Where the original answers: the requester's own description; its
        // source address when that is not an IP address.
        let to = origin.unicast_addr().unwrap_or(from);
        debug!(
            target: "eventcast", %to, seq_id = %request.seq_id, segments = again.len(),
            "legacy: sending segments again"
        );
        self.stats.retx_segments_resent += again.len() as u64;
        for contents in again {
            self.transmit(LegacyDestination::Unicast(to), contents);
        }
    }

    /// Counts a dropped datagram and reports its sender if it is a node
    /// this one cannot understand.
    fn dropped(&mut self, from: SocketAddr, datagram: &[u8], error: LegacyError) {
        let d = &mut self.stats.dropped;
        let problem = match &error {
            _ if datagram.starts_with(&MAGIC) => {
                d.native += 1;
                Some(LegacyProblem::NativeProtocol { from })
            }
            LegacyError::UnsupportedVersion { version } => {
                d.unsupported_version += 1;
                Some(LegacyProblem::UnsupportedVersion {
                    from,
                    version: *version,
                })
            }
            LegacyError::OverLimit(_) => {
                d.over_limit += 1;
                None
            }
            LegacyError::Decrypt => {
                d.decrypt_failed += 1;
                Some(LegacyProblem::Encryption {
                    from,
                    error: error.clone(),
                })
            }
            LegacyError::EncryptedWithoutKey => {
                d.encrypted_without_key += 1;
                Some(LegacyProblem::Encryption {
                    from,
                    error: error.clone(),
                })
            }
            LegacyError::UnencryptedWithKey => {
                d.unencrypted_with_key += 1;
                Some(LegacyProblem::Encryption {
                    from,
                    error: error.clone(),
                })
            }
            _ => {
                d.malformed += 1;
                None
            }
        };
        debug!(target: "eventcast", %from, len = datagram.len(), %error, "legacy datagram dropped");
        if let Some(problem) = problem {
            let kind = match &problem {
                LegacyProblem::NativeProtocol { .. } => 0,
                LegacyProblem::UnsupportedVersion { .. } => 1,
                _ => 2,
            };
            if self.reported.len() < MAX_PROBLEM_REPORTS && self.reported.insert((from, kind)) {
                self.events.push_back(LegacyEndpointEvent::Problem(problem));
            }
        }
    }

    fn gauges(&mut self) {
        let r = self.decoder.reassembler();
        self.stats.partial_messages = r.partial_messages() as u64;
        self.stats.partial_bytes = r.partial_bytes() as u64;
        self.stats.kept_messages = self.store.len() as u64;
        self.stats.kept_bytes = self.store.bytes() as u64;
    }
}

/// `host:port` when `host` is an IP address (the original writes its
/// interface address there).
fn unicast_addr(host: &str, port: u16) -> Option<SocketAddr> {
    host.parse().ok().map(|ip| SocketAddr::new(ip, port))
}

#[cfg(test)]
mod tests;
