//! AES-128-GCM over a whole datagram: seal one on the way out, open one on
//! the way in. The layout is [`crate::wire::SealedFrame`]'s.

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

/// Opens a sealed frame with `entry`'s key: the inner datagram, magic and
/// version restored, or `None` if the tag does not authenticate the header
/// and ciphertext under this key.
pub(crate) fn open(entry: &Entry, frame: &SealedFrame<'_>) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(INNER_OMITTED + frame.ciphertext().len());
    out.extend_from_slice(&MAGIC);
    out.push(VERSION);
    out.extend_from_slice(frame.ciphertext());
    entry
        .cipher
        .decrypt_inout_detached(
            (&frame.header().nonce).into(),
            frame.aad(),
            (&mut out[INNER_OMITTED..]).into(),
            frame.tag().into(),
        )
        .ok()?;
    Some(out)
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
