//! The legacy protocol's constants and errors, which every part of it
//! shares.

/// The protocol version the original sends in `v`.
pub const PROTOCOL_VERSION: i32 = 3;

/// The event name of a retransmission request.
pub const RETX_EVENT: &str = "__ec_retx";

/// The original's default `maxPayloadSize`.
pub const DEFAULT_MAX_PAYLOAD_SIZE: usize = 1024;

/// Why a legacy datagram was dropped.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LegacyError {
    /// Shorter than its framing says.
    #[error("datagram truncated: {len} bytes")]
    Truncated {
        /// Bytes received.
        len: usize,
    },
    /// Not well-formed BSON where BSON is expected.
    #[error("malformed BSON: {0}")]
    Bson(String),
    /// A meta or payload field missing, twice, or of the wrong type.
    #[error("field `{field}`: {problem}")]
    Field {
        /// The field.
        field: &'static str,
        /// What is wrong with it.
        problem: &'static str,
    },
    /// A meta whose `v` is not 3 (the original's `EPRVERSION`).
    #[error("unsupported legacy protocol version {version} (expected {PROTOCOL_VERSION})")]
    UnsupportedVersion {
        /// The `v` received.
        version: i32,
    },
    /// Fields that contradict each other or earlier segments.
    #[error("inconsistent: {0}")]
    Inconsistent(&'static str),
    /// A body nested deeper than [`MAX_NESTING_DEPTH`](crate::MAX_NESTING_DEPTH).
    #[error("BSON nested deeper than {} levels", crate::MAX_NESTING_DEPTH)]
    TooDeep,
    /// A reassembly limit would be broken.
    #[error("over limit: {0}")]
    OverLimit(&'static str),
    /// Ciphertext of a bad length or with bad padding (often: another key).
    #[error("cannot decrypt (bad length or padding; wrong key?)")]
    Decrypt,
    /// An encrypted message, and this node has no key.
    #[error("encrypted message, and no key is configured")]
    EncryptedWithoutKey,
    /// An unencrypted message, and this node requires encryption.
    #[error("unencrypted message, and a key is configured")]
    UnencryptedWithKey,
}

impl LegacyError {
    pub(crate) fn bson(e: impl std::fmt::Display) -> Self {
        Self::Bson(e.to_string())
    }
}

/// Why a message could not be encoded. Always the caller's doing.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EncodeError {
    /// The arguments cannot be serialized as BSON (a document key with a
    /// NUL byte, ...).
    #[error("cannot encode as BSON: {0}")]
    Bson(String),
    /// The meta is longer than its 2-byte length allows (an event name or
    /// host name of tens of kilobytes).
    #[error("meta is {len} bytes, more than 65535")]
    MetaTooLarge {
        /// Its length.
        len: usize,
    },
    /// A datagram would not fit in UDP.
    #[error("datagram of {len} bytes, more than {max}")]
    DatagramTooLarge {
        /// Its length.
        len: usize,
        /// The most UDP carries.
        max: usize,
    },
    /// More segments than `seqLen` (int32) can count.
    #[error("{count} segments, more than an int32 counts")]
    TooManySegments {
        /// How many it would take.
        count: usize,
    },
    /// The event name `__ec_retx` is the retransmission request's.
    #[error("the event name `{RETX_EVENT}` is reserved")]
    ReservedName,
}
