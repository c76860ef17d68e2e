//! Tests of the direct encoding against the general path.

use super::*;
use crate::event::to_args;
use bson::{doc, Bson};
use proptest::prelude::*;
use serde::Serialize;

/// The body the general path gives, if it gives one.
fn general<A: Serialize + ?Sized>(args: &A) -> Option<Vec<u8>> {
    eventcast_proto::encode_body("ev", &to_args(args).ok()?).ok()
}

/// Encodes `args` both ways: the same body whenever this module takes
/// them; returns whether it did.
fn check<A: Serialize + ?Sized>(args: &A) -> bool {
    let direct = encode_body("ev", args, &SpareBody::default());
    if let Some(direct) = &direct {
        assert_eq!(Some(direct), general(args).as_ref());
    }
    direct.is_some()
}

#[derive(Serialize)]
struct Pair(i32, &'static str);

#[derive(Serialize)]
struct Unit;

#[derive(Serialize)]
struct Named {
    a: i32,
}

#[derive(Serialize)]
enum Choice {
    A,
}

#[test]
fn a_kept_list_is_copied_into_the_body_the_general_path_gives() {
    let lists = [
        Vec::new(),
        vec![Bson::Int64(7), Bson::from("seven")],
        vec![
            Bson::Document(doc! { "n": { "deep": [1, "x"] } }),
            Bson::Binary(bson::Binary {
                subtype: bson::spec::BinarySubtype::Generic,
                bytes: vec![9; 100_000],
            }),
        ],
    ];
    for list in lists {
        let arrived = eventcast_proto::encode_body("ping", &list).unwrap();
        let doc = bson::RawDocument::from_bytes(&arrived).unwrap();
        let kept = doc.get_array("args").unwrap();
        for name in ["pong", "", "a much longer name.with.dots"] {
            let body = encode_kept(name, kept, &SpareBody::default()).expect("a body");
            assert_eq!(body, eventcast_proto::encode_body(name, &list).unwrap());
            assert_eq!(body.capacity(), body.len(), "sized exactly");
        }
    }
}

#[test]
fn long_lists_are_keyed_as_the_general_path_keys_them() {
    let long: Vec<i32> = (0..1200).collect();
    assert!(check(&long));
}

/// Serialized with `serialize_bytes`: a BSON binary.
struct Blob(Vec<u8>);

impl Serialize for Blob {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(&self.0)
    }
}

#[test]
fn plain_argument_lists_are_encoded_here_as_the_general_path_does() {
    assert!(check(&()));
    assert!(check(&None::<u8>));
    assert!(check(&Unit));
    assert!(check(&Some((1, 2))));
    assert!(check(&("a", 1i32, true)));
    assert!(check(&(None::<u8>,)));
    assert!(check(&((),)));
    assert!(check(&(Some(3u16), -4i8, 5u8, -6i16)));
    assert!(check(&(u32::MAX, i64::MIN, i64::MAX as u64)));
    assert!(check(&(2.5f64, 1.5f32, f64::NAN, f64::INFINITY)));
    assert!(check(&('c', 'é', "héllo ✓", "")));
    assert!(check(&vec![1i32, 2, 3]));
    assert!(check(&[true, false]));
    assert!(check(&Pair(1, "x")));
    assert!(check("one"));
    assert!(check(&5i64));
    assert!(check(&Blob(vec![1, 2, 3])));
    assert!(check(&(Blob(vec![]),)));
    assert!(check(&("x".repeat(DIRECT_MAX_VALUE),)));
    let bson_list = vec![
        Bson::Int32(1),
        Bson::Int64(2),
        Bson::Double(3.0),
        Bson::String("s".into()),
        Bson::Boolean(true),
        Bson::Null,
    ];
    assert!(check(&bson_list));
    assert!(check(&Bson::Array(bson_list.clone())));
    assert!(check(&Bson::Null));
    assert!(check(&Bson::String("one".into())));
}

#[test]
fn everything_else_goes_the_general_path() {
    assert!(!check(&(vec![1i32, 2],)));
    assert!(!check(&(doc! {"a": 1},)));
    assert!(!check(&doc! {"a": 1}));
    assert!(!check(&Named { a: 1 }));
    assert!(!check(&(Named { a: 1 },)));
    assert!(!check(&(Choice::A,)));
    assert!(!check(&(bson::DateTime::from_millis(1),)));
    assert!(!check(&(bson::oid::ObjectId::new(),)));
    assert!(!check(&[Bson::Document(doc! {"$oid": 1})]));
    // Large values, then something that is not plain.
    assert!(!check(&("x".repeat(DIRECT_MAX_VALUE + 1), vec![1i32])));
    assert!(!check(&(
        Blob(vec![0; 100_000]),
        doc! {"a": "x".repeat(100_000)}
    )));
    assert!(!check(&(doc! {"a": "x".repeat(100_000)},)));
    // A binary of another subtype is written as `$binary` by serde.
    let uuid = bson::Binary {
        subtype: bson::spec::BinarySubtype::Uuid,
        bytes: vec![1; 16],
    };
    assert!(!check(&(uuid,)));
    // What the general path refuses too.
    assert!(!check(&(u64::MAX,)));
    assert!(!check(&(1i128,)));
    assert!(general(&(u64::MAX,)).is_none());
}

