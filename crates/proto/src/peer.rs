//! What an endpoint knows of the other nodes it hears.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use crate::ids::{MessageSeq, SenderId};

/// One sender an [`Endpoint`](crate::Endpoint) tracks now, as
/// [`Endpoint::peers`](crate::Endpoint::peers) sees it.
///
/// A node is tracked from its first data or heartbeat datagram on, until it
/// is forgotten to make room for others (`max_senders`: one heard once or
/// not believed real, else one long silent; docs/PROTOCOL.md §9.7). A node that never sends is never tracked: the protocol
/// has nothing that announces a silent listener.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct PeerInfo {
    /// The sender's id.
    pub id: SenderId,
    /// The source address of its latest data or heartbeat datagram.
    pub addr: SocketAddr,
    /// When its latest data or heartbeat datagram was handled.
    pub last_heard: Instant,
    /// How long before the snapshot's `now` that was (zero if `now` is
    /// earlier).
    pub since_heard: Duration,
    /// The sender's lead as far as this node knows: the next message seq it
    /// will use, that is one past the highest seq heard in its data, or the
    /// lead of one of its heartbeats if that is higher. 0: it has sent no
    /// message yet. It never goes down; without a key, anyone on the
    /// network can raise it with a forged datagram (the protocol is not
    /// affected, only this report).
    pub lead: MessageSeq,
    /// Its messages delivered to the application since it was first heard
    /// (or last forgotten).
    pub delivered: u64,
    /// Its messages declared lost for good since then (each also in an
    /// `EndpointEvent::Loss`).
    pub lost: u64,
}
