//! The NACK frame: a receiver asks a sender to repeat what it missed.
//!
//! | offset | size | field |
//! | --- | --- | --- |
//! | 0 | 5 | common prefix, frame type `02`, flags `00` |
//! | 5 | 8 | sender id of the node that asks |
//! | 13 | 8 | target: sender id of the stream it asks about |
//! | 21 | 2 | entry count `n`, 0 ..= 64 |
//! | 23 | 17·n | entries |
//!
//! Each entry is 17 bytes: `kind` (u8), `seq` (u64), `a` (u32), `b` (u32).
//!
//! | kind | meaning |
//! | --- | --- |
//! | `01` | whole messages `seq .. seq + b` are missing (`a` = 0, `b` >= 1) |
//! | `02` | segments `a .. a + b` of message `seq` are missing (`b` >= 1) |
//! | `03` | segments `a + i` of message `seq` for every bit `i` set in `b` (bit 0 is the least significant; `b` != 0) |
//!
//! A NACK without entries asks nothing to be repaired: it asks the target
//! for a heartbeat soon. A receiver that first hears a stream mid-way sends
//! one to learn the stream's age (see [`Heartbeat`](super::Heartbeat)).
//!
//! NACKs go to the group, so that other receivers that miss the same data
//! hear them and hold their own (suppression). All integers big-endian; the
//! datagram is exactly `23 + 17·n` bytes, at most 1111.

use super::header::{parse_unflagged, write_prefix, DecodeError, Flags, FrameType};
use crate::ids::{MessageSeq, SenderId};

/// The most entries one NACK carries.
pub const MAX_NACK_ENTRIES: usize = 64;

/// Bytes before the entries.
pub const NACK_HEADER_LEN: usize = 23;

/// Bytes of one entry.
pub const NACK_ENTRY_LEN: usize = 17;

/// One thing a NACK asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum NackEntry {
    /// Whole messages `first .. first + count`.
    Messages {
        /// The first missing message.
        first: MessageSeq,
        /// How many, at least 1.
        count: u32,
    },
    /// Segments `first .. first + count` of message `seq`.
    Segments {
        /// The message.
        seq: MessageSeq,
        /// The first missing segment.
        first: u32,
        /// How many, at least 1.
        count: u32,
    },
    /// Segments `first + i` of message `seq` for each bit `i` of `bits`.
    SegmentBitmap {
        /// The message.
        seq: MessageSeq,
        /// The segment of bit 0.
        first: u32,
        /// Bit `i` set: segment `first + i` is missing. Never 0.
        bits: u32,
    },
}

impl NackEntry {
    /// Checks the entry's ranges (non-empty, no overflow).
    fn check(self) -> Result<Self, DecodeError> {
        use DecodeError::Inconsistent;
        let ok = match self {
            NackEntry::Messages { first, count } => {
                count >= 1 && first.get().checked_add(u64::from(count)).is_some()
            }
            NackEntry::Segments { first, count, .. } => {
                count >= 1 && first.checked_add(count).is_some()
            }
            NackEntry::SegmentBitmap { first, bits, .. } => {
                bits != 0 && first.checked_add(31 - bits.leading_zeros()).is_some()
            }
        };
        if ok {
            Ok(self)
        } else {
            Err(Inconsistent("empty or overflowing NACK entry"))
        }
    }

    /// The message this entry names (the first one, for a range).
    pub fn seq(&self) -> MessageSeq {
        match *self {
            NackEntry::Messages { first, .. } => first,
            NackEntry::Segments { seq, .. } | NackEntry::SegmentBitmap { seq, .. } => seq,
        }
    }

    /// Whether segment `index` of message `seq` is asked for (a whole
    /// message asks for every segment).
    pub fn covers(&self, seq: u64, index: u32) -> bool {
        match *self {
            NackEntry::Messages { first, count } => {
                seq >= first.get() && seq - first.get() < u64::from(count)
            }
            NackEntry::Segments {
                seq: s,
                first,
                count,
            } => s.get() == seq && index >= first && index - first < count,
            NackEntry::SegmentBitmap {
                seq: s,
                first,
                bits,
            } => {
                s.get() == seq
                    && index >= first
                    && index - first < 32
                    && bits >> (index - first) & 1 == 1
            }
        }
    }

