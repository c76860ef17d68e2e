//! The eventcast wire protocol as a deterministic state machine.
//!
//! This crate never touches a socket, never reads a clock and never draws an
//! unseeded random number. An [`Endpoint`] is fed datagrams and the current
//! time; it hands back datagrams to send, events to deliver, and the next
//! instant it wants to be woken. The `eventcast` crate drives it with tokio.
//!
//! The wire format (version 1) is described in `docs/PROTOCOL.md` and in the
//! [`wire`] module.
//!
//! ```
//! use std::time::Instant;
//! use eventcast_proto::{Config, Endpoint, EndpointEvent, SenderId};
//!
//! let now = Instant::now();
//! let mut alice = Endpoint::new(Config::default(), SenderId::new(1)).unwrap();
//! let mut bob = Endpoint::new(Config::default(), SenderId::new(2)).unwrap();
//! alice.emit(now, "greet", &["hello".into()]).unwrap();
//! let from = "127.0.0.1:4000".parse().unwrap();
//! while let Some(t) = alice.poll_transmit(now) {
//!     bob.handle_datagram(now, from, &t.contents);
//! }
//! match bob.poll_event() {
//!     Some(EndpointEvent::Message(m)) => assert_eq!(m.name, "greet"),
//!     other => panic!("unexpected {other:?}"),
//! }
//! ```
#![forbid(unsafe_code)]

#[doc(hidden)]
#[path = "fuzzing.rs"]
pub mod __fuzz;
mod body;
mod config;
pub mod crypto;
mod endpoint;
mod fastmap;
mod ids;
pub mod legacy;
mod pacer;
mod peer;
mod reassembly;
mod recovery;
mod sender;
mod seqwindow;
mod stats;
pub mod wire;

pub use body::{decode_body, encode_body, BodyError, MAX_NESTING_DEPTH};
pub use config::{Config, ConfigError};
pub use endpoint::{
    Destination, EmitError, Endpoint, EndpointEvent, Loss, LossReason, ProtocolError,
    ReceivedMessage, Transmit,
};
pub use ids::{MessageSeq, SegmentIndex, SenderId};
pub use peer::PeerInfo;
pub use stats::{DropStats, Stats};
