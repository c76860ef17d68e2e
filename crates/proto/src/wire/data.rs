//! The data frame: one segment of one event message.
//!
//! | offset | size | field |
//! | --- | --- | --- |
//! | 0 | 2 | magic `EC A5` |
//! | 2 | 1 | version (1) |
//! | 3 | 1 | frame type (`01`, data) |
//! | 4 | 1 | flags |
//! | 5 | 8 | sender id |
//! | 13 | 8 | message sequence number |
//! | 21 | 4 | segment index |
//! | 25 | 4 | segment count |
//! | 29 | 4 | message length (bytes of the whole BSON body) |
//! | 33 | .. | payload: this segment's slice of the body |
//!
//! All integers are big-endian. Every segment but the last carries exactly
//! the sender's segment size; the last carries the rest (1 to segment size
//! bytes). So any one segment tells the receiver the segment size.

use super::header::{parse_common, write_prefix, DecodeError, Flags, FrameType, DATA_HEADER_LEN};
use crate::ids::{MessageSeq, SegmentIndex, SenderId};

/// The fields of a data frame's header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DataHeader {
    /// Flags byte.
    pub flags: Flags,
    /// Who sent the message.
    pub sender: SenderId,
    /// The message's number in the sender's stream.
    pub seq: MessageSeq,
    /// This segment's index.
    pub index: SegmentIndex,
    /// How many segments the message has (at least 1).
    pub count: u32,
    /// Length in bytes of the whole message body.
    pub message_len: u32,
}

impl DataHeader {
    /// Writes the header's 33 bytes to `out`.
    pub fn write(&self, out: &mut Vec<u8>) {
        write_prefix(out, FrameType::Data, self.flags);
        out.extend_from_slice(&self.sender.get().to_be_bytes());
        out.extend_from_slice(&self.seq.get().to_be_bytes());
        out.extend_from_slice(&self.index.get().to_be_bytes());
        out.extend_from_slice(&self.count.to_be_bytes());
        out.extend_from_slice(&self.message_len.to_be_bytes());
    }
}

/// A parsed data frame whose geometry is consistent: the index is below the
/// count, and the payload length fits the declared message length and count.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DataFrame<'a> {
    header: DataHeader,
    payload: &'a [u8],
    segment_size: u32,
}

impl<'a> DataFrame<'a> {
    /// Builds a frame from a header and payload, checking the geometry.
    pub fn new(header: DataHeader, payload: &'a [u8]) -> Result<Self, DecodeError> {
        let segment_size = geometry(&header, payload.len())?;
        Ok(Self {
            header,
            payload,
            segment_size,
        })
    }

    /// Parses a whole datagram as a data frame.
    pub fn parse(bytes: &'a [u8]) -> Result<Self, DecodeError> {
        let (ty, flags, rest) = parse_common(bytes)?;
        if ty != FrameType::Data {
            return Err(DecodeError::UnknownFrameType(ty.to_byte()));
        }
        let Some((fixed, payload)) = rest.split_first_chunk::<28>() else {
            return Err(DecodeError::Truncated { len: bytes.len() });
        };
        let u64_at = |i: usize| {
            let mut b = [0u8; 8];
            b.copy_from_slice(&fixed[i..i + 8]);
            u64::from_be_bytes(b)
        };
        let u32_at = |i: usize| {
            let mut b = [0u8; 4];
            b.copy_from_slice(&fixed[i..i + 4]);
            u32::from_be_bytes(b)
        };
        let header = DataHeader {
            flags,
            sender: SenderId::new(u64_at(0)),
            seq: MessageSeq::new(u64_at(8)),
            index: SegmentIndex::new(u32_at(16)),
            count: u32_at(20),
            message_len: u32_at(24),
        };
        Self::new(header, payload)
    }

    /// The header.
    pub fn header(&self) -> &DataHeader {
        &self.header
    }

    /// This segment's slice of the message body.
    pub fn payload(&self) -> &'a [u8] {
        self.payload
    }

    /// The sender's segment size for this message, derived from the header.
    pub fn segment_size(&self) -> u32 {
        self.segment_size
    }

    /// Whether this is the last segment of its message.
    pub fn is_last(&self) -> bool {
        self.header.index.get() + 1 == self.header.count
    }

    /// Writes the whole datagram (header and payload) to `out`.
    pub fn write(&self, out: &mut Vec<u8>) {
        out.reserve(DATA_HEADER_LEN + self.payload.len());
        self.header.write(out);
        out.extend_from_slice(self.payload);
    }
}

