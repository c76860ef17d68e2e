//! The sealed frame: any other datagram, encrypted and authenticated with
//! AES-128-GCM under a group key.
//!
//! | offset | size | field |
//! | --- | --- | --- |
//! | 0 | 2 | magic `EC A5` |
//! | 2 | 1 | version (1) |
//! | 3 | 1 | frame type (`80`, sealed) |
//! | 4 | 1 | flags (`00`) |
//! | 5 | 4 | key id (first 4 bytes of the key's fingerprint) |
//! | 9 | 8 | sender id |
//! | 17 | 8 | packet number |
//! | 25 | 12 | nonce |
//! | 37 | n | ciphertext: the inner datagram from its byte 3 on |
//! | 37 + n | 16 | GCM tag |
//!
//! Bytes 0..37 are the associated data: authenticated, not encrypted. The
//! inner datagram loses its first three bytes (magic and version, the same
//! as the outer ones) and keeps everything else: its frame type, flags,
//! header and payload, event name included. `n >= 2`.
//!
//! This module only lays the bytes out; the cryptography is in
//! [`crate::crypto`].

use std::fmt;

use super::header::{parse_common, DecodeError, FrameType, MAGIC, MAX_SEGMENT_PAYLOAD, VERSION};
use crate::crypto::key::KeyId;
use crate::ids::SenderId;

/// Bytes of the sealed frame's clear header (the associated data).
pub const SEALED_HEADER_LEN: usize = 37;

/// Bytes of the GCM authentication tag at the end of a sealed frame.
pub const TAG_LEN: usize = 16;

/// Bytes of the nonce.
pub const NONCE_LEN: usize = 12;

/// Bytes of the inner datagram that the sealed frame leaves out (magic and
/// version, which are the outer frame's).
pub const INNER_OMITTED: usize = 3;

/// How many bytes sealing adds to a datagram: the clear header and the tag,
/// less the inner magic and version.
pub const SEAL_OVERHEAD: usize = SEALED_HEADER_LEN + TAG_LEN - INNER_OMITTED;

/// The largest `max_payload_size` with which a sealed datagram still fits
/// in UDP.
pub const MAX_SEALED_SEGMENT_PAYLOAD: usize = MAX_SEGMENT_PAYLOAD - SEAL_OVERHEAD;

/// The smallest sealed frame: clear header, an inner frame type and flags
/// byte, and the tag.
pub const MIN_SEALED_LEN: usize = SEALED_HEADER_LEN + 2 + TAG_LEN;

/// A sender's datagram counter: the first datagram a sender seals after
/// start is number 0, and every datagram it seals after it (retransmissions
/// included) is one more. Receivers use it to refuse replays.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PacketNumber(u64);

impl PacketNumber {
    /// Wraps a raw packet number.
    pub const fn new(raw: u64) -> Self {
        Self(raw)
    }

    /// The raw packet number.
    pub const fn get(self) -> u64 {
        self.0
    }
}

impl fmt::Display for PacketNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl fmt::Debug for PacketNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PacketNumber({})", self.0)
    }
}

/// The clear header of a sealed frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SealedHeader {
    /// Which key of the ring sealed it.
    pub key_id: KeyId,
    /// Who sealed it.
    pub sender: SenderId,
    /// The sender's datagram counter.
    pub packet: PacketNumber,
    /// The AES-GCM nonce, 96 random bits.
    pub nonce: [u8; NONCE_LEN],
}

impl SealedHeader {
    /// Writes the header's 37 bytes to `out`.
    pub fn write(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&MAGIC);
        out.push(VERSION);
        out.push(FrameType::Sealed.to_byte());
        out.push(0);
        out.extend_from_slice(&self.key_id.to_bytes());
        out.extend_from_slice(&self.sender.get().to_be_bytes());
        out.extend_from_slice(&self.packet.get().to_be_bytes());
        out.extend_from_slice(&self.nonce);
    }
}

/// A parsed sealed frame: its clear header, and the bytes the cryptography
/// needs. Nothing in it is authenticated yet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SealedFrame<'a> {
    header: SealedHeader,
    aad: &'a [u8; SEALED_HEADER_LEN],
    ciphertext: &'a [u8],
    tag: &'a [u8; TAG_LEN],
}

