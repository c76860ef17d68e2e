//! A received message's arguments: kept as the BSON that arrived when
//! the body is large or flat, decoded at once otherwise.
//!
//! Decoding copies every string and binary out of the body, so a large
//! event would be copied once more than it needs to be, into fresh memory,
//! before anyone looks at it. A large body is instead checked whole when
//! it arrives (every element well-formed, strings UTF-8, nesting bounded:
//! [`decode_received`]) and kept; so is a flat small one (arguments that
//! are only numbers, booleans, nulls and strings: most small events),
//! checked with the bson crate's raw iterators, which costs less than
//! decoding it.
//! Their arguments are decoded on first use ([`Args::as_slice`], or
//! through `Deref`), and a string or binary argument can be read in place
//! without decoding anything ([`Args::str_at`], [`Args::bytes_at`]).

use std::fmt;
use std::ops::Deref;
use std::sync::OnceLock;

use bson::{Bson, RawArray, RawBsonRef, RawDocument, RawDocumentBuf};
use tracing::warn;

use crate::body::{check_whole, decode_body, shape, BodyError};

/// Bodies at least this long keep their arguments as they arrived
/// ([`Args`]): decoding them would copy every string and binary again.
pub const KEEP_RAW_FROM: usize = 64 * 1024;

/// Decodes a received body into the event name and its arguments: kept
/// as it arrived if the body is at least [`KEEP_RAW_FROM`] long, after a
/// walk that checks every element (well-formed, strings and keys UTF-8,
/// nesting within [`MAX_NESTING_DEPTH`](crate::MAX_NESTING_DEPTH)) and the
/// shape (a string `name`, an array `args`); kept too if it is shorter and
/// flat (its arguments only numbers, booleans, nulls and strings, checked
/// as well-formed); decoded now otherwise.
pub fn decode_received(body: Vec<u8>) -> Result<(String, Args), BodyError> {
    let malformed = |e: bson::error::Error| BodyError::Malformed(e.to_string());
    if body.len() < KEEP_RAW_FROM {
        let flat = RawDocument::from_bytes(&body).ok().and_then(check_flat);
        if let Some(Flat { name, args, text }) = flat {
            let name = name.to_owned();
            // As much as decoding would take, and the body itself.
            let held = body.len() + args * std::mem::size_of::<Bson>() + text;
            let doc = RawDocumentBuf::from_bytes(body).map_err(malformed)?;
            return Ok((name, Args::raw(doc, held)));
        }
        let (name, args) = decode_body(&body)?;
        return Ok((name, Args::decoded(args)));
    }
    let doc = RawDocumentBuf::from_bytes(body).map_err(malformed)?;
    let (name, values) = check_whole(&doc)?;
    let name = name.to_owned();
    let held = 2 * doc.as_bytes().len() + values * std::mem::size_of::<Bson>();
    Ok((name, Args::raw(doc, held)))
}

/// What a flat body holds (see [`check_flat`]).
struct Flat<'a> {
    name: &'a str,
    /// How many arguments there are.
    args: usize,
    /// The bytes of their strings.
    text: usize,
}

/// `doc` if it is a flat body: one string `name`, one array `args` and
/// nothing else, every argument a number, boolean, null or string, each
/// element read well-formed by the bson crate (as decoding it would);
/// `None` for anything else, left to [`decode_body`].
fn check_flat(doc: &RawDocument) -> Option<Flat<'_>> {
    let (name, list, others) = shape(doc).ok()?;
    if others {
        return None;
    }
    let (mut args, mut text) = (0, 0);
    for value in list {
        match value.ok()? {
            RawBsonRef::String(s) => text += s.len(),
            RawBsonRef::Double(_)
            | RawBsonRef::Boolean(_)
            | RawBsonRef::Null
            | RawBsonRef::Int32(_)
            | RawBsonRef::Int64(_) => {}
            _ => return None,
        }
        args += 1;
    }
    Some(Flat { name, args, text })
}

/// Whether `body` is an event's body, checked as [`decode_received`]
/// would, without keeping or decoding anything.
pub(crate) fn is_event(body: &[u8]) -> bool {
    if body.len() < KEEP_RAW_FROM {
        return decode_body(body).is_ok();
    }
    bson::RawDocument::from_bytes(body).is_ok_and(|doc| check_whole(doc).is_ok())
}

/// The arguments of a received message (see the module docs).
///
/// Dereferences to `[Bson]`, decoding on first use if kept raw.
pub struct Args {
    repr: Repr,
}

enum Repr {
    Decoded(Vec<Bson>),
    /// A body checked whole on arrival, about how many bytes it holds
    /// once decoded too, and its arguments once decoded.
    Raw {
        body: RawDocumentBuf,
        held: usize,
        decoded: OnceLock<Vec<Bson>>,
    },
}

impl Args {
    /// Arguments already decoded.
    pub fn decoded(args: Vec<Bson>) -> Self {
        Self {
            repr: Repr::Decoded(args),
        }
    }

