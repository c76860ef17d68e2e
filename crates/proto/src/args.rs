//! A received message's arguments: decoded at once when the body is
//! small, kept as the BSON that arrived when it is large.
//!
//! Decoding copies every string and binary out of the body, so a large
//! event would be copied once more than it needs to be, into fresh memory,
//! before anyone looks at it. A large body is instead checked whole when
//! it arrives (every element well-formed, strings UTF-8, nesting bounded:
//! [`decode_received`]) and kept; its
//! arguments are decoded on first use ([`Args::as_slice`], or through
//! `Deref`), and a string or binary argument can be read in place without
//! decoding anything ([`Args::str_at`], [`Args::bytes_at`]).

use std::fmt;
use std::ops::Deref;
use std::sync::OnceLock;

use bson::{Bson, RawArray, RawBsonRef, RawDocumentBuf};
use tracing::warn;

use crate::body::{check_whole, decode_body, BodyError};

/// Bodies at least this long keep their arguments as they arrived
/// ([`Args`]): decoding them would copy every string and binary again.
pub const KEEP_RAW_FROM: usize = 64 * 1024;

/// Decodes a received body into the event name and its arguments: decoded
/// now if the body is shorter than [`KEEP_RAW_FROM`], kept as it arrived
/// otherwise, after a walk that checks every element (well-formed, strings
/// and keys UTF-8, nesting within [`MAX_NESTING_DEPTH`](crate::MAX_NESTING_DEPTH)) and the shape (a
/// string `name`, an array `args`).
pub fn decode_received(body: Vec<u8>) -> Result<(String, Args), BodyError> {
    if body.len() < KEEP_RAW_FROM {
        let (name, args) = decode_body(&body)?;
        return Ok((name, Args::decoded(args)));
    }
    let doc = RawDocumentBuf::from_bytes(body).map_err(|e| BodyError::Malformed(e.to_string()))?;
    let (name, values) = check_whole(&doc)?;
    let name = name.to_owned();
    Ok((name, Args::raw(doc, values)))
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
    /// A body checked whole on arrival (holding `values` BSON values),
    /// and its arguments once decoded.
    Raw {
        body: RawDocumentBuf,
        values: usize,
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
    /// `args` is an array) holding `values` values. Crate-private: only a
    /// checked body may be kept.
    pub(crate) fn raw(body: RawDocumentBuf, values: usize) -> Self {
        Self {
            repr: Repr::Raw {
                body,
                values,
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
            Repr::Raw { body, values, .. } => {
                Some(2 * body.as_bytes().len() + values * std::mem::size_of::<Bson>())
            }
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
                values,
                decoded,
            } => Repr::Raw {
                body: body.clone(),
                values: *values,
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
    fn small_bodies_are_decoded_and_read_alike() {
        let small = vec![Bson::from("hi"), Bson::Int32(1)];
        let (_, args) = decode_received(encode_body("s", &small).unwrap()).unwrap();
        assert!(args.raw_body().is_none());
        assert_eq!(args.str_at(0), Some("hi"));
        assert_eq!(args.str_at(1), None);
        assert_eq!(&args[..], &small[..]);
    }
}
