//! Every sealed datagram carries a nonce of its own: a million datagrams
//! sealed by one endpoint carry a million distinct nonces and packet
//! numbers 0, 1, 2, ... (The operating system's nonce source, which the
//! driver uses, is checked the same way in the eventcast crate.)
#![allow(clippy::unwrap_used)]

use std::collections::HashSet;
use std::time::Instant;

use crate::common::*;
use crate::sealing::*;
use eventcast_proto::wire::SealedFrame;

#[test]
fn a_million_datagrams_have_a_million_nonces() {
    const N: u64 = 1_000_000;
    let mut tx = sealed(config(1024), 0xAB, &[key(1)]);
    tx.set_paced(false);
    let body = eventcast_proto::encode_body("n", &[]).unwrap();
    let mut nonces = HashSet::with_capacity(N as usize);
    for i in 0..N {
        tx.emit_body(body.clone()).unwrap();
        let mut d = Vec::new();
        tx.poll_transmit(Instant::now(), &mut d).unwrap();
        let frame = SealedFrame::parse(&d).unwrap();
        assert_eq!(frame.header().packet.get(), i);
        assert!(nonces.insert(frame.header().nonce), "nonce repeated at {i}");
    }
    assert_eq!(nonces.len() as u64, N);
    let keys = tx.keyring().unwrap().keys();
    assert_eq!(keys[0].sealed, N);
}
