//! The status frame: a receiver tells a sender how far into its stream it
//! has read, and how many bytes beyond that it can take in (Aeron's status
//! message, with its receiver window).
//!
//! | offset | size | field |
//! | --- | --- | --- |
//! | 0 | 5 | common prefix, frame type `07`, flags `00` |
//! | 5 | 8 | sender id of the receiver that reports |
//! | 13 | 8 | target: sender id of the stream it reports on |
//! | 21 | 8 | seq: the furthest message of the target's it has read from |
//! | 29 | 4 | offset: the end, in body bytes, of the furthest segment of `seq` it has read |
//! | 33 | 4 | window: body bytes it can take in beyond that |
//!
//! The sender may have `window` bytes of new data beyond (`seq`, `offset`)
//! on their way; it clamps both values to what it sent and to its own
//! limits. All integers big-endian; the frame is exactly 37 bytes.

use super::header::{parse_unflagged, write_prefix, DecodeError, Flags, FrameType, MAX_SEQ};
use crate::ids::{MessageSeq, SenderId};

/// Length of a status datagram.
pub const STATUS_LEN: usize = 37;

/// A parsed status: `seq <= MAX_SEQ` always holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Status {
    from: SenderId,
    target: SenderId,
    seq: MessageSeq,
    offset: u32,
    window: u32,
}

impl Status {
    /// A status, if `seq` is at most [`MAX_SEQ`].
    pub fn new(
        from: SenderId,
        target: SenderId,
        seq: MessageSeq,
        offset: u32,
        window: u32,
    ) -> Result<Self, DecodeError> {
        if seq.get() > MAX_SEQ {
            return Err(DecodeError::Inconsistent("status seq past MAX_SEQ"));
        }
        Ok(Self {
            from,
            target,
            seq,
            offset,
            window,
        })
    }

    /// Parses a whole datagram as a status.
    pub fn parse(bytes: &[u8]) -> Result<Self, DecodeError> {
        let rest = parse_unflagged(bytes, FrameType::Status)?;
        let fixed: &[u8; 32] = rest
            .try_into()
            .map_err(|_| DecodeError::Truncated { len: bytes.len() })?;
        let (ids, tail) = fixed.split_at(24);
        let u64_at = |i: usize| {
            let mut b = [0u8; 8];
            b.copy_from_slice(&ids[i..i + 8]);
            u64::from_be_bytes(b)
        };
        let u32_at = |i: usize| {
            let mut b = [0u8; 4];
            b.copy_from_slice(&tail[i..i + 4]);
            u32::from_be_bytes(b)
        };
        Self::new(
            SenderId::new(u64_at(0)),
            SenderId::new(u64_at(8)),
            MessageSeq::new(u64_at(16)),
            u32_at(0),
            u32_at(4),
        )
    }

    /// The receiver that reports.
    pub fn from(&self) -> SenderId {
        self.from
    }

    /// The sender whose stream it reports on.
    pub fn target(&self) -> SenderId {
        self.target
    }

    /// The furthest message it has read from.
    pub fn seq(&self) -> MessageSeq {
        self.seq
    }

    /// Where, in body bytes of `seq`, the furthest segment it read ends.
    pub fn offset(&self) -> u32 {
        self.offset
    }

    /// Body bytes it can take in beyond (`seq`, `offset`).
    pub fn window(&self) -> u32 {
        self.window
    }

    /// Writes the 37 bytes to `out`.
    pub fn write(&self, out: &mut Vec<u8>) {
        write_prefix(out, FrameType::Status, Flags::empty());
        out.extend_from_slice(&self.from.get().to_be_bytes());
        out.extend_from_slice(&self.target.get().to_be_bytes());
        out.extend_from_slice(&self.seq.get().to_be_bytes());
        out.extend_from_slice(&self.offset.to_be_bytes());
        out.extend_from_slice(&self.window.to_be_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn example() -> Status {
        Status::new(
            SenderId::new(0x0123_4567_89ab_cdef),
            SenderId::new(2),
            MessageSeq::new(5),
            4096,
            0x0001_a000,
        )
        .unwrap()
    }

    #[test]
    fn emit_then_parse() {
        let st = example();
        let mut bytes = Vec::new();
        st.write(&mut bytes);
        assert_eq!(bytes.len(), STATUS_LEN);
        let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(
            hex,
            "eca5010700\
             0123456789abcdef\
             0000000000000002\
             0000000000000005\
             00001000\
             0001a000"
        );
        assert_eq!(Status::parse(&bytes), Ok(st));
        for cut in 0..bytes.len() {
            assert!(Status::parse(&bytes[..cut]).is_err());
        }
        let mut long = bytes.clone();
        long.push(0);
        assert!(Status::parse(&long).is_err());
        let mut flagged = bytes.clone();
        flagged[4] = 1;
        assert!(Status::parse(&flagged).is_err());
    }

    #[test]
    fn seq_past_max_is_inconsistent() {
        let mut bytes = Vec::new();
        example().write(&mut bytes);
        bytes[21] = 0xff;
        assert_eq!(
            Status::parse(&bytes),
            Err(DecodeError::Inconsistent("status seq past MAX_SEQ"))
        );
    }
}
