//! Segmentation as the original does it, and reassembly.
//!
//! A sender whose whole serialized message (`META_LEN`, meta, body; for an
//! encrypted message, the outer datagram holding the ciphertext) is longer
//! than its `maxPayloadSize` cuts those bytes into `maxPayloadSize` pieces.
//! Each piece becomes the body of a segment datagram whose meta carries a
//! new `seqId` shared by all the segments, `seq`, `seqLen`, `seqEnd` and the
//! sender's description. The receiver concatenates the pieces in `seq` order
//! and parses the result as one datagram again.
//!
//! The [`Reassembler`] keys partial messages by (sender id, `seqId`),
//! accepts pieces in any order, ignores duplicates, and is driven by `now`:
//! a partial message that gets no new piece for `message_ttl` is reported
//! as [`Timeout::Missing`] (so the caller can send a retransmission
//! request) up to `max_retransmit_attempts` times, then dropped as
//! [`Timeout::Expired`]. Pieces are buffered as they arrive, never
//! preallocated from a `seqLen` a datagram claims; every buffered byte plus
//! a fixed bookkeeping charge counts against `max_partial_bytes`.

use std::collections::{BTreeMap, BTreeSet};
use std::num::NonZeroUsize;
use std::slice::Chunks;
use std::time::{Duration, Instant};

use super::error::LegacyError;
use super::ids::{LegacyId, SeqId};
use super::meta::Meta;
use super::retx::RetxRequest;

/// Bytes charged for each buffered piece, on top of its length.
const SEGMENT_OVERHEAD: usize = 64;
/// Bytes charged for each partial message, on top of its key and host.
const PARTIAL_OVERHEAD: usize = 128;
/// A retransmission request lists at most this many missing indexes per
/// piece the partial message holds (the first ones, ascending). The
/// request goes by unicast to the `host:port` the pieces' meta names,
/// which anyone can forge, with a `seqLen` of up to
/// [`ReassemblyLimits::max_segments`]: unbounded, one forged piece of 190
/// bytes drew a request of 870 KB to the address it named. About 11 bytes
/// of request per index, so each piece (a datagram with a meta of over 130
/// bytes) draws less than its own size, plus the request's own meta.
pub const MAX_ASKED_PER_PIECE: usize = 8;
/// The longest sender id whose segmented messages are reassembled (the
/// original draws 16 hex digits), so remembered keys stay small.
pub const MAX_ID_LEN: usize = 256;

/// Cuts a whole serialized message into pieces of `max_payload_size` bytes
/// (the last one shorter), as the original does.
pub fn split(whole: &[u8], max_payload_size: NonZeroUsize) -> Chunks<'_, u8> {
    whole.chunks(max_payload_size.get())
}

/// Limits and timers of a [`Reassembler`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ReassemblyLimits {
    /// How long a partial message may go without a new piece before it is
    /// reported missing, and again before each further step (the
    /// original's `messageTtl`, default 3000 ms; at most
    /// [`MAX_DURATION`](crate::config::MAX_DURATION), longer is taken as that).
    pub message_ttl: Duration,
    /// How many times a partial message is reported missing before it is
    /// dropped (default 1: one request, then expiry one `message_ttl`
    /// later). Zero drops it at its first deadline.
    pub max_retransmit_attempts: u32,
    /// The largest reassembled message (default 16 MiB).
    pub max_message_size: usize,
    /// The largest `seqLen` accepted (default 65 536).
    pub max_segments: u32,
    /// Partial messages held at once, all senders together (default 1024).
    pub max_partial_messages: usize,
    /// Memory all partial messages may hold, bookkeeping included (default
    /// 64 MiB).
    pub max_partial_bytes: usize,
    /// Finished messages remembered, so that their late or retransmitted
    /// pieces are recognised as duplicates (default 4096).
    pub max_finished: usize,
}

