//! Tests of `flat.rs` through `args.rs`, which uses it: a body whose
//! shape is known from the body before reads as it reads alone. (Apart, so
//! that `flat.rs` imports nothing of `args.rs`.)

use crate::args::tests::{same, scalar};
use crate::args::{decode_received, decode_received_as, Args};
use crate::body::encode_body;
use crate::flat::*;
use bson::{doc, Bson, RawDocument};
use proptest::prelude::*;

/// `args` with other values of the same kinds and sizes (strings of as
/// many bytes): a body of them has the same head.
fn others_like(args: &[Bson], seed: u64) -> Vec<Bson> {
    let n = |i: usize| seed.wrapping_mul(31).wrapping_add(i as u64);
    args.iter()
        .enumerate()
        .map(|(i, a)| match a {
            Bson::String(s) => Bson::String(
                (0..s.len())
                    .map(|k| char::from(b'a' + (n(i + k) % 26) as u8))
                    .collect(),
            ),
            Bson::Double(_) => Bson::Double(n(i) as f64 / 3.0),
            Bson::Boolean(b) => Bson::Boolean(!b),
            Bson::Int32(_) => Bson::Int32(n(i) as i32),
            Bson::Int64(_) => Bson::Int64(n(i) as i64),
            other => other.clone(),
        })
        .collect()
}

/// `body` as a receiver decodes it with `last`.
fn received_with(
    body: Vec<u8>,
    last: &mut Option<LastFlat<String>>,
) -> Result<(String, Args), crate::body::BodyError> {
    decode_received_as(body, last, str::to_owned, |n, a| (n, a))
}

/// Whether `body`'s shape comes from `last` (its array left to be
/// found on use), as [`check`] decides.
fn known(body: &[u8], last: &mut Option<LastFlat<String>>) -> bool {
    let doc = RawDocument::from_bytes(body).unwrap();
    let mut read = [None; READ_STRINGS];
    check(doc, &mut read, last, str::to_owned).is_some_and(|f| f.list.is_none())
}

proptest! {
    #[test]
    fn a_body_of_the_last_shape_reads_as_it_reads_alone(
        name in ".{0,20}",
        args in proptest::collection::vec(scalar(), 0..8),
        seed in any::<u64>(),
    ) {
        let mut last = None;
        let first = encode_body(&name, &args).unwrap();
        received_with(first, &mut last).unwrap();
        let next_args = others_like(&args, seed);
        let next = encode_body(&name, &next_args).unwrap();
        prop_assert!(known(&next, &mut last), "the shape is remembered");
        let (n, got) = received_with(next.clone(), &mut last).unwrap();
        let (alone_n, alone) = decode_received(next).unwrap();
        prop_assert_eq!(&n, &name);
        prop_assert_eq!(&alone_n, &name);
        prop_assert!(same(&got, &next_args) && same(&alone, &next_args));
        for i in 0..=next_args.len() {
            prop_assert_eq!(got.str_at(i), alone.str_at(i));
            prop_assert_eq!(got.value_at(i), alone.value_at(i));
        }
        prop_assert_eq!(got.count(), next_args.len());
        prop_assert_eq!(
            got.raw_list().map(|l| l.as_bytes()),
            alone.raw_list().map(|l| l.as_bytes())
        );
        prop_assert!(same(&got.clone().into_vec(), &next_args));
    }

    #[test]
    fn a_damaged_body_reads_with_the_last_shape_as_it_reads_alone(
        name in ".{0,8}",
        args in proptest::collection::vec(scalar(), 0..4),
        at in any::<prop::sample::Index>(),
        byte in any::<u8>(),
        in_tail in any::<bool>(),
    ) {
        let body = encode_body(&name, &args).unwrap();
        let mut last = None;
        received_with(body.clone(), &mut last).unwrap();
        let head = last.as_ref().map_or(0, |l| l.head_len());
        // Past the head half the time: the bytes the shape leaves to be read.
        let i = if in_tail { head + at.index(body.len() - head) } else { at.index(body.len()) };
        let mut damaged = body;
        damaged[i] = byte;
        match (received_with(damaged.clone(), &mut last), decode_received(damaged)) {
            (Ok((n, got)), Ok((alone_n, alone))) => {
                prop_assert_eq!(n, alone_n);
                prop_assert!(same(&got, &alone));
            }
            (Err(_), Err(_)) => {}
            (r, a) => prop_assert!(false, "with the shape {:?}, alone {:?}", r.is_ok(), a.is_ok()),
        }
    }
}

#[test]
fn the_array_must_end_where_the_last_one_did() {
    let mut last = None;
    let body = encode_body("tick", &[Bson::String("abcd".into())]).unwrap();
    received_with(body.clone(), &mut last).unwrap();
    // The array's closing 0 (before the body's own) made something
    // else: the same head, but no array there.
    let mut damaged = body;
    let end = damaged.len() - 2;
    damaged[end] = 7;
    assert!(received_with(damaged.clone(), &mut last).is_err());
    assert!(decode_received(damaged).is_err());
}

#[test]
fn only_an_args_array_last_and_near_the_start_is_remembered() {
    let mut last: Option<LastFlat<String>> = None;
    let args_first = doc! { "args": [1], "name": "x" }.to_vec().unwrap();
    received_with(args_first.clone(), &mut last).unwrap();
    assert!(last.is_none(), "args before name");
    assert!(!known(&args_first, &mut last));

    let long = "n".repeat(HEAD_MAX);
    let body = encode_body(&long, &[Bson::Int32(1)]).unwrap();
    received_with(body.clone(), &mut last).unwrap();
    assert!(last.is_none(), "a name too long to remember");

    let body = encode_body("short", &[Bson::Int32(1)]).unwrap();
    received_with(body.clone(), &mut last).unwrap();
    assert!(known(&body, &mut last));
    // Another name, or another length, is read whole (and remembered).
    let other = encode_body("other", &[Bson::Int32(2)]).unwrap();
    assert!(!known(&other, &mut last));
    assert!(known(&other, &mut last));
    let longer = encode_body("other", &[Bson::Int64(2)]).unwrap();
    assert!(!known(&longer, &mut last));
}

#[test]
fn a_body_of_the_last_shape_but_not_flat_is_decoded() {
    let mut last = None;
    let body = encode_body("e", &[Bson::Int64(1)]).unwrap();
    received_with(body, &mut last).unwrap();
    // The same head and length, an 8-byte datetime instead of an int64.
    let other = encode_body("e", &[Bson::DateTime(bson::DateTime::from_millis(5))]).unwrap();
    let (_, args) = received_with(other, &mut last).unwrap();
    assert_eq!(args.raw_body(), None, "decoded, not kept");
    assert_eq!(args[0], Bson::DateTime(bson::DateTime::from_millis(5)));
}
