//! The choice of wire protocol, a setting of [`Config`](crate::Config).

use std::fmt;

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
    /// weak encryption
    /// ([`LegacyConfig::insecure_legacy_key`](crate::legacy::LegacyConfig::insecure_legacy_key)).
    /// IPv4 only. Its settings and counters are in [`legacy`](crate::legacy).
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(WireProtocol::default(), WireProtocol::Native);
        assert_eq!(WireProtocol::LegacyV3.to_string(), "legacy-v3");
        assert_eq!(WireProtocol::Native.to_string(), "native");
    }
}