impl Default for ReassemblyLimits {
    fn default() -> Self {
        Self {
            message_ttl: Duration::from_millis(3000),
            max_retransmit_attempts: 1,
            max_message_size: 16 * 1024 * 1024,
            max_segments: 65_536,
            max_partial_messages: 1024,
            max_partial_bytes: 64 * 1024 * 1024,
            max_finished: 4096,
        }
    }
}

impl ReassemblyLimits {
    /// `message_ttl`, at most [`MAX_DURATION`](crate::config::MAX_DURATION):
    /// deadlines are the time now plus it (and retention a few times it),
    /// which must not overflow.
    fn ttl(&self) -> Duration {
        self.message_ttl.min(crate::config::MAX_DURATION)
    }

    /// How long a finished message is remembered: long enough for every
    /// retransmission it may have asked for.
    pub(crate) fn retention(&self) -> Duration {
        self.ttl()
            .saturating_mul(self.max_retransmit_attempts.saturating_add(2))
    }
}

/// A partial message's identity: its sender and its `seqId`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MessageKey {
    /// The sender's id, from the segments' metas.
    pub sender: LegacyId,
    /// The segments' `seqId`.
    pub seq_id: SeqId,
}

/// What became of one piece.
#[derive(Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SegmentOutcome {
    /// The message is complete: here are its bytes, to parse as a datagram.
    Complete(Vec<u8>),
    /// Buffered; the message is not complete yet.
    Buffered,
    /// A piece already held, or of a message already finished: ignored.
    Duplicate,
}

/// What a deadline brought.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Timeout {
    /// A partial message stalled: ask its sender for the missing pieces.
    Missing(MissingSegments),
    /// A partial message was dropped incomplete.
    Expired {
        /// Which message.
        key: MessageKey,
        /// Pieces it had.
        received: u32,
        /// Pieces it needed.
        seq_len: u32,
    },
}

/// A stalled partial message and what it lacks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MissingSegments {
    /// Which message.
    pub key: MessageKey,
    /// The sender's unicast host, from the first piece's meta.
    pub host: String,
    /// The sender's UDP port, from the first piece's meta.
    pub port: u16,
    /// The indexes not received, ascending: the first ones, at most
    /// [`MAX_ASKED_PER_PIECE`] per piece received.
    pub missing: Vec<u32>,
    /// 1 for the first report of this message, 2 for the second, ...
    pub attempt: u32,
}

impl MissingSegments {
    /// The retransmission request for these segments, with `id`, `host` and
    /// `port` those of the sender being asked, as in the capture. Send it by
    /// unicast to `host:port`.
    pub fn request(&self) -> RetxRequest {
        RetxRequest {
            id: self.key.sender.clone(),
            seq_id: self.key.seq_id.clone(),
            missed_seq: self.missing.clone(),
            host: self.host.clone(),
            port: self.port,
        }
    }
}

struct Partial {
    seq_len: u32,
    pieces: BTreeMap<u32, Vec<u8>>,
    /// Bytes of the pieces alone.
    len: usize,
    /// Bytes charged against `max_partial_bytes`.
    charged: usize,
    host: String,
    port: u16,
    deadline: Instant,
    attempts: u32,
}

impl Partial {
    /// The missing indexes, ascending, at most [`MAX_ASKED_PER_PIECE`] per
    /// piece held.
    fn missing(&self) -> Vec<u32> {
        (0..self.seq_len)
            .filter(|i| !self.pieces.contains_key(i))
            .take(self.pieces.len().saturating_mul(MAX_ASKED_PER_PIECE))
            .collect()
    }
}

/// Keys remembered for a while, oldest dropped first when full.
pub(crate) struct Recent {
    expiry: BTreeMap<MessageKey, Instant>,
    order: BTreeSet<(Instant, MessageKey)>,
    max: usize,
    retention: Duration,
}

impl Recent {
    pub(crate) fn new(max: usize, retention: Duration) -> Self {
        Self {
            expiry: BTreeMap::new(),
            order: BTreeSet::new(),
            max,
            retention,
        }
    }

    /// Whether `key` is remembered (and not past its time).
    pub(crate) fn contains(&self, now: Instant, key: &MessageKey) -> bool {
        self.expiry.get(key).is_some_and(|&t| t > now)
    }

