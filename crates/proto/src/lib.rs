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
//! let mut buf = Vec::new();
//! while alice.poll_transmit(now, &mut buf).is_some() {
//!     bob.handle_datagram(now, from, &buf);
//! }
//! match bob.poll_event() {
//!     Some(EndpointEvent::Message(m)) => assert_eq!(&*m.name, "greet"),
//!     other => panic!("unexpected {other:?}"),
//! }
//! ```
#![forbid(unsafe_code)]

/// What the fuzz targets run; only with the `fuzzing` feature.
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
#[path = "fuzzing.rs"]
pub mod __fuzz;
mod arena;
mod args;
mod body;
mod bucket;
mod config;
pub mod crypto;
mod datagram;
mod endpoint;
mod fastmap;
mod feedback;
mod flat;
#[cfg(test)]
mod flat_tests;
mod ids;
pub mod legacy;
mod outbox;
mod pacer;
mod parts;
mod peer;
mod receive;
mod sender;
mod seqwindow;
mod shared;
mod stats;
mod store;
mod window;
pub mod wire;

pub use args::{decode_received, Args, KEEP_RAW_FROM};
pub use body::{
    args_size, decode_body, encode_body, encode_kept_body_into, kept_body_len, BodyError,
    MAX_NESTING_DEPTH,
};
pub use config::{BufferSource, Config, ConfigError, ReserveHook, MAX_DURATION};
pub use datagram::Datagram;
pub use endpoint::{EmitError, Endpoint};
pub use ids::{MessageSeq, SegmentIndex, SenderId};
pub use peer::PeerInfo;
pub use shared::{
    Conflict, Destination, EndpointEvent, Loss, LossReason, ProtocolError, ReceivedMessage, Timer,
    Transmit,
};
pub use stats::{DropStats, Stats};
