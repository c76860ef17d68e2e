//! A body of exactly `max_message_size` (64 MiB by default) is cut into
//! 65,536 segments of the default 1024 bytes, fed in a shuffled order to a
//! second endpoint with the default settings, and comes out whole, once,
//! leaving nothing buffered. One byte more is refused at emit.
#![allow(clippy::unwrap_used)]

use std::time::Instant;

use crate::common::*;
use bson::Bson;
use eventcast_proto::{encode_body, Config, EmitError};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

const MAX: usize = 64 * 1024 * 1024;

#[test]
fn sixty_four_mib_through_two_endpoints() {
    let started = Instant::now();
    let config = Config::default();
    assert_eq!(config.max_message_size, MAX);
    let overhead = encode_body("big", &[binary(Vec::new())]).unwrap().len();
    let bytes: Vec<u8> = (0..MAX - overhead).map(|i| (i % 251) as u8).collect();
    let args = [binary(bytes)];

    let mut tx = endpoint(config.clone(), 0xA);
    let mut rx = endpoint(config, 0xB);
    tx.emit(t0(), "big", &args).unwrap();
    let mut datagrams = transmits(&mut tx);
    assert_eq!(datagrams.len(), MAX / 1024);
    assert_eq!(tx.stats().bytes_sent, (MAX + datagrams.len() * 33) as u64);

    datagrams.shuffle(&mut ChaCha8Rng::seed_from_u64(64));
    let last = datagrams.len() - 1;
    for (i, d) in datagrams.iter().enumerate() {
        rx.handle_datagram(at(0), addr(1), d);
        if i == last / 2 {
            let s = rx.stats();
            assert_eq!(s.partial_messages, 1);
            assert!(s.partial_bytes > (MAX / 2) as u64);
        }
    }
    drop(datagrams);
    let got = messages(&mut rx);
    assert_eq!(got.len(), 1);
    assert_eq!(&*got[0].name, "big");
    assert!(matches!(&got[0].args[..], [Bson::Binary(_)]));
    assert!(got[0].args[..] == args[..], "body differs");
    let s = rx.stats();
    assert_eq!(s.messages_received, 1);
    assert_eq!(s.segments_received, (MAX / 1024) as u64);
    assert_eq!(s.partial_messages, 0);
    assert_eq!(s.partial_bytes, 0);
    assert_eq!(s.dropped.total(), 0);
    eprintln!("64 MiB round trip took {:?}", started.elapsed());
}

#[test]
fn one_byte_over_is_refused_at_emit() {
    let mut tx = endpoint(Config::default(), 0xA);
    let body = body_of_len(MAX + 1);
    match tx.emit_body(body.clone()) {
        Err(EmitError::MessageTooLarge { len, max }) => assert_eq!((len, max), (MAX + 1, MAX)),
        other => panic!("unexpected {other:?}"),
    }
    assert!(tx.poll_transmit(t0(), &mut Vec::new()).is_none());
    assert_eq!(tx.stats().messages_sent, 0);
}
