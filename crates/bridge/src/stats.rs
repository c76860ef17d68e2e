//! What a bridge counts: every event and byte each way, and everything
//! that can go wrong, by reason.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};

/// A snapshot of a bridge's counters ([`Bridge::stats`](crate::Bridge::stats)).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct BridgeStats {
    /// LAN events published to NATS (each once, however many chunks).
    pub lan_to_nats_events: u64,
    /// Payload bytes of those events.
    pub lan_to_nats_bytes: u64,
    /// NATS messages emitted on the LAN as events.
    pub nats_to_lan_events: u64,
    /// Payload bytes of those messages.
    pub nats_to_lan_bytes: u64,
    /// Chunks published (events above the server's `max_payload`).
    pub chunks_sent: u64,
    /// Chunks received.
    pub chunks_received: u64,
    /// LAN events dropped because the outage buffer was full.
    pub dropped_buffer_full: u64,
    /// LAN events that could not be encoded, or whose encoding is larger
    /// than the most chunks allow.
    pub dropped_unencodable: u64,
    /// NATS messages whose payload could not be read (not JSON, not an
    /// array, not BSON, unknown `Content-Type`), or nested deeper than
    /// LAN receivers take (100 levels, with the body and its `args`).
    pub dropped_bad_payload: u64,
    /// NATS messages with malformed bridge headers (sequence, chunk, a
    /// bridge id longer than 64 bytes).
    pub dropped_bad_headers: u64,
    /// Events delivered whose sequence number was more than 2^20 from the
    /// last one delivered from their bridge, either way: events this
    /// bridge missed, or a forged number. Not taken as the bridge's place
    /// until the number just past it follows, so one forged number cannot
    /// make a bridge's later events duplicates. Not a drop.
    pub seq_jumps: u64,
    /// NATS messages already delivered (re-sent by a bridge after a
    /// reconnect, or chunks seen twice).
    pub dropped_duplicate: u64,
    /// This bridge's own messages (only if the server echoed them).
    pub dropped_own: u64,
    /// Chunked events dropped: reassembly budget full (a partial event is
    /// charged its declared size, a slot per chunk, its key and a fixed
    /// overhead), too many partial events at once (4,096), chunks
    /// inconsistent, or incomplete at the deadline. Refused events are
    /// remembered (up to 1,024 at once, within the 4,096 partial events) so
    /// that their later chunks are dropped uncounted; past that cap, this
    /// counts chunks, not events: each chunk of an event refused then is
    /// counted, as another event.
    pub dropped_reassembly: u64,
    /// NATS messages the LAN refused (larger than `max_message_size`, or
    /// the node stopped).
    pub dropped_emit_failed: u64,
    /// Messages skipped because another bridge bridges this LAN: its
    /// copies of this LAN's events coming back, this LAN's events that it
    /// emitted, and everything while this bridge stands by for it.
    pub dropped_other_bridge: u64,
    /// Messages the NATS client dropped because this bridge did not read
    /// them fast enough (its slow-consumer events).
    pub slow_consumer_events: u64,
    /// LAN events the node dropped because a subscription was full: the
    /// bridge's, or another on the same node
    /// ([`NodeStats::subscription_lagged`](eventcast::NodeStats)).
    pub lan_lagged: u64,
    /// Successful connections to a server after the first.
    pub reconnects: u64,
    /// Disconnections from the server.
    pub disconnects: u64,
    /// Events published again after a reconnect, because the server had
    /// not confirmed them (receiving bridges drop any they already had).
    pub resent: u64,
    /// Bytes waiting in the outage buffer, sent or not, not yet confirmed
    /// by the server.
    pub buffered_bytes: u64,
    /// Events waiting in the outage buffer.
    pub buffered_events: u64,
    /// Bytes reserved by partly received chunked events (declared sizes,
    /// slots, keys and overhead).
    pub reassembly_bytes: u64,
    /// Other bridges for the same prefix found on this LAN.
    pub other_bridges: u64,
    /// Other bridges' announcements, bridges found on this LAN or to
    /// report (each counted once), and LAN senders heard, that were not
    /// remembered: their table was full (4,096 announcing nodes, bridges
    /// alive or LAN senders, 256 bridges found on this LAN, 1,024 reported
    /// over the bridge's life) or an id was longer than 64 bytes. Forged
    /// announcements, or a deployment far larger than expected; a bridge
    /// not remembered may go undetected on this LAN.
    pub rivals_not_remembered: u64,
    /// Whether this bridge stands by because another bridge on its LAN
    /// (with a lower id) bridges it.
    pub standing_by: bool,
    /// Whether the NATS connection is up and the server holds the
    /// bridge's subscriptions (see [`Bridge::connected`](crate::Bridge::connected)).
    pub connected: bool,
}

