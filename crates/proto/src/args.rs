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
//!
//! The check on arrival reads every string as UTF-8 (10% of a receiver's
//! time for a 1 MiB string). The string arguments it read (the long ones
//! of a large body, the first ones of a flat body) are kept with the
//! body, as `&str` with their indices (through `yoke`, which ties them to
//! the body's bytes), so that [`Args::str_at`] neither reads them again
//! nor walks the body to find them (for a small event, that walk cost as
//! much as the check itself).

use std::borrow::Cow;
use std::fmt;
use std::ops::Deref;
use std::sync::OnceLock;

use bson::{Bson, RawArray, RawBsonRef, RawDocument};
use tracing::warn;
use yoke::Yoke;

use crate::body::{check_whole, decode_body, BodyError};
use crate::flat::{LastFlat, ReadStrings, READ_STRINGS};

/// Bodies at least this long keep their arguments as they arrived
/// ([`Args`]): decoding them would copy every string and binary again.
pub const KEEP_RAW_FROM: usize = 64 * 1024;

/// The shortest string argument of a large body kept as read on arrival;
/// shorter ones cost little to read again.
const LONG_STRING: usize = 1024;

/// A body kept as it arrived, and what its check read from it: the body
/// as a document with its `args` array (found once, not looked up by key
/// at every read of an argument), and string arguments with their indices.
type Kept = Yoke<(Found<'static>, ReadStrings<'static>), Vec<u8>>;

/// A kept body as a document, and its `args` array if the check found it
/// (a flat body's check may know its shape from the body before, and
/// leave the array to be found on use).
type Found<'a> = (&'a RawDocument, Option<&'a RawArray>);

/// Decodes a received body into the event name and its arguments: kept
/// as it arrived if the body is at least [`KEEP_RAW_FROM`] long, after a
/// walk that checks every element (well-formed, strings and keys UTF-8,
/// nesting within [`MAX_NESTING_DEPTH`](crate::MAX_NESTING_DEPTH)) and the
/// shape (a string `name`, an array `args`); kept too if it is shorter and
/// flat (its arguments only numbers, booleans, nulls and strings, checked
/// as well-formed); decoded now otherwise.
pub fn decode_received(body: Vec<u8>) -> Result<(String, Args), BodyError> {
    decode_received_as(body, None, str::to_owned, |name, args| (name, args))
}

/// [`decode_received`], the event name made by `name` from the name the
/// body holds (a receiver shares the names it delivered last), and the
/// result by `make` from the name and the arguments (a receiver makes its
/// message there: the arguments are not moved again on the way). `last`,
/// if given, is the shape of the last flat body decoded this way (see
/// `flat.rs`): a small body of the same shape takes its name from there.
pub(crate) fn decode_received_as<N: Clone, T>(
    body: Vec<u8>,
    last: Option<&mut Option<LastFlat<N>>>,
    mut name: impl FnMut(&str) -> N,
    make: impl FnOnce(N, Args) -> T,
) -> Result<T, BodyError> {
    let malformed = |e: bson::error::Error| BodyError::Malformed(e.to_string());
    if body.len() < KEEP_RAW_FROM {
        // Checked where it is kept, so that the strings it reads can be
        // kept too; taken back to be decoded if it is not flat. (A body
        // that is not a document fails here as decode_body would fail.)
        let (len, mut flat) = (body.len(), None);
        let kept = Kept::try_attach_to_cart(body, |bytes: &[u8]| {
            let doc = RawDocument::from_bytes(bytes).map_err(malformed)?;
            let mut read = [None; READ_STRINGS];
            let checked = crate::flat::check(doc, &mut read, last, &mut name);
            let list = checked.as_ref().and_then(|f| f.list);
            flat = checked.map(|f| (f.name, f.args, f.text));
            Ok(((doc, list), read))
        })?;
        if let Some((name, args, text)) = flat {
            // As much as decoding would take, and the body itself.
            let held = len + args * std::mem::size_of::<Bson>() + text;
            return Ok(make(name, Args::raw(kept, held)));
        }
        let (decoded, args) = decode_body(kept.backing_cart())?;
        return Ok(make(name(&decoded), Args::decoded(args)));
    }
    let len = body.len();
    let (mut named, mut values) = (None, 0);
    let kept = Kept::try_attach_to_cart(body, |bytes: &[u8]| {
        let doc = RawDocument::from_bytes(bytes).map_err(malformed)?;
        let mut long = [None; READ_STRINGS];
        let mut slots = long.iter_mut();
        let (n, v) = check_whole(doc, |index, value| {
            if let RawBsonRef::String(s) = value {
                if s.len() >= LONG_STRING {
                    if let Some(slot) = slots.next() {
                        *slot = Some((index, s));
                    }
                }
            }
        })?;
        (named, values) = (Some(name(n)), v);
        Ok(((doc, raw_args(doc)), long))
    })?;
    let held = 2 * len + values * std::mem::size_of::<Bson>();
    // The check names the event whenever it succeeds.
    let named = named.ok_or_else(|| BodyError::Shape("no event name".into()))?;
    Ok(make(named, Args::raw(kept, held)))
}

