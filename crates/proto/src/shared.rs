//! What the protocol core hands out: datagrams to send, events for the
//! application, the reasons behind them, and the kinds of timers. Any part
//! of the core may use these; this module uses no other part but the ids,
//! the key fingerprint and the wire version.

use std::net::SocketAddr;
use std::sync::Arc;

use crate::args::Args;
use crate::crypto::key::Fingerprint;
use crate::ids::{MessageSeq, SenderId};

/// Where a datagram goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Destination {
    /// The multicast group.
    Group,
}

/// A datagram for the driver to send, written by
/// [`Endpoint::poll_transmit`](crate::Endpoint::poll_transmit) into the
/// buffer the driver gave it: `buf[..size]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Transmit {
    /// Where to.
    pub destination: Destination,
    /// The datagram's length: all of the buffer.
    pub size: usize,
}

/// Something the application should hear about.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum EndpointEvent {
    /// A complete event from another node, shared: made once where it
    /// completes and handed on as a pointer (an application can keep it
    /// as it is, without another allocation).
    Message(Arc<ReceivedMessage>),
    /// Another node speaks a protocol this node cannot read.
    ProtocolError(ProtocolError),
    /// The key this node seals with nears the number of datagrams it may
    /// seal: make another key primary.
    KeyLimit(KeyLimit),
    /// Messages of another node are lost for good.
    Loss(Loss),
    /// Another node's message came in two different copies: someone else
    /// sends under its id (reported once per sender).
    Conflict(Conflict),
}

/// A second, different copy of message `seq` of `sender` came, after the
/// first was delivered (or given up): without a key, someone else sends
/// under that id, and one of the two copies (the first delivered) may be
/// forged.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Conflict {
    /// The sender whose id was used.
    pub sender: SenderId,
    /// The message.
    pub seq: MessageSeq,
    /// Where the second copy came from.
    pub from: SocketAddr,
}

impl std::fmt::Display for Conflict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "two different copies of message {} from {} (the second from {}): \
             another node sends under its id",
            self.seq, self.sender, self.from
        )
    }
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
    /// The event name (shared with the receiver's other messages of
    /// that name delivered about the same time).
    pub name: Arc<str>,
    /// The arguments: decoded, or for a large body kept as it arrived and
    /// decoded on first use ([`Args`]).
    pub args: Args,
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

/// Why a datagram could not be read (see
/// [`ProtocolError::Unreadable`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Unreadable {
    /// Not encrypted, and this node requires encryption.
    Unencrypted,
    /// Encrypted with a key this node does not have (or this node has none).
    UnknownKey,
    /// Encrypted with a key id this node has, but it does not authenticate:
    /// a different key with the same id, or tampering.
    BadTag,
}

impl std::fmt::Display for Unreadable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Unreadable::Unencrypted => "it is not encrypted and this node requires encryption",
            Unreadable::UnknownKey => "it is encrypted with a key this node does not have",
            Unreadable::BadTag => "it does not authenticate under this node's key",
        })
    }
}

/// A key this node seals with is nearing (or reached) the number of
/// datagrams it may safely seal: make another key primary.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct KeyLimit {
    /// The key.
    pub fingerprint: Fingerprint,
    /// Datagrams this node sealed with it.
    pub sealed: u64,
    /// The count at which it stops sealing.
    pub refuse_at: u64,
}

/// Why the endpoint wants to be woken: the kind of the deadline
/// [`Endpoint::poll_timeout`](crate::Endpoint::poll_timeout) returns, as
/// [`Endpoint::next_timer`](crate::Endpoint::next_timer) tells it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Timer {
    /// A partial message reaches `message_ttl` without progress and is
    /// given up.
    Expiry,
    /// Loss recovery of some sender: a NACK round after its back-off, a
    /// repair that did not come in time, a gap's deadline, or a pending
    /// join decision.
    Recovery,
    /// The next heartbeat: the quiet cycle's, or one asked for.
    Heartbeat,
    /// The oldest sent message leaves the retransmit store.
    RetransmitStore,
    /// The pacer lets the next datagram go: call
    /// [`poll_transmit`](crate::Endpoint::poll_transmit).
    Pacing,
    /// The handshake (with a key): a challenge's wait for its answer ends
    /// (ask again, or give the sender up), or the next answer may go out.
    Handshake,
}
