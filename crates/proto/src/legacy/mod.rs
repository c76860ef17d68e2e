//! Compatibility with eventcast 0.1.2 (Node.js), its protocol version 3:
//! the codec only, without sockets or timers of its own.
//!
//! Everything here follows the datagrams the original sends (captured in
//! `tests/vectors/eventcast-0.1.2`), not this crate's own protocol:
//!
//! * framing: [`Datagram`], a big-endian `u16` meta length, the [`Meta`]
//!   BSON document, then the body;
//! * bodies: `{ payload: [args...] }` ([`EventBody`], [`encode_args`],
//!   [`decode_args`]);
//! * segmentation and reassembly: [`split`], [`Reassembler`], keyed by
//!   sender id and `seqId`;
//! * retransmission: [`RetxRequest`] (the `__ec_retx` event, by unicast),
//!   [`Timeout::Missing`] on the receiving side, [`SentStore`] on the
//!   sending side;
//! * encryption: [`InsecureLegacyCipher`], AES-128-CBC with a key and a
//!   fixed IV derived from a passphrase. It authenticates nothing and exists
//!   for interoperability only; the names of everything that enables it
//!   say `insecure`;
//! * whole messages: [`Encoder`] and [`Decoder`], which layer and peel the
//!   above as the original does (see the [`Encoder`]'s documentation for
//!   the order of the layers);
//! * a whole node: [`LegacyEndpoint`], the state machine a driver feeds
//!   with datagrams and the time (emit, receive, ask for and answer
//!   retransmissions, count everything in [`LegacyStats`]).
//!
//! Nothing here reads a clock or draws an unseeded random number: `now`
//! and the time written into metas are parameters, and the [`Encoder`] is
//! given a seed. Decoding never panics on any input; it returns a
//! [`LegacyError`].

mod body;
mod codec;
mod crypto;
mod datagram;
mod endpoint;
mod error;
mod ids;
mod meta;
mod retx;
mod segment;
mod stats;
mod store;
mod time;

pub use body::{decode_args, decode_payload, encode_args, encode_payload, EventBody};
pub use codec::{Decoder, Encoded, Encoder, Incoming, LegacyEvent, LegacyIdentity};
pub use crypto::InsecureLegacyCipher;
pub use datagram::Datagram;
pub use endpoint::{
    LegacyDestination, LegacyEndpoint, LegacyEndpointConfig, LegacyEndpointEvent, LegacyProblem,
    LegacyReceived, LegacyTransmit,
};
pub use error::{EncodeError, LegacyError, DEFAULT_MAX_PAYLOAD_SIZE, PROTOCOL_VERSION, RETX_EVENT};
pub use ids::{LegacyId, SeqId, SEQ_ID_LEN};
pub use meta::{shape, Layer, Meta, Origin};
pub use retx::RetxRequest;
pub use segment::{
    split, MessageKey, MissingSegments, Reassembler, ReassemblyLimits, SegmentOutcome, Timeout,
    MAX_ASKED_PER_PIECE, MAX_ID_LEN,
};
pub use stats::{LegacyDropStats, LegacyStats};
pub use store::SentStore;
pub use time::js_iso_string;
