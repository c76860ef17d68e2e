//! AES-128-GCM over a whole datagram: seal one on the way out, open one on
//! the way in. The layout is [`crate::wire::SealedFrame`]'s.

use aes_gcm::aead::inout::InOutBuf;
use aes_gcm::AeadInOut;

use super::keyring::Entry;
use crate::wire::{SealedFrame, SealedHeader, INNER_OMITTED, MAGIC, SEALED_HEADER_LEN, VERSION};

/// Seals the plaintext datagram `inner` (a whole datagram, magic included)
/// under `entry`'s key with `header`'s nonce: the returned datagram is the
/// clear header, the ciphertext of `inner[3..]`, and the tag.
///
/// Returns `None` for a datagram too short to be one (fewer than 5 bytes),
/// which this crate never makes.
#[cfg(feature = "fuzzing")]
pub(crate) fn seal(entry: &Entry, header: &SealedHeader, inner: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    seal_into(entry, header, inner, &[], &mut out).then_some(out)
}

/// Seals the plaintext datagram `head` followed by `tail` (a datagram in
/// two parts, as [`Datagram`](crate::Datagram) holds it) under `header`
/// with `entry`'s key, into `out` (cleared first, its allocation reused):
/// each byte is copied once, then encrypted in place. `false` when the
/// datagram is too short to be one or the cipher refuses.
pub(crate) fn seal_into(
    entry: &Entry,
    header: &SealedHeader,
    head: &[u8],
    tail: &[u8],
    out: &mut Vec<u8>,
) -> bool {
    out.clear();
    let Some(body) = head
        .get(INNER_OMITTED..)
        .filter(|b| b.len() + tail.len() >= 2)
    else {
        return false;
    };
    out.reserve(SEALED_HEADER_LEN + body.len() + tail.len() + crate::wire::TAG_LEN);
    header.write(out);
    out.extend_from_slice(body);
    out.extend_from_slice(tail);
    let (aad, plaintext) = out.split_at_mut(SEALED_HEADER_LEN);
    let Ok(tag) =
        entry
            .cipher
            .encrypt_inout_detached((&header.nonce).into(), aad, plaintext.into())
    else {
        return false;
    };
    out.extend_from_slice(&tag);
    true
}

/// Opens a sealed frame with `entry`'s key into `out`: decrypted straight
/// from the received datagram into `out`'s first bytes (the inner
/// datagram, magic and version restored), nothing copied or allocated
/// once `out` has grown to the largest datagram opened. Returns the inner
/// datagram's length, or `None` if the tag does not authenticate the
/// header and ciphertext under this key. Nothing of a `None` is to be
/// read from `out`: aes-gcm 0.11 checks the tag before it decrypts, so
/// `out` keeps the bytes it had (grown with zeroes if it was short), but
/// that is how the crate works, not what its trait promises, and nothing
/// here depends on it (a success writes all of `out[..len]`).
///
/// `out` only grows (zeroed as it does), and its length is kept, so that
/// it is not filled again for every datagram: the inner datagram is
/// `out[..len]`, and what follows it is left over from earlier ones.
pub(crate) fn open_into(
    entry: &Entry,
    frame: &SealedFrame<'_>,
    out: &mut Vec<u8>,
) -> Option<usize> {
    let ciphertext = frame.ciphertext();
    let len = INNER_OMITTED + ciphertext.len();
    if out.len() < len {
        out.resize(len, 0);
    }
    let (restored, body) = out.get_mut(..len)?.split_at_mut(INNER_OMITTED);
    let buffer = InOutBuf::new(ciphertext, body).ok()?;
    entry
        .cipher
        .decrypt_inout_detached(
            (&frame.header().nonce).into(),
            frame.aad(),
            buffer,
            frame.tag().into(),
        )
        .ok()?;
    restored.copy_from_slice(&[MAGIC[0], MAGIC[1], VERSION]);
    Some(len)
}

