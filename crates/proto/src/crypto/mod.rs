//! Authenticated encryption of every datagram under a group key.
//!
//! - [`Secret`] → [`Key`]: a passphrase through Argon2id with parameters and
//!   salt fixed by the protocol ([`kdf`](Secret::derive)), or a raw 128-bit key.
//! - [`Keyring`]: one key seals, every key opens; keys are added, removed
//!   and switched while the endpoint runs, so a group rotates without
//!   downtime.
//! - Sealing: AES-128-GCM over the whole inner datagram (event names
//!   included) with a fresh random 96-bit nonce from a [`NonceSource`],
//!   the clear header authenticated as associated data
//!   ([`crate::wire::SealedFrame`]).
//! - Replay protection: per sender, a window of the last
//!   [`REPLAY_WINDOW`] packet numbers.
//!
//! An [`Endpoint`](crate::Endpoint) built with
//! [`Endpoint::with_encryption`](crate::Endpoint::with_encryption) seals as
//! datagrams leave [`poll_transmit`](crate::Endpoint::poll_transmit) and
//! opens them at the top of
//! [`handle_datagram`](crate::Endpoint::handle_datagram), before any parsing:
//! with a key, nothing unauthenticated reaches reassembly. See
//! `docs/SECURITY.md` for the threat model and `docs/PROTOCOL.md` §16 for
//! the bytes.

mod guard;
mod kdf;
pub(crate) mod key;
mod keyring;
mod nonce;
mod replay;
pub(crate) mod seal;

pub(crate) use guard::{Guard, Inbound};
pub use kdf::{KdfError, Secret, KDF_ITERATIONS, KDF_MEMORY_KIB, KDF_PARALLELISM, KDF_SALT};
pub use key::{Fingerprint, Key, KeyId, ParseFingerprintError, KEY_LEN};
pub use keyring::{KeyInfo, Keyring, KeyringError, MAX_KEYS};
pub use nonce::{InsecureSeededNonces, NonceSource, NonceUnavailable};
pub use replay::REPLAY_WINDOW;

/// Datagrams one node seals with one key before it is told to rotate
/// ([`KeyLimit`]): 2³¹.
pub const SEAL_WARN_AT: u64 = 1 << 31;

/// Datagrams one node seals with one key at most: 2³², NIST SP 800-38D's
/// limit for random 96-bit nonces. Past it, the node refuses to send with
/// that key (counted in `seal_refused`) until another key is made primary.
pub const SEAL_REFUSE_AT: u64 = 1 << 32;

/// How many datagrams one key may seal on this node.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct SealLimits {
    /// Reported once ([`KeyLimit`]) when the primary key has sealed this many.
    pub warn_at: u64,
    /// The primary key seals no more than this many; further datagrams are
    /// refused and counted.
    pub refuse_at: u64,
}

impl Default for SealLimits {
    fn default() -> Self {
        Self {
            warn_at: SEAL_WARN_AT,
            refuse_at: SEAL_REFUSE_AT,
        }
    }
}

impl SealLimits {
    /// Lower limits than the default (for tests, or a stricter policy).
    /// Limits above the defaults are lowered to them.
    pub fn new(warn_at: u64, refuse_at: u64) -> Self {
        let refuse_at = refuse_at.min(SEAL_REFUSE_AT);
        Self {
            warn_at: warn_at.min(refuse_at),
            refuse_at,
        }
    }
}

/// How an endpoint encrypts: its keyring, where its nonces come from, and
/// whether it also accepts unencrypted datagrams.
pub struct Encryption {
    keyring: Keyring,
    nonces: Box<dyn NonceSource>,
    danger_accept_plaintext: bool,
    limits: SealLimits,
}

impl std::fmt::Debug for Encryption {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Encryption")
            .field("keyring", &self.keyring)
            .field("danger_accept_plaintext", &self.danger_accept_plaintext)
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

impl Encryption {
    /// Encryption with this ring (which may be empty: keys can be added
    /// later) and nonce source. Unencrypted datagrams are refused whenever
    /// the ring holds a key.
    pub fn new(keyring: Keyring, nonces: impl NonceSource + 'static) -> Self {
        Self {
            keyring,
            nonces: Box::new(nonces),
            danger_accept_plaintext: false,
            limits: SealLimits::default(),
        }
    }

    /// Also accepts unencrypted datagrams while the ring holds keys, for a
    /// group migrating to encryption. Anyone who can reach the group can
    /// then send events to this node: the key protects nothing inbound.
    pub fn danger_accept_plaintext(mut self, accept: bool) -> Self {
        self.danger_accept_plaintext = accept;
        self
    }

    /// Other limits of datagrams per key.
    pub fn seal_limits(mut self, limits: SealLimits) -> Self {
        self.limits = limits;
        self
    }
}

/// Why a datagram could not be read (see
/// [`ProtocolError::Unreadable`](crate::ProtocolError::Unreadable)).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Unreadable {
    /// Not encrypted, and this node requires encryption.
    Unencrypted,
    /// Encrypted with a key this node does not have (or this node has none).
    UnknownKey,
    /// Encrypted with a key id this node has, but it does not authenticate:
    /// a different key with the same id, or tampering.
    BadTag,
}

impl std::fmt::Display for Unreadable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Unreadable::Unencrypted => "it is not encrypted and this node requires encryption",
            Unreadable::UnknownKey => "it is encrypted with a key this node does not have",
            Unreadable::BadTag => "it does not authenticate under this node's key",
        })
    }
}

/// A key this node seals with is nearing (or reached) the number of
/// datagrams it may safely seal: make another key primary.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct KeyLimit {
    /// The key.
    pub fingerprint: Fingerprint,
    /// Datagrams this node sealed with it.
    pub sealed: u64,
    /// The count at which it stops sealing.
    pub refuse_at: u64,
}
