//! What a bridge tells its user as it happens ([`Bridge::notices`](crate::Bridge::notices)).

use std::fmt;
use std::time::Duration;

/// Something a bridge's user may want to know, as it happens. Each is
/// also logged (`tracing`, target `eventcast_bridge`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum BridgeNotice {
    /// Connected to a server (the first time, or again).
    Connected {
        /// Which server.
        server: String,
    },
    /// The connection broke; the bridge buffers and reconnects.
    Disconnected,
    /// The outage buffer is full: LAN events are dropped until there is
    /// room again.
    BufferFull {
        /// The buffer's limit in bytes.
        limit: usize,
    },
    /// The outage buffer has room again after dropping events.
    BufferDropped {
        /// How many LAN events were dropped while it was full.
        dropped: u64,
    },
    /// A message on this subject could not be read (said once per
    /// subject; every one is counted in `dropped_bad_payload`).
    BadPayload {
        /// The message's subject.
        subject: String,
        /// Why.
        reason: String,
    },
    /// Another bridge for the same prefix bridges this LAN. Of the two,
    /// the one with the higher id stands by (neither publishes nor emits)
    /// while the other one runs, so events are not doubled.
    OtherBridge {
        /// The other bridge's id.
        bridge: String,
        /// Its site name.
        site: String,
        /// Whether this bridge now stands by for it.
        standing_by: bool,
    },
    /// The other bridge this one stood by for is gone: this one bridges again.
    Resumed,
    /// The server reported an error on the connection (a permission, ...).
    Error(String),
    /// The bridge cannot connect to this server (said once per server
    /// and error; again when the error changes, or after a connection).
    /// It keeps trying.
    ConnectFailed {
        /// The server's URL (without a user name or password).
        server: String,
        /// Why: the client's error and its causes (connection refused, a
        /// certificate not trusted, an authorization violation, ...).
        error: String,
        /// The longest pause between two attempts.
        retry: Duration,
    },
}

impl fmt::Display for BridgeNotice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BridgeNotice::Connected { server } => write!(f, "connected to {server}"),
            BridgeNotice::Disconnected => {
                write!(
                    f,
                    "disconnected from NATS: buffering LAN events, reconnecting"
                )
            }
            BridgeNotice::BufferFull { limit } => write!(
                f,
                "outage buffer full ({limit} bytes): dropping LAN events until there is room"
            ),
            BridgeNotice::BufferDropped { dropped } => {
                write!(
                    f,
                    "{dropped} LAN events dropped while the outage buffer was full"
                )
            }
            BridgeNotice::BadPayload { subject, reason } => {
                write!(f, "dropping messages on {subject}: {reason}")
            }
            BridgeNotice::OtherBridge {
                bridge,
                site,
                standing_by,
            } => {
                write!(
                    f,
                    "another bridge (site {site}, bridge {bridge}) bridges this LAN to the same prefix"
                )?;
                if *standing_by {
                    write!(f, ": this bridge stands by while it runs")
                } else {
                    write!(f, ": it stands by while this one runs")
                }
            }
            BridgeNotice::Resumed => {
                write!(f, "the other bridge of this LAN is gone: bridging again")
            }
            BridgeNotice::Error(error) => write!(f, "NATS: {error}"),
            BridgeNotice::ConnectFailed {
                server,
                error,
                retry,
            } => write!(
                f,
                "cannot connect to NATS server {server}: {error} (retrying, at most {retry:?} \
                 apart; LAN events wait in the outage buffer)"
            ),
        }
    }
}