    /// Remembers `key` until `now + retention`.
    pub(crate) fn insert(&mut self, now: Instant, key: MessageKey) {
        self.prune(now);
        if self.max == 0 {
            return;
        }
        if let Some(old) = self.expiry.remove(&key) {
            self.order.remove(&(old, key.clone()));
        }
        while self.expiry.len() >= self.max {
            let Some((_, oldest)) = self.order.pop_first() else {
                break;
            };
            self.expiry.remove(&oldest);
        }
        let until = now + self.retention;
        self.order.insert((until, key.clone()));
        self.expiry.insert(key, until);
    }

    fn prune(&mut self, now: Instant) {
        while let Some((t, _)) = self.order.first() {
            if *t > now {
                break;
            }
            if let Some((_, key)) = self.order.pop_first() {
                self.expiry.remove(&key);
            }
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.expiry.len()
    }
}

/// Partial messages of every sender, within limits, with their deadlines.
pub struct Reassembler {
    limits: ReassemblyLimits,
    partials: BTreeMap<MessageKey, Partial>,
    deadlines: BTreeSet<(Instant, MessageKey)>,
    finished: Recent,
    bytes: usize,
}

impl Reassembler {
    /// An empty reassembler.
    pub fn new(limits: ReassemblyLimits) -> Self {
        let finished = Recent::new(limits.max_finished, limits.retention());
        Self {
            limits,
            partials: BTreeMap::new(),
            deadlines: BTreeSet::new(),
            finished,
            bytes: 0,
        }
    }

    /// The limits in force.
    pub fn limits(&self) -> &ReassemblyLimits {
        &self.limits
    }

    /// Feeds one segment: its meta (which must be plain, with `seqLen` of
    /// at least 2) and its body, the piece. Errors mean the piece was
    /// dropped: it contradicts earlier pieces or breaks a limit.
    pub fn insert(
        &mut self,
        now: Instant,
        meta: &Meta,
        piece: &[u8],
    ) -> Result<SegmentOutcome, LegacyError> {
        let origin = meta
            .origin()
            .ok_or(LegacyError::Inconsistent("segment with an encrypted meta"))?;
        if meta.seq_len() < 2 {
            return Err(LegacyError::Inconsistent("not a segment (seqLen 1)"));
        }
        if meta.seq_len() > self.limits.max_segments {
            return Err(LegacyError::OverLimit("seqLen above max_segments"));
        }
        if origin.id.as_str().len() > MAX_ID_LEN {
            return Err(LegacyError::OverLimit("sender id longer than MAX_ID_LEN"));
        }
        let key = MessageKey {
            sender: origin.id.clone(),
            seq_id: meta.seq_id().clone(),
        };
        if self.finished.contains(now, &key) {
            return Ok(SegmentOutcome::Duplicate);
        }
        let seq = meta.seq();
        let charge = piece.len() + SEGMENT_OVERHEAD;
        let deadline = now + self.limits.ttl();
        match self.partials.get_mut(&key) {
            Some(p) => {
                if p.seq_len != meta.seq_len() {
                    return Err(LegacyError::Inconsistent("seqLen differs between segments"));
                }
                if p.pieces.contains_key(&seq) {
                    return Ok(SegmentOutcome::Duplicate);
                }
                if p.len + piece.len() > self.limits.max_message_size {
                    self.abandon(now, &key);
                    return Err(LegacyError::OverLimit("message above max_message_size"));
                }
                if self.bytes + charge > self.limits.max_partial_bytes {
                    return Err(LegacyError::OverLimit("max_partial_bytes"));
                }
                self.deadlines.remove(&(p.deadline, key.clone()));
                p.pieces.insert(seq, piece.to_vec());
                p.len += piece.len();
                p.charged += charge;
                p.deadline = deadline;
                self.bytes += charge;
            }
            None => {
                if self.partials.len() >= self.limits.max_partial_messages {
                    return Err(LegacyError::OverLimit("max_partial_messages"));
                }
                if piece.len() > self.limits.max_message_size {
                    return Err(LegacyError::OverLimit("message above max_message_size"));
                }
                let charge = charge
                    + PARTIAL_OVERHEAD
                    + key.sender.as_str().len()
                    + key.seq_id.as_str().len()
                    + origin.host.len();
                if self.bytes + charge > self.limits.max_partial_bytes {
                    return Err(LegacyError::OverLimit("max_partial_bytes"));
                }
                self.partials.insert(
                    key.clone(),
                    Partial {
                        seq_len: meta.seq_len(),
                        pieces: BTreeMap::from([(seq, piece.to_vec())]),
                        len: piece.len(),
                        charged: charge,
                        host: origin.host.clone(),
                        port: origin.port,
                        deadline,
                        attempts: 0,
                    },
                );
                self.bytes += charge;
            }
        }
        let complete = self
            .partials
            .get(&key)
            .is_some_and(|p| p.pieces.len() as u64 == u64::from(p.seq_len));
        if !complete {
            self.deadlines.insert((deadline, key));
            return Ok(SegmentOutcome::Buffered);
        }
        let Some(done) = self.remove(&key) else {
            return Ok(SegmentOutcome::Buffered);
        };
        self.finished.insert(now, key);
        let mut whole = Vec::with_capacity(done.len);
        for piece in done.pieces.into_values() {
            whole.extend_from_slice(&piece);
        }
        Ok(SegmentOutcome::Complete(whole))
    }

