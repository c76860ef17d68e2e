//! The keyring of a node with encryption: the keys derived from the
//! configuration, changed while the node runs through [`Keys`], and handed
//! to the endpoint at every start.

use std::sync::{Mutex, MutexGuard};

use eventcast_proto::crypto::{Fingerprint, KeyInfo, Keyring, KeyringError, Secret};
use eventcast_proto::wire::MAX_SEALED_SEGMENT_PAYLOAD;

use crate::config::Config;
use crate::driver::{Command, KeyChange};
use crate::error::{ConfigError, Error};
use crate::inline::Commands;
use crate::shared::Shared;
use crate::wire_protocol::WireProtocol;

/// The node's keys: derived from the configuration at the first start (or
/// first [`Keys`] call), then changed by [`Keys`]; every start hands the
/// endpoint a copy.
pub(crate) struct KeyStore {
    /// The configured keys, derived once.
    secrets: Vec<Secret>,
    /// Why the ring cannot change, if it cannot.
    refusal: Option<Refusal>,
    state: Mutex<KeyState>,
}

/// Why a node's ring cannot change.
#[derive(Clone, Copy)]
enum Refusal {
    /// The legacy protocol has its own encryption.
    Legacy,
    /// The payload size leaves no room for sealing.
    NotEncrypting,
}

/// The ring and the running endpoint it is mirrored into, under one lock:
/// a change reaches the endpoint in the order it was made, and a start
/// holds the lock from copying the ring until the endpoint is attached.
pub(crate) struct KeyState {
    ring: Option<Keyring>,
    endpoint: Option<Commands>,
}

impl KeyState {
    /// A copy of the ring for a new endpoint (empty before any key).
    pub(crate) fn ring(&self) -> Keyring {
        self.ring.clone().unwrap_or_default()
    }

    /// From now on, changes also go to the endpoint behind `commands`.
    pub(crate) fn attach(&mut self, commands: Commands) {
        self.endpoint = Some(commands);
    }

    /// The endpoint stopped.
    pub(crate) fn detach(&mut self) {
        self.endpoint = None;
    }
}

impl KeyStore {
    pub(crate) fn new(config: &Config) -> Self {
        let encryption = &config.encryption;
        let refusal = if config.wire_protocol == WireProtocol::LegacyV3 {
            Some(Refusal::Legacy)
        } else if config.protocol.max_payload_size > MAX_SEALED_SEGMENT_PAYLOAD {
            Some(Refusal::NotEncrypting)
        } else {
            None
        };
        Self {
            secrets: encryption
                .key
                .iter()
                .chain(&encryption.decrypt_keys)
                .cloned()
                .collect(),
            refusal,
            state: Mutex::new(KeyState {
                ring: None,
                endpoint: None,
            }),
        }
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, KeyState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Derives the configured keys into the ring, once (Argon2id, on a
    /// blocking thread).
    pub(crate) async fn derive(&self) -> Result<(), Error> {
        if self.lock().ring.is_some() {
            return Ok(());
        }
        let secrets = self.secrets.clone();
        let keys = tokio::task::spawn_blocking(move || {
            secrets
                .iter()
                .map(Secret::derive)
                .collect::<Result<Vec<_>, _>>()
        })
        .await
        .map_err(|_| Error::Closed)??;
        let mut state = self.lock();
        if state.ring.is_none() {
            let mut ring = Keyring::new();
            for key in keys {
                ring.add(key)?;
            }
            state.ring = Some(ring);
        }
        Ok(())
    }

    /// Applies a change to the ring and, while running, the same change to
    /// the endpoint's.
    async fn change(&self, change: KeyChange) -> Result<(), Error> {
        match self.refusal {
            Some(Refusal::Legacy) => {
                return Err(Error::Config(ConfigError::Legacy(
                    "the keyring is the native protocol's; the legacy protocol's encryption \
                     is legacy.insecure_legacy_key"
                        .to_owned(),
                )))
            }
            Some(Refusal::NotEncrypting) => return Err(KeyringError::NotEncrypting.into()),
            None => {}
        }
        self.derive().await?;
        let mut state = self.lock();
        change.apply(state.ring.get_or_insert_with(Keyring::new))?;
        if let Some(tx) = &state.endpoint {
            let _ = tx.send(Command::Keys(change));
        }
        Ok(())
    }
}

/// A node's keyring, from [`Eventcast::keys`](crate::node::Eventcast::keys):
/// the keys that open what it receives, one of which (the primary) seals
/// what it sends. Changes apply to the running node at once and are kept
/// across stops.
///
/// Rotation without loss: [`add`](Self::add) the new key on every node,
/// then [`set_primary`](Self::set_primary) it on every node, then
/// [`remove`](Self::remove) the old one on every node.
///
/// ```no_run
/// # async fn f() -> Result<(), eventcast::Error> {
/// use eventcast::{Config, Eventcast};
///
/// let node = Eventcast::new(Config::default().port(41234).key("old passphrase"))?;
/// node.start().await?;
/// let old = node.keys().list().await?[0].fingerprint;
/// let new = node.keys().add("new passphrase").await?;
/// node.keys().set_primary(new).await?;
/// node.keys().remove(old).await?;
/// # Ok(()) }
/// ```
///
/// With the legacy protocol, or a `max_payload_size` too large for sealed
/// datagrams, every change fails.
pub struct Keys<'a> {
    store: &'a KeyStore,
    shared: &'a Shared,
}

impl<'a> Keys<'a> {
    pub(crate) fn new(store: &'a KeyStore, shared: &'a Shared) -> Self {
        Self { store, shared }
    }

    /// Adds a key to the ring: from now on it opens received datagrams.
    /// The first key of a node without one also becomes the primary key,
    /// the one that seals (the node then encrypts everything it sends and
    /// refuses plaintext). A passphrase is stretched with Argon2id first
    /// (tens of milliseconds, on a blocking thread). Returns the key's
    /// fingerprint.
    pub async fn add(&self, key: impl Into<Secret>) -> Result<Fingerprint, Error> {
        let secret = key.into();
        let key = tokio::task::spawn_blocking(move || secret.derive())
            .await
            .map_err(|_| Error::Closed)??;
        let fingerprint = key.fingerprint();
        self.store.change(KeyChange::Add(key)).await?;
        Ok(fingerprint)
    }

    /// Makes a key of the ring the primary one, the key that seals what
    /// this node sends.
    pub async fn set_primary(&self, fingerprint: Fingerprint) -> Result<(), Error> {
        self.store.change(KeyChange::Use(fingerprint)).await
    }

    /// Removes a key from the ring; it no longer opens anything. The
    /// primary key cannot be removed: [`set_primary`](Self::set_primary)
    /// another first.
    pub async fn remove(&self, fingerprint: Fingerprint) -> Result<(), Error> {
        self.store.change(KeyChange::Remove(fingerprint)).await
    }

    /// The keys of the ring, with how many datagrams this run sealed with
    /// each. Never the keys themselves: their fingerprints.
    pub async fn list(&self) -> Result<Vec<KeyInfo>, Error> {
        self.store.derive().await?;
        let published = self.shared.keys_mut().clone();
        let state = self.store.lock();
        let mut keys = state.ring.as_ref().map(Keyring::keys).unwrap_or_default();
        for key in &mut keys {
            if let Some(p) = published.iter().find(|p| p.fingerprint == key.fingerprint) {
                key.sealed = p.sealed;
            }
        }
        Ok(keys)
    }
}

impl std::fmt::Debug for Keys<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keys").finish_non_exhaustive()
    }
}
