//! The byte layout of eventcast datagrams, version 1.
//!
//! Every datagram starts with the same five bytes: a two-byte magic value, a
//! version byte, a frame type and a flags byte. Version 1 defines four frame
//! types: [`FrameType::Data`] (one segment of a message), [`FrameType::Nack`]
//! (a repair request), [`FrameType::Heartbeat`] (a sender's lead and trail)
//! and [`FrameType::Batch`] (several small messages in one datagram), and one
//! envelope, [`FrameType::Sealed`], which carries any other frame encrypted
//! and authenticated under a group key. See `docs/PROTOCOL.md` for the full
//! tables.
//!
//! Parsing follows "parse, don't validate": a [`DataFrame`] that exists has a
//! consistent segment geometry and can be emitted again byte for byte.

mod batch;
mod data;
mod heartbeat;
mod nack;
mod sealed;

pub use batch::{Batch, BATCH_ENTRY_OVERHEAD, BATCH_HEADER_LEN};
pub use data::{DataFrame, DataHeader};
pub use heartbeat::{Heartbeat, HEARTBEAT_LEN};
pub use nack::{Nack, NackEntry, MAX_NACK_ENTRIES, NACK_ENTRY_LEN, NACK_HEADER_LEN};
pub use sealed::{
    PacketNumber, SealedFrame, SealedHeader, INNER_OMITTED, MIN_SEALED_LEN, NONCE_LEN,
    SEALED_HEADER_LEN, SEAL_OVERHEAD, TAG_LEN,
};

/// The first two bytes of every eventcast datagram.
pub const MAGIC: [u8; 2] = [0xEC, 0xA5];

/// The highest message sequence number any frame may carry. A sender
/// numbers its messages from 0 and can never come near it; a frame that
/// claims more is malformed, so that every `seq + n` a receiver computes
/// stays far from overflow.
pub const MAX_SEQ: u64 = (1 << 62) - 1;

/// The protocol version this crate speaks.
pub const VERSION: u8 = 1;

/// Bytes before the payload in a data frame.
pub const DATA_HEADER_LEN: usize = 33;

/// The largest UDP payload over IPv4.
pub const MAX_DATAGRAM_SIZE: usize = 65_507;

/// The largest `max_payload_size` a sender may use, so that a segment with
/// its header still fits one UDP datagram.
pub const MAX_SEGMENT_PAYLOAD: usize = MAX_DATAGRAM_SIZE - DATA_HEADER_LEN;

/// The kind of frame a datagram carries (byte 3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum FrameType {
    /// One segment of an event message.
    Data,
    /// A receiver's request for repairs.
    Nack,
    /// A sender's lead and trail.
    Heartbeat,
    /// Several complete small messages.
    Batch,
    /// Another frame, encrypted and authenticated (see [`SealedFrame`]).
    Sealed,
}

impl FrameType {
    /// The byte that stands for this frame type on the wire.
    pub const fn to_byte(self) -> u8 {
        match self {
            FrameType::Data => 0x01,
            FrameType::Nack => 0x02,
            FrameType::Heartbeat => 0x03,
            FrameType::Batch => 0x04,
            FrameType::Sealed => 0x80,
        }
    }

    /// The frame type for a wire byte, if version 1 defines it.
    pub const fn from_byte(b: u8) -> Option<Self> {
        match b {
            0x01 => Some(FrameType::Data),
            0x02 => Some(FrameType::Nack),
            0x03 => Some(FrameType::Heartbeat),
            0x04 => Some(FrameType::Batch),
            0x80 => Some(FrameType::Sealed),
            _ => None,
        }
    }
}

/// The flags byte (byte 4).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Flags(u8);

impl Flags {
    /// The data or batch frame is sent again in answer to a NACK (a repair).
    /// Receivers treat its contents like any other; it tells them that the
    /// sender is repairing.
    pub const RETRANSMISSION: Flags = Flags(0x01);
    /// Every bit version 1 knows; a datagram with any other bit set is
    /// dropped as malformed, so a later feature can never be misread.
    pub const KNOWN: Flags = Flags(0x01);

    /// No flag set.
    pub const fn empty() -> Self {
        Flags(0)
    }

    /// The raw byte.
    pub const fn bits(self) -> u8 {
        self.0
    }

    /// Flags from a raw byte, or `None` if it has a bit version 1 does not know.
    pub const fn from_bits(b: u8) -> Option<Self> {
        if b & !Self::KNOWN.0 == 0 {
            Some(Flags(b))
        } else {
            None
        }
    }

    /// Whether every flag of `other` is set here.
    pub const fn contains(self, other: Flags) -> bool {
        self.0 & other.0 == other.0
    }

    /// These flags with `other`'s set too.
    pub const fn with(self, other: Flags) -> Self {
        Flags(self.0 | other.0)
    }
}

/// Why a datagram could not be parsed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// Shorter than the fixed header.
    #[error("datagram too short: {len} bytes")]
    Truncated {
        /// Bytes received.
        len: usize,
    },
    /// Does not start with the eventcast magic value: not ours.
    #[error("not an eventcast datagram (bad magic)")]
    BadMagic,
    /// An eventcast datagram of a protocol version we do not speak.
    #[error("unsupported protocol version {version} (this node speaks {VERSION})")]
    UnsupportedVersion {
        /// The version byte received.
        version: u8,
    },
    /// A frame type version 1 does not define.
    #[error("unknown frame type 0x{0:02x}")]
    UnknownFrameType(u8),
    /// A flag bit version 1 does not define.
    #[error("unknown flags 0x{0:02x}")]
    UnknownFlags(u8),
    /// Header fields that contradict each other (segment index past the
    /// count, a payload that does not fit the declared message length, ...).
    #[error("inconsistent header: {0}")]
    Inconsistent(&'static str),
}

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
            // Opened at the endpoint's boundary; one inside another is not
            // a frame anybody sends.
            FrameType::Sealed => {
                return Err(DecodeError::Inconsistent(
                    "a sealed frame where a plain one belongs",
                ))
            }
        })
    }

    /// The sender id the frame carries (for a NACK, the node that asks).
    pub fn sender(&self) -> crate::SenderId {
        match self {
            Frame::Data(d) => d.header().sender,
            Frame::Nack(n) => n.from(),
            Frame::Heartbeat(h) => h.sender(),
            Frame::Batch(b) => b.sender(),
        }
    }
}

/// Checks the five bytes every datagram shares and returns the frame type,
/// the flags and the bytes after them.
pub(crate) fn parse_common(bytes: &[u8]) -> Result<(FrameType, Flags, &[u8]), DecodeError> {
    let [m0, m1, version, ty, flags, rest @ ..] = bytes else {
        return match bytes {
            [m0, m1, ..] if [*m0, *m1] != MAGIC => Err(DecodeError::BadMagic),
            [_, _, v, ..] if *v != VERSION => Err(DecodeError::UnsupportedVersion { version: *v }),
            _ => Err(DecodeError::Truncated { len: bytes.len() }),
        };
    };
    if [*m0, *m1] != MAGIC {
        return Err(DecodeError::BadMagic);
    }
    if *version != VERSION {
        return Err(DecodeError::UnsupportedVersion { version: *version });
    }
    let ty = FrameType::from_byte(*ty).ok_or(DecodeError::UnknownFrameType(*ty))?;
    let flags = Flags::from_bits(*flags).ok_or(DecodeError::UnknownFlags(*flags))?;
    Ok((ty, flags, rest))
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
