//! Tests of `args.rs`.

use super::*;
use crate::body::encode_body;
use bson::{spec::BinarySubtype, Binary};
use proptest::prelude::*;

/// A flat argument: a number, boolean, null or string.
pub(crate) fn scalar() -> impl Strategy<Value = Bson> {
    prop_oneof![
        any::<f64>().prop_map(Bson::Double),
        ".{0,40}".prop_map(Bson::String),
        any::<bool>().prop_map(Bson::Boolean),
        Just(Bson::Null),
        any::<i32>().prop_map(Bson::Int32),
        any::<i64>().prop_map(Bson::Int64),
    ]
}

/// Doubles compare by bits: NaN is NaN.
pub(crate) fn same(a: &[Bson], b: &[Bson]) -> bool {
    a.len() == b.len()
        && a.iter().zip(b).all(|(x, y)| match (x, y) {
            (Bson::Double(x), Bson::Double(y)) => x.to_bits() == y.to_bits(),
            _ => x == y,
        })
}

proptest! {
    #[test]
    fn flat_bodies_are_kept_and_read_as_decode_body_reads_them(
        name in ".{0,20}",
        args in proptest::collection::vec(scalar(), 0..8),
    ) {
        let body = encode_body(&name, &args).unwrap();
        let (n, kept) = decode_received(body.clone()).unwrap();
        let (dn, decoded) = decode_body(&body).unwrap();
        prop_assert!(kept.raw_body().is_some(), "a flat body is kept");
        prop_assert_eq!(&n, &name);
        prop_assert_eq!(&dn, &name);
        prop_assert!(same(&kept, &args) && same(&decoded, &args));
        for (i, arg) in args.iter().enumerate() {
            let s = kept.str_at(i);
            prop_assert_eq!(s, arg.as_str());
            prop_assert!(s.is_none_or(|s| in_place(&kept, s)));
            prop_assert_eq!(kept.bytes_at(i), None);
        }
        prop_assert_eq!(kept.str_at(args.len()), None);
        // A copy reads alike, from its own bytes.
        let copy = kept.clone();
        for i in 0..=args.len() {
            prop_assert_eq!(copy.str_at(i), kept.str_at(i));
            prop_assert!(copy.str_at(i).is_none_or(|s| in_place(&copy, s)));
        }
        prop_assert!(same(&copy.into_vec(), &args));
    }

    #[test]
    fn one_argument_reads_as_the_decoded_list_holds_it(
        name in ".{0,20}",
        args in proptest::collection::vec(scalar(), 0..8),
    ) {
        let (_, kept) = decode_received(encode_body(&name, &args).unwrap()).unwrap();
        for decoded in [false, true] {
            for (i, arg) in args.iter().enumerate() {
                let value = kept.value_at(i);
                // Made from the kept element until the list is decoded.
                prop_assert_eq!(matches!(value, Some(Cow::Borrowed(_))), decoded);
                let value = value.map(Cow::into_owned);
                prop_assert!(value.is_some_and(|v| same(&[v], std::slice::from_ref(arg))));
            }
            prop_assert!(kept.value_at(args.len()).is_none());
            prop_assert_eq!(kept.count(), args.len());
            kept.as_slice();
        }
    }

    #[test]
    fn a_damaged_body_is_kept_only_if_decode_body_reads_it_alike(
        name in ".{0,8}",
        args in proptest::collection::vec(scalar(), 0..4),
        at in any::<prop::sample::Index>(),
        byte in any::<u8>(),
        cut in any::<bool>(),
    ) {
        let mut body = encode_body(&name, &args).unwrap();
        let i = at.index(body.len());
        if cut {
            body.truncate(i);
        } else {
            body[i] = byte;
        }
        match (decode_received(body.clone()), decode_body(&body)) {
            (Ok((n, kept)), Ok((dn, decoded))) => {
                prop_assert_eq!(n, dn);
                prop_assert!(same(&kept, &decoded));
            }
            (Err(_), Err(_)) => {}
            (r, d) => prop_assert!(false, "received {:?}, decoded {:?}", r.is_ok(), d.is_ok()),
        }
    }
}

fn big_args() -> Vec<Bson> {
    vec![
        Bson::String("s".repeat(100_000)),
        Bson::Binary(Binary {
            subtype: BinarySubtype::Generic,
            bytes: vec![9; 70_000],
        }),
        Bson::Int32(3),
    ]
}

