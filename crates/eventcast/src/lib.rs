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
//! });
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
//! With [`WireProtocol::LegacyV3`], a node speaks the original Node.js
//! eventcast 0.1.x's protocol instead, to talk with nodes not yet replaced;
//! its settings and counters are in [`legacy`].
//!
//! With [`Config::repl_enabled`], a node serves an operator's REPL over TCP
//! on localhost (see [`Eventcast::repl_addr`] and the README).

mod config;
mod driver;
mod error;
mod event;
pub mod extjson;
pub mod legacy;
mod legacy_driver;
mod listeners;
pub mod logging;
mod native_driver;
mod node;
mod nonces;
mod notice;
mod recv;
mod repl;
mod socket;
mod stats;
mod task;
mod wire_protocol;

pub use config::{Config, Encrypt};
pub use error::{ConfigError, Error};
pub use event::Event;
pub use listeners::{ListenerId, Subscription};
pub use node::Eventcast;
pub use notice::Notice;
pub use repl::{ReplConfig, ReplConfigError, ReplStats};
pub use stats::NodeStats;
pub use wire_protocol::WireProtocol;

pub use bson;
pub use eventcast_proto as proto;
pub use eventcast_proto::crypto::{Fingerprint, Key, KeyInfo, Secret};
pub use eventcast_proto::{MessageSeq, PeerInfo, ProtocolError, SenderId};

/// The README's Rust examples, compiled as doctests so they stay true.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
pub struct ReadmeDoctests;