/// Whether `body` is an event's body, checked as [`decode_received`]
/// would, without keeping or decoding anything.
pub(crate) fn is_event(body: &[u8]) -> bool {
    if body.len() < KEEP_RAW_FROM {
        return decode_body(body).is_ok();
    }
    bson::RawDocument::from_bytes(body).is_ok_and(|doc| check_whole(doc, |_, _| {}).is_ok())
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
        body: Kept,
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
    fn raw(body: Kept, held: usize) -> Self {
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
            Repr::Raw { body, .. } => Some(body.get().0 .0),
        }
    }

    /// The arguments as the BSON array that arrived, if they were kept raw
    /// (checked whole on arrival: every element reads well-formed).
    pub fn raw_list(&self) -> Option<&RawArray> {
        match &self.repr {
            Repr::Decoded(_) => None,
            Repr::Raw { body, .. } => kept_list(body),
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

    /// Argument `index` if it is a string, read in place (one of the first
    /// of a flat body, or a long one of a large body, as it was read on
    /// arrival: without walking the body or reading the string again).
    pub fn str_at(&self, index: usize) -> Option<&str> {
        match &self.repr {
            Repr::Decoded(args) => args.get(index)?.as_str(),
            Repr::Raw { body, .. } => {
                if let Some(s) = read_at(&body.get().1, index) {
                    return Some(s);
                }
                match raw_arg(kept_list(body)?, index)? {
                    RawBsonRef::String(s) => Some(s),
                    _ => None,
                }
            }
        }
    }

    /// How many arguments there are, counted without decoding them.
    pub fn count(&self) -> usize {
        match &self.repr {
            Repr::Decoded(args) => args.len(),
            Repr::Raw { body, decoded, .. } => decoded.get().map_or_else(
                || kept_list(body).map_or(0, |args| args.into_iter().count()),
                Vec::len,
            ),
        }
    }

    /// Argument `index` as a BSON value: borrowed from the decoded
    /// arguments if they are (or were decoded by an earlier call), else
    /// made from that one element of the body kept raw, the others left
    /// undecoded; the same value decoding the list gives. `None` if there
    /// is no argument `index` (or, for a kept body, it does not convert,
    /// which its check on arrival rules out).
    pub fn value_at(&self, index: usize) -> Option<Cow<'_, Bson>> {
        match &self.repr {
            Repr::Decoded(args) => args.get(index).map(Cow::Borrowed),
            Repr::Raw { body, decoded, .. } => {
                if let Some(args) = decoded.get() {
                    return args.get(index).map(Cow::Borrowed);
                }
                if let Some(s) = read_at(&body.get().1, index) {
                    return Some(Cow::Owned(Bson::String(s.to_owned())));
                }
                let args = RawDocument::from_bytes(kept_list(body)?.as_bytes()).ok()?;
                let element = args.iter_elements().nth(index)?;
                element.and_then(Bson::try_from).ok().map(Cow::Owned)
            }
        }
    }

    /// Argument `index` if it is a binary, its bytes read in place.
    pub fn bytes_at(&self, index: usize) -> Option<&[u8]> {
        match &self.repr {
            Repr::Decoded(args) => match args.get(index)? {
                Bson::Binary(b) => Some(&b.bytes),
                _ => None,
            },
            Repr::Raw { body, .. } => match raw_arg(kept_list(body)?, index)? {
                RawBsonRef::Binary(b) => Some(b.bytes),
                _ => None,
            },
        }
    }
}

