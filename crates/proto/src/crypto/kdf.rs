//! From a passphrase to a key: Argon2id with parameters and salt fixed by
//! the protocol, so that every node derives the same key without talking.

use std::fmt;

use argon2::{Algorithm, Argon2, Params, Version};
use zeroize::{Zeroize, Zeroizing};

use super::key::{Key, KEY_LEN};

/// Argon2id memory cost, in KiB (19 MiB: OWASP's recommended minimum).
pub const KDF_MEMORY_KIB: u32 = 19 * 1024;
/// Argon2id passes over the memory.
pub const KDF_ITERATIONS: u32 = 2;
/// Argon2id lanes.
pub const KDF_PARALLELISM: u32 = 1;
/// The salt, the same for every group: the key must come out the same on
/// every node with nothing exchanged. It only separates eventcast's keys
/// from other uses of the same passphrase; see docs/SECURITY.md.
pub const KDF_SALT: &[u8; 16] = b"eventcast/v1 key";

/// What a group key is made from: a passphrase (stretched by Argon2id) or
/// a raw 128-bit key.
///
/// `Debug` never shows the passphrase or the key; the passphrase is wiped
/// from memory when dropped.
#[derive(Clone, PartialEq, Eq)]
pub enum Secret {
    /// A passphrase shared by the group.
    Passphrase(Zeroizing<String>),
    /// A raw key, used as it is.
    Raw(Key),
}

impl Secret {
    /// A passphrase.
    pub fn passphrase(text: impl Into<String>) -> Self {
        Secret::Passphrase(Zeroizing::new(text.into()))
    }

    /// Reads the textual form used by the command line and files: `raw:`
    /// followed by 32 hex digits is a raw key; anything else is a
    /// passphrase. One trailing line break is removed.
    pub fn parse(text: &str) -> Result<Self, KdfError> {
        let text = text
            .strip_suffix('\n')
            .map(|t| t.strip_suffix('\r').unwrap_or(t))
            .unwrap_or(text);
        if let Some(hex) = text.strip_prefix("raw:") {
            return Key::from_hex(hex.trim())
                .map(Secret::Raw)
                .ok_or(KdfError::BadRawKey);
        }
        if text.is_empty() {
            return Err(KdfError::EmptyPassphrase);
        }
        Ok(Secret::passphrase(text))
    }

    /// The key: the raw key itself, or Argon2id of the passphrase with the
    /// protocol's parameters. The latter takes tens of milliseconds and
    /// 19 MiB of memory in a release build: derive once, not per datagram.
    pub fn derive(&self) -> Result<Key, KdfError> {
        match self {
            Secret::Raw(key) => Ok(key.clone()),
            Secret::Passphrase(text) => derive_passphrase(text),
        }
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Secret::Passphrase(_) => f.write_str("Passphrase(<redacted>)"),
            Secret::Raw(key) => write!(f, "Raw({key:?})"),
        }
    }
}

impl From<Key> for Secret {
    fn from(key: Key) -> Self {
        Secret::Raw(key)
    }
}

impl From<&str> for Secret {
    /// A passphrase (no `raw:` form: see [`Secret::parse`]).
    fn from(text: &str) -> Self {
        Secret::passphrase(text)
    }
}

impl From<String> for Secret {
    /// A passphrase (no `raw:` form: see [`Secret::parse`]).
    fn from(text: String) -> Self {
        Secret::passphrase(text)
    }
}

/// Why a key could not be made.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KdfError {
    /// The passphrase is empty.
    #[error("the passphrase is empty")]
    EmptyPassphrase,
    /// `raw:` not followed by 32 hex digits.
    #[error("a raw key is written `raw:` followed by 32 hex digits")]
    BadRawKey,
    /// Argon2 refused (cannot happen with the fixed parameters).
    #[error("key derivation failed: {0}")]
    Argon2(String),
}

fn derive_passphrase(passphrase: &str) -> Result<Key, KdfError> {
    if passphrase.is_empty() {
        return Err(KdfError::EmptyPassphrase);
    }
    let params = Params::new(
        KDF_MEMORY_KIB,
        KDF_ITERATIONS,
        KDF_PARALLELISM,
        Some(KEY_LEN),
    )
    .map_err(|e| KdfError::Argon2(e.to_string()))?;
    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
    let mut out = [0u8; KEY_LEN];
    argon
        .hash_password_into(passphrase.as_bytes(), KDF_SALT, &mut out)
        .map_err(|e| KdfError::Argon2(e.to_string()))?;
    let key = Key::from_bytes(out);
    out.zeroize();
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_passphrase_gives_the_same_key() {
        let a = Secret::passphrase("correct horse").derive().unwrap();
        let b = Secret::passphrase("correct horse").derive().unwrap();
        let c = Secret::passphrase("correct horsf").derive().unwrap();
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn known_answer() {
        // Argon2id (version 0x13), m=19456 KiB, t=2, p=1, salt
        // "eventcast/v1 key", 16 bytes out, computed with the reference C
        // implementation (libargon2's argon2id_hash_raw). Pinned so that a
        // dependency change cannot silently split a group in two.
        let key = Secret::passphrase("eventcast").derive().unwrap();
        assert_eq!(
            key,
            Key::from_hex("491a7493eaf5bbf149fd273a0dc42899").unwrap()
        );
    }

    #[test]
    fn textual_forms() {
        assert_eq!(Secret::parse(""), Err(KdfError::EmptyPassphrase));
        assert_eq!(Secret::parse("\n"), Err(KdfError::EmptyPassphrase));
        assert_eq!(Secret::parse("raw:12"), Err(KdfError::BadRawKey));
        assert_eq!(
            Secret::parse("hunter2\r\n"),
            Ok(Secret::passphrase("hunter2"))
        );
        assert_eq!(
            Secret::parse("two\nlines\n"),
            Ok(Secret::passphrase("two\nlines"))
        );
        let raw = Secret::parse("raw:00112233445566778899aabbccddeeff\n").unwrap();
        assert!(matches!(raw, Secret::Raw(_)));
    }

    #[test]
    fn debug_redacts() {
        let shown = format!("{:?}", Secret::passphrase("hunter2"));
        assert!(!shown.contains("hunter2"), "{shown}");
        let shown = format!(
            "{:?}",
            Secret::parse("raw:00112233445566778899aabbccddeeff")
        );
        assert!(!shown.contains("00112233"), "{shown}");
    }
}
