//! The datagram boundary: every datagram that leaves the endpoint is sealed
//! here (when the ring has a primary key), and every datagram that arrives
//! is opened, authenticated and checked for replay here before anything
//! else of the endpoint sees it. Frame types are not looked at, so every
//! frame type, present or future, is protected alike; only the handshake's
//! challenges and answers are handled here (`fresh.rs`), and the datagrams
//! of senders not yet verified wait here for their answer.

use std::collections::{HashSet, VecDeque};
use std::net::SocketAddr;
use std::time::Instant;

use tracing::{debug, trace};

use super::challenger::Held;
use super::encryption::{Encryption, SealLimits};
use super::fresh::Freshness;
use super::keyring::Keyring;
use super::nonce::NonceSource;
use super::replay::{ReplayGuard, Verdict};
use super::seal;
use crate::datagram::Datagram;
use crate::ids::SenderId;
use crate::shared::{EndpointEvent, KeyLimit, ProtocolError, Unreadable};
use crate::stats::Stats;
use crate::wire::{
    FrameType, PacketNumber, SealedFrame, SealedHeader, MAGIC, NONCE_LEN, SEAL_OVERHEAD, VERSION,
};

/// Senders (or addresses) remembered so that each is reported once.
const MAX_REPORTS: usize = 256;

/// What became of an incoming datagram at the boundary.
pub(crate) enum Inbound {
    /// Not sealed, and let through as it is (no key, plaintext accepted, or
    /// not an eventcast version-1 datagram at all, which the parser drops).
    Plain,
    /// Sealed, authenticated and fresh: the inner datagram, in the guard's
    /// buffer, to be given back with [`Guard::give_back`].
    Opened(Opened),
    /// Dropped and counted here.
    Dropped,
}

/// An opened datagram: the guard's opening buffer, lent out with the inner
/// datagram in its first `len` bytes.
pub(crate) struct Opened {
    buf: Vec<u8>,
    len: usize,
}

impl Opened {
    /// The inner datagram.
    pub(crate) fn datagram(&self) -> &[u8] {
        self.buf.get(..self.len).unwrap_or_default()
    }
}

/// Whom an unreadable datagram is reported for.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
enum Reported {
    Sender(SenderId, Unreadable),
    Address(SocketAddr, Unreadable),
}

/// Sealing and opening state of one endpoint.
pub(crate) struct Guard {
    keyring: Keyring,
    nonces: Option<Box<dyn NonceSource>>,
    accept_plaintext: bool,
    limits: SealLimits,
    replay: ReplayGuard,
    /// The handshake against replays across restarts: with a key, always
    /// (a node that skips challenging still answers).
    fresh: Option<Freshness>,
    next_packet: u64,
    reported: HashSet<Reported>,
    /// What the guard reports (unreadable senders, a key nearing its
    /// limit), drained by the endpoint.
    events: VecDeque<EndpointEvent>,
    /// The buffer a datagram is sealed into, swapped with the caller's.
    scratch: Vec<u8>,
    /// The buffer datagrams are opened into (see `seal::open_into`): lent
    /// out with each one opened, given back after it has been handled.
    opening: Vec<u8>,
}

impl Guard {
    /// A guard for an endpoint without encryption: it seals nothing and
    /// opens nothing (sealed datagrams are counted as `no_key`).
    pub(crate) fn plaintext(max_senders: usize) -> Self {
        Self {
            keyring: Keyring::new(),
            nonces: None,
            accept_plaintext: true,
            limits: SealLimits::default(),
            replay: ReplayGuard::new(max_senders),
            fresh: None,
            next_packet: 0,
            reported: HashSet::new(),
            events: VecDeque::new(),
            scratch: Vec::new(),
            opening: Vec::new(),
        }
    }

    /// A guard that seals and opens with `encryption`, for the node `own`.
    pub(crate) fn new(encryption: Encryption, max_senders: usize, own: SenderId) -> Self {
        Self {
            fresh: Some(Freshness::new(
                own,
                encryption.handshake,
                max_senders,
                !encryption.skip_handshake,
            )),
            keyring: encryption.keyring,
            nonces: Some(encryption.nonces),
            accept_plaintext: encryption.danger_accept_plaintext,
            limits: encryption.limits,
            ..Self::plaintext(max_senders)
        }
    }

    /// The ring, if this endpoint can encrypt.
    pub(crate) fn keyring(&self) -> Option<&Keyring> {
        self.nonces.as_ref().map(|_| &self.keyring)
    }

    pub(crate) fn keyring_mut(&mut self) -> Option<&mut Keyring> {
        self.nonces.as_ref()?;
        Some(&mut self.keyring)
    }