/// Checks that a segment of `payload_len` bytes fits its header and returns
/// the segment size it implies.
fn geometry(h: &DataHeader, payload_len: usize) -> Result<u32, DecodeError> {
    use DecodeError::Inconsistent;
    if h.seq.get() > super::header::MAX_SEQ {
        return Err(Inconsistent("message sequence number past MAX_SEQ"));
    }
    let count = u64::from(h.count);
    let index = u64::from(h.index.get());
    let len = u64::from(h.message_len);
    let payload = payload_len as u64;
    if count == 0 {
        return Err(Inconsistent("segment count is zero"));
    }
    if index >= count {
        return Err(Inconsistent("segment index past the count"));
    }
    if payload == 0 {
        return Err(Inconsistent("empty payload"));
    }
    if count == 1 {
        return if payload == len {
            u32::try_from(payload).map_err(|_| Inconsistent("payload too large"))
        } else {
            Err(Inconsistent(
                "single segment shorter or longer than the message",
            ))
        };
    }
    let size = if index + 1 < count {
        // A full segment: the other count-1 segments hold the rest.
        if payload * (count - 1) >= len || payload * count < len {
            return Err(Inconsistent("segment size does not fit the message length"));
        }
        payload
    } else {
        // The last segment: the count-1 full segments hold the rest exactly.
        let full = len
            .checked_sub(payload)
            .ok_or(Inconsistent("last segment longer than the message"))?;
        if full % (count - 1) != 0 {
            return Err(Inconsistent("last segment does not complete the message"));
        }
        let size = full / (count - 1);
        if payload > size {
            return Err(Inconsistent("last segment longer than the others"));
        }
        size
    };
    u32::try_from(size).map_err(|_| Inconsistent("segment size too large"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(index: u32, count: u32, message_len: u32) -> DataHeader {
        DataHeader {
            flags: Flags::empty(),
            sender: SenderId::new(0x0102_0304_0506_0708),
            seq: MessageSeq::new(42),
            index: SegmentIndex::new(index),
            count,
            message_len,
        }
    }

    #[test]
    fn emit_then_parse() {
        let payload = [9u8; 10];
        let frame = DataFrame::new(header(1, 3, 25), &payload).unwrap();
        let mut bytes = Vec::new();
        frame.write(&mut bytes);
        assert_eq!(bytes.len(), DATA_HEADER_LEN + 10);
        assert_eq!(
            &bytes[..DATA_HEADER_LEN],
            &[
                0xEC, 0xA5, 1, 1, 0, // magic, version, type, flags
                1, 2, 3, 4, 5, 6, 7, 8, // sender
                0, 0, 0, 0, 0, 0, 0, 42, // seq
                0, 0, 0, 1, // index
                0, 0, 0, 3, // count
                0, 0, 0, 25, // message length
            ]
        );
        let parsed = DataFrame::parse(&bytes).unwrap();
        assert_eq!(parsed, frame);
        assert_eq!(parsed.segment_size(), 10);
    }

    #[test]
    fn geometry_rules() {
        // single segment must carry the whole message
        assert!(DataFrame::new(header(0, 1, 5), &[0; 5]).is_ok());
        assert!(DataFrame::new(header(0, 1, 6), &[0; 5]).is_err());
        // index past count, zero count, empty payload
        assert!(DataFrame::new(header(3, 3, 25), &[0; 10]).is_err());
        assert!(DataFrame::new(header(0, 0, 25), &[0; 10]).is_err());
        assert!(DataFrame::new(header(0, 3, 25), &[]).is_err());
        // full segments: 3 x 10 holds 21..=30
        assert!(DataFrame::new(header(0, 3, 21), &[0; 10]).is_ok());
        assert!(DataFrame::new(header(0, 3, 30), &[0; 10]).is_ok());
        assert!(DataFrame::new(header(0, 3, 20), &[0; 10]).is_err());
        assert!(DataFrame::new(header(0, 3, 31), &[0; 10]).is_err());
        // last segment implies the size
        let last = DataFrame::new(header(2, 3, 25), &[0; 5]).unwrap();
        assert_eq!(last.segment_size(), 10);
        assert!(last.is_last());
        assert!(DataFrame::new(header(2, 3, 26), &[0; 5]).is_err());
        assert!(DataFrame::new(header(2, 3, 4), &[0; 5]).is_err());
        // a last segment longer than the others
        assert!(DataFrame::new(header(1, 2, 13), &[0; 7]).is_err());
        // a forged count near u32::MAX with a tiny payload is rejected
        assert!(DataFrame::new(header(0, u32::MAX, 100), &[0; 1]).is_err());
    }

    #[test]
    fn truncated_header() {
        let mut bytes = Vec::new();
        DataFrame::new(header(0, 1, 5), &[0; 5])
            .unwrap()
            .write(&mut bytes);
        for cut in 5..DATA_HEADER_LEN {
            assert_eq!(
                DataFrame::parse(&bytes[..cut]),
                Err(DecodeError::Truncated { len: cut })
            );
        }
    }
}
