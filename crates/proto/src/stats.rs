//! Counters of everything the endpoint did and everything it dropped.

/// What an [`Endpoint`](crate::Endpoint) has done since it was created.
///
/// Counters only grow; `partial_*` and `senders` are current values.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    /// Messages this node emitted to the group.
    pub messages_sent: u64,
    /// Datagrams this node handed out to send.
    pub datagrams_sent: u64,
    /// Bytes of those datagrams.
    pub bytes_sent: u64,
    /// Datagrams received, whatever became of them.
    pub datagrams_received: u64,
    /// Bytes of those datagrams.
    pub bytes_received: u64,
    /// This node's own datagrams heard back through multicast loopback and
    /// ignored (its own emits reach its listeners directly).
    pub own_datagrams: u64,
    /// Segments accepted into reassembly (single-segment messages included).
    pub segments_received: u64,
    /// Messages received complete and delivered.
    pub messages_received: u64,
    /// Partial messages being reassembled now.
    pub partial_messages: u64,
    /// Bytes those partial messages hold now, bookkeeping included.
    pub partial_bytes: u64,
    /// Senders whose state is tracked now.
    pub senders: u64,
    /// Senders forgotten to make room for new ones.
    pub senders_evicted: u64,
    /// Datagrams sealed (encrypted) before sending.
    pub datagrams_sealed: u64,
    /// Sealed datagrams received that were authenticated and fresh.
    pub datagrams_opened: u64,
    /// Datagrams not sent because the primary key had sealed as many as it
    /// may ([`SealLimits`](crate::crypto::SealLimits)).
    pub seal_refused: u64,
    /// Senders whose replay window is tracked now.
    pub replay_senders: u64,
    /// Replay windows forgotten to make room for new senders.
    pub replay_senders_evicted: u64,
    /// What was dropped, by reason.
    pub dropped: DropStats,
}

/// Datagrams and messages dropped, by reason. The last five are the
/// boundary's: they are counted before parsing, so a datagram dropped there
/// is counted in no other field.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct DropStats {
    /// Datagrams that are not eventcast's (wrong magic).
    pub not_eventcast: u64,
    /// Datagrams of another protocol version, the original Node.js
    /// eventcast's (0.1.x, version 3) included.
    pub unsupported_version: u64,
    /// Datagrams too short, with unknown frame types or flags, or with
    /// inconsistent headers.
    pub malformed: u64,
    /// Segments already held, or of a message already delivered or given up.
    pub duplicate: u64,
    /// Segments of messages too old for the sender's window.
    pub stale: u64,
    /// Datagrams declaring a message over `max_message_size`.
    pub message_too_large: u64,
    /// Segments refused because a memory or count budget was full.
    pub over_budget: u64,
    /// Partial messages given up after `message_ttl` without progress.
    pub expired: u64,
    /// Partial messages forgotten with their sender to make room, or slid
    /// out of the sender's window.
    pub abandoned: u64,
    /// Complete messages whose body was not a valid event (bad BSON, too
    /// deep, wrong shape).
    pub bad_body: u64,
    /// Unencrypted datagrams received while this node requires encryption.
    pub unencrypted: u64,
    /// Sealed datagrams whose key id names no key in the ring (or the node
    /// has no key).
    pub no_key: u64,
    /// Sealed datagrams that do not authenticate (wrong key, tampering,
    /// forgery).
    pub bad_tag: u64,
    /// Authenticated datagrams whose packet number was already seen.
    pub replayed: u64,
    /// Authenticated datagrams too old for the sender's replay window.
    pub too_old: u64,
}

impl DropStats {
    /// Every datagram or message dropped, for any reason.
    pub fn total(&self) -> u64 {
        self.not_eventcast
            + self.unsupported_version
            + self.malformed
            + self.duplicate
            + self.stale
            + self.message_too_large
            + self.over_budget
            + self.expired
            + self.abandoned
            + self.bad_body
            + self.unencrypted
            + self.no_key
            + self.bad_tag
            + self.replayed
            + self.too_old
    }
}
