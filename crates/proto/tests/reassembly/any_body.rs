//! Bodies given to `emit_body`: any valid body built by `encode_body`, and
//! any bytes in a BSON document's frame, cut at any segment size and fed in
//! any order with duplicates, come out exactly once: as the original event,
//! or (for bytes that are no event) counted once as `bad_body`.
#![allow(clippy::unwrap_used)]

use crate::common::*;
use eventcast_proto::{decode_body, encode_body, BodyError, EmitError};
use proptest::prelude::*;

const SENDER: u64 = 0xB0D1;

/// Emits `body` with `emit_body` at segment size `size` and feeds the
/// datagrams to a fresh receiver in `order` (indices, possibly repeated).
/// Returns the receiver.
fn send(
    body: &[u8],
    size: usize,
    order: impl Fn(usize) -> Vec<usize>,
) -> eventcast_proto::Endpoint {
    let mut tx = endpoint(reassembly_only(size), SENDER);
    tx.emit_body(body).unwrap();
    let datagrams = transmits(&mut tx);
    assert_eq!(datagrams.len(), body.len().div_ceil(size));
    let mut rx = endpoint(reassembly_only(1024), 1);
    let order = order(datagrams.len());
    for (pos, &i) in order.iter().enumerate() {
        rx.handle_datagram(t0(), addr(pos as u16), &datagrams[i]);
    }
    let s = rx.stats();
    assert_accounting(&s);
    assert_eq!(s.segments_received, datagrams.len() as u64);
    assert_eq!(s.dropped.duplicate, (order.len() - datagrams.len()) as u64);
    assert_eq!(s.partial_messages, 0);
    assert_eq!(s.partial_bytes, 0);
    rx
}

/// A body and an order to feed its segments in.
fn case(
    body: impl Strategy<Value = Vec<u8>>,
) -> impl Strategy<Value = (Vec<u8>, usize, Vec<usize>)> {
    (body, arb_payload_size()).prop_flat_map(|(body, size)| {
        let n = body.len().div_ceil(size);
        (Just(body), Just(size), arb_order(n))
    })
}

/// Any bytes framed as a BSON document: a correct length prefix and a final
/// zero, with anything in between.
fn framed_bytes() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(any::<u8>(), 0..3000).prop_map(|inner| {
        let len = (inner.len() + 5) as i32;
        let mut body = len.to_le_bytes().to_vec();
        body.extend(inner);
        body.push(0);
        body
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn encoded_body_round_trips(
        (body, size, order) in case(arb_event().prop_map(|(n, a)| encode_body(&n, &a).unwrap()))
    ) {
        let mut rx = send(&body, size, |_| order.clone());
        let got = messages(&mut rx);
        prop_assert_eq!(got.len(), 1);
        let (name, args) = decode_body(&body).unwrap();
        prop_assert_eq!(&*got[0].name, name.as_str());
        prop_assert_eq!(&got[0].args, &args);
        prop_assert_eq!(rx.stats().messages_received, 1);
        prop_assert_eq!(rx.stats().dropped.bad_body, 0);
    }

    #[test]
    fn any_framed_bytes_arrive_once((body, size, order) in case(framed_bytes())) {
        let mut rx = send(&body, size, |_| order.clone());
        let got = messages(&mut rx);
        let s = rx.stats();
        // exactly one outcome for the one message
        prop_assert_eq!(s.messages_received + s.dropped.bad_body, 1);
        match decode_body(&body) {
            Ok((name, args)) => {
                prop_assert_eq!(got.len(), 1);
                prop_assert_eq!(&*got[0].name, name.as_str());
                prop_assert_eq!(&got[0].args, &args);
            }
            Err(_) => prop_assert!(got.is_empty()),
        }
    }
}

#[test]
fn emit_body_refuses_what_is_not_a_document() {
    let mut tx = endpoint(reassembly_only(16), SENDER);
    for bad in [&[][..], &[5, 0, 0, 0], &[5, 0, 0, 0, 1], &[6, 0, 0, 0, 0]] {
        assert!(
            matches!(
                tx.emit_body(bad),
                Err(EmitError::Encode(BodyError::Malformed(_)))
            ),
            "{bad:?} accepted"
        );
    }
    assert!(tx.poll_transmit(t0(), &mut Vec::new()).is_none());
    assert_eq!(tx.stats().messages_sent, 0);
    // the sequence numbers were not used up
    let body = encode_body("ok", &[]).unwrap();
    assert_eq!(tx.emit_body(body.clone()).unwrap().get(), 0);
}

#[test]
fn emit_body_refuses_too_large() {
    let mut c = reassembly_only(1024);
    c.max_message_size = 100;
    let mut tx = endpoint(c, SENDER);
    let body = body_of_len(101);
    match tx.emit_body(body.clone()) {
        Err(EmitError::MessageTooLarge { len: 101, max: 100 }) => {}
        other => panic!("unexpected {other:?}"),
    }
    assert!(tx.poll_transmit(t0(), &mut Vec::new()).is_none());
    tx.emit_body(body_of_len(100)).unwrap();
    assert_eq!(transmits(&mut tx).len(), 1);
}

#[test]
fn a_large_body_with_bad_utf8_in_a_string_is_dropped_and_counted() {
    let text = "é✓".repeat(50_000);
    let good = encode_body("big", &[text.as_str().into(), 3.into()]).unwrap();
    let mut bad = good.clone();
    // Somewhere in the string's middle: the lead byte of a character.
    let at = (good.len() / 2..).find(|&i| good[i] == 0xC3).unwrap();
    bad[at] = 0xFF;
    let mut tx = endpoint(reassembly_only(8192), SENDER);
    for body in [&good, &bad, &good] {
        tx.emit_body(body.clone()).unwrap();
    }
    let mut rx = endpoint(reassembly_only(8192), 1);
    for (i, d) in transmits(&mut tx).iter().enumerate() {
        rx.handle_datagram(t0(), addr(i as u16), d);
    }
    let got = messages(&mut rx);
    assert_eq!(got.len(), 2);
    for m in &got {
        assert_eq!(m.args.str_at(0), Some(text.as_str()));
    }
    let s = rx.stats();
    assert_eq!((s.messages_received, s.dropped.bad_body), (2, 1));
}