    fn write(&self, out: &mut Vec<u8>) {
        let (kind, seq, a, b) = match *self {
            NackEntry::Messages { first, count } => (1u8, first, 0, count),
            NackEntry::Segments { seq, first, count } => (2, seq, first, count),
            NackEntry::SegmentBitmap { seq, first, bits } => (3, seq, first, bits),
        };
        out.push(kind);
        out.extend_from_slice(&seq.get().to_be_bytes());
        out.extend_from_slice(&a.to_be_bytes());
        out.extend_from_slice(&b.to_be_bytes());
    }

    fn parse(bytes: &[u8; NACK_ENTRY_LEN]) -> Result<Self, DecodeError> {
        let mut s = [0u8; 8];
        s.copy_from_slice(&bytes[1..9]);
        let seq = MessageSeq::new(u64::from_be_bytes(s));
        let mut w = [0u8; 4];
        w.copy_from_slice(&bytes[9..13]);
        let a = u32::from_be_bytes(w);
        w.copy_from_slice(&bytes[13..17]);
        let b = u32::from_be_bytes(w);
        let entry = match bytes[0] {
            1 if a == 0 => NackEntry::Messages {
                first: seq,
                count: b,
            },
            2 => NackEntry::Segments {
                seq,
                first: a,
                count: b,
            },
            3 => NackEntry::SegmentBitmap {
                seq,
                first: a,
                bits: b,
            },
            _ => return Err(DecodeError::Inconsistent("unknown NACK entry")),
        };
        if seq.get().saturating_add(u64::from(b)) > super::header::MAX_SEQ {
            return Err(DecodeError::Inconsistent(
                "NACK sequence numbers past MAX_SEQ",
            ));
        }
        entry.check()
    }
}

/// A parsed NACK: 0 to 64 valid entries (none: a request for a heartbeat).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Nack {
    from: SenderId,
    target: SenderId,
    entries: Vec<NackEntry>,
}

impl Nack {
    /// A NACK, if it has at most [`MAX_NACK_ENTRIES`] valid entries (none:
    /// a request for a heartbeat).
    pub fn new(
        from: SenderId,
        target: SenderId,
        entries: Vec<NackEntry>,
    ) -> Result<Self, DecodeError> {
        if entries.len() > MAX_NACK_ENTRIES {
            return Err(DecodeError::Inconsistent("NACK entry count out of range"));
        }
        for e in &entries {
            e.check()?;
        }
        Ok(Self {
            from,
            target,
            entries,
        })
    }

    /// Parses a whole datagram as a NACK.
    pub fn parse(bytes: &[u8]) -> Result<Self, DecodeError> {
        let rest = parse_unflagged(bytes, FrameType::Nack)?;
        let Some((fixed, body)) = rest.split_first_chunk::<18>() else {
            return Err(DecodeError::Truncated { len: bytes.len() });
        };
        let mut id = [0u8; 8];
        id.copy_from_slice(&fixed[0..8]);
        let from = SenderId::new(u64::from_be_bytes(id));
        id.copy_from_slice(&fixed[8..16]);
        let target = SenderId::new(u64::from_be_bytes(id));
        let n = usize::from(u16::from_be_bytes([fixed[16], fixed[17]]));
        if n > MAX_NACK_ENTRIES {
            return Err(DecodeError::Inconsistent("NACK entry count out of range"));
        }
        if body.len() != n * NACK_ENTRY_LEN {
            return Err(DecodeError::Inconsistent(
                "NACK length disagrees with its count",
            ));
        }
        let entries = body
            .chunks_exact(NACK_ENTRY_LEN)
            .map(|c| {
                let c: &[u8; NACK_ENTRY_LEN] = c
                    .try_into()
                    .map_err(|_| DecodeError::Truncated { len: bytes.len() })?;
                NackEntry::parse(c)
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            from,
            target,
            entries,
        })
    }

    /// The node that asks.
    pub fn from(&self) -> SenderId {
        self.from
    }

    /// The sender asked.
    pub fn target(&self) -> SenderId {
        self.target
    }

    /// What is asked for.
    pub fn entries(&self) -> &[NackEntry] {
        &self.entries
    }

    /// Whether segment `index` of message `seq` is asked for.
    pub fn covers(&self, seq: u64, index: u32) -> bool {
        self.entries.iter().any(|e| e.covers(seq, index))
    }