#[test]
fn one_argument_of_a_large_body_reads_without_decoding_the_others() {
    let args = big_args();
    let (_, kept) = decode_received(encode_body("big", &args).unwrap()).unwrap();
    for (i, arg) in args.iter().enumerate() {
        assert_eq!(kept.value_at(i).as_deref(), Some(arg));
    }
    assert_eq!(kept.value_at(args.len()), None);
    assert_eq!(kept.count(), args.len());
    let Repr::Raw { decoded, .. } = &kept.repr else {
        panic!("a large body is kept");
    };
    assert!(decoded.get().is_none(), "the list was not decoded");
}

#[test]
fn large_bodies_are_kept_and_read_in_place_or_decoded() {
    let body = encode_body("big", &big_args()).unwrap();
    let len = body.len();
    let (name, args) = decode_received(body).unwrap();
    assert_eq!(name, "big");
    assert_eq!(args.raw_body().map(|b| b.as_bytes().len()), Some(len));
    assert_eq!(args.str_at(0).map(str::len), Some(100_000));
    assert_eq!(args.bytes_at(1).map(<[u8]>::len), Some(70_000));
    assert_eq!(args.str_at(1), None);
    assert_eq!(args.bytes_at(2), None);
    assert_eq!(args.str_at(3), None);
    assert_eq!(args, big_args());
    assert_eq!(args.clone().into_vec(), big_args());
}

/// Whether `s` lies within the bytes of the body `args` kept.
fn in_place(args: &Args, s: &str) -> bool {
    let body = args.raw_body().unwrap().as_bytes().as_ptr_range();
    body.contains(&s.as_ptr())
}

/// The arguments of a body of `args` as received.
fn received(args: &[Bson]) -> Args {
    decode_received(encode_body("n", args).unwrap()).unwrap().1
}

/// The indices of the string arguments `args` kept as read on
/// arrival (none if it was decoded).
fn read_on_arrival(args: &Args) -> Vec<usize> {
    match &args.repr {
        Repr::Raw { body, .. } => body.get().1.iter().flatten().map(|(i, _)| *i).collect(),
        Repr::Decoded(_) => Vec::new(),
    }
}

#[test]
fn long_strings_are_read_once_and_read_in_place() {
    let long = |c: &str, n: usize| Bson::String(c.repeat(n));
    // Six long strings (four are kept as read), a short one, others.
    let mut args: Vec<Bson> = (0..6)
        .map(|i| long(["a", "é", "✓"][i % 3], 40_000))
        .collect();
    args.insert(2, Bson::from("short"));
    args.insert(4, Bson::Int32(7));
    args.push(long("z", LONG_STRING - 1));
    let kept = received(&args);
    assert_eq!(
        read_on_arrival(&kept),
        [0, 1, 3, 5],
        "the first four long strings"
    );
    reads_in_place(&kept, &args);
}

/// Asserts that `kept`, a body kept raw, reads its string arguments
/// as `args` in place, and so does a copy of it from its own bytes.
fn reads_in_place(kept: &Args, args: &[Bson]) {
    for (i, arg) in args.iter().enumerate() {
        let s = kept.str_at(i);
        assert_eq!(s, arg.as_str(), "argument {i}");
        assert!(s.is_none_or(|s| in_place(kept, s)));
    }
    assert_eq!(kept.str_at(args.len()), None);
    let copy = kept.clone();
    assert!(copy.raw_body().is_some());
    for i in 0..args.len() {
        assert_eq!(copy.str_at(i), kept.str_at(i));
        assert!(copy.str_at(i).is_none_or(|s| in_place(&copy, s)));
    }
    assert_eq!(copy.as_slice(), args);
}

#[test]
fn the_first_strings_of_a_flat_body_are_read_once() {
    // Six strings (four are kept as read) among other arguments.
    let mut args: Vec<Bson> = (0..6).map(|i| Bson::from("é✓".repeat(i))).collect();
    args.insert(1, Bson::Int32(7));
    args.insert(3, Bson::Null);
    let kept = received(&args);
    assert_eq!(
        read_on_arrival(&kept),
        [0, 2, 4, 5],
        "the first four strings"
    );
    reads_in_place(&kept, &args);
}

