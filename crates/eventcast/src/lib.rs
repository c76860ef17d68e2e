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
//! The protocol itself lives in [`eventcast_proto`], a state machine without
//! I/O; this crate drives it with tokio, one task per node.
//!
//! The library logs through `tracing` (targets `eventcast` and
//! `eventcast::repl`) and never installs a subscriber; [`logging`] has a
//! filter whose levels can be changed while the node runs.
//!
//! With [`Config::repl_enabled`], a node serves an operator's REPL over TCP
//! on localhost (see [`Eventcast::repl_addr`] and the README).

mod config;
mod driver;
mod error;
mod event;
pub mod extjson;
mod legacy;
mod legacy_driver;
mod listeners;
pub mod logging;
mod node;
mod nonces;
mod notice;
mod pattern;
mod recv;
mod repl;
mod socket;
mod stats;
mod task;

pub use config::{Config, Encrypt};
pub use error::{ConfigError, Error};
pub use event::Event;
pub use legacy::{
    InsecureLegacyKey, LegacyConfig, WireProtocol, LEGACY_MAX_NAME_LEN, LEGACY_MAX_PAYLOAD_SIZE,
};
pub use listeners::{ListenerId, Subscription};
pub use node::Eventcast;
pub use notice::Notice;
pub use pattern::{PatternError, PatternErrorKind};
pub use repl::{ReplConfig, ReplConfigError, ReplStats};
pub use stats::NodeStats;

pub use bson;
pub use eventcast_proto as proto;
pub use eventcast_proto::crypto::{Fingerprint, Key, KeyInfo, Secret};
pub use eventcast_proto::{MessageSeq, PeerInfo, ProtocolError, SenderId};

/// The README's Rust examples, compiled as doctests so they stay true.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
pub struct ReadmeDoctests;
