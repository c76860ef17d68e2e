//! The challenge frame: a node that first hears a keyed sender asks it to
//! prove that it is alive now, before it accepts anything from it
//! (`docs/PROTOCOL.md` §16.8). Only ever sent sealed.
//!
//! | offset | size | field |
//! | --- | --- | --- |
//! | 0 | 5 | common prefix, frame type `05`, flags `00` |
//! | 5 | 8 | from: the challenger's sender id |
//! | 13 | 8 | target: the sender challenged |
//! | 21 | 16 | nonce: fresh random bytes of the challenger |
//! | 37 | 4 | waited: milliseconds since the challenger first heard the target in this round (saturating) |
//!
//! All integers are big-endian; the frame is exactly 41 bytes.

use super::header::{parse_unflagged, write_prefix, DecodeError, Flags, FrameType};
use crate::ids::SenderId;

/// Length of a challenge datagram (before sealing).
pub const CHALLENGE_LEN: usize = 41;

/// Bytes of a challenge's nonce.
pub const CHALLENGE_NONCE_LEN: usize = 16;

/// A parsed challenge.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Challenge {
    /// The node that asks.
    pub from: SenderId,
    /// The sender it asks to answer.
    pub target: SenderId,
    /// Random bytes the answer must carry back.
    pub nonce: [u8; CHALLENGE_NONCE_LEN],
    /// Milliseconds since the challenger first heard the target in this
    /// round (`u32::MAX`: that long or more): how far back the answer
    /// should vouch for the target's datagrams.
    pub waited_ms: u32,
}

impl Challenge {
    /// Parses a whole datagram as a challenge.
    pub fn parse(bytes: &[u8]) -> Result<Self, DecodeError> {
        let rest = parse_unflagged(bytes, FrameType::Challenge)?;
        let fixed: &[u8; CHALLENGE_LEN - 5] = rest
            .try_into()
            .map_err(|_| DecodeError::Truncated { len: bytes.len() })?;
        let u64_at = |i: usize| {
            let mut b = [0u8; 8];
            b.copy_from_slice(&fixed[i..i + 8]);
            u64::from_be_bytes(b)
        };
        let mut nonce = [0u8; CHALLENGE_NONCE_LEN];
        nonce.copy_from_slice(&fixed[16..32]);
        let mut waited = [0u8; 4];
        waited.copy_from_slice(&fixed[32..36]);
        Ok(Self {
            from: SenderId::new(u64_at(0)),
            target: SenderId::new(u64_at(8)),
            nonce,
            waited_ms: u32::from_be_bytes(waited),
        })
    }

    /// Writes the 41 bytes to `out`.
    pub fn write(&self, out: &mut Vec<u8>) {
        write_prefix(out, FrameType::Challenge, Flags::empty());
        out.extend_from_slice(&self.from.get().to_be_bytes());
        out.extend_from_slice(&self.target.get().to_be_bytes());
        out.extend_from_slice(&self.nonce);
        out.extend_from_slice(&self.waited_ms.to_be_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_then_parse() {
        let c = Challenge {
            from: SenderId::new(0x0102_0304_0506_0708),
            target: SenderId::new(9),
            nonce: [0xAB; CHALLENGE_NONCE_LEN],
            waited_ms: 0x0A0B_0C0D,
        };
        let mut bytes = Vec::new();
        c.write(&mut bytes);
        assert_eq!(bytes.len(), CHALLENGE_LEN);
        assert_eq!(&bytes[..13], &[0xEC, 0xA5, 1, 5, 0, 1, 2, 3, 4, 5, 6, 7, 8]);
        assert_eq!(&bytes[21..37], &[0xAB; 16]);
        assert_eq!(&bytes[37..], &[0x0A, 0x0B, 0x0C, 0x0D]);
        assert_eq!(Challenge::parse(&bytes), Ok(c));
        for cut in 0..bytes.len() {
            assert!(Challenge::parse(&bytes[..cut]).is_err(), "cut at {cut}");
        }
        let mut long = bytes.clone();
        long.push(0);
        assert!(Challenge::parse(&long).is_err());
        let mut flagged = bytes;
        flagged[4] = 1;
        assert_eq!(
            Challenge::parse(&flagged),
            Err(DecodeError::UnknownFlags(1))
        );
    }
}