/// The indices of the number, boolean and null arguments `args` kept as
/// read on arrival.
fn scalars_on_arrival(args: &Args) -> Vec<usize> {
    match &args.repr {
        Repr::Raw { scalars, .. } => scalars.indices().collect(),
        Repr::Decoded(_) => Vec::new(),
    }
}

#[test]
fn the_first_other_values_of_a_flat_body_are_kept_as_read() {
    // Six values that are not strings (four are kept) among strings.
    let args: Vec<Bson> = vec![
        Bson::Int64(-3),
        Bson::from("a"),
        Bson::Double(f64::NAN),
        Bson::Boolean(true),
        Bson::from("b"),
        Bson::Null,
        Bson::Int32(7),
        Bson::Int64(i64::MAX),
    ];
    let kept = received(&args);
    assert_eq!(scalars_on_arrival(&kept), [0, 2, 3, 5], "the first four");
    for (i, arg) in args.iter().enumerate() {
        let value = kept.value_at(i).expect("every argument reads");
        assert!(
            same(&[value.into_owned()], std::slice::from_ref(arg)),
            "{i}"
        );
        assert_eq!(kept.str_at(i), arg.as_str(), "{i}");
    }
    assert_eq!(kept.value_at(args.len()), None);
    // Kept by a copy too; a large body keeps none.
    assert_eq!(scalars_on_arrival(&kept.clone()), [0, 2, 3, 5]);
    let mut large = args.clone();
    large.push(Bson::String("x".repeat(KEEP_RAW_FROM)));
    assert_eq!(scalars_on_arrival(&received(&large)), Vec::<usize>::new());
    // Kept bit for bit: a NaN's payload, -0.0, the ends of the integers.
    let edges = [
        Bson::Double(f64::from_bits(0x7ff8_dead_0000_0001)),
        Bson::Double(-0.0),
        Bson::Int32(i32::MIN),
        Bson::Int64(i64::MIN),
    ];
    let edges_kept = received(&edges);
    assert_eq!(scalars_on_arrival(&edges_kept), [0, 1, 2, 3]);
    let read: Vec<Bson> = (0..edges.len())
        .map(|i| edges_kept.value_at(i).unwrap().into_owned())
        .collect();
    assert!(same(&read, &edges), "{read:?}");
    assert_eq!(
        read[1].as_f64().map(f64::to_bits),
        Some((-0.0f64).to_bits())
    );
    // Past the 256th argument none is kept; it reads all the same.
    let mut far: Vec<Bson> = (0..300).map(|_| Bson::from("s")).collect();
    far.extend([Bson::Int32(-5), Bson::Double(0.5)]);
    let far_kept = received(&far);
    assert_eq!(scalars_on_arrival(&far_kept), Vec::<usize>::new());
    assert_eq!(
        far_kept.value_at(300).map(Cow::into_owned),
        Some(Bson::Int32(-5))
    );
    assert_eq!(
        far_kept.value_at(301).map(Cow::into_owned),
        Some(Bson::Double(0.5))
    );
    // Read from the kept values, not the body: a body whose kept value
    // differed from its bytes would read the kept one.
    let Repr::Raw { body, held, .. } = kept.repr else {
        panic!("a flat body is kept");
    };
    let mut scalars = ReadScalars::default();
    assert!(scalars.push(0, crate::flat::Scalar::Int64(99)));
    let marked = Args::raw(body, held, scalars);
    assert_eq!(
        marked.value_at(0).map(Cow::into_owned),
        Some(Bson::Int64(99))
    );
}

#[test]
fn a_small_body_that_is_not_flat_or_not_a_document_reads_as_decode_body_reads_it() {
    let nested = encode_body("n", &[Bson::Array(vec![Bson::from("a")])]).unwrap();
    let (name, args) = decode_received(nested).unwrap();
    assert_eq!(name, "n");
    assert!(args.raw_body().is_none());
    assert_eq!(args.str_at(0), None);
    for bad in [vec![], vec![5, 0, 0, 0], vec![0xFF; 40]] {
        let received = decode_received(bad.clone()).map(|(n, a)| (n, a.into_vec()));
        assert_eq!(
            format!("{received:?}"),
            format!("{:?}", decode_body(&bad)),
            "{bad:?}"
        );
    }
}