fn raw_args(body: &RawDocument) -> Option<&RawArray> {
    body.get_array("args").ok()
}

/// The `args` array of a kept body: as its check found it, or found again
/// (a flat body whose shape was known from the body before).
fn kept_list(kept: &Kept) -> Option<&RawArray> {
    let ((doc, list), _) = kept.get();
    list.or_else(|| raw_args(doc))
}

/// String argument `index` if the check on arrival kept it as read.
fn read_at<'a>(read: &ReadStrings<'a>, index: usize) -> Option<&'a str> {
    read.iter()
        .flatten()
        .find(|(i, _)| *i == index)
        .map(|(_, s)| *s)
}

/// Argument `index` of a kept body's `args`, the ones before it skipped
/// unread (a long string before it is not read as UTF-8 again).
fn raw_arg(list: &RawArray, index: usize) -> Option<RawBsonRef<'_>> {
    let args = RawDocument::from_bytes(list.as_bytes()).ok()?;
    args.iter_elements().nth(index)?.ok()?.value().ok()
}

/// Decodes the arguments of a body checked whole on arrival, value by
/// value from the raw BSON (the parsing the check walked, without serde's
/// reading of `$`-keys as extended JSON), so it does not fail; if it ever
/// did, the arguments read as none and a warning says so. The strings
/// read on arrival are copied as they were read, not read again.
fn decode(kept: &Kept) -> Vec<Bson> {
    let read = &kept.get().1;
    let value = |(index, element): (usize, bson::error::Result<bson::raw::RawElement<'_>>)| {
        if let Some(s) = read_at(read, index) {
            return Ok(Bson::String(s.to_owned()));
        }
        element.and_then(Bson::try_from).map_err(|e| e.to_string())
    };
    let decoded = kept_list(kept)
        .ok_or_else(|| "no `args` array".to_owned())
        .and_then(|args| RawDocument::from_bytes(args.as_bytes()).map_err(|e| e.to_string()))
        .and_then(|args| args.iter_elements().enumerate().map(value).collect());
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
            } => match copy(body) {
                Some(body) => Repr::Raw {
                    body,
                    held: *held,
                    decoded: decoded.clone(),
                },
                None => Repr::Decoded(self.as_slice().to_vec()),
            },
        };
        Self { repr }
    }
}

/// A copy of a kept body, the strings read on arrival read again from the
/// copy's bytes; `None` if the copy did not read as the original did (it
/// always does: the bytes are the same).
fn copy(kept: &Kept) -> Option<Kept> {
    let (_, read) = kept.get();
    let indices = read.map(|read| read.map(|(index, _)| index));
    let bytes = kept.backing_cart().clone();
    Kept::try_attach_to_cart(bytes, |bytes: &[u8]| {
        let doc = RawDocument::from_bytes(bytes).map_err(|_| ())?;
        let list = raw_args(doc).ok_or(())?;
        let mut long = [None; READ_STRINGS];
        for (slot, index) in long.iter_mut().zip(indices) {
            if let Some(index) = index {
                let Some(RawBsonRef::String(s)) = raw_arg(list, index) else {
                    return Err(());
                };
                *slot = Some((index, s));
            }
        }
        Ok(((doc, Some(list)), long))
    })
    .ok()
}

impl fmt::Debug for Args {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.repr {
            Repr::Decoded(args) => f.debug_tuple("Args").field(args).finish(),
            Repr::Raw { body, .. } => f
                .debug_struct("Args")
                .field("raw_bytes", &body.backing_cart().len())
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
pub(crate) mod tests {
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
}
