//! Joins eventcast LANs through a NATS server.
//!
//! Multicast stops at the router; a [`Bridge`] carries one LAN's events
//! to a NATS server and brings the other sites' events back, so that
//! several LANs (and any NATS client) share one event space:
//!
//! - **LAN to NATS**: every event (or every one matching
//!   [`BridgeConfig::events`]) is published on `PREFIX.NAME`
//!   ([`subject`] says how names map to subjects, reversibly), with the
//!   headers `Eventcast-Site`, `Eventcast-Sender`, `Eventcast-Name`,
//!   `Content-Type` ([`headers`]), the arguments as a JSON array in relaxed
//!   Extended JSON or as eventcast's BSON body ([`payload`]).
//! - **NATS to LAN**: messages on `PREFIX.>` from other bridges, or from
//!   any NATS client (a JSON array of arguments, or one JSON value), are
//!   emitted on the LAN.
//! - **No loops, no doubles**: the bridge never publishes what it emitted,
//!   the server does not echo its publishes, and a second bridge of the
//!   same prefix on the same LAN is found and reported; one of the two
//!   stands by ([`BridgeNotice::OtherBridge`]).
//! - **Large events**: above the server's `max_payload`, events are cut
//!   into chunks and put together again, within a memory budget and a
//!   deadline ([`chunk`]).
//! - **Outages**: LAN events wait in a buffer bounded by bytes (64 MiB by
//!   default) and go out in order once the server is back; what does not
//!   fit is dropped and counted. The bridge reconnects with backoff for as
//!   long as it runs.
//! - **Counters**: [`Bridge::stats`], also logged at info level.
//!
//! It uses `async-nats`, the NATS maintainers' client, for everything NATS.

mod bridge;
pub mod chunk;
mod config;
mod connect;
mod error;
mod files;
pub mod headers;
mod inbound;
mod lan;
mod notice;
mod outbox;
pub mod payload;
mod publish;
mod rivals;
mod shared;
mod stats;
pub mod subject;

pub use bridge::Bridge;
pub use config::{Auth, BridgeConfig, ConfigError, TlsConfig};
pub use error::Error;
pub use notice::BridgeNotice;
pub use payload::Encoding;
pub use stats::BridgeStats;
