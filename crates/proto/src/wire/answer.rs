//! The answer frame: a sender's reply to one or more challenges, sent to the
//! group, sealed, at most one per answer interval (`docs/PROTOCOL.md`
//! §16.8). Each entry gives one challenger back its nonce with the packet
//! number from which on the sender vouches for its datagrams.
//!
//! | offset | size | field |
//! | --- | --- | --- |
//! | 0 | 5 | common prefix, frame type `06`, flags `00` |
//! | 5 | 8 | sender id: the node that answers (the sealed frame's sender) |
//! | 13 | 2 | entry count `n`, `1 ..= 32` |
//! | 15 | 32·n | entries: challenger (u64), nonce (16 bytes), floor (u64) |
//!
//! All integers are big-endian; the frame is exactly `15 + 32·n` bytes.

use super::challenge::CHALLENGE_NONCE_LEN;
use super::header::{parse_unflagged, write_prefix, DecodeError, Flags, FrameType};
use super::sealed::PacketNumber;
use crate::ids::SenderId;

/// Bytes of an answer before its entries.
pub const ANSWER_HEADER_LEN: usize = 15;

/// Bytes of one answer entry.
pub const ANSWER_ENTRY_LEN: usize = 32;

/// Entries one answer carries at most.
pub const MAX_ANSWER_ENTRIES: usize = 32;

/// One challenge answered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AnswerEntry {
    /// The node whose challenge this answers.
    pub challenger: SenderId,
    /// The challenge's nonce, given back.
    pub nonce: [u8; CHALLENGE_NONCE_LEN],
    /// The lowest packet number the sender vouches for: every datagram it
    /// sealed from this one on is its own, of this run, and recent enough
    /// for the challenger.
    pub floor: PacketNumber,
}

/// A parsed answer: 1 to [`MAX_ANSWER_ENTRIES`] entries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Answer {
    sender: SenderId,
    entries: Vec<AnswerEntry>,
}

impl Answer {
    /// An answer with these entries, if there are 1 to
    /// [`MAX_ANSWER_ENTRIES`] of them.
    pub fn new(sender: SenderId, entries: Vec<AnswerEntry>) -> Result<Self, DecodeError> {
        if entries.is_empty() || entries.len() > MAX_ANSWER_ENTRIES {
            return Err(DecodeError::Inconsistent("answer entry count"));
        }
        Ok(Self { sender, entries })
    }

    /// Parses a whole datagram as an answer.
    pub fn parse(bytes: &[u8]) -> Result<Self, DecodeError> {
        let rest = parse_unflagged(bytes, FrameType::Answer)?;
        let truncated = DecodeError::Truncated { len: bytes.len() };
        let (sender, rest) = rest.split_first_chunk::<8>().ok_or(truncated)?;
        let (count, rest) = rest.split_first_chunk::<2>().ok_or(truncated)?;
        let count = usize::from(u16::from_be_bytes(*count));
        if rest.len() != count * ANSWER_ENTRY_LEN {
            return Err(DecodeError::Inconsistent("answer length"));
        }
        let entries = rest
            .chunks_exact(ANSWER_ENTRY_LEN)
            .map(|e| {
                let mut challenger = [0u8; 8];
                challenger.copy_from_slice(&e[..8]);
                let mut nonce = [0u8; CHALLENGE_NONCE_LEN];
                nonce.copy_from_slice(&e[8..24]);
                let mut floor = [0u8; 8];
                floor.copy_from_slice(&e[24..32]);
                AnswerEntry {
                    challenger: SenderId::new(u64::from_be_bytes(challenger)),
                    nonce,
                    floor: PacketNumber::new(u64::from_be_bytes(floor)),
                }
            })
            .collect();
        Self::new(SenderId::new(u64::from_be_bytes(*sender)), entries)
    }

    /// The node that answers.
    pub fn sender(&self) -> SenderId {
        self.sender
    }

    /// The challenges answered.
    pub fn entries(&self) -> &[AnswerEntry] {
        &self.entries
    }

    /// Writes the `15 + 32·n` bytes to `out`.
    pub fn write(&self, out: &mut Vec<u8>) {
        write_prefix(out, FrameType::Answer, Flags::empty());
        out.extend_from_slice(&self.sender.get().to_be_bytes());
        // At most MAX_ANSWER_ENTRIES (32) entries: fits a u16.
        out.extend_from_slice(&(self.entries.len() as u16).to_be_bytes());
        for e in &self.entries {
            out.extend_from_slice(&e.challenger.get().to_be_bytes());
            out.extend_from_slice(&e.nonce);
            out.extend_from_slice(&e.floor.get().to_be_bytes());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(i: u8) -> AnswerEntry {
        AnswerEntry {
            challenger: SenderId::new(u64::from(i) + 100),
            nonce: [i; CHALLENGE_NONCE_LEN],
            floor: PacketNumber::new(u64::from(i) * 1000),
        }
    }

    #[test]
    fn write_then_parse() {
        let a = Answer::new(SenderId::new(7), vec![entry(1), entry(2)]).unwrap();
        let mut bytes = Vec::new();
        a.write(&mut bytes);
        assert_eq!(bytes.len(), ANSWER_HEADER_LEN + 2 * ANSWER_ENTRY_LEN);
        assert_eq!(
            &bytes[..15],
            &[0xEC, 0xA5, 1, 6, 0, 0, 0, 0, 0, 0, 0, 0, 7, 0, 2]
        );
        assert_eq!(&bytes[15..23], &101u64.to_be_bytes()[..]);
        assert_eq!(&bytes[39..47], &1000u64.to_be_bytes()[..]);
        assert_eq!(Answer::parse(&bytes), Ok(a));
        for cut in 0..bytes.len() {
            assert!(Answer::parse(&bytes[..cut]).is_err(), "cut at {cut}");
        }
        let mut long = bytes.clone();
        long.push(0);
        assert!(Answer::parse(&long).is_err());
        let mut flagged = bytes;
        flagged[4] = 1;
        assert_eq!(Answer::parse(&flagged), Err(DecodeError::UnknownFlags(1)));
    }

    #[test]
    fn entry_count_is_bounded() {
        assert!(Answer::new(SenderId::new(1), Vec::new()).is_err());
        let full: Vec<_> = (0..MAX_ANSWER_ENTRIES as u8).map(entry).collect();
        assert!(Answer::new(SenderId::new(1), full.clone()).is_ok());
        let mut over = full;
        over.push(entry(99));
        assert!(Answer::new(SenderId::new(1), over.clone()).is_err());
        // The same on the wire: a count of 0, or of 33 with its bytes.
        let mut bytes = Vec::new();
        Answer::new(SenderId::new(1), vec![entry(1)])
            .unwrap()
            .write(&mut bytes);
        let mut empty = bytes[..ANSWER_HEADER_LEN].to_vec();
        empty[14] = 0;
        assert!(Answer::parse(&empty).is_err());
        let mut big = bytes[..ANSWER_HEADER_LEN].to_vec();
        big[14] = 33;
        for e in &over {
            big.extend_from_slice(&e.challenger.get().to_be_bytes());
            big.extend_from_slice(&e.nonce);
            big.extend_from_slice(&e.floor.get().to_be_bytes());
        }
        assert!(Answer::parse(&big).is_err());
    }
}