/// `args` encoded here, checked as [`check`] does, and written into a
/// buffer no larger than their size bound (not one grown by doubling),
/// which is at most `slack` bytes over.
fn direct<A: Serialize + ?Sized>(args: &A, slack: usize) {
    let body = encode_body("ev", args, &SpareBody::default()).expect("encoded here");
    assert_eq!(Some(&body), general(args).as_ref());
    let limit = Limit::new(usize::MAX);
    let bound = Body::new("ev", args, &limit)
        .serialize(size::Sizer)
        .unwrap();
    assert!(bound >= body.len() && bound <= body.len() + slack);
    assert!(
        body.capacity() <= bound,
        "{} bytes of room for {}, bound {bound}",
        body.capacity(),
        body.len()
    );
}

/// A string of exactly `len` bytes, of characters one to three bytes
/// long.
fn text_of(len: usize) -> String {
    let mut text = String::with_capacity(len);
    for c in "é✓x".chars().cycle() {
        if text.len() + c.len_utf8() > len {
            break;
        }
        text.push(c);
    }
    while text.len() < len {
        text.push('x');
    }
    text
}

#[test]
fn large_values_are_encoded_here_around_the_old_limit_and_far_past_it() {
    for len in [
        DIRECT_MAX_VALUE - 1,
        DIRECT_MAX_VALUE,
        DIRECT_MAX_VALUE + 1,
        SCRATCH_KEPT + 1,
        1 << 20,
    ] {
        let text = text_of(len);
        assert_eq!(text.len(), len);
        direct(&(text.as_str(),), 64);
        direct(text.as_str(), 64);
        direct(&Blob(vec![7; len]), 64);
        direct(
            &(1i32, Blob(vec![3; len]), text.as_str(), None::<u8>, 2.5f64),
            64,
        );
        direct(&vec![text.clone(), "short".into(), text.clone()], 64);
        direct(
            &[Bson::String(text.clone()), Bson::Int64(-1), Bson::Null],
            64,
        );
        // A camera frame as the docs suggest sending it.
        let frame = bson::Binary {
            subtype: bson::spec::BinarySubtype::Generic,
            bytes: vec![9; len],
        };
        direct(&(&frame, 30i32), 64);
    }
    // Keys of more than one digit, then a large value.
    let mut list: Vec<Bson> = (0..1000).map(Bson::Int32).collect();
    list.push(Bson::String("y".repeat(100_000)));
    direct(&list, 4 * 1000 + 64);
}

#[test]
fn the_scratch_buffer_is_left_as_small_as_it_was() {
    direct(&("z".repeat(1 << 20),), 64);
    let kept = SCRATCH.take();
    assert!(kept.capacity() <= SCRATCH_KEPT);
    SCRATCH.set(kept);
}

proptest! {
    #[test]
    fn large_and_small_values_give_the_general_path_s_bytes(
        name in ".{0,12}",
        lens in proptest::collection::vec(0..3 * DIRECT_MAX_VALUE, 1..4),
        text in "[a-zé✓]{1,8}",
        blob in any::<bool>(),
    ) {
        let args: Vec<Bson> = lens.iter().map(|&len| {
            let s: String = text.chars().cycle().take(len).collect();
            if blob {
                Bson::Binary(bson::Binary {
                    subtype: bson::spec::BinarySubtype::Generic,
                    bytes: s.into_bytes(),
                })
            } else {
                Bson::String(s)
            }
        }).collect();
        let expected = eventcast_proto::encode_body(&name, &to_args(&args).unwrap()).unwrap();
        // A generic `Bson::Binary` is serialized as bytes: plain too.
        prop_assert_eq!(encode_body(&name, &args, &SpareBody::default()), Some(expected));
        let strings: Vec<String> = args.iter().filter_map(|a| a.as_str().map(str::to_owned)).collect();
        if !strings.is_empty() {
            prop_assert_eq!(
                encode_body(&name, &strings, &SpareBody::default()),
                eventcast_proto::encode_body(&name, &to_args(&strings).unwrap()).ok()
            );
        }
    }

    #[test]
    fn same_bytes_as_the_general_path(
        name in ".{0,12}",
        strings in proptest::collection::vec(".{0,30}", 0..4),
        ints in proptest::collection::vec(any::<i64>(), 0..4),
        floats in proptest::collection::vec(any::<f64>(), 0..3),
        flag in any::<Option<bool>>(),
    ) {
        let args = (strings.clone(), ints.clone(), floats.clone(), flag);
        // Nested lists: the general path.
        prop_assert!(encode_body(&name, &args, &SpareBody::default()).is_none());
        let list: Vec<Bson> = strings.into_iter().map(Bson::String)
            .chain(ints.into_iter().map(Bson::Int64))
            .chain(floats.into_iter().map(Bson::Double))
            .chain(flag.map(Bson::Boolean))
            .collect();
        let direct = encode_body(&name, &list, &SpareBody::default()).expect("a plain list");
        prop_assert_eq!(direct, eventcast_proto::encode_body(&name, &to_args(&list).unwrap()).unwrap());
    }
}