    pub(crate) fn replay_senders(&self) -> usize {
        self.replay.senders()
    }

    pub(crate) fn replay_evicted(&self) -> u64 {
        self.replay.evicted()
    }

    /// Whether senders heard for the first time are challenged (the
    /// default): off while the endpoint does not receive other senders'
    /// events (see `Freshness::set_challenging`).
    pub(crate) fn set_challenging(&mut self, on: bool) {
        if let Some(fresh) = self.fresh.as_mut() {
            fresh.set_challenging(on);
        }
    }

    /// Retries of challenges and give-ups due at `now`.
    pub(crate) fn handle_timeout(&mut self, now: Instant, stats: &mut Stats) {
        if let Some(fresh) = self.fresh.as_mut() {
            fresh.handle_timeout(now, &mut self.replay, stats);
        }
    }

    /// When [`handle_timeout`](Self::handle_timeout) (or, for an answer,
    /// [`poll_control`](Self::poll_control)) is next due.
    pub(crate) fn next_timer(&self) -> Option<Instant> {
        self.fresh.as_ref()?.next_timer()
    }

    /// The next challenge or answer to send, before sealing.
    pub(crate) fn poll_control(&mut self, now: Instant, stats: &mut Stats) -> Option<Vec<u8>> {
        self.fresh
            .as_mut()?
            .poll_control(now, self.next_packet, stats)
    }

    /// The next held datagram its sender's answer let through: the inner
    /// datagram, to be handled as if it had just been opened.
    pub(crate) fn poll_released(&mut self) -> Option<(SocketAddr, Vec<u8>)> {
        self.fresh.as_mut()?.poll_released()
    }

    /// Datagrams held for an answer now, and their bytes.
    pub(crate) fn held(&self) -> (usize, usize) {
        self.fresh.as_ref().map_or((0, 0), Freshness::held)
    }

    /// The next event the guard reports.
    pub(crate) fn poll_event(&mut self) -> Option<EndpointEvent> {
        self.events.pop_front()
    }

    /// Seals the outgoing datagram `out` under the primary key, in place,
    /// or lets it go as it is (its tail not copied) when the ring has none.
    /// `false`: refused (the primary key has sealed as many datagrams as it
    /// safely can), counted.
    pub(crate) fn outbound(
        &mut self,
        now: Instant,
        out: &mut Datagram,
        own: SenderId,
        stats: &mut Stats,
    ) -> bool {
        let (Some(nonces), Some(entry)) = (self.nonces.as_mut(), self.keyring.primary_entry())
        else {
            return true;
        };
        if entry.sealed >= self.limits.refuse_at {
            stats.seal_refused += 1;
            debug!(key = %entry.key.fingerprint(), "datagram not sent: key used up");
            return false;
        }
        let mut nonce = [0u8; NONCE_LEN];
        if nonces.fill(&mut nonce).is_err() {
            stats.seal_refused += 1;
            debug!("datagram not sent: no nonce");
            return false;
        }
        let header = SealedHeader {
            key_id: entry.key.id(),
            sender: own,
            packet: PacketNumber::new(self.next_packet),
            nonce,
        };
        // Head and tail are copied once, into the sealed datagram.
        if !seal::seal_into(entry, &header, out.head(), out.tail(), &mut self.scratch) {
            stats.seal_refused += 1;
            return false;
        }
        out.swap_whole(&mut self.scratch);
        if let Some(fresh) = self.fresh.as_mut() {
            fresh.on_seal(now, self.next_packet);
        }
        self.next_packet += 1;
        entry.sealed += 1;
        stats.datagrams_sealed += 1;
        stats.bytes_sent += SEAL_OVERHEAD as u64;
        let sealed = entry.sealed;
        if sealed == self.limits.warn_at || sealed == self.limits.refuse_at {
            let fingerprint = entry.key.fingerprint();
            debug!(key = %fingerprint, sealed, "group key nearing its limit");
            self.events.push_back(EndpointEvent::KeyLimit(KeyLimit {
                fingerprint,
                sealed,
                refuse_at: self.limits.refuse_at,
            }));
        }
        true
    }

