//! The keyring: one key seals, every key opens.
//!
//! A group rotates its key without losing a datagram in three steps, each
//! one done on every node before the next begins: add the new key (every
//! node can now open it), make it the primary (nodes now seal with it),
//! remove the old key.

use aes_gcm::{Aes128Gcm, KeyInit};

use super::key::{Fingerprint, Key, KeyId};

/// Keys a ring holds at most. Each received datagram is tried against the
/// keys whose id it names, so the bound also bounds that work.
pub const MAX_KEYS: usize = 16;

/// A key with its cipher ready and the count of datagrams sealed with it.
pub(crate) struct Entry {
    pub(crate) key: Key,
    pub(crate) cipher: Aes128Gcm,
    pub(crate) sealed: u64,
}

/// A set of group keys, one of which (the primary) seals outgoing datagrams.
/// Every key in the ring opens incoming ones.
///
/// ```
/// use eventcast_proto::crypto::{Key, Keyring};
///
/// let old = Key::from_bytes([1; 16]);
/// let new = Key::from_bytes([2; 16]);
/// let mut ring = Keyring::with_primary(old.clone());
/// ring.add(new.clone()).unwrap();
/// ring.use_key(new.fingerprint()).unwrap();
/// ring.remove(old.fingerprint()).unwrap();
/// assert_eq!(ring.primary().map(|k| k.fingerprint()), Some(new.fingerprint()));
/// ```
#[derive(Default)]
pub struct Keyring {
    entries: Vec<Entry>,
    primary: Option<usize>,
}

impl std::fmt::Debug for Keyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.keys()).finish()
    }
}

impl Clone for Keyring {
    /// A ring with the same keys and primary; the counts of datagrams sealed
    /// start again at zero.
    fn clone(&self) -> Self {
        let mut ring = Keyring::new();
        for entry in &self.entries {
            let _ = ring.add(entry.key.clone());
        }
        ring.primary = self.primary;
        ring
    }
}

/// What the application may know of a key in a ring.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct KeyInfo {
    /// The key's fingerprint.
    pub fingerprint: Fingerprint,
    /// Whether it seals outgoing datagrams.
    pub primary: bool,
    /// Datagrams this node sealed with it (since this ring was made).
    pub sealed: u64,
}

/// A keyring operation that cannot be done. Always the caller's doing.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyringError {
    /// No key with this fingerprint is in the ring.
    #[error("no key with fingerprint {0} in the keyring")]
    UnknownKey(Fingerprint),
    /// The primary key cannot be removed: make another one primary first.
    #[error("key {0} is the primary key: make another key primary before removing it")]
    RemovePrimary(Fingerprint),
    /// The ring is full.
    #[error("the keyring holds at most {MAX_KEYS} keys")]
    Full,
    /// This endpoint was made without encryption (no nonce source).
    #[error("this endpoint was created without encryption")]
    NotEncrypting,
}

impl Keyring {
    /// An empty ring: nothing is sealed, and sealed datagrams cannot be
    /// opened.
    pub fn new() -> Self {
        Self::default()
    }

    /// A ring holding `key` as its primary.
    pub fn with_primary(key: Key) -> Self {
        let mut ring = Self::new();
        let _ = ring.add(key);
        ring
    }

    /// Adds a key that opens datagrams. The first key added to an empty
    /// ring becomes the primary. Adding a key already there does nothing.
    /// Returns whether the key was new.
    pub fn add(&mut self, key: Key) -> Result<bool, KeyringError> {
        if self.position(key.fingerprint()).is_some() {
            return Ok(false);
        }
        if self.entries.len() >= MAX_KEYS {
            return Err(KeyringError::Full);
        }
        let cipher = Aes128Gcm::new(key.bytes().into());
        self.entries.push(Entry {
            key,
            cipher,
            sealed: 0,
        });
        if self.primary.is_none() {
            self.primary = Some(self.entries.len() - 1);
        }
        Ok(true)
    }

    /// Makes the key with this fingerprint the one that seals.
    pub fn use_key(&mut self, fingerprint: Fingerprint) -> Result<(), KeyringError> {
        let at = self
            .position(fingerprint)
            .ok_or(KeyringError::UnknownKey(fingerprint))?;
        self.primary = Some(at);
        Ok(())
    }

