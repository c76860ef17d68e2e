//! Counters of a [`LegacyEndpoint`](super::LegacyEndpoint).

use crate::stats::{DropStats, Stats};

/// What a legacy endpoint has done since it was created.
///
/// Counters only grow; `partial_*` and `kept_*` are current values.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct LegacyStats {
    /// Events this node emitted to the group.
    pub messages_sent: u64,
    /// Datagrams handed out to send: segments, whole messages,
    /// retransmission requests and retransmitted segments.
    pub datagrams_sent: u64,
    /// Bytes of those datagrams.
    pub bytes_sent: u64,
    /// Datagrams received, whatever became of them.
    pub datagrams_received: u64,
    /// Bytes of those datagrams.
    pub bytes_received: u64,
    /// This node's own datagrams heard back (same `id`) and ignored.
    pub own_datagrams: u64,
    /// Datagrams accepted: segments buffered, and the datagrams that
    /// completed a message (an unsegmented message is one).
    pub segments_received: u64,
    /// Events received complete and delivered.
    pub messages_received: u64,
    /// Of those, events whose sender `id` is not 16 hex digits, so that
    /// their [`SenderId`](crate::SenderId) is a hash of it
    /// ([`LegacyId::sender_id`](super::LegacyId::sender_id)).
    pub hashed_sender_ids: u64,
    /// `__ec_retx` requests this node sent for stalled messages.
    pub retx_requests_sent: u64,
    /// `__ec_retx` requests received.
    pub retx_requests_received: u64,
    /// Segments sent again in answer to requests.
    pub retx_segments_resent: u64,
    /// Partial messages being reassembled now.
    pub partial_messages: u64,
    /// Bytes they hold now, bookkeeping included.
    pub partial_bytes: u64,
    /// Segmented messages this node sent and keeps for retransmission now.
    pub kept_messages: u64,
    /// Bytes they hold now, bookkeeping included.
    pub kept_bytes: u64,
    /// What was dropped or refused, by reason.
    pub dropped: LegacyDropStats,
}

/// Legacy datagrams, messages and requests dropped, by reason.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct LegacyDropStats {
    /// Datagrams of eventcast's native protocol (they start with its magic
    /// bytes): a native node on the same group.
    pub native: u64,
    /// Datagrams that are not well-formed legacy datagrams: truncated, bad
    /// BSON, a meta field missing, twice or of the wrong type, inconsistent
    /// segment fields, a body nested too deep or of the wrong shape.
    pub malformed: u64,
    /// Metas whose `v` is not 3.
    pub unsupported_version: u64,
    /// Segments already held, or of a message already delivered or given
    /// up; whole messages already delivered.
    pub duplicate: u64,
    /// Segments refused because a reassembly limit would be broken
    /// (message size, segment count, partial messages, memory).
    pub over_limit: u64,
    /// Encrypted messages that did not decrypt (bad length or padding:
    /// usually another key).
    pub decrypt_failed: u64,
    /// Encrypted messages, and this node has no key.
    pub encrypted_without_key: u64,
    /// Unencrypted messages, and this node has a key.
    pub unencrypted_with_key: u64,
    /// Partial messages given up after their retransmission requests went
    /// unanswered (`max_retransmit_attempts` requests, a `message_ttl`
    /// each).
    pub expired: u64,
    /// Retransmission requests naming another node's `id` (a unicast
    /// request reaches one of the sockets sharing the port on a host).
    pub retx_not_ours: u64,
    /// Retransmission requests for messages no longer kept, or over the
    /// message's resend budget: nothing was sent again.
    pub retx_unanswerable: u64,
    /// Stalled messages whose sender's `host` is not an IP address, so no
    /// request could be sent.
    pub retx_unaddressable: u64,
    /// Other nodes' events and segments dropped unread because this node
    /// does not receive events (it only sends; see
    /// [`LegacyEndpoint::set_receiving`](super::LegacyEndpoint::set_receiving)).
    pub not_receiving: u64,
}

impl LegacyDropStats {
    /// Every datagram, message or request dropped, for any reason.
    pub fn total(&self) -> u64 {
        self.native
            + self.malformed
            + self.unsupported_version
            + self.duplicate
            + self.over_limit
            + self.decrypt_failed
            + self.encrypted_without_key
            + self.unencrypted_with_key
            + self.expired
            + self.retx_not_ours
            + self.retx_unanswerable
            + self.retx_unaddressable
            + self.not_receiving
    }
}

impl LegacyStats {
    /// The same counts in the native protocol's terms, for tools that read
    /// only [`Stats`]: traffic counters as they are; native datagrams and
    /// other legacy versions as `unsupported_version`; malformed and
    /// undecryptable datagrams as `malformed`; over-limit segments as
    /// `over_budget`; events not read as `not_receiving`. Requests
    /// dropped are not counted there.
    pub fn to_native(&self) -> Stats {
        let d = &self.dropped;
        Stats {
            messages_sent: self.messages_sent,
            datagrams_sent: self.datagrams_sent,
            bytes_sent: self.bytes_sent,
            datagrams_received: self.datagrams_received,
            bytes_received: self.bytes_received,
            own_datagrams: self.own_datagrams,
            segments_received: self.segments_received,
            messages_received: self.messages_received,
            partial_messages: self.partial_messages,
            partial_bytes: self.partial_bytes,
            dropped: DropStats {
                unsupported_version: d.native + d.unsupported_version,
                malformed: d.malformed
                    + d.decrypt_failed
                    + d.encrypted_without_key
                    + d.unencrypted_with_key,
                duplicate: d.duplicate,
                over_budget: d.over_limit,
                expired: d.expired,
                not_receiving: d.not_receiving,
                ..DropStats::default()
            },
            ..Stats::default()
        }
    }
}
