//! The errors the public API returns.

use std::io;
use std::net::IpAddr;

/// Everything that can go wrong in a call to this crate. Bad input from the
/// network is never an error: it is dropped and counted in
/// [`NodeStats`](crate::stats::NodeStats).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The configuration cannot work.
    #[error("invalid configuration: {0}")]
    Config(#[from] ConfigError),
    /// The operating system refused a socket operation. Its message says
    /// what was being done; the OS error is its `source()` (print the chain,
    /// e.g. with anyhow's `{:#}`, to see both).
    #[error("{context}")]
    Io {
        /// What was being done.
        context: String,
        /// The OS error.
        source: io::Error,
    },
    /// The event could not be sent (too large, or not encodable as BSON).
    #[error(transparent)]
    Emit(#[from] eventcast_proto::EmitError),
    /// Arguments could not be converted to or from the requested Rust type.
    #[error("arguments: {0}")]
    Args(String),
    /// The event cannot be sent with the legacy protocol (the reserved
    /// name `__ec_retx`, a name too long for its metadata).
    #[error("legacy protocol: {0}")]
    Legacy(eventcast_proto::legacy::EncodeError),
    /// A key could not be made from its passphrase.
    #[error(transparent)]
    Kdf(#[from] eventcast_proto::crypto::KdfError),
    /// A keyring operation that cannot be done (unknown key, removing the
    /// primary key, a full ring).
    #[error(transparent)]
    Keyring(#[from] eventcast_proto::crypto::KeyringError),
    /// The node's task ended unexpectedly.
    #[error("the node's task ended unexpectedly")]
    Closed,
    /// A listener or subscription was asked for a pattern that cannot
    /// work (see [`Eventcast::on`](crate::Eventcast::on)).
    #[error(transparent)]
    Pattern(#[from] crate::pattern::PatternError),
}

impl Error {
    pub(crate) fn io(context: impl Into<String>, source: io::Error) -> Self {
        Error::Io {
            context: context.into(),
            source,
        }
    }
}

/// A configuration that cannot work.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The group address is not a multicast address.
    #[error("multicast_membership {0} is not a multicast address (224.0.0.0/4 or ff00::/8)")]
    NotMulticast(IpAddr),
    /// Bind address and group are of different families.
    #[error("bind address {address} and group {group} must both be IPv4 or both IPv6")]
    FamilyMismatch {
        /// The bind address.
        address: IpAddr,
        /// The group.
        group: IpAddr,
    },
    /// TTL over 255.
    #[error("multicast_ttl must be 0-255, got {0}")]
    Ttl(u32),
    /// No interface of that name or address.
    #[error("no network interface named or addressed {name:?}; available: {available}")]
    UnknownInterface {
        /// What was asked for.
        name: String,
        /// What exists, for the message.
        available: String,
    },
    /// A subscription limit of zero bytes.
    #[error("subscription_bytes must be at least 1")]
    SubscriptionBytes,
    /// A busy-poll window over [`MAX_BUSY_POLL`](crate::MAX_BUSY_POLL).
    #[error("busy_poll must be at most 1 ms, got {0:?}")]
    BusyPoll(std::time::Duration),
    /// A setting of the legacy protocol that cannot work.
    #[error("{0}")]
    Legacy(String),
    /// `decrypt_keys` without a `key` to seal with.
    #[error("encryption.decrypt_keys needs encryption.key: the key that seals")]
    DecryptKeysWithoutKey,
    /// More keys than a keyring holds.
    #[error("at most {} keys", eventcast_proto::crypto::MAX_KEYS)]
    TooManyKeys,
    /// [`Config::expected_event_sizes`](crate::Config::expected_event_sizes)
    /// has more than [`MAX_EXPECTED_EVENT_SIZES`](crate::MAX_EXPECTED_EVENT_SIZES)
    /// sizes.
    #[error(
        "expected_event_sizes takes at most {} sizes, got {got}",
        crate::spare::MAX_EXPECTED_EVENT_SIZES
    )]
    TooManyExpectedEventSizes {
        /// How many it has.
        got: usize,
    },
    /// A size of
    /// [`Config::expected_event_sizes`](crate::Config::expected_event_sizes)
    /// below [`MIN_EXPECTED_EVENT_SIZE`](crate::MIN_EXPECTED_EVENT_SIZE) or
    /// above [`MAX_EXPECTED_EVENT_SIZE`](crate::MAX_EXPECTED_EVENT_SIZE).
    #[error(
        "expected_event_sizes must be from {} bytes ({} KiB) to {} ({} MiB), got {got}",
        crate::spare::MIN_EXPECTED_EVENT_SIZE,
        crate::spare::MIN_EXPECTED_EVENT_SIZE >> 10,
        crate::spare::MAX_EXPECTED_EVENT_SIZE,
        crate::spare::MAX_EXPECTED_EVENT_SIZE >> 20
    )]
    ExpectedEventSize {
        /// The size out of range.
        got: usize,
    },
    /// A size of
    /// [`Config::expected_event_sizes`](crate::Config::expected_event_sizes)
    /// larger than `protocol.max_message_size`: no such event is sent or
    /// accepted.
    #[error(
        "expected_event_sizes has {got} bytes, more than max_message_size ({max_message_size}): \
         raise max_message_size for events of that size"
    )]
    ExpectedEventSizeAboveMax {
        /// The size.
        got: usize,
        /// `protocol.max_message_size`.
        max_message_size: usize,
    },
    /// A protocol setting that cannot work.
    #[error(transparent)]
    Protocol(#[from] eventcast_proto::ConfigError),
    /// A REPL setting that cannot work.
    #[error(transparent)]
    Repl(#[from] crate::repl_config::ReplConfigError),
}
