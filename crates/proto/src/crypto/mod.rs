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
//!   [`REPLAY_WINDOW`] packet numbers, and a [`Handshake`]: a sender is
//!   challenged before anything of it is accepted, so that traffic captured
//!   earlier and replayed to a node that starts later is never delivered.
//!
//! An [`Endpoint`](crate::Endpoint) built with
//! [`Endpoint::with_encryption`](crate::Endpoint::with_encryption) seals as
//! datagrams leave [`poll_transmit`](crate::Endpoint::poll_transmit) and
//! opens them at the top of
//! [`handle_datagram`](crate::Endpoint::handle_datagram), before any parsing:
//! with a key, nothing unauthenticated reaches reassembly. See
//! `docs/SECURITY.md` for the threat model and `docs/PROTOCOL.md` §16 for
//! the bytes.

mod answerer;
mod challenger;
mod encryption;
mod fresh;
mod guard;
mod handshake;
mod kdf;
pub(crate) mod key;
mod keyring;
mod nonce;
mod replay;
pub(crate) mod seal;

pub use encryption::{Encryption, SealLimits, SEAL_REFUSE_AT, SEAL_WARN_AT};
pub(crate) use guard::{Guard, Inbound};
pub use handshake::Handshake;
pub use kdf::{KdfError, Secret, KDF_ITERATIONS, KDF_MEMORY_KIB, KDF_PARALLELISM, KDF_SALT};
pub use key::{Fingerprint, Key, KeyId, ParseFingerprintError, KEY_LEN};
pub use keyring::{KeyInfo, Keyring, KeyringError, MAX_KEYS};
pub use nonce::{InsecureSeededNonces, NonceSource, NonceUnavailable};
pub use replay::REPLAY_WINDOW;

pub use crate::shared::{KeyLimit, Unreadable};