    /// Opens, authenticates and checks an incoming datagram; with the
    /// handshake, holds it while its sender is not verified.
    pub(crate) fn inbound(
        &mut self,
        now: Instant,
        from: SocketAddr,
        datagram: &[u8],
        own: SenderId,
        stats: &mut Stats,
    ) -> Inbound {
        let [m0, m1, version, ty, ..] = *datagram else {
            return Inbound::Plain;
        };
        if [m0, m1] != MAGIC || version != VERSION {
            return Inbound::Plain;
        }
        if FrameType::from_byte(ty) != Some(FrameType::Sealed) {
            if self.keyring.is_empty() || self.accept_plaintext {
                return Inbound::Plain;
            }
            let sender = datagram
                .get(5..13)
                .and_then(|b| <[u8; 8]>::try_from(b).ok())
                .map(|b| SenderId::new(u64::from_be_bytes(b)));
            if sender == Some(own) {
                // Our own, from before we had a key.
                stats.own_datagrams += 1;
                return Inbound::Dropped;
            }
            stats.dropped.unencrypted += 1;
            debug!(%from, ?sender, "unencrypted datagram dropped");
            self.report(from, sender, Unreadable::Unencrypted);
            return Inbound::Dropped;
        }
        let frame = match SealedFrame::parse(datagram) {
            Ok(frame) => frame,
            Err(e) => {
                stats.dropped.malformed += 1;
                debug!(%from, error = %e, "sealed datagram dropped");
                return Inbound::Dropped;
            }
        };
        let h = *frame.header();
        if h.sender == own {
            // Not opened: a forgery under our id is counted as our own and
            // dropped all the same, where checking the tag would cost an
            // AES pass on each of our own datagrams looped back
            // (docs/SECURITY.md).
            stats.own_datagrams += 1;
            return Inbound::Dropped;
        }
        if self.keyring.candidates(h.key_id).next().is_none() {
            stats.dropped.no_key += 1;
            debug!(%from, sender = %h.sender, key_id = %h.key_id, "sealed with a key not in the ring");
            self.report(from, Some(h.sender), Unreadable::UnknownKey);
            return Inbound::Dropped;
        }
        let opening = &mut self.opening;
        let opened = self
            .keyring
            .candidates(h.key_id)
            .find_map(|entry| seal::open_into(entry, &frame, opening));
        let Some(inner) = opened.and_then(|len| self.opening.get(..len)) else {
            stats.dropped.bad_tag += 1;
            debug!(%from, sender = %h.sender, key_id = %h.key_id, "authentication failed");
            self.report(from, Some(h.sender), Unreadable::BadTag);
            return Inbound::Dropped;
        };
        match self.replay.check(h.sender, h.packet) {
            Verdict::Fresh => {}
            Verdict::Replayed => {
                stats.dropped.replayed += 1;
                debug!(%from, sender = %h.sender, packet = %h.packet, "replayed datagram dropped");
                return Inbound::Dropped;
            }
            Verdict::TooOld => {
                stats.dropped.too_old += 1;
                debug!(%from, sender = %h.sender, packet = %h.packet, "datagram too old for the replay window");
                return Inbound::Dropped;
            }
        }
        if inner.get(3).and_then(|&b| FrameType::from_byte(b)) == Some(FrameType::Sealed) {
            stats.dropped.malformed += 1;
            debug!(%from, sender = %h.sender, "sealed frame inside a sealed frame dropped");
            return Inbound::Dropped;
        }
        stats.datagrams_opened += 1;
        trace!(%from, sender = %h.sender, packet = %h.packet, len = inner.len(), "datagram opened");
        if let (Some(fresh), Some(nonces)) = (self.fresh.as_mut(), self.nonces.as_deref_mut()) {
            let d = Held {
                from,
                packet: h.packet.get(),
                inner,
            };
            if !fresh.admit(now, h.sender, d, &mut self.replay, nonces, stats) {
                return Inbound::Dropped;
            }
        }
        let len = inner.len();
        Inbound::Opened(Opened {
            buf: std::mem::take(&mut self.opening),
            len,
        })
    }

    /// Takes back the buffer lent out with an opened datagram, for the
    /// next one (without it, the next datagram opened allocates anew).
    pub(crate) fn give_back(&mut self, opened: Opened) {
        self.opening = opened.buf;
    }

    /// Tells the application, once per sender (or source address when the
    /// datagram names no sender) and reason, that it sends what this node
    /// cannot read. At most [`MAX_REPORTS`] are remembered; past that,
    /// datagrams are only counted.
    fn report(&mut self, from: SocketAddr, sender: Option<SenderId>, reason: Unreadable) {
        let key = match sender {
            Some(s) => Reported::Sender(s, reason),
            None => Reported::Address(from, reason),
        };
        if self.reported.len() < MAX_REPORTS && self.reported.insert(key) {
            debug!(%from, ?sender, ?reason, "reported: a node sends what this node cannot read");
            self.events
                .push_back(EndpointEvent::ProtocolError(ProtocolError::Unreadable {
                    from,
                    sender,
                    reason,
                }));
        }
    }
}
