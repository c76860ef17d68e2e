//! The five bytes every datagram starts with (magic, version, frame type,
//! flags), the sizes and limits every frame shares, and why a datagram
//! does not parse.

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
    /// A node asks a keyed sender to prove it is alive now (only ever
    /// sealed; see [`Challenge`](super::Challenge)).
    Challenge,
    /// A sender's reply to challenges (only ever sealed; see
    /// [`Answer`](super::Answer)).
    Answer,
    /// A receiver's read position and window (see [`Status`](super::Status)).
    Status,
    /// Another frame, encrypted and authenticated (see [`SealedFrame`](super::SealedFrame)).
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
            FrameType::Challenge => 0x05,
            FrameType::Answer => 0x06,
            FrameType::Status => 0x07,
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
            0x05 => Some(FrameType::Challenge),
            0x06 => Some(FrameType::Answer),
            0x07 => Some(FrameType::Status),
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

/// Checks the five common bytes of a frame that carries no flag (NACK,
/// heartbeat, challenge, answer, status) of type `expected`, and returns the bytes
/// after them.
pub(crate) fn parse_unflagged(bytes: &[u8], expected: FrameType) -> Result<&[u8], DecodeError> {
    let (ty, flags, rest) = parse_common(bytes)?;
    if ty != expected {
        return Err(DecodeError::UnknownFrameType(ty.to_byte()));
    }
    if flags != Flags::empty() {
        return Err(DecodeError::UnknownFlags(flags.bits()));
    }
    Ok(rest)
}

/// Writes the five common bytes of a frame of type `ty` with `flags`.
pub(crate) fn write_prefix(out: &mut Vec<u8>, ty: FrameType, flags: Flags) {
    out.extend_from_slice(&MAGIC);
    out.push(VERSION);
    out.push(ty.to_byte());
    out.push(flags.bits());
}