/// The live counters behind [`BridgeStats`].
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) lan_to_nats_events: AtomicU64,
    pub(crate) lan_to_nats_bytes: AtomicU64,
    pub(crate) nats_to_lan_events: AtomicU64,
    pub(crate) nats_to_lan_bytes: AtomicU64,
    pub(crate) chunks_sent: AtomicU64,
    pub(crate) chunks_received: AtomicU64,
    pub(crate) dropped_buffer_full: AtomicU64,
    pub(crate) dropped_unencodable: AtomicU64,
    pub(crate) dropped_bad_payload: AtomicU64,
    pub(crate) dropped_bad_headers: AtomicU64,
    pub(crate) seq_jumps: AtomicU64,
    pub(crate) dropped_duplicate: AtomicU64,
    pub(crate) dropped_own: AtomicU64,
    pub(crate) dropped_reassembly: AtomicU64,
    pub(crate) dropped_emit_failed: AtomicU64,
    pub(crate) dropped_other_bridge: AtomicU64,
    pub(crate) slow_consumer_events: AtomicU64,
    pub(crate) connects: AtomicU64,
    pub(crate) disconnects: AtomicU64,
    pub(crate) resent: AtomicU64,
    pub(crate) buffered_bytes: AtomicU64,
    pub(crate) buffered_events: AtomicU64,
    pub(crate) reassembly_bytes: AtomicU64,
    pub(crate) other_bridges: AtomicU64,
    pub(crate) standing_by: AtomicBool,
    pub(crate) connected: AtomicBool,
}

/// Adds `n` to `counter`.
pub(crate) fn add(counter: &AtomicU64, n: u64) {
    counter.fetch_add(n, Relaxed);
}

impl Counters {
    pub(crate) fn snapshot(&self) -> BridgeStats {
        let get = |c: &AtomicU64| c.load(Relaxed);
        BridgeStats {
            lan_to_nats_events: get(&self.lan_to_nats_events),
            lan_to_nats_bytes: get(&self.lan_to_nats_bytes),
            nats_to_lan_events: get(&self.nats_to_lan_events),
            nats_to_lan_bytes: get(&self.nats_to_lan_bytes),
            chunks_sent: get(&self.chunks_sent),
            chunks_received: get(&self.chunks_received),
            dropped_buffer_full: get(&self.dropped_buffer_full),
            dropped_unencodable: get(&self.dropped_unencodable),
            dropped_bad_payload: get(&self.dropped_bad_payload),
            dropped_bad_headers: get(&self.dropped_bad_headers),
            seq_jumps: get(&self.seq_jumps),
            dropped_duplicate: get(&self.dropped_duplicate),
            dropped_own: get(&self.dropped_own),
            dropped_reassembly: get(&self.dropped_reassembly),
            dropped_emit_failed: get(&self.dropped_emit_failed),
            dropped_other_bridge: get(&self.dropped_other_bridge),
            slow_consumer_events: get(&self.slow_consumer_events),
            lan_lagged: 0,
            reconnects: get(&self.connects).saturating_sub(1),
            disconnects: get(&self.disconnects),
            resent: get(&self.resent),
            buffered_bytes: get(&self.buffered_bytes),
            buffered_events: get(&self.buffered_events),
            reassembly_bytes: get(&self.reassembly_bytes),
            other_bridges: get(&self.other_bridges),
            rivals_not_remembered: 0,
            standing_by: self.standing_by.load(Relaxed),
            connected: self.connected.load(Relaxed),
        }
    }
}

impl BridgeStats {
    /// Every event dropped, whatever the reason.
    pub fn dropped(&self) -> u64 {
        self.dropped_buffer_full
            + self.lan_lagged
            + self.dropped_unencodable
            + self.dropped_bad_payload
            + self.dropped_bad_headers
            + self.dropped_reassembly
            + self.dropped_emit_failed
    }
}
