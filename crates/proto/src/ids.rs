//! Newtypes for the identifiers that travel in every datagram.

use std::fmt;

/// A node's identity on the wire: 64 random bits drawn anew at every start.
///
/// A node never delivers a datagram that carries its own id (self-filter),
/// and a restarted node is a new sender.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SenderId(u64);

impl SenderId {
    /// Wraps a raw 64-bit id.
    pub const fn new(raw: u64) -> Self {
        Self(raw)
    }

    /// The raw 64-bit id.
    pub const fn get(self) -> u64 {
        self.0
    }
}

impl fmt::Display for SenderId {
    /// Sixteen lower-case hex digits, the form the CLI prints.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:016x}", self.0)
    }
}

impl fmt::Debug for SenderId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SenderId({:016x})", self.0)
    }
}

impl std::str::FromStr for SenderId {
    type Err = std::num::ParseIntError;

    /// Parses the sixteen-hex-digit form produced by `Display`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        u64::from_str_radix(s, 16).map(Self)
    }
}

/// A message's number in its sender's stream: the first message a sender
/// emits after start is 0, and every message after it is one more.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct MessageSeq(u64);

impl MessageSeq {
    /// Wraps a raw sequence number.
    pub const fn new(raw: u64) -> Self {
        Self(raw)
    }

    /// The raw sequence number.
    pub const fn get(self) -> u64 {
        self.0
    }
}

impl fmt::Display for MessageSeq {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// The index of one segment within a message, from 0 to count - 1.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct SegmentIndex(u32);

impl SegmentIndex {
    /// Wraps a raw index.
    pub const fn new(raw: u32) -> Self {
        Self(raw)
    }

    /// The raw index.
    pub const fn get(self) -> u32 {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sender_id_display_round_trips() {
        let id = SenderId::new(0x0123_4567_89ab_cdef);
        assert_eq!(id.to_string(), "0123456789abcdef");
        assert_eq!("0123456789abcdef".parse::<SenderId>().unwrap(), id);
        assert_eq!(SenderId::new(1).to_string(), "0000000000000001");
    }
}
