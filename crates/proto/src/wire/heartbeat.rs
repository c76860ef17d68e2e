//! The heartbeat frame: a sender's announcement of how far its stream has
//! gone, how far back it can still repair (PGM's SPM lead and trail), and
//! how old the stream is.
//!
//! | offset | size | field |
//! | --- | --- | --- |
//! | 0 | 5 | common prefix, frame type `03`, flags `00` |
//! | 5 | 8 | sender id |
//! | 13 | 8 | lead: the next message seq the sender will use |
//! | 21 | 8 | trail: the oldest message seq it can still repair |
//! | 29 | 4 | age: milliseconds since the sender first sent its message 0 (saturating) |
//!
//! Every message below `lead` has been sent in full. Messages in
//! `[trail, lead)` can be repaired; `trail == lead` means none can. A
//! receiver that first hears the stream mid-way compares `age` with how
//! long it has itself been listening: if the stream is younger, the
//! receiver was there from its start and is owed all of it. All integers
//! are big-endian; the frame is exactly 33 bytes.

use super::header::{parse_unflagged, write_prefix, DecodeError, Flags, FrameType};
use crate::ids::{MessageSeq, SenderId};

/// Length of a heartbeat datagram.
pub const HEARTBEAT_LEN: usize = 33;

/// A parsed heartbeat: `trail <= lead` always holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Heartbeat {
    sender: SenderId,
    lead: MessageSeq,
    trail: MessageSeq,
    age_ms: u32,
}

impl Heartbeat {
    /// A heartbeat, if `trail <= lead`. `age_ms`: milliseconds since the
    /// sender first sent its message 0 (`u32::MAX` for that long or more).
    pub fn new(
        sender: SenderId,
        lead: MessageSeq,
        trail: MessageSeq,
        age_ms: u32,
    ) -> Result<Self, DecodeError> {
        if trail > lead {
            return Err(DecodeError::Inconsistent("heartbeat trail above lead"));
        }
        if lead.get() > super::header::MAX_SEQ {
            return Err(DecodeError::Inconsistent("heartbeat lead past MAX_SEQ"));
        }
        Ok(Self {
            sender,
            lead,
            trail,
            age_ms,
        })
    }

    /// Parses a whole datagram as a heartbeat.
    pub fn parse(bytes: &[u8]) -> Result<Self, DecodeError> {
        let rest = parse_unflagged(bytes, FrameType::Heartbeat)?;
        let fixed: &[u8; 28] = rest
            .try_into()
            .map_err(|_| DecodeError::Truncated { len: bytes.len() })?;
        let u64_at = |i: usize| {
            let mut b = [0u8; 8];
            b.copy_from_slice(&fixed[i..i + 8]);
            u64::from_be_bytes(b)
        };
        let mut age = [0u8; 4];
        age.copy_from_slice(&fixed[24..28]);
        Self::new(
            SenderId::new(u64_at(0)),
            MessageSeq::new(u64_at(8)),
            MessageSeq::new(u64_at(16)),
            u32::from_be_bytes(age),
        )
    }

    /// The sender.
    pub fn sender(&self) -> SenderId {
        self.sender
    }

    /// The next seq the sender will use.
    pub fn lead(&self) -> MessageSeq {
        self.lead
    }

    /// The oldest seq the sender can still repair.
    pub fn trail(&self) -> MessageSeq {
        self.trail
    }

    /// Milliseconds since the sender first sent its message 0
    /// (`u32::MAX`: that long or more).
    pub fn age_ms(&self) -> u32 {
        self.age_ms
    }

    /// Writes the 33 bytes to `out`.
    pub fn write(&self, out: &mut Vec<u8>) {
        write_prefix(out, FrameType::Heartbeat, Flags::empty());
        out.extend_from_slice(&self.sender.get().to_be_bytes());
        out.extend_from_slice(&self.lead.get().to_be_bytes());
        out.extend_from_slice(&self.trail.get().to_be_bytes());
        out.extend_from_slice(&self.age_ms.to_be_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emit_then_parse() {
        let hb = Heartbeat::new(
            SenderId::new(7),
            MessageSeq::new(10),
            MessageSeq::new(3),
            0x0102_0304,
        )
        .unwrap();
        let mut bytes = Vec::new();
        hb.write(&mut bytes);
        assert_eq!(bytes.len(), HEARTBEAT_LEN);
        assert_eq!(&bytes[..5], &[0xEC, 0xA5, 1, 3, 0]);
        assert_eq!(&bytes[29..], &[1, 2, 3, 4]);
        assert_eq!(Heartbeat::parse(&bytes), Ok(hb));
        for cut in 0..bytes.len() {
            assert!(Heartbeat::parse(&bytes[..cut]).is_err());
        }
        let mut long = bytes.clone();
        long.push(0);
        assert!(Heartbeat::parse(&long).is_err());
        let mut flagged = bytes.clone();
        flagged[4] = 1;
        assert!(Heartbeat::parse(&flagged).is_err());
    }

    /// The example of docs/PROTOCOL.md §12.
    #[test]
    fn the_documented_example() {
        let hb = Heartbeat::new(
            SenderId::new(0x0123_4567_89ab_cdef),
            MessageSeq::new(5),
            MessageSeq::new(2),
            1500,
        )
        .unwrap();
        let mut bytes = Vec::new();
        hb.write(&mut bytes);
        let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(
            hex,
            "eca5010300\
             0123456789abcdef\
             0000000000000005\
             0000000000000002\
             000005dc"
        );
    }

    #[test]
    fn trail_above_lead_is_inconsistent() {
        assert!(
            Heartbeat::new(SenderId::new(1), MessageSeq::new(3), MessageSeq::new(4), 0).is_err()
        );
        let mut bytes = Vec::new();
        Heartbeat::new(SenderId::new(1), MessageSeq::new(4), MessageSeq::new(4), 0)
            .unwrap()
            .write(&mut bytes);
        bytes[28] = 5;
        assert_eq!(
            Heartbeat::parse(&bytes),
            Err(DecodeError::Inconsistent("heartbeat trail above lead"))
        );
    }
}