    /// The indexes a partial message still lacks (the first ones, at most
    /// [`MAX_ASKED_PER_PIECE`] per piece it holds), or `None` if it is not
    /// being reassembled.
    pub fn missing(&self, key: &MessageKey) -> Option<Vec<u32>> {
        self.partials.get(key).map(Partial::missing)
    }

    /// Handles every deadline at or before `now`.
    pub fn handle_timeout(&mut self, now: Instant) -> Vec<Timeout> {
        let mut out = Vec::new();
        while let Some((deadline, _)) = self.deadlines.first() {
            if *deadline > now {
                break;
            }
            let Some((_, key)) = self.deadlines.pop_first() else {
                break;
            };
            let Some(p) = self.partials.get_mut(&key) else {
                continue;
            };
            if p.attempts < self.limits.max_retransmit_attempts {
                p.attempts += 1;
                p.deadline = now + self.limits.ttl();
                out.push(Timeout::Missing(MissingSegments {
                    key: key.clone(),
                    host: p.host.clone(),
                    port: p.port,
                    missing: p.missing(),
                    attempt: p.attempts,
                }));
                self.deadlines.insert((p.deadline, key));
            } else {
                let (received, seq_len) = (p.pieces.len() as u32, p.seq_len);
                self.abandon(now, &key);
                out.push(Timeout::Expired {
                    key,
                    received,
                    seq_len,
                });
            }
        }
        out
    }

    /// When [`handle_timeout`](Self::handle_timeout) should next be called.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.deadlines.first().map(|(t, _)| *t)
    }

    /// Partial messages held now.
    pub fn partial_messages(&self) -> usize {
        self.partials.len()
    }

    /// Bytes held now, bookkeeping included.
    pub fn partial_bytes(&self) -> usize {
        self.bytes
    }

    /// Finished messages remembered now.
    pub fn finished_messages(&self) -> usize {
        self.finished.len()
    }

    fn remove(&mut self, key: &MessageKey) -> Option<Partial> {
        let p = self.partials.remove(key)?;
        self.deadlines.remove(&(p.deadline, key.clone()));
        self.bytes -= p.charged;
        Some(p)
    }

    /// Drops a partial message and remembers it as finished, so its other
    /// pieces are ignored rather than starting it again.
    fn abandon(&mut self, now: Instant, key: &MessageKey) {
        if self.remove(key).is_some() {
            self.finished.insert(now, key.clone());
        }
    }
}

#[cfg(test)]
mod tests;
