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
    let name = check_whole(&doc)?.to_owned();
    Ok((name, Args::raw(doc)))
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
    /// A body checked whole on arrival, and its arguments once decoded.
    Raw {
        body: RawDocumentBuf,
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
    /// `args` is an array). Crate-private: only a checked body may be kept.
    pub(crate) fn raw(body: RawDocumentBuf) -> Self {
        Self {
            repr: Repr::Raw {
                body,
                decoded: OnceLock::new(),
            },
        }
    }

    /// The arguments as BSON values, decoded now if they were kept raw.
    pub fn as_slice(&self) -> &[Bson] {
        match &self.repr {
            Repr::Decoded(args) => args,
            Repr::Raw { body, decoded } => decoded.get_or_init(|| decode(body)),
        }
    }

    /// The arguments as BSON values, owned.
    pub fn into_vec(self) -> Vec<Bson> {
        match self.repr {
            Repr::Decoded(args) => args,
            Repr::Raw { body, decoded } => decoded.into_inner().unwrap_or_else(|| decode(&body)),
        }
    }

    /// The body as it arrived, if the arguments were kept raw: its length
    /// is what they hold in memory.
    pub fn raw_body(&self) -> Option<&bson::RawDocument> {
        match &self.repr {
            Repr::Decoded(_) => None,
            Repr::Raw { body, .. } => Some(body),
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

/// Decodes a body checked whole on arrival. That cannot fail; if the BSON
/// library ever disagrees with the check, the arguments read as none and
/// a warning says so.
fn decode(body: &RawDocumentBuf) -> Vec<Bson> {
    match decode_body(body.as_bytes()) {
        Ok((_, args)) => args,
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
            Repr::Raw { body, decoded } => Repr::Raw {
                body: body.clone(),
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
