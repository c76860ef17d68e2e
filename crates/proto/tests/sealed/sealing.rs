//! Helpers for the encryption tests: keys, encrypted endpoints with seeded
//! nonces, and what a receiver reported.

use eventcast_proto::crypto::{Encryption, InsecureSeededNonces, Key, Keyring, Unreadable};
use eventcast_proto::{Config, Endpoint, EndpointEvent, ProtocolError, SenderId};

/// A raw key made of one repeated byte.
pub(crate) fn key(n: u8) -> Key {
    Key::from_bytes([n; 16])
}

/// A ring of these keys, the first one primary.
pub(crate) fn ring(keys: &[Key]) -> Keyring {
    let mut ring = Keyring::new();
    for k in keys {
        ring.add(k.clone()).expect("room in the ring");
    }
    ring
}

/// An endpoint sealing with the first of `keys` (none: encryption on, ring
/// empty), its nonces seeded by its id.
pub(crate) fn sealed(config: Config, id: u64, keys: &[Key]) -> Endpoint {
    encrypted(
        config,
        id,
        Encryption::new(ring(keys), InsecureSeededNonces::new(id)),
    )
}

/// [`sealed`] without the handshake (`danger_skip_handshake`): for the
/// tests of one direction only, whose receiver's challenges never reach
/// the sender (the handshake has its own tests: `handshake*.rs` here and
/// the `sealed_*` simulations).
pub(crate) fn sealed_one_way(config: Config, id: u64, keys: &[Key]) -> Endpoint {
    encrypted(
        config,
        id,
        Encryption::new(ring(keys), InsecureSeededNonces::new(id)).danger_skip_handshake(true),
    )
}

/// An endpoint with this encryption.
pub(crate) fn encrypted(config: Config, id: u64, encryption: Encryption) -> Endpoint {
    Endpoint::with_encryption(config, SenderId::new(id), encryption).expect("valid config")
}

/// The `Unreadable` reports among `events`, as (sender, reason).
pub(crate) fn unreadable(events: &[EndpointEvent]) -> Vec<(Option<SenderId>, Unreadable)> {
    events
        .iter()
        .filter_map(|e| match e {
            EndpointEvent::ProtocolError(ProtocolError::Unreadable { sender, reason, .. }) => {
                Some((*sender, *reason))
            }
            _ => None,
        })
        .collect()
}