    /// Writes the datagram to `out`.
    pub fn write(&self, out: &mut Vec<u8>) {
        out.reserve(NACK_HEADER_LEN + self.entries.len() * NACK_ENTRY_LEN);
        write_prefix(out, FrameType::Nack, Flags::empty());
        out.extend_from_slice(&self.from.get().to_be_bytes());
        out.extend_from_slice(&self.target.get().to_be_bytes());
        // At most MAX_NACK_ENTRIES: fits u16.
        out.extend_from_slice(&(self.entries.len() as u16).to_be_bytes());
        for e in &self.entries {
            e.write(out);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Nack {
        Nack::new(
            SenderId::new(1),
            SenderId::new(2),
            vec![
                NackEntry::Messages {
                    first: MessageSeq::new(5),
                    count: 3,
                },
                NackEntry::Segments {
                    seq: MessageSeq::new(9),
                    first: 4,
                    count: 2,
                },
                NackEntry::SegmentBitmap {
                    seq: MessageSeq::new(10),
                    first: 32,
                    bits: 0b101,
                },
            ],
        )
        .unwrap()
    }

    #[test]
    fn emit_then_parse() {
        let nack = sample();
        let mut bytes = Vec::new();
        nack.write(&mut bytes);
        assert_eq!(bytes.len(), NACK_HEADER_LEN + 3 * NACK_ENTRY_LEN);
        assert_eq!(&bytes[..5], &[0xEC, 0xA5, 1, 2, 0]);
        assert_eq!(&bytes[21..23], &[0, 3]);
        assert_eq!(Nack::parse(&bytes), Ok(nack.clone()));
        for cut in 0..bytes.len() {
            assert!(Nack::parse(&bytes[..cut]).is_err(), "cut {cut}");
        }
        assert!(nack.covers(6, 0));
        assert!(!nack.covers(8, 0));
        assert!(nack.covers(9, 5));
        assert!(!nack.covers(9, 6));
        assert!(nack.covers(10, 32));
        assert!(!nack.covers(10, 33));
        assert!(nack.covers(10, 34));
    }

    /// The example of docs/PROTOCOL.md §12.
    #[test]
    fn the_documented_example() {
        let nack = Nack::new(
            SenderId::new(0xfedc_ba98_7654_3210),
            SenderId::new(0x0123_4567_89ab_cdef),
            vec![
                NackEntry::Messages {
                    first: MessageSeq::new(3),
                    count: 2,
                },
                NackEntry::SegmentBitmap {
                    seq: MessageSeq::new(7),
                    first: 0,
                    bits: 0b101,
                },
            ],
        )
        .unwrap();
        let mut bytes = Vec::new();
        nack.write(&mut bytes);
        let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(
            hex,
            "eca5010200\
             fedcba9876543210\
             0123456789abcdef\
             0002\
             01\
             0000000000000003\
             00000000\
             00000002\
             03\
             0000000000000007\
             00000000\
             00000005"
        );
    }

    #[test]
    fn bad_entries_are_refused() {
        let mut bytes = Vec::new();
        sample().write(&mut bytes);
        let mut bad = bytes.clone();
        bad[23] = 9; // unknown kind
        assert!(Nack::parse(&bad).is_err());
        let mut zero = bytes.clone();
        zero[23 + 13..23 + 17].copy_from_slice(&[0; 4]); // count 0
        assert!(Nack::parse(&zero).is_err());
        let mut over = bytes.clone();
        over[23 + 1..23 + 9].copy_from_slice(&u64::MAX.to_be_bytes()); // overflow
        assert!(Nack::parse(&over).is_err());
        let mut count = bytes.clone();
        count[22] = 4;
        assert!(Nack::parse(&count).is_err());
        // No entries: a heartbeat request, 23 bytes.
        let empty = Nack::new(SenderId::new(1), SenderId::new(2), vec![]).unwrap();
        let mut bytes = Vec::new();
        empty.write(&mut bytes);
        assert_eq!(bytes.len(), NACK_HEADER_LEN);
        assert_eq!(Nack::parse(&bytes), Ok(empty));
        let many = vec![
            NackEntry::Messages {
                first: MessageSeq::new(0),
                count: 1
            };
            MAX_NACK_ENTRIES + 1
        ];
        assert!(Nack::new(SenderId::new(1), SenderId::new(2), many).is_err());
    }
}
