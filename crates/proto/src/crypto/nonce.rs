//! Where nonces come from.
//!
//! Every sealed datagram carries a fresh 96-bit nonce drawn at random. The
//! core draws no unseeded randomness itself: it is given a [`NonceSource`].
//! The `eventcast` driver gives it one that reads the operating system's
//! CSPRNG; tests give it [`InsecureSeededNonces`], whose output is
//! reproducible from a seed.

use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha20Rng;

use crate::wire::NONCE_LEN;

/// A supply of 96-bit nonces for AES-GCM.
///
/// Every nonce must be unpredictable and must never repeat under the same
/// key, across every node of the group: implementations must draw from a
/// cryptographically secure generator seeded by the operating system.
pub trait NonceSource: Send {
    /// Fills `nonce` with fresh random bytes. On an error nothing is sealed
    /// with it: the datagram is not sent (counted in `seal_refused`).
    fn fill(&mut self, nonce: &mut [u8; NONCE_LEN]) -> Result<(), NonceUnavailable>;
}

/// The nonce source could not produce a nonce (the operating system's
/// generator failed).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("no random nonce available")]
pub struct NonceUnavailable;

/// Nonces from a ChaCha20 generator with a seed the caller chooses.
///
/// For tests and simulations only: two nodes given the same seed draw the
/// same nonces, and a nonce repeated under one key breaks AES-GCM
/// (confidentiality of both datagrams and authenticity of the group).
#[derive(Clone, Debug)]
pub struct InsecureSeededNonces(ChaCha20Rng);

impl InsecureSeededNonces {
    /// A generator whose whole output is fixed by `seed`.
    pub fn new(seed: u64) -> Self {
        Self(ChaCha20Rng::seed_from_u64(seed))
    }
}

impl NonceSource for InsecureSeededNonces {
    fn fill(&mut self, nonce: &mut [u8; NONCE_LEN]) -> Result<(), NonceUnavailable> {
        self.0.fill_bytes(nonce);
        Ok(())
    }
}
