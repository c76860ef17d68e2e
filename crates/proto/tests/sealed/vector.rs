//! The worked example of docs/PROTOCOL.md §16.7, byte for byte: the sealed
//! form of §12's datagram under a known key and nonce (a known-answer test
//! of the whole sealing path, cross-checked with Python's `cryptography`
//! AES-GCM and `hashlib` BLAKE2b), and that a receiver opens it.
#![allow(clippy::unwrap_used)]

use crate::common::*;
use eventcast_proto::crypto::{Encryption, Key, Keyring, NonceSource, NonceUnavailable};
use eventcast_proto::SenderId;

/// Always the nonce 00..01 (never do this outside a test vector).
struct FixedNonce;

impl NonceSource for FixedNonce {
    fn fill(&mut self, nonce: &mut [u8; 12]) -> Result<(), NonceUnavailable> {
        *nonce = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
        Ok(())
    }
}

const PLAIN: &str = "eca50101000123456789abcdef000000000000000000000000000000010000002d2d000000\
                     026e616d650006000000677265657400046172677300120000000230000600000068656c6c\
                     6f000000";

const SEALED: &str = "eca50180001a4471060123456789abcdef00000000000000000000000000000000000000\
                      01bbd5ae40888e438583ab44fc23a50e24dcb7693bf75707d7bed119ca2aff883249a3b4\
                      b95e6fd9bb47634ac5e82e346f2d162bfba53ffb1b4346e6e335e636bd1ec989e7b5e1c4\
                      18a2eefcc85689c7f512ed834621db4239cdef39";

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn the_worked_example() {
    let key = Key::from_hex("000102030405060708090a0b0c0d0e0f").unwrap();
    let mut plain = endpoint(config(1024), 0x0123_4567_89ab_cdef);
    plain.emit(t0(), "greet", &["hello".into()]).unwrap();
    assert_eq!(hex(&transmits(&mut plain)[0]), PLAIN);

    let enc = Encryption::new(Keyring::with_primary(key.clone()), FixedNonce);
    let mut tx = crate::sealing::encrypted(config(1024), 0x0123_4567_89ab_cdef, enc);
    tx.emit(t0(), "greet", &["hello".into()]).unwrap();
    let sealed = transmits(&mut tx).remove(0);
    assert_eq!(key.fingerprint().to_string(), "1a447106398bfce1");
    assert_eq!(sealed.len(), 78 + 50);
    assert_eq!(hex(&sealed), SEALED);

    let mut rx = crate::sealing::sealed_one_way(config(1024), 2, &[key]);
    rx.handle_datagram(t0(), addr(1), &sealed);
    let got = messages(&mut rx);
    assert_eq!(&*got[0].name, "greet");
    assert_eq!(got[0].sender, SenderId::new(0x0123_4567_89ab_cdef));
}
