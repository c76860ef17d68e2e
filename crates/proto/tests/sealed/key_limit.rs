//! A key seals a bounded number of datagrams: the application hears once
//! when the limit nears and once when it is reached; past it nothing is
//! sent with that key (counted) until another key is made primary.
#![allow(clippy::unwrap_used)]

use crate::common::*;
use crate::sealing::*;
use eventcast_proto::crypto::{Encryption, InsecureSeededNonces, SealLimits};
use eventcast_proto::EndpointEvent;

#[test]
fn the_limit_is_reported_then_enforced() {
    let enc = Encryption::new(ring(&[key(1), key(2)]), InsecureSeededNonces::new(1))
        .seal_limits(SealLimits::new(3, 5));
    let mut tx = encrypted(config(1024), 1, enc);
    let mut sent = 0;
    let mut limits = Vec::new();
    for _ in 0..8 {
        tx.emit(t0(), "e", &[]).unwrap();
        sent += transmits(&mut tx).len();
        for e in events(&mut tx) {
            match e {
                EndpointEvent::KeyLimit(l) => limits.push(l.sealed),
                other => panic!("{other:?}"),
            }
        }
    }
    assert_eq!(sent, 5);
    assert_eq!(limits, vec![3, 5]);
    assert_eq!(tx.stats().seal_refused, 3);
    tx.keyring_mut()
        .unwrap()
        .use_key(key(2).fingerprint())
        .unwrap();
    tx.emit(t0(), "e", &[]).unwrap();
    assert_eq!(transmits(&mut tx).len(), 1);
}

#[test]
fn limits_cannot_be_raised_past_the_safe_bound() {
    let l = SealLimits::new(u64::MAX, u64::MAX);
    assert_eq!(l.refuse_at, SealLimits::default().refuse_at);
    assert_eq!(l.refuse_at, 1 << 32);
    assert_eq!(l.warn_at, l.refuse_at);
    assert_eq!(SealLimits::new(10, 5).warn_at, 5);
}