#[test]
fn a_large_body_with_bad_utf8_in_any_string_is_refused() {
    // The first long string, one past the four kept, and a short one.
    for bad in [0, 5, 6] {
        let mut args: Vec<Bson> = (0..6).map(|_| Bson::String("é".repeat(20_000))).collect();
        args.push(Bson::from("short"));
        let mut body = encode_body("big", &args).unwrap();
        // The string's element: type, key, NUL, length, then bytes.
        let key = [0x02, b'0' + bad as u8, 0];
        let at = body.windows(3).position(|w| w == key).unwrap() + 3 + 4 + 1;
        body[at] = 0xFF;
        assert!(
            matches!(decode_received(body.clone()), Err(BodyError::Malformed(_))),
            "bad byte in string {bad}"
        );
        assert!(!is_event(&body));
    }
}

/// A body of `name` with the raw fields `fields` appended as given
/// (duplicates too), padded past [`KEEP_RAW_FROM`] by a long string.
fn raw_body(fields: &[(&str, bson::RawBson)]) -> Vec<u8> {
    let mut doc = bson::RawDocumentBuf::new();
    doc.append(bson::raw::cstr!("name"), "n");
    for (key, value) in fields {
        let key: &bson::raw::CStr = (*key).try_into().unwrap();
        doc.append(key, value.clone());
    }
    doc.into_bytes()
}

fn args_of(values: Vec<bson::RawBson>) -> bson::RawBson {
    let mut array = bson::RawArrayBuf::new();
    for v in values {
        array.push(v);
    }
    bson::RawBson::Array(array)
}

#[test]
fn a_large_body_with_two_args_fields_is_refused_as_a_small_one_is() {
    let long = bson::RawBson::String("s".repeat(KEEP_RAW_FROM));
    for long in [long.clone(), bson::RawBson::String("short".into())] {
        let twice = raw_body(&[
            ("args", args_of(vec![long.clone()])),
            ("args", args_of(vec![])),
        ]);
        assert!(
            matches!(decode_received(twice), Err(BodyError::Shape(_))),
            "two `args` fields"
        );
    }
}

#[test]
fn a_large_body_decodes_whatever_its_documents_look_like() {
    // `$`-keys mean something to the serde path (extended JSON); raw
    // arguments are decoded value by value and keep them as they are.
    let mut odd = bson::RawDocumentBuf::new();
    odd.append(bson::raw::cstr!("$oid"), 1i32);
    let body = raw_body(&[(
        "args",
        args_of(vec![
            bson::RawBson::String("s".repeat(KEEP_RAW_FROM)),
            bson::RawBson::Document(odd),
        ]),
    )]);
    let (_, args) = decode_received(body).unwrap();
    assert!(args.raw_body().is_some());
    assert_eq!(args.len(), 2);
    assert_eq!(args[1], Bson::Document(bson::doc! {"$oid": 1i32}));
    assert!(args.raw_held_bytes().unwrap() > 2 * KEEP_RAW_FROM);
}

#[test]
fn small_flat_bodies_are_kept_the_others_decoded_and_all_read_alike() {
    let flat = vec![Bson::from("hi"), Bson::Int32(1)];
    let nested = vec![Bson::from("hi"), Bson::Array(vec![1.into()])];
    for (small, kept) in [(flat, true), (nested, false)] {
        let body = encode_body("s", &small).unwrap();
        let (name, args) = decode_received(body.clone()).unwrap();
        assert_eq!(name, "s");
        assert_eq!(args.raw_body().is_some(), kept);
        assert_eq!(
            args.raw_body().map(|b| b.as_bytes()),
            kept.then_some(&body[..])
        );
        assert_eq!(args.str_at(0), Some("hi"));
        assert_eq!(args.str_at(1), None);
        assert_eq!(args.str_at(2), None);
        assert_eq!(args.bytes_at(0), None);
        assert_eq!(&args[..], &small[..]);
        assert_eq!(args.clone().into_vec(), small);
    }
    // Held as much as decoded, and the body.
    let body = encode_body("s", &[Bson::from("hi")]).unwrap();
    let len = body.len();
    let (_, args) = decode_received(body).unwrap();
    assert_eq!(
        args.raw_held_bytes(),
        Some(len + std::mem::size_of::<Bson>() + 2)
    );
}
