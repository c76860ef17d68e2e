//! The batch frame: several small, complete messages with consecutive
//! sequence numbers in one datagram.
//!
//! | offset | size | field |
//! | --- | --- | --- |
//! | 0 | 5 | common prefix, frame type `04`; flags `00` or `01` (retransmission) |
//! | 5 | 8 | sender id |
//! | 13 | 8 | seq of the first message |
//! | 21 | 2 | message count `n`, at least 1 |
//! | 23 | .. | `n` times: body length `L` (u32, at least 1), then `L` bytes of body |
//!
//! Message `i` (from 0) has seq `first + i`. The entries fill the datagram
//! exactly. All integers big-endian.

use super::header::{parse_common, write_prefix, DecodeError, Flags, FrameType};
use crate::ids::{MessageSeq, SenderId};

/// Bytes before the first entry.
pub const BATCH_HEADER_LEN: usize = 23;

/// Bytes an entry adds before its body.
pub const BATCH_ENTRY_OVERHEAD: usize = 4;

/// A parsed batch: at least one non-empty body, seqs without overflow.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Batch<'a> {
    flags: Flags,
    sender: SenderId,
    first: MessageSeq,
    bodies: Vec<&'a [u8]>,
}

impl<'a> Batch<'a> {
    /// A batch, if it has at least one body, none empty, and the seqs do
    /// not overflow.
    pub fn new(
        flags: Flags,
        sender: SenderId,
        first: MessageSeq,
        bodies: Vec<&'a [u8]>,
    ) -> Result<Self, DecodeError> {
        use DecodeError::Inconsistent;
        if bodies.is_empty() || bodies.len() > usize::from(u16::MAX) {
            return Err(Inconsistent("batch message count out of range"));
        }
        if bodies
            .iter()
            .any(|b| b.is_empty() || u32::try_from(b.len()).is_err())
        {
            return Err(Inconsistent("empty batch entry"));
        }
        if first.get().checked_add(bodies.len() as u64 - 1).is_none() {
            return Err(Inconsistent("batch seqs overflow"));
        }
        Ok(Self {
            flags,
            sender,
            first,
            bodies,
        })
    }

    /// Parses a whole datagram as a batch.
    pub fn parse(bytes: &'a [u8]) -> Result<Self, DecodeError> {
        let (ty, flags, rest) = parse_common(bytes)?;
        if ty != FrameType::Batch {
            return Err(DecodeError::UnknownFrameType(ty.to_byte()));
        }
        let Some((fixed, mut body)) = rest.split_first_chunk::<18>() else {
            return Err(DecodeError::Truncated { len: bytes.len() });
        };
        let mut b8 = [0u8; 8];
        b8.copy_from_slice(&fixed[0..8]);
        let sender = SenderId::new(u64::from_be_bytes(b8));
        b8.copy_from_slice(&fixed[8..16]);
        let first = MessageSeq::new(u64::from_be_bytes(b8));
        let n = usize::from(u16::from_be_bytes([fixed[16], fixed[17]]));
        let mut bodies = Vec::with_capacity(n.min(body.len() / 5 + 1));
        for _ in 0..n {
            let Some((len, after)) = body.split_first_chunk::<4>() else {
                return Err(DecodeError::Inconsistent("batch entry past the end"));
            };
            let len = u32::from_be_bytes(*len) as usize;
            if len > after.len() {
                return Err(DecodeError::Inconsistent("batch entry past the end"));
            }
            let (this, next) = after.split_at(len);
            bodies.push(this);
            body = next;
        }
        if !body.is_empty() {
            return Err(DecodeError::Inconsistent(
                "bytes after the last batch entry",
            ));
        }
        if first.get().saturating_add(bodies.len() as u64) > super::header::MAX_SEQ {
            return Err(DecodeError::Inconsistent(
                "batch sequence numbers past MAX_SEQ",
            ));
        }
        Self::new(flags, sender, first, bodies)
    }

    /// The flags.
    pub fn flags(&self) -> Flags {
        self.flags
    }

    /// The sender.
    pub fn sender(&self) -> SenderId {
        self.sender
    }

    /// The seq of the first message.
    pub fn first(&self) -> MessageSeq {
        self.first
    }

    /// The bodies, in seq order.
    pub fn bodies(&self) -> &[&'a [u8]] {
        &self.bodies
    }

    /// The datagram length of a batch of bodies of these lengths.
    pub fn len_for(body_lens: impl IntoIterator<Item = usize>) -> usize {
        BATCH_HEADER_LEN
            + body_lens
                .into_iter()
                .map(|l| l + BATCH_ENTRY_OVERHEAD)
                .sum::<usize>()
    }

    /// Writes the datagram to `out`.
    pub fn write(&self, out: &mut Vec<u8>) {
        out.reserve(Self::len_for(self.bodies.iter().map(|b| b.len())));
        write_prefix(out, FrameType::Batch, self.flags);
        out.extend_from_slice(&self.sender.get().to_be_bytes());
        out.extend_from_slice(&self.first.get().to_be_bytes());
        // Checked in new(): fits u16, and every body fits u32.
        out.extend_from_slice(&(self.bodies.len() as u16).to_be_bytes());
        for b in &self.bodies {
            out.extend_from_slice(&(b.len() as u32).to_be_bytes());
            out.extend_from_slice(b);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emit_then_parse() {
        let bodies: Vec<&[u8]> = vec![b"hello", b"x", b"world!"];
        let batch = Batch::new(
            Flags::RETRANSMISSION,
            SenderId::new(3),
            MessageSeq::new(40),
            bodies,
        )
        .unwrap();
        let mut bytes = Vec::new();
        batch.write(&mut bytes);
        assert_eq!(bytes.len(), Batch::len_for([5, 1, 6]));
        assert_eq!(&bytes[..5], &[0xEC, 0xA5, 1, 4, 1]);
        assert_eq!(Batch::parse(&bytes), Ok(batch));
        for cut in 0..bytes.len() {
            assert!(Batch::parse(&bytes[..cut]).is_err(), "cut {cut}");
        }
        let mut long = bytes.clone();
        long.push(0);
        assert!(Batch::parse(&long).is_err());
    }

    #[test]
    fn bad_batches_are_refused() {
        assert!(Batch::new(Flags::empty(), SenderId::new(1), MessageSeq::new(0), vec![]).is_err());
        assert!(Batch::new(
            Flags::empty(),
            SenderId::new(1),
            MessageSeq::new(0),
            vec![b""]
        )
        .is_err());
        assert!(Batch::new(
            Flags::empty(),
            SenderId::new(1),
            MessageSeq::new(u64::MAX),
            vec![b"a", b"b"]
        )
        .is_err());
        // a huge declared count with nothing behind it
        let mut bytes = Vec::new();
        Batch::new(
            Flags::empty(),
            SenderId::new(1),
            MessageSeq::new(0),
            vec![b"a"],
        )
        .unwrap()
        .write(&mut bytes);
        bytes[21..23].copy_from_slice(&u16::MAX.to_be_bytes());
        assert!(Batch::parse(&bytes).is_err());
    }
}
