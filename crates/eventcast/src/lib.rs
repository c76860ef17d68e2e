//! eventcast: a network event emitter.
//!
//! Nodes on a LAN exchange named events with arguments through the API of
//! Node's EventEmitter (`on`, `once`, `off`, `emit`), carried by UDP
//! multicast: no broker, no server, no configuration beyond a port.
//!
//! ```no_run
//! # async fn f() -> Result<(), eventcast::Error> {
//! use eventcast::{Config, Eventcast};
//!
//! let node = Eventcast::new(Config::default().port(41234))?;
//! node.on("temperature", |event| {
//!     if let Ok((room, celsius)) = event.args::<(String, f64)>() {
//!         println!("{room}: {celsius} °C (from {})", event.sender());
//!     }
//! })?;
//! // `*` is one `.`-separated segment, `**` any number of them.
//! node.on("sensor.**", |event| println!("{} from a sensor", event.name()))?;
//! node.start().await?;
//! node.emit("temperature", &("kitchen", 21.5))?;
//! # Ok(()) }
//! ```
//!
//! The protocol itself lives in the `eventcast-proto` crate, a state
//! machine without I/O; this crate drives it with tokio, one task per node.
//! The protocol's types that this crate's API uses are re-exported here.
//!
//! The library logs through `tracing` (targets `eventcast` and
//! `eventcast::repl`) and never installs a subscriber; [`logging`] has a
//! filter whose levels can be changed while the node runs.
//!
//! With [`WireProtocol::LegacyV3`], a node speaks the original Node.js
//! eventcast 0.1.x's protocol instead, to talk with nodes not yet replaced;
//! its settings and counters are in [`legacy`].
//!
//! With [`Config::repl_enabled`], a node serves an operator's REPL over TCP
//! on localhost (see `Eventcast::repl`, the [`repl`] module and the README;
//! built with the `repl` feature, on by default).
//!
//! # Layers
//!
//! The node ([`Eventcast`]'s core in `node/`, its task and drivers) is at
//! the bottom and imports nothing built on it. Services such as the REPL
//! use its public API only and follow its lifecycle through the
//! [`Service`] trait; `stack.rs` wires them in ([`Eventcast::new`]).
//! Grouped parts of the API are handles: [`Eventcast::keys`] ([`Keys`]),
//! [`Eventcast::log_levels`] ([`logging::LogLevels`]) and `Eventcast::repl`
//! ([`repl::Repl`]).

mod arglist;
mod busy_poll;
mod config;
mod driver;
mod error;
mod event;
pub mod extjson;
mod give_way;
mod host;
mod inline;
mod key_file;
mod keys;
pub mod legacy;
mod legacy_driver;
mod listeners;
pub mod logging;
#[cfg(target_os = "linux")]
mod mmsg;
mod native_driver;
mod node;
mod node_socket;
mod nonces;
mod notice;
mod pattern;
mod prefault;
mod recv;
mod recycle;
#[cfg(feature = "repl")]
pub mod repl;
mod repl_config;
mod self_filter;
mod send;
mod service;
mod shared;
mod socket;
mod spare;
mod stack;
mod stats;
mod task;
mod wire_protocol;

pub use arglist::parts::lone_binary;
pub use config::{Config, EncryptionConfig, DEFAULT_BUSY_POLL, MAX_BUSY_POLL};
pub use error::{ConfigError, Error};
pub use event::Event;
pub use key_file::{read_key_file, KeyFileError, KeyFileKinds, MAX_KEY_FILE};
pub use keys::Keys;
pub use listeners::{EventFilter, ListenerId, Subscription};
pub use node::{Eventcast, WeakEventcast};
pub use notice::Notice;
pub use pattern::{PatternError, PatternErrorKind};
pub use repl_config::{ReplConfig, ReplConfigError};
pub use service::Service;
pub use spare::{MAX_EXPECTED_EVENT_SIZE, MAX_EXPECTED_EVENT_SIZES, MIN_EXPECTED_EVENT_SIZE};
pub use stats::NodeStats;
pub use wire_protocol::WireProtocol;

pub use bson;
// The protocol's types that appear in this crate's API: the event
// identities, what a node knows of its peers, the notices' payloads, the
// errors a call may wrap, and the protocol's settings and counters
// (`Config::protocol`, `NodeStats::protocol`).
pub use eventcast_proto::crypto::{
    Fingerprint, KdfError, Key, KeyInfo, KeyLimit, KeyringError, Secret, Unreadable,
};
pub use eventcast_proto::{
    Config as ProtocolConfig, ConfigError as ProtocolConfigError, Conflict, EmitError, Loss,
    MessageSeq, PeerInfo, ProtocolError, SenderId, Stats as ProtocolStats,
};

/// The README's Rust examples, compiled as doctests so they stay true.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
pub struct ReadmeDoctests;
