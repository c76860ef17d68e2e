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
    decode_received_as(body, Some(last), str::to_owned, |n, a| (n, a))
}

/// Checks `body` with `last` as a receiver does, and says whether its
/// shape came from `last` (its array left to be found on use). Like the
/// receiver, it remembers the body's shape when it did not.
fn check_with_last(body: &[u8], last: &mut Option<LastFlat<String>>) -> bool {
    let doc = RawDocument::from_bytes(body).unwrap();
    let mut read = Read::default();
    check(doc, &mut read, Some(last), str::to_owned).is_some_and(|f| f.list.is_none())
}

/// Whether two received bodies read alike through every accessor.
fn read_alike(a: &Args, b: &Args) -> bool {
    let n = a.count().max(b.count()) + 1;
    same(a, b)
        && a.count() == b.count()
        && a.raw_body().is_some() == b.raw_body().is_some()
        && a.raw_list().map(|l| l.as_bytes()) == b.raw_list().map(|l| l.as_bytes())
        && (0..n).all(|i| a.str_at(i) == b.str_at(i) && a.value_at(i) == b.value_at(i))
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
        prop_assert!(check_with_last(&next, &mut last), "the shape is remembered");
        let (n, got) = received_with(next.clone(), &mut last).unwrap();
        let (alone_n, alone) = decode_received(next).unwrap();
        prop_assert_eq!(&n, &name);
        prop_assert_eq!(&alone_n, &name);
        prop_assert!(same(&got, &next_args) && read_alike(&got, &alone));
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
                prop_assert!(read_alike(&got, &alone));
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
    // else: the same head, but no array there. (Reading the arguments
    // would refuse it too: what this guards is that they are read.)
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
    assert!(!check_with_last(&args_first, &mut last));

    // The head is the name's bytes and 25 more: up to HEAD_MAX - 25.
    let longest = "n".repeat(HEAD_MAX - 25);
    let body = encode_body(&longest, &[Bson::Int32(1)]).unwrap();
    received_with(body, &mut last).unwrap();
    assert_eq!(last.as_ref().map(LastFlat::head_len), Some(HEAD_MAX));
    let long = "n".repeat(HEAD_MAX - 24);
    let body = encode_body(&long, &[Bson::Int32(1)]).unwrap();
    received_with(body, &mut last).unwrap();
    assert!(last.is_none(), "a name too long to remember");

    let body = encode_body("short", &[Bson::Int32(1)]).unwrap();
    received_with(body.clone(), &mut last).unwrap();
    assert!(check_with_last(&body, &mut last));
    // Another name, or another length, is read whole (and remembered).
    let other = encode_body("other", &[Bson::Int32(2)]).unwrap();
    assert!(!check_with_last(&other, &mut last));
    assert!(check_with_last(&other, &mut last));
    let longer = encode_body("other", &[Bson::Int64(2)]).unwrap();
    assert!(!check_with_last(&longer, &mut last));
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

/// Through a receiving endpoint: two senders' events of the same length,
/// one name each, their datagrams taken in the order a0 a1 b0 b1 a2 b2 (so
/// that a1 and b1 find the shape the event before left, and the others
/// do not); every event keeps its own name and arguments (the receiver's
/// one remembered shape is shared by every sender).
#[test]
fn interleaved_senders_keep_their_own_names() {
    use crate::{Config, Endpoint, EndpointEvent, SenderId};
    use std::time::Instant;

    let datagrams = |id: u64, name: &str| {
        let mut sender = Endpoint::new(Config::default(), SenderId::new(id)).unwrap();
        sender.set_paced(false);
        let mut out = Vec::new();
        let mut buf = Vec::new();
        for i in 0..3 {
            sender
                .emit_body(encode_body(name, &[Bson::Int32(i)]).unwrap())
                .unwrap();
            // One event a datagram: sent before the next is queued.
            while sender.poll_transmit(Instant::now(), &mut buf).is_some() {
                out.push(buf.clone());
            }
        }
        out
    };
    let (a, b) = (datagrams(1, "aaaa"), datagrams(2, "bbbb"));
    assert_eq!((a.len(), b.len()), (3, 3));
    let mut receiver = Endpoint::new(Config::default(), SenderId::new(3)).unwrap();
    let from = "127.0.0.1:4000".parse().unwrap();
    let now = Instant::now();
    let mut got = Vec::new();
    for d in [&a[0], &a[1], &b[0], &b[1], &a[2], &b[2]] {
        receiver.handle_datagram(now, from, d);
        while let Some(event) = receiver.poll_event() {
            if let EndpointEvent::Message(m) = event {
                got.push((m.sender.get(), m.name.to_string(), m.args[0].clone()));
            }
        }
    }
    let event = |id, name: &str, i| (id, name.to_owned(), Bson::Int32(i));
    let want = [
        event(1, "aaaa", 0),
        event(1, "aaaa", 1),
        event(2, "bbbb", 0),
        event(2, "bbbb", 1),
        event(1, "aaaa", 2),
        event(2, "bbbb", 2),
    ];
    assert_eq!(got, want);
}
