//! The identifiers of the legacy protocol: a node's `id` and a message's
//! `seqId`, both strings on the wire.

use std::fmt;

use rand::RngCore;

use crate::ids::SenderId;

/// A legacy node's `id`: whatever string the node reports. The original
/// draws 16 random hex digits at every start, but its users may set any
/// string, so any string is accepted.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LegacyId(String);

impl LegacyId {
    /// Wraps an id.
    pub fn new(id: impl Into<String>) -> Self {
        Self(id.into())
    }

    /// The id as sent.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl From<SenderId> for LegacyId {
    /// Sixteen lower-case hex digits, the form the original draws.
    fn from(id: SenderId) -> Self {
        Self(id.to_string())
    }
}

impl fmt::Display for LegacyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for LegacyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "LegacyId({:?})", self.0)
    }
}

/// The number of hex digits of a `seqId` (and of a `nonce`).
pub const SEQ_ID_LEN: usize = 40;

/// A message's `seqId`: 40 hex digits, drawn at random for every message
/// (the original sends a SHA-1 hex digest of random bytes).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SeqId(String);

impl SeqId {
    /// Accepts exactly 40 ASCII hex digits (either case, kept as given).
    pub fn parse(s: &str) -> Option<Self> {
        is_hex40(s).then(|| Self(s.to_owned()))
    }

    /// Draws a new id from `rng`.
    pub(crate) fn random(rng: &mut impl RngCore) -> Self {
        Self(random_hex40(rng))
    }

    /// The id as sent.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for SeqId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for SeqId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SeqId({})", self.0)
    }
}

fn is_hex40(s: &str) -> bool {
    s.len() == SEQ_ID_LEN && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// 20 random bytes as 40 lower-case hex digits: the shape of the
/// original's `seqId` and `nonce`.
pub(crate) fn random_hex40(rng: &mut impl RngCore) -> String {
    let mut raw = [0u8; SEQ_ID_LEN / 2];
    rng.fill_bytes(&mut raw);
    let mut s = String::with_capacity(SEQ_ID_LEN);
    for b in raw {
        s.push(hex_digit(b >> 4));
        s.push(hex_digit(b & 0x0f));
    }
    s
}

fn hex_digit(n: u8) -> char {
    char::from(b"0123456789abcdef"[usize::from(n & 0x0f)])
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha20Rng;

    #[test]
    fn seq_id_shape() {
        let mut rng = ChaCha20Rng::seed_from_u64(7);
        let id = SeqId::random(&mut rng);
        assert_eq!(id.as_str().len(), 40);
        assert_eq!(SeqId::parse(id.as_str()), Some(id));
        assert!(SeqId::parse("71c8e8cd08b20777e404f879794f60ef5f594b76").is_some());
        assert!(SeqId::parse("71C8E8CD08B20777E404F879794F60EF5F594B76").is_some());
        assert!(SeqId::parse("71c8e8cd08b20777e404f879794f60ef5f594b7").is_none());
        assert!(SeqId::parse("71c8e8cd08b20777e404f879794f60ef5f594b7g").is_none());
        assert!(SeqId::parse("").is_none());
    }

    #[test]
    fn legacy_id_from_sender_id() {
        let id = LegacyId::from(SenderId::new(0x0123_4567_89ab_cdef));
        assert_eq!(id.as_str(), "0123456789abcdef");
    }
}