    /// The arguments of `body`, a message body already checked whole (its
    /// `args` is an array), which holds about `held` bytes once decoded
    /// too. Crate-private: only a checked body may be kept.
    pub(crate) fn raw(body: RawDocumentBuf, held: usize) -> Self {
        Self {
            repr: Repr::Raw {
                body,
                held,
                decoded: OnceLock::new(),
            },
        }
    }

    /// The arguments as BSON values, decoded now if they were kept raw.
    pub fn as_slice(&self) -> &[Bson] {
        match &self.repr {
            Repr::Decoded(args) => args,
            Repr::Raw { body, decoded, .. } => decoded.get_or_init(|| decode(body)),
        }
    }

    /// The arguments as BSON values, owned.
    pub fn into_vec(self) -> Vec<Bson> {
        match self.repr {
            Repr::Decoded(args) => args,
            Repr::Raw { body, decoded, .. } => {
                decoded.into_inner().unwrap_or_else(|| decode(&body))
            }
        }
    }

    /// The body as it arrived, if the arguments were kept raw.
    pub fn raw_body(&self) -> Option<&bson::RawDocument> {
        match &self.repr {
            Repr::Decoded(_) => None,
            Repr::Raw { body, .. } => Some(body),
        }
    }

    /// For arguments kept raw: about how many bytes they hold once
    /// decoded too (the body, and a `Bson` per value it holds), whether
    /// or not they are yet: the decoded copy, once made, is shared by
    /// every holder of the event.
    pub fn raw_held_bytes(&self) -> Option<usize> {
        match &self.repr {
            Repr::Decoded(_) => None,
            Repr::Raw { held, .. } => Some(*held),
        }
    }

    /// Argument `index` if it is a string, read in place.
    pub fn str_at(&self, index: usize) -> Option<&str> {
        match &self.repr {
            Repr::Decoded(args) => args.get(index)?.as_str(),
            Repr::Raw { body, .. } => match raw_args(body)?.get(index).ok()?? {
                RawBsonRef::String(s) => Some(s),
                _ => None,
            },
        }
    }

    /// Argument `index` if it is a binary, its bytes read in place.
    pub fn bytes_at(&self, index: usize) -> Option<&[u8]> {
        match &self.repr {
            Repr::Decoded(args) => match args.get(index)? {
                Bson::Binary(b) => Some(&b.bytes),
                _ => None,
            },
            Repr::Raw { body, .. } => match raw_args(body)?.get(index).ok()?? {
                RawBsonRef::Binary(b) => Some(b.bytes),
                _ => None,
            },
        }
    }
}

fn raw_args(body: &RawDocumentBuf) -> Option<&RawArray> {
    body.get_array("args").ok()
}

/// Decodes the arguments of a body checked whole on arrival, value by
/// value from the raw BSON (the parsing the check walked, without serde's
/// reading of `$`-keys as extended JSON), so it does not fail; if it ever
/// did, the arguments read as none and a warning says so.
fn decode(body: &RawDocumentBuf) -> Vec<Bson> {
    let decoded = raw_args(body)
        .ok_or_else(|| "no `args` array".to_owned())
        .and_then(|args| Vec::<Bson>::try_from(args).map_err(|e| e.to_string()));
    match decoded {
        Ok(args) => args,
        Err(e) => {
            warn!(error = %e, "a received body checked on arrival did not decode: no arguments");
            Vec::new()
        }
    }
}

impl Deref for Args {
    type Target = [Bson];

    fn deref(&self) -> &[Bson] {
        self.as_slice()
    }
}

impl Clone for Args {
    fn clone(&self) -> Self {
        let repr = match &self.repr {
            Repr::Decoded(args) => Repr::Decoded(args.clone()),
            Repr::Raw {
                body,
                held,
                decoded,
            } => Repr::Raw {
                body: body.clone(),
                held: *held,
                decoded: decoded.clone(),
            },
        };
        Self { repr }
    }
}

impl fmt::Debug for Args {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.repr {
            Repr::Decoded(args) => f.debug_tuple("Args").field(args).finish(),
            Repr::Raw { body, .. } => f
                .debug_struct("Args")
                .field("raw_bytes", &body.as_bytes().len())
                .finish_non_exhaustive(),
        }
    }
}

impl PartialEq for Args {
    fn eq(&self, other: &Self) -> bool {
        self.as_slice() == other.as_slice()
    }
}

impl PartialEq<Vec<Bson>> for Args {
    fn eq(&self, other: &Vec<Bson>) -> bool {
        self.as_slice() == other.as_slice()
    }
}

impl From<Vec<Bson>> for Args {
    fn from(args: Vec<Bson>) -> Self {
        Self::decoded(args)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::body::encode_body;
    use bson::{spec::BinarySubtype, Binary};
    use proptest::prelude::*;

    fn scalar() -> impl Strategy<Value = Bson> {
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
    fn same(a: &[Bson], b: &[Bson]) -> bool {
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
                prop_assert_eq!(kept.str_at(i), arg.as_str());
            }
            prop_assert_eq!(kept.str_at(args.len()), None);
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
}
