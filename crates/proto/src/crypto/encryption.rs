//! How an endpoint encrypts: its keyring, its nonce source, whether it
//! also accepts plaintext, and how many datagrams one key may seal.

use super::handshake::Handshake;
use super::keyring::Keyring;
use super::nonce::NonceSource;

/// Datagrams one node seals with one key before it is told to rotate
/// ([`KeyLimit`](super::KeyLimit)): 2³¹.
pub const SEAL_WARN_AT: u64 = 1 << 31;

/// Datagrams one node seals with one key at most: 2³², NIST SP 800-38D's
/// limit for random 96-bit nonces. Past it, the node refuses to send with
/// that key (counted in `seal_refused`) until another key is made primary.
pub const SEAL_REFUSE_AT: u64 = 1 << 32;

/// How many datagrams one key may seal on this node.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct SealLimits {
    /// Reported once ([`KeyLimit`](super::KeyLimit)) when the primary key has sealed this many.
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
    pub(super) keyring: Keyring,
    pub(super) nonces: Box<dyn NonceSource>,
    pub(super) danger_accept_plaintext: bool,
    pub(super) limits: SealLimits,
    pub(super) handshake: Handshake,
    /// Senders are accepted without a challenge (their challenges to this
    /// node are still answered).
    pub(super) skip_handshake: bool,
}

impl std::fmt::Debug for Encryption {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Encryption")
            .field("keyring", &self.keyring)
            .field("danger_accept_plaintext", &self.danger_accept_plaintext)
            .field("limits", &self.limits)
            .field("handshake", &self.handshake)
            .field("skip_handshake", &self.skip_handshake)
            .finish_non_exhaustive()
    }
}

impl Encryption {
    /// Encryption with this ring (which may be empty: keys can be added
    /// later) and nonce source. Unencrypted datagrams are refused whenever
    /// the ring holds a key, and every sender is challenged before its
    /// datagrams are accepted ([`Handshake`], the default settings).
    pub fn new(keyring: Keyring, nonces: impl NonceSource + 'static) -> Self {
        Self {
            keyring,
            nonces: Box::new(nonces),
            danger_accept_plaintext: false,
            limits: SealLimits::default(),
            handshake: Handshake::default(),
            skip_handshake: false,
        }
    }

    /// Also accepts unencrypted datagrams while the ring holds keys, for a
    /// group migrating to encryption. Anyone who can reach the group can
    /// then send events to this node: the key protects nothing inbound.
    pub fn danger_accept_plaintext(mut self, accept: bool) -> Self {
        self.danger_accept_plaintext = accept;
        self
    }

    /// Other settings of the handshake that keeps replays of earlier
    /// traffic out (`docs/PROTOCOL.md` §16.8). Its durations are taken at
    /// most as [`MAX_DURATION`](crate::config::MAX_DURATION): timers are the time
    /// now plus them, which must not overflow.
    pub fn handshake(mut self, mut handshake: Handshake) -> Self {
        for d in [
            &mut handshake.first_wait,
            &mut handshake.cooldown,
            &mut handshake.slack,
            &mut handshake.answer_interval,
        ] {
            *d = (*d).min(crate::config::MAX_DURATION);
        }
        self.handshake = handshake;
        self
    }

    /// Accepts a sender's datagrams without challenging it first (as
    /// eventcast 0.2 did): for one-way links, where senders cannot hear
    /// the challenges. Sealed traffic captured earlier (from a run that has
    /// ended, or from before this node started) is then delivered again
    /// when it is replayed to a node that never saw it. The node still
    /// answers the challenges addressed to it, so that the nodes that do
    /// challenge accept what it sends.
    pub fn danger_skip_handshake(mut self, skip: bool) -> Self {
        self.skip_handshake = skip;
        self
    }

    /// Other limits of datagrams per key.
    pub fn seal_limits(mut self, limits: SealLimits) -> Self {
        self.limits = limits;
        self
    }
}
