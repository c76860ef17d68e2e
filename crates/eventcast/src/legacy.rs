//! Compatibility with the original Node.js eventcast 0.1.x: the settings of
//! a node that speaks its protocol ([`WireProtocol::LegacyV3`]), its limits,
//! and the types its counters, notices and errors are made of.
//!
//! ```no_run
//! # async fn f() -> Result<(), eventcast::Error> {
//! use eventcast::{Config, Eventcast, WireProtocol};
//!
//! let mut config = Config::default()
//!     .port(41234)
//!     .wire_protocol(WireProtocol::LegacyV3);
//! config.legacy.max_retransmit_attempts = 3;
//! let node = Eventcast::new(config)?;
//! node.start().await?;
//! node.emit("hello", &("0.1.x",))?;
//! println!("{} retransmission requests sent", node.stats().legacy.retx_requests_sent);
//! # Ok(()) }
//! ```
//!
//! [`WireProtocol::LegacyV3`]: crate::wire_protocol::WireProtocol::LegacyV3

use std::fmt;
use std::net::IpAddr;

pub use eventcast_proto::legacy::{
    EncodeError, LegacyDropStats, LegacyError, LegacyProblem, LegacyStats,
};

/// The passphrase of the original's encryption. **Insecure**: AES-128-CBC
/// with a key and a fixed IV derived from the passphrase by one unsalted
/// MD5 (OpenSSL's `EVP_BytesToKey`), no authentication: anyone on the
/// network can flip bits of messages, recognise repeated ones, and try
/// passphrases fast. Use it only to talk with eventcast 0.1.x nodes that
/// have it on. Its `Debug` form never shows the passphrase.
#[derive(Clone, PartialEq, Eq)]
pub struct InsecureLegacyKey(String);

impl InsecureLegacyKey {
    /// Wraps a passphrase (the original's `encrypt.key`).
    pub fn new(passphrase: impl Into<String>) -> Self {
        Self(passphrase.into())
    }

    /// The passphrase.
    pub fn passphrase(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for InsecureLegacyKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("InsecureLegacyKey(..)")
    }
}

/// Settings used only with [`WireProtocol::LegacyV3`]. `message_ttl` and
/// `max_payload_size` are the ones of
/// [`Config::protocol`](crate::config::Config::protocol),
/// as in the original.
///
/// [`WireProtocol::LegacyV3`]: crate::wire_protocol::WireProtocol::LegacyV3
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct LegacyConfig {
    /// The passphrase of the original's encryption, or none (the default:
    /// events in clear, as the original's default). With a key, the node
    /// sends only encrypted events and drops unencrypted ones. **Insecure**,
    /// see [`InsecureLegacyKey`].
    pub insecure_legacy_key: Option<InsecureLegacyKey>,
    /// How many `__ec_retx` requests a partial message may cause, one per
    /// `message_ttl` without progress, before it is dropped (default 1, as
    /// the original: one request, then expiry one `message_ttl` later).
    pub max_retransmit_attempts: u32,
    /// Test support, only with the crate's internal feature
    /// `__test-support`: drop the outgoing datagram with this 0-based index
    /// (counted over one run, requests and answers included) instead of
    /// sending it.
    #[cfg(feature = "__test-support")]
    #[doc(hidden)]
    pub test_drop_datagram: Option<u64>,
}

impl Default for LegacyConfig {
    fn default() -> Self {
        Self {
            insecure_legacy_key: None,
            max_retransmit_attempts: 1,
            #[cfg(feature = "__test-support")]
            test_drop_datagram: None,
        }
    }
}

/// The largest `max_payload_size` in legacy mode: each segment carries its
/// piece behind a BSON meta of a few hundred bytes, and the whole must fit
/// one UDP datagram.
pub const LEGACY_MAX_PAYLOAD_SIZE: usize = 61_440;

/// The longest event name in legacy mode: it is written into every meta,
/// whose length field is 16 bits.
pub const LEGACY_MAX_NAME_LEN: usize = 60_000;

impl LegacyConfig {
    /// Checks these settings against the rest of a node's configuration:
    /// `legacy` is whether the node speaks the legacy protocol, `group` its
    /// multicast group. Says what cannot work.
    pub(crate) fn check(
        &self,
        legacy: bool,
        group: IpAddr,
        max_payload_size: usize,
    ) -> Result<(), String> {
        if let Some(key) = &self.insecure_legacy_key {
            if !legacy {
                return Err("insecure_legacy_key is used only with the legacy-v3 protocol".into());
            }
            if key.passphrase().is_empty() {
                return Err("insecure_legacy_key is empty".into());
            }
        }
        if !legacy {
            return Ok(());
        }
        if !group.is_ipv4() {
            return Err(format!(
                "the legacy-v3 protocol is IPv4 only (eventcast 0.1.x uses udp4); group {group} \
                 is IPv6"
            ));
        }
        if max_payload_size > LEGACY_MAX_PAYLOAD_SIZE {
            return Err(format!(
                "max_payload_size must be at most {LEGACY_MAX_PAYLOAD_SIZE} with the legacy-v3 \
                 protocol, got {max_payload_size}"
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_as_the_original() {
        let c = LegacyConfig::default();
        assert_eq!(c.insecure_legacy_key, None);
        assert_eq!(c.max_retransmit_attempts, 1);
    }

    #[test]
    fn the_key_never_shows() {
        let key = InsecureLegacyKey::new("hunter2");
        assert_eq!(key.passphrase(), "hunter2");
        assert!(!format!("{key:?}").contains("hunter2"));
    }
}