impl<'a> SealedFrame<'a> {
    /// Parses a whole datagram as a sealed frame.
    pub fn parse(bytes: &'a [u8]) -> Result<Self, DecodeError> {
        let (ty, flags, _) = parse_common(bytes)?;
        if ty != FrameType::Sealed {
            return Err(DecodeError::UnknownFrameType(ty.to_byte()));
        }
        if flags.bits() != 0 {
            return Err(DecodeError::UnknownFlags(flags.bits()));
        }
        if bytes.len() < MIN_SEALED_LEN {
            return Err(DecodeError::Truncated { len: bytes.len() });
        }
        let Some((aad, rest)) = bytes.split_first_chunk::<SEALED_HEADER_LEN>() else {
            return Err(DecodeError::Truncated { len: bytes.len() });
        };
        let Some((ciphertext, tag)) = rest.split_last_chunk::<TAG_LEN>() else {
            return Err(DecodeError::Truncated { len: bytes.len() });
        };
        let fixed = |at: usize| -> [u8; 8] {
            let mut b = [0u8; 8];
            b.copy_from_slice(&aad[at..at + 8]);
            b
        };
        let mut key_id = [0u8; 4];
        key_id.copy_from_slice(&aad[5..9]);
        let mut nonce = [0u8; NONCE_LEN];
        nonce.copy_from_slice(&aad[25..SEALED_HEADER_LEN]);
        Ok(Self {
            header: SealedHeader {
                key_id: KeyId::from_bytes(key_id),
                sender: SenderId::new(u64::from_be_bytes(fixed(9))),
                packet: PacketNumber::new(u64::from_be_bytes(fixed(17))),
                nonce,
            },
            aad,
            ciphertext,
            tag,
        })
    }

    /// The clear header.
    pub fn header(&self) -> &SealedHeader {
        &self.header
    }

    /// The associated data: the clear header's 37 bytes as received.
    pub fn aad(&self) -> &'a [u8; SEALED_HEADER_LEN] {
        self.aad
    }

    /// The encrypted inner datagram (without its magic and version).
    pub fn ciphertext(&self) -> &'a [u8] {
        self.ciphertext
    }

    /// The authentication tag.
    pub fn tag(&self) -> &'a [u8; TAG_LEN] {
        self.tag
    }

    /// Writes the whole datagram to `out`.
    pub fn write(&self, out: &mut Vec<u8>) {
        out.reserve(SEALED_HEADER_LEN + self.ciphertext.len() + TAG_LEN);
        self.header.write(out);
        out.extend_from_slice(self.ciphertext);
        out.extend_from_slice(self.tag);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<u8> {
        let header = SealedHeader {
            key_id: KeyId::from_bytes([0xA1, 0xB2, 0xC3, 0xD4]),
            sender: SenderId::new(0x0102_0304_0506_0708),
            packet: PacketNumber::new(7),
            nonce: [0x11; NONCE_LEN],
        };
        let mut bytes = Vec::new();
        header.write(&mut bytes);
        bytes.extend_from_slice(&[0x01, 0x00, 0xAA]);
        bytes.extend_from_slice(&[0xFF; TAG_LEN]);
        bytes
    }

    #[test]
    fn layout() {
        let bytes = sample();
        assert_eq!(
            &bytes[..SEALED_HEADER_LEN],
            &[
                0xEC, 0xA5, 1, 0x80, 0, // magic, version, type, flags
                0xA1, 0xB2, 0xC3, 0xD4, // key id
                1, 2, 3, 4, 5, 6, 7, 8, // sender
                0, 0, 0, 0, 0, 0, 0, 7, // packet number
                0x11, 0x11, 0x11, 0x11, 0x11, 0x11, // nonce
                0x11, 0x11, 0x11, 0x11, 0x11, 0x11,
            ]
        );
        let frame = SealedFrame::parse(&bytes).unwrap();
        assert_eq!(frame.header().packet, PacketNumber::new(7));
        assert_eq!(frame.ciphertext(), &[0x01, 0x00, 0xAA]);
        assert_eq!(frame.tag(), &[0xFF; TAG_LEN]);
        assert_eq!(&frame.aad()[..], &bytes[..SEALED_HEADER_LEN]);
        let mut again = Vec::new();
        frame.write(&mut again);
        assert_eq!(again, bytes);
    }

    #[test]
    fn rejects_short_flagged_and_other_frames() {
        let bytes = sample();
        for cut in 0..MIN_SEALED_LEN {
            assert!(SealedFrame::parse(&bytes[..cut]).is_err(), "cut at {cut}");
        }
        let mut flagged = bytes.clone();
        flagged[4] = 0x01;
        assert_eq!(
            SealedFrame::parse(&flagged),
            Err(DecodeError::UnknownFlags(0x01))
        );
        let mut data = bytes;
        data[3] = 0x01;
        assert_eq!(
            SealedFrame::parse(&data),
            Err(DecodeError::UnknownFrameType(0x01))
        );
    }
}
