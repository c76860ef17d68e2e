//! Encrypted endpoints exchange any event, cut at any segment size, its
//! sealed datagrams fed in any order with duplicates: each event arrives
//! exactly once, intact, and nothing of it (not even its name) is readable
//! on the wire.
#![allow(clippy::unwrap_used)]

use crate::common::*;
use crate::sealing::*;
use eventcast_proto::wire::{SealedFrame, SEAL_OVERHEAD};
use eventcast_proto::{encode_body, ConfigError, Endpoint, SenderId};
use proptest::prelude::*;

const TX: u64 = 0x5E4D;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn any_event_round_trips_sealed(
        ((name, args), size, order) in (arb_event(), arb_payload_size())
            .prop_map(|(e, size)| (e, size.min(65_474 - SEAL_OVERHEAD)))
            .prop_flat_map(|(e, size)| {
                let n = encode_body(&e.0, &e.1).unwrap().len().div_ceil(size);
                (Just(e), Just(size), arb_order(n))
            })
    ) {
        let k = key(7);
        let mut tx = sealed(config(size), TX, std::slice::from_ref(&k));
        tx.emit(t0(), &name, &args).unwrap();
        let datagrams = transmits(&mut tx);
        let plain_len = encode_body(&name, &args).unwrap().len();
        let mut rx = sealed_one_way(config(1024), 1, &[k]);
        for (pos, &i) in order.iter().enumerate() {
            let frame = SealedFrame::parse(&datagrams[i]).unwrap();
            prop_assert_eq!(frame.header().sender, SenderId::new(TX));
            rx.handle_datagram(t0(), addr(pos as u16), &datagrams[i]);
        }
        let got = messages(&mut rx);
        prop_assert_eq!(got.len(), 1);
        prop_assert_eq!(&*got[0].name, name.as_str());
        prop_assert_eq!(&got[0].args, &args);
        let s = rx.stats();
        assert_accounting(&s);
        prop_assert_eq!(s.datagrams_opened, datagrams.len() as u64);
        prop_assert_eq!(s.dropped.replayed, (order.len() - datagrams.len()) as u64);
        prop_assert_eq!(tx.stats().datagrams_sealed, datagrams.len() as u64);
        let wire: usize = datagrams.iter().map(Vec::len).sum();
        prop_assert_eq!(wire, plain_len + datagrams.len() * (33 + SEAL_OVERHEAD));
    }
}

#[test]
fn the_event_name_is_not_on_the_wire() {
    let k = key(1);
    let mut tx = sealed(config(1024), TX, &[k]);
    let name = "a-rather-distinctive-event-name";
    tx.emit(t0(), name, &["some distinctive argument".into()])
        .unwrap();
    for d in transmits(&mut tx) {
        let found = |needle: &[u8]| d.windows(needle.len()).any(|w| w == needle);
        assert!(!found(name.as_bytes()));
        assert!(!found(b"distinctive argument"));
        assert!(!found(b"args"));
    }
}

#[test]
fn payload_size_must_leave_room_for_the_seal() {
    let c = config(65_474);
    let err = Endpoint::with_encryption(
        c,
        SenderId::new(1),
        eventcast_proto::crypto::Encryption::new(
            ring(&[key(1)]),
            eventcast_proto::crypto::InsecureSeededNonces::new(1),
        ),
    )
    .err()
    .unwrap();
    assert_eq!(err, ConfigError::SealedPayloadSize(65_474));
    assert!(err.to_string().contains("65424"), "{err}");
    sealed(config(65_474 - SEAL_OVERHEAD), 1, &[key(1)]);
}

#[test]
fn a_ring_without_keys_sends_and_accepts_plaintext_until_a_key_is_added() {
    let mut a = sealed_one_way(config(1024), 1, &[]);
    let mut b = sealed_one_way(config(1024), 2, &[]);
    a.emit(t0(), "plain", &[]).unwrap();
    for d in transmits(&mut a) {
        assert_eq!(d[3], 0x01, "a data frame, not sealed");
        b.handle_datagram(t0(), addr(1), &d);
    }
    assert_eq!(messages(&mut b).len(), 1);
    for e in [&mut a, &mut b] {
        e.keyring_mut().unwrap().add(key(3)).unwrap();
    }
    a.emit(t0(), "sealed", &[]).unwrap();
    for d in transmits(&mut a) {
        assert_eq!(d[3], 0x80, "sealed");
        b.handle_datagram(t0(), addr(1), &d);
    }
    assert_eq!(&*messages(&mut b)[0].name, "sealed");
}

#[test]
fn an_endpoint_without_encryption_has_no_keyring() {
    let mut e = endpoint(config(1024), 1);
    assert!(e.keyring().is_none());
    assert!(e.keyring_mut().is_none());
}
