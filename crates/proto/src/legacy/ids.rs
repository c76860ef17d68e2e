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

impl LegacyId {
    /// The [`SenderId`] events from this node carry.
    ///
    /// The original draws its id as 16 hex digits: such an id (either
    /// case) is read as the 64-bit number it spells, so a Rust node in
    /// legacy mode and the CLI show the same 16 digits the Node node logs.
    /// Any other string (the original lets its users set `id`) maps to the
    /// 64-bit FNV-1a hash of its UTF-8 bytes: stable and the same on every
    /// node, but not reversible, and two such ids may collide (see
    /// [`is_canonical`](Self::is_canonical)).
    pub fn sender_id(&self) -> SenderId {
        if self.is_canonical() {
            if let Ok(raw) = u64::from_str_radix(&self.0, 16) {
                return SenderId::new(raw);
            }
        }
        SenderId::new(fnv1a64(self.0.as_bytes()))
    }

    /// Whether the id is 16 ASCII hex digits, the form the original draws,
    /// which [`sender_id`](Self::sender_id) reads as a number rather than
    /// hashing.
    pub fn is_canonical(&self) -> bool {
        self.0.len() == 16 && self.0.bytes().all(|b| b.is_ascii_hexdigit())
    }
}

/// 64-bit FNV-1a.
fn fnv1a64(bytes: &[u8]) -> u64 {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    bytes
        .iter()
        .fold(OFFSET, |h, &b| (h ^ u64::from(b)).wrapping_mul(PRIME))
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

    #[test]
    fn sender_id_of_legacy_ids() {
        for raw in [0, 1, 0x0123_4567_89ab_cdef, u64::MAX] {
            let id = LegacyId::from(SenderId::new(raw));
            assert!(id.is_canonical());
            assert_eq!(id.sender_id(), SenderId::new(raw));
        }
        let upper = LegacyId::new("0123456789ABCDEF");
        assert!(upper.is_canonical());
        assert_eq!(upper.sender_id(), SenderId::new(0x0123_4567_89ab_cdef));
        // anything else is hashed: stable, and not read as a number
        for other in [
            "",
            "abc",
            "+123456789abcdef",
            "0123456789abcdef0",
            "node-a",
            "日本",
        ] {
            let id = LegacyId::new(other);
            assert!(!id.is_canonical(), "{other}");
            assert_eq!(id.sender_id(), LegacyId::new(other).sender_id());
        }
        // FNV-1a 64 test vectors
        assert_eq!(
            LegacyId::new("").sender_id(),
            SenderId::new(0xcbf2_9ce4_8422_2325)
        );
        assert_eq!(
            LegacyId::new("a").sender_id(),
            SenderId::new(0xaf63_dc4c_8601_ec8c)
        );
        assert_eq!(
            LegacyId::new("foobar").sender_id(),
            SenderId::new(0x8594_4171_f739_67e8)
        );
    }
}