/// Seals `inner` with the ring's primary key (for the fuzz targets, which
/// play an insider).
#[cfg(feature = "fuzzing")]
pub(crate) fn seal_with(
    ring: &super::keyring::Keyring,
    header: &SealedHeader,
    inner: &[u8],
) -> Option<Vec<u8>> {
    seal(ring.primary_entry_ref()?, header, inner)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::key::Key;
    use crate::crypto::keyring::Keyring;
    use crate::ids::SenderId;
    use crate::wire::{PacketNumber, TAG_LEN};

    fn ring(n: u8) -> Keyring {
        Keyring::with_primary(Key::from_bytes([n; 16]))
    }

    /// A plaintext datagram of `len` bytes (magic and version first).
    fn inner(len: usize) -> Vec<u8> {
        let mut d = vec![MAGIC[0], MAGIC[1], VERSION];
        d.extend((0..len - INNER_OMITTED).map(|i| (i * 7 + len) as u8));
        d
    }

    /// `inner`, sealed under `ring`'s primary key as packet `packet`.
    fn sealed(ring: &Keyring, packet: u64, inner: &[u8]) -> Vec<u8> {
        let entry = ring.primary_entry_ref().unwrap();
        let header = SealedHeader {
            key_id: entry.key.id(),
            sender: SenderId::new(9),
            packet: PacketNumber::new(packet),
            nonce: [packet as u8; 12],
        };
        // In two parts, as a data segment is sealed.
        let (head, tail) = inner.split_at((inner.len() / 2).max(INNER_OMITTED));
        let mut out = Vec::new();
        assert!(seal_into(entry, &header, head, tail, &mut out));
        out
    }

    fn open(ring: &Keyring, datagram: &[u8], out: &mut Vec<u8>) -> Option<usize> {
        let frame = SealedFrame::parse(datagram).unwrap();
        open_into(ring.primary_entry_ref().unwrap(), &frame, out)
    }

    #[test]
    fn opens_into_one_buffer_whatever_it_held() {
        let ring = ring(1);
        let mut out = Vec::new();
        // Largest first: later ones leave its bytes after theirs.
        for (packet, len) in [(0, 9000), (1, 5), (2, 1200), (3, 17), (4, 9000), (5, 64)] {
            let plain = inner(len);
            let len = open(&ring, &sealed(&ring, packet, &plain), &mut out).unwrap();
            assert_eq!(&out[..len], plain, "packet {packet}");
        }
        assert_eq!(out.len(), 9000, "grown once, to the largest");
    }

    #[test]
    fn opens_what_aes_gcm_opens_in_place() {
        let ring = ring(2);
        let d = sealed(&ring, 7, &inner(300));
        let frame = SealedFrame::parse(&d).unwrap();
        let entry = ring.primary_entry_ref().unwrap();
        let mut in_place = frame.ciphertext().to_vec();
        entry
            .cipher
            .decrypt_inout_detached(
                (&frame.header().nonce).into(),
                frame.aad(),
                in_place.as_mut_slice().into(),
                frame.tag().into(),
            )
            .unwrap();
        let mut out = vec![0xEE; 1000];
        let len = open_into(entry, &frame, &mut out).unwrap();
        assert_eq!(&out[INNER_OMITTED..len], in_place);
        assert_eq!(&out[..len], inner(300));
    }

    #[test]
    fn a_bad_tag_or_key_opens_nothing_and_leaves_the_buffer() {
        let ring = ring(3);
        let good = sealed(&ring, 1, &inner(200));
        let mut out = Vec::new();
        let len = open(&ring, &good, &mut out).unwrap();
        let before = out.clone();
        let tag_at = good.len() - TAG_LEN;
        // A byte of the header, the ciphertext and the tag, each changed.
        for pos in [
            20,
            SEALED_HEADER_LEN,
            SEALED_HEADER_LEN + 50,
            tag_at,
            good.len() - 1,
        ] {
            let mut d = good.clone();
            d[pos] ^= 0x01;
            assert_eq!(open(&ring, &d, &mut out), None, "byte {pos}");
            assert_eq!(out, before, "byte {pos}: buffer written");
        }
        // Another key, same key id claimed.
        let frame = SealedFrame::parse(&good).unwrap();
        let other = self::ring(4);
        let entry = other.primary_entry_ref().unwrap();
        assert_eq!(open_into(entry, &frame, &mut out), None);
        assert_eq!(out, before);
        // And the good one still opens.
        assert_eq!(open(&ring, &good, &mut out), Some(len));
        assert_eq!(out, before);
    }
}
