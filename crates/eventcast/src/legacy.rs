//! The choice of wire protocol, and the settings of the compatibility mode
//! that speaks the original Node.js eventcast 0.1.x protocol.

use std::fmt;
use std::net::IpAddr;

use crate::error::{ConfigError, Error};

/// The wire protocol a node speaks. Nodes hear only nodes of the same
/// protocol; each counts the other's datagrams as foreign and reports them
/// once per address.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum WireProtocol {
    /// eventcast's own protocol (version 1, `docs/PROTOCOL.md`): the
    /// default.
    #[default]
    Native,
    /// The original Node.js eventcast 0.1.x's protocol (version 3), to talk
    /// with nodes not yet replaced: BSON metadata on every datagram,
    /// segments repaired through `__ec_retx` requests, and optionally its
    /// weak encryption ([`LegacyConfig::insecure_legacy_key`]). IPv4 only.
    LegacyV3,
}

impl WireProtocol {
    /// The name the CLI uses: `native` or `legacy-v3`.
    pub fn name(self) -> &'static str {
        match self {
            WireProtocol::Native => "native",
            WireProtocol::LegacyV3 => "legacy-v3",
        }
    }
}

impl fmt::Display for WireProtocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

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
    /// Test support: drop the outgoing datagram with this 0-based index
    /// (counted over one run, requests and answers included) instead of
    /// sending it. Not part of the API.
    #[doc(hidden)]
    pub test_drop_datagram: Option<u64>,
}

impl Default for LegacyConfig {
    fn default() -> Self {
        Self {
            insecure_legacy_key: None,
            max_retransmit_attempts: 1,
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
    /// Checks these settings against the rest of the configuration: the
    /// wire protocol, the group and `protocol.max_payload_size`.
    pub(crate) fn validate(
        &self,
        wire_protocol: WireProtocol,
        group: IpAddr,
        max_payload_size: usize,
    ) -> Result<(), ConfigError> {
        let legacy = wire_protocol == WireProtocol::LegacyV3;
        if let Some(key) = &self.insecure_legacy_key {
            if !legacy {
                return Err(ConfigError::Legacy(
                    "insecure_legacy_key is used only with the legacy-v3 protocol".into(),
                ));
            }
            if key.passphrase().is_empty() {
                return Err(ConfigError::Legacy("insecure_legacy_key is empty".into()));
            }
        }
        if !legacy {
            return Ok(());
        }
        if !group.is_ipv4() {
            return Err(ConfigError::Legacy(format!(
                "the legacy-v3 protocol is IPv4 only (eventcast 0.1.x uses udp4); group {group} is IPv6"
            )));
        }
        if max_payload_size > LEGACY_MAX_PAYLOAD_SIZE {
            return Err(ConfigError::Legacy(format!(
                "max_payload_size must be at most {LEGACY_MAX_PAYLOAD_SIZE} with the legacy-v3 \
                 protocol, got {max_payload_size}"
            )));
        }
        Ok(())
    }
}

/// What `emit` refuses in legacy mode before anything is sent.
pub(crate) fn check_emit(name: &str) -> Result<(), Error> {
    use eventcast_proto::legacy::{EncodeError, RETX_EVENT};
    if name == RETX_EVENT {
        return Err(Error::Legacy(EncodeError::ReservedName));
    }
    if name.len() > LEGACY_MAX_NAME_LEN {
        return Err(Error::Legacy(EncodeError::MetaTooLarge { len: name.len() }));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emit_refusals() {
        assert!(check_emit("e").is_ok());
        assert!(check_emit("__ec_retx")
            .unwrap_err()
            .to_string()
            .contains("reserved"));
        assert!(check_emit(&"n".repeat(LEGACY_MAX_NAME_LEN + 1)).is_err());
    }
}
