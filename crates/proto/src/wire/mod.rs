//! The byte layout of eventcast datagrams, version 1.
//!
//! Every datagram starts with the same five bytes: a two-byte magic value, a
//! version byte, a frame type and a flags byte. Version 1 defines five frame
//! types: [`FrameType::Data`] (one segment of a message), [`FrameType::Nack`]
//! (a repair request), [`FrameType::Heartbeat`] (a sender's lead and trail),
//! [`FrameType::Batch`] (several small messages in one datagram) and
//! [`FrameType::Status`] (a receiver's read position and window), and one
//! envelope, [`FrameType::Sealed`], which carries any other frame encrypted
//! and authenticated under a group key. Two more frame types travel only
//! inside sealed frames: [`FrameType::Challenge`] and [`FrameType::Answer`],
//! the handshake that keeps replays of earlier traffic out. See
//! `docs/PROTOCOL.md` for the full tables.
//!
//! Parsing follows "parse, don't validate": a [`DataFrame`] that exists has a
//! consistent segment geometry and can be emitted again byte for byte.

mod answer;
mod batch;
mod challenge;
mod data;
mod header;
mod heartbeat;
mod nack;
mod sealed;
mod status;

pub use answer::{Answer, AnswerEntry, ANSWER_ENTRY_LEN, ANSWER_HEADER_LEN, MAX_ANSWER_ENTRIES};
pub use batch::{Batch, BATCH_ENTRY_OVERHEAD, BATCH_HEADER_LEN};
pub use challenge::{Challenge, CHALLENGE_LEN, CHALLENGE_NONCE_LEN};
pub use data::{DataFrame, DataHeader};
pub(crate) use header::parse_common;
pub use header::{
    DecodeError, Flags, FrameType, DATA_HEADER_LEN, MAGIC, MAX_DATAGRAM_SIZE, MAX_SEGMENT_PAYLOAD,
    MAX_SEQ, VERSION,
};
pub use heartbeat::{Heartbeat, HEARTBEAT_LEN};
pub use nack::{Nack, NackEntry, MAX_NACK_ENTRIES, NACK_ENTRY_LEN, NACK_HEADER_LEN};
pub use sealed::{
    PacketNumber, SealedFrame, SealedHeader, INNER_OMITTED, MAX_SEALED_SEGMENT_PAYLOAD,
    MIN_SEALED_LEN, NONCE_LEN, SEALED_HEADER_LEN, SEAL_OVERHEAD, TAG_LEN,
};
pub use status::{Status, STATUS_LEN};

/// Any parsed datagram.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Frame<'a> {
    /// A data frame.
    Data(DataFrame<'a>),
    /// A NACK.
    Nack(Nack),
    /// A heartbeat.
    Heartbeat(Heartbeat),
    /// A batch.
    Batch(Batch<'a>),
    /// A challenge (valid only inside a sealed frame).
    Challenge(Challenge),
    /// An answer to challenges (valid only inside a sealed frame).
    Answer(Answer),
    /// A receiver's read position and window.
    Status(Status),
}

impl<'a> Frame<'a> {
    /// Parses a whole datagram.
    pub fn parse(bytes: &'a [u8]) -> Result<Self, DecodeError> {
        let (ty, _, _) = parse_common(bytes)?;
        Ok(match ty {
            FrameType::Data => Frame::Data(DataFrame::parse(bytes)?),
            FrameType::Nack => Frame::Nack(Nack::parse(bytes)?),
            FrameType::Heartbeat => Frame::Heartbeat(Heartbeat::parse(bytes)?),
            FrameType::Batch => Frame::Batch(Batch::parse(bytes)?),
            FrameType::Challenge => Frame::Challenge(Challenge::parse(bytes)?),
            FrameType::Answer => Frame::Answer(Answer::parse(bytes)?),
            FrameType::Status => Frame::Status(Status::parse(bytes)?),
            // Opened at the endpoint's boundary; one inside another is not
            // a frame anybody sends.
            FrameType::Sealed => {
                return Err(DecodeError::Inconsistent(
                    "a sealed frame where a plain one belongs",
                ))
            }
        })
    }

    /// The sender id the frame carries (for a NACK, the node that asks;
    /// for a status, the node that reports).
    pub fn sender(&self) -> crate::ids::SenderId {
        match self {
            Frame::Data(d) => d.header().sender,
            Frame::Nack(n) => n.from(),
            Frame::Heartbeat(h) => h.sender(),
            Frame::Batch(b) => b.sender(),
            Frame::Challenge(c) => c.from,
            Frame::Answer(a) => a.sender(),
            Frame::Status(s) => s.from(),
        }
    }
}

/// The protocol version of a datagram of the original Node.js eventcast
/// (0.1.x: a big-endian u16 length, then a BSON metadata document whose
/// int32 `v` is the version, 3 for 0.1.2), if it is one. Such datagrams do
/// not start with [`MAGIC`], and are reported as another version rather
/// than as foreign traffic.
pub(crate) fn legacy_version(datagram: &[u8]) -> Option<u8> {
    let (len, rest) = datagram.split_first_chunk::<2>()?;
    let meta = rest.get(..usize::from(u16::from_be_bytes(*len)))?;
    let version = bson::RawDocument::from_bytes(meta)
        .ok()?
        .get_i32("v")
        .ok()?;
    u8::try_from(version).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_the_original_protocol() {
        // The first 26 bytes of a captured eventcast 0.1.2 datagram
        // (meta length 0x00e0, then a BSON document starting with v: 3).
        let mut captured = vec![0x00, 0xe0, 0xe0, 0x00, 0x00, 0x00];
        captured.extend_from_slice(&[0x10, b'v', 0, 3, 0, 0, 0]);
        assert_eq!(legacy_version(&captured), None, "truncated meta");
        let meta = bson::serialize_to_vec(&bson::doc! {"v": 3, "seq": 0}).unwrap();
        let mut datagram = (meta.len() as u16).to_be_bytes().to_vec();
        datagram.extend_from_slice(&meta);
        datagram.extend_from_slice(b"body");
        assert_eq!(legacy_version(&datagram), Some(3));
        assert_eq!(legacy_version(b"random bytes here"), None);
        assert_eq!(legacy_version(&[]), None);
    }

    #[test]
    fn common_prefix_errors() {
        assert_eq!(parse_common(&[]), Err(DecodeError::Truncated { len: 0 }));
        assert_eq!(
            parse_common(&[0xEC]),
            Err(DecodeError::Truncated { len: 1 })
        );
        assert_eq!(parse_common(&[0, 0, 1]), Err(DecodeError::BadMagic));
        assert_eq!(
            parse_common(&[0xEC, 0xA5, 3]),
            Err(DecodeError::UnsupportedVersion { version: 3 })
        );
        assert_eq!(
            parse_common(&[0xEC, 0xA5, 2, 1, 0, 0]),
            Err(DecodeError::UnsupportedVersion { version: 2 })
        );
        assert_eq!(
            parse_common(&[0xEC, 0xA5, 1, 9, 0]),
            Err(DecodeError::UnknownFrameType(9))
        );
        assert_eq!(
            parse_common(&[0xEC, 0xA5, 1, 1, 0x80]),
            Err(DecodeError::UnknownFlags(0x80))
        );
        assert_eq!(
            parse_common(&[0xEC, 0xA5, 1, 1, 1, 7]),
            Ok((FrameType::Data, Flags::RETRANSMISSION, &[7u8][..]))
        );
    }
}
