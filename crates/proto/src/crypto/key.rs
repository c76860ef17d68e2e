//! A 128-bit group key, its fingerprint and the short id that names it on
//! the wire.

use std::fmt;

use blake2::digest::Digest;
use blake2::Blake2b256;
use zeroize::Zeroize;

/// Bytes of an AES-128 key.
pub const KEY_LEN: usize = 16;

/// Domain separation for the fingerprint hash, so that it is never the same
/// computation as anything else done with the key.
const FINGERPRINT_DOMAIN: &[u8] = b"eventcast/v1 key fingerprint\0";

/// An AES-128-GCM group key: 128 bits, from a passphrase through the KDF
/// ([`Secret::derive`](super::Secret::derive)) or given raw.
///
/// Neither `Debug` nor `Display` shows the key: they show its
/// [`Fingerprint`]. The bytes are wiped from memory when the key is dropped.
#[derive(Clone, PartialEq, Eq)]
pub struct Key {
    bytes: [u8; KEY_LEN],
    fingerprint: Fingerprint,
}

impl Drop for Key {
    fn drop(&mut self) {
        self.bytes.zeroize();
    }
}

impl Key {
    /// A key from its 16 raw bytes. Draw them from a CSPRNG: a raw key is
    /// used as it is, with no KDF in front.
    pub fn from_bytes(bytes: [u8; KEY_LEN]) -> Self {
        let fingerprint = Fingerprint::of(&bytes);
        Self { bytes, fingerprint }
    }

    /// A key from 32 hex digits (upper or lower case).
    pub fn from_hex(text: &str) -> Option<Self> {
        let text = text.as_bytes();
        if text.len() != 2 * KEY_LEN {
            return None;
        }
        let mut bytes = [0u8; KEY_LEN];
        for (byte, pair) in bytes.iter_mut().zip(text.chunks_exact(2)) {
            let digit = |c: u8| (c as char).to_digit(16);
            *byte = u8::try_from(digit(pair[0])? * 16 + digit(pair[1])?).ok()?;
        }
        let key = Self::from_bytes(bytes);
        bytes.zeroize();
        Some(key)
    }

    /// The key's fingerprint: safe to print, log and compare.
    pub fn fingerprint(&self) -> Fingerprint {
        self.fingerprint
    }

    /// The id that names this key in sealed frames.
    pub fn id(&self) -> KeyId {
        self.fingerprint.id()
    }

    /// The raw key bytes, for the cipher.
    pub(crate) fn bytes(&self) -> &[u8; KEY_LEN] {
        &self.bytes
    }
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Key({})", self.fingerprint)
    }
}

/// 64 bits that identify a key without revealing it: the first 8 bytes of
/// BLAKE2b-256 over a fixed label and the key. Printed as 16 hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Fingerprint([u8; 8]);

impl Fingerprint {
    fn of(key: &[u8; KEY_LEN]) -> Self {
        let digest = Blake2b256::new()
            .chain_update(FINGERPRINT_DOMAIN)
            .chain_update(key)
            .finalize();
        let mut out = [0u8; 8];
        out.copy_from_slice(&digest[..8]);
        Self(out)
    }

    /// The first four bytes: the key id carried by sealed frames.
    pub fn id(self) -> KeyId {
        KeyId([self.0[0], self.0[1], self.0[2], self.0[3]])
    }

    /// The eight bytes.
    pub fn to_bytes(self) -> [u8; 8] {
        self.0
    }
}

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Fingerprint({self})")
    }
}

impl std::str::FromStr for Fingerprint {
    type Err = ParseFingerprintError;

    /// Parses the 16-hex-digit form produced by `Display`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.len() != 16 {
            return Err(ParseFingerprintError);
        }
        let raw = u64::from_str_radix(s, 16).map_err(|_| ParseFingerprintError)?;
        Ok(Self(raw.to_be_bytes()))
    }
}

/// A fingerprint that is not 16 hex digits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("a key fingerprint is 16 hex digits")]
pub struct ParseFingerprintError;

/// The 32-bit key id of a sealed frame: the first four bytes of the key's
/// [`Fingerprint`]. It picks the candidate keys quickly; two keys of a ring
/// may share an id (both are then tried).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyId([u8; 4]);

impl KeyId {
    /// The id from its four wire bytes.
    pub const fn from_bytes(bytes: [u8; 4]) -> Self {
        Self(bytes)
    }

    /// The four wire bytes.
    pub const fn to_bytes(self) -> [u8; 4] {
        self.0
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyId({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_shows_the_fingerprint_not_the_key() {
        let key = Key::from_bytes([0xAB; KEY_LEN]);
        let shown = format!("{key:?}");
        assert!(shown.starts_with("Key("), "{shown}");
        assert!(
            !shown.contains("ab, ab") && !shown.contains("abab"),
            "{shown}"
        );
        assert!(!shown.contains("171"), "{shown}");
        assert_eq!(shown, format!("Key({})", key.fingerprint()));
    }

    #[test]
    fn fingerprints_differ_and_round_trip() {
        let a = Key::from_bytes([1; KEY_LEN]);
        let b = Key::from_bytes([2; KEY_LEN]);
        assert_ne!(a.fingerprint(), b.fingerprint());
        let text = a.fingerprint().to_string();
        assert_eq!(text.len(), 16);
        assert_eq!(text.parse::<Fingerprint>(), Ok(a.fingerprint()));
        assert_eq!(a.id().to_bytes(), a.fingerprint().to_bytes()[..4]);
        assert!("xyz".parse::<Fingerprint>().is_err());
    }

    #[test]
    fn hex_keys() {
        let key = Key::from_hex("000102030405060708090a0B0c0d0e0F").unwrap();
        let mut expected = [0u8; KEY_LEN];
        for (i, b) in expected.iter_mut().enumerate() {
            *b = i as u8;
        }
        assert_eq!(key, Key::from_bytes(expected));
        assert!(Key::from_hex("00").is_none());
        assert!(Key::from_hex("zz0102030405060708090a0b0c0d0e0f").is_none());
        assert!(Key::from_hex("+f0102030405060708090a0b0c0d0e0f").is_none());
    }
}
