//! What a node tells the application about itself: lifecycle and problems.

use std::net::SocketAddr;

use eventcast_proto::crypto::KeyLimit;
use eventcast_proto::{Conflict, Loss, ProtocolError, SenderId};

/// A lifecycle change or a problem, from
/// [`Eventcast::notices`](crate::Eventcast::notices) or
/// [`Eventcast::on_notice`](crate::Eventcast::on_notice).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Notice {
    /// The node joined its group and is sending and receiving.
    Started {
        /// Its sender id for this run.
        id: SenderId,
        /// The address it is bound to.
        local_addr: SocketAddr,
        /// The group and port it sends to.
        group: SocketAddr,
    },
    /// The node left its group.
    Stopped {
        /// The sender id it had.
        id: SenderId,
    },
    /// Another node speaks a protocol this one cannot read (reported once
    /// per source address), or sends datagrams this node cannot read
    /// ([`ProtocolError::Unreadable`]: unencrypted, or encrypted with a key
    /// this node does not have; reported once per sender).
    ProtocolError(ProtocolError),
    /// Events of another node are lost for good: they could not be
    /// repaired (also counted in `stats().protocol.messages_lost`).
    Loss(Loss),
    /// A client connected to the REPL.
    ReplClientConnected {
        /// The client's address.
        addr: SocketAddr,
        /// Clients connected now, this one included.
        clients: usize,
    },
    /// A REPL client disconnected (or was disconnected).
    ReplClientDisconnected {
        /// The client's address.
        addr: SocketAddr,
        /// Clients connected now.
        clients: usize,
    },
    /// With the legacy protocol: another node speaks a protocol, version or
    /// encryption this one cannot read (reported once per source address
    /// and kind).
    LegacyProtocolError(eventcast_proto::legacy::LegacyProblem),
    /// The key this node seals with nears (or reached) the number of
    /// datagrams it may seal: rotate to a new key.
    KeyLimit(KeyLimit),
    /// Another node's event came in two different copies: someone else
    /// sends under its id (without a key, anyone on the LAN can). Reported
    /// once per sender; every conflict is counted in
    /// `stats().protocol.conflicts`.
    Conflict(Conflict),
}