    /// Removes a key that is not the primary.
    pub fn remove(&mut self, fingerprint: Fingerprint) -> Result<(), KeyringError> {
        let at = self
            .position(fingerprint)
            .ok_or(KeyringError::UnknownKey(fingerprint))?;
        if self.primary == Some(at) {
            return Err(KeyringError::RemovePrimary(fingerprint));
        }
        self.entries.remove(at);
        self.primary = self.primary.map(|p| if p > at { p - 1 } else { p });
        Ok(())
    }

    /// The key that seals, if any.
    pub fn primary(&self) -> Option<&Key> {
        self.primary.map(|p| &self.entries[p].key)
    }

    /// Whether the ring holds no key.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// How many keys the ring holds.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// The keys, in the order they were added.
    pub fn keys(&self) -> Vec<KeyInfo> {
        self.entries
            .iter()
            .enumerate()
            .map(|(i, e)| KeyInfo {
                fingerprint: e.key.fingerprint(),
                primary: self.primary == Some(i),
                sealed: e.sealed,
            })
            .collect()
    }

    /// The primary key's entry, to seal with.
    pub(crate) fn primary_entry(&mut self) -> Option<&mut Entry> {
        self.primary.map(|p| &mut self.entries[p])
    }

    /// The primary key's entry, read only.
    #[cfg(feature = "fuzzing")]
    pub(crate) fn primary_entry_ref(&self) -> Option<&Entry> {
        self.primary.map(|p| &self.entries[p])
    }

    /// The entries whose key has this id: the candidates to open a datagram.
    pub(crate) fn candidates(&self, id: KeyId) -> impl Iterator<Item = &Entry> {
        self.entries.iter().filter(move |e| e.key.id() == id)
    }

    fn position(&self, fingerprint: Fingerprint) -> Option<usize> {
        self.entries
            .iter()
            .position(|e| e.key.fingerprint() == fingerprint)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(n: u8) -> Key {
        Key::from_bytes([n; 16])
    }

    #[test]
    fn first_key_is_primary_and_primary_cannot_go() {
        let mut ring = Keyring::new();
        assert!(ring.primary().is_none());
        assert_eq!(ring.add(key(1)), Ok(true));
        assert_eq!(ring.add(key(1)), Ok(false));
        assert_eq!(ring.add(key(2)), Ok(true));
        assert_eq!(ring.primary(), Some(&key(1)));
        assert_eq!(
            ring.remove(key(1).fingerprint()),
            Err(KeyringError::RemovePrimary(key(1).fingerprint()))
        );
        ring.use_key(key(2).fingerprint()).unwrap();
        ring.remove(key(1).fingerprint()).unwrap();
        assert_eq!(ring.primary(), Some(&key(2)));
        assert_eq!(ring.len(), 1);
        assert_eq!(
            ring.use_key(key(9).fingerprint()),
            Err(KeyringError::UnknownKey(key(9).fingerprint()))
        );
    }

    #[test]
    fn primary_index_follows_removals() {
        let mut ring = Keyring::new();
        for n in 1..=3 {
            ring.add(key(n)).unwrap();
        }
        ring.use_key(key(3).fingerprint()).unwrap();
        ring.remove(key(1).fingerprint()).unwrap();
        assert_eq!(ring.primary(), Some(&key(3)));
        let infos = ring.keys();
        assert_eq!(infos.len(), 2);
        assert!(infos[1].primary && !infos[0].primary);
    }

    #[test]
    fn bounded() {
        let mut ring = Keyring::new();
        for n in 0..MAX_KEYS as u8 {
            ring.add(key(n)).unwrap();
        }
        assert_eq!(ring.add(key(200)), Err(KeyringError::Full));
    }

    #[test]
    fn debug_shows_no_key_bytes() {
        let ring = Keyring::with_primary(key(0xAB));
        let shown = format!("{ring:?}");
        assert!(shown.contains(&key(0xAB).fingerprint().to_string()));
        assert!(!shown.contains("171"), "{shown}");
    }
}
