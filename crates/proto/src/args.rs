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
//! much as the check itself). So are a flat body's first numbers,
//! booleans and nulls, as values beside the body: reading one
//! ([`Args::value_at`], and so a listener's `event.arg::<i64>(0)`) took
//! 1,300 instructions a call, most of them finding the `args` array by key
//! and walking it, and takes under 200.

use std::borrow::Cow;
use std::fmt;
use std::ops::Deref;
use std::sync::OnceLock;

use bson::{Bson, RawArray, RawBsonRef, RawDocument};
use tracing::warn;
use yoke::Yoke;

use crate::body::{check_whole, decode_body, BodyError};
use crate::flat::{LastFlat, Read, ReadScalars, ReadStrings, READ_STRINGS};

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
        let (len, mut flat, mut scalars) = (body.len(), None, ReadScalars::default());
        let kept = Kept::try_attach_to_cart(body, |bytes: &[u8]| {
            let doc = RawDocument::from_bytes(bytes).map_err(malformed)?;
            let mut read = Read::default();
            let checked = crate::flat::check(doc, &mut read, last, &mut name);
            let list = checked.as_ref().and_then(|f| f.list);
            flat = checked.map(|f| (f.name, f.args, f.text));
            scalars = read.scalars;
            Ok(((doc, list), read.strings))
        })?;
        if let Some((name, args, text)) = flat {
            // As much as decoding would take, and the body itself.
            let held = len + args * std::mem::size_of::<Bson>() + text;
            return Ok(make(name, Args::raw(kept, held, scalars)));
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
    Ok(make(named, Args::raw(kept, held, ReadScalars::default())))
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

#[expect(
    clippy::large_enum_variant,
    reason = "`Raw` is most received events' (every flat or large body), and boxing it \
              would cost an allocation for each: the few decoded ones carry its size instead"
)]
enum Repr {
    Decoded(Vec<Bson>),
    /// A body checked whole on arrival, about how many bytes it holds
    /// once decoded too, the first of its numbers, booleans and nulls as
    /// the check read them (a flat body's), and its arguments once
    /// decoded.
    Raw {
        body: Kept,
        held: usize,
        scalars: ReadScalars,
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
    /// too, and `scalars` among them as its check read them.
    /// Crate-private: only a checked body may be kept.
    fn raw(body: Kept, held: usize, scalars: ReadScalars) -> Self {
        Self {
            repr: Repr::Raw {
                body,
                held,
                scalars,
                decoded: OnceLock::new(),
            },
        }
    }

    /// Leaves no arguments, and returns the body they were kept in, if
    /// they were (for the receiver's spares, `receive/spares.rs`).
    pub(crate) fn take_body(&mut self) -> Option<Vec<u8>> {
        match std::mem::replace(&mut self.repr, Repr::Decoded(Vec::new())) {
            Repr::Raw { body, .. } => Some(body.into_backing_cart()),
            Repr::Decoded(_) => None,
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
            Repr::Raw { body, scalars, .. } => {
                if let Some(s) = read_at(&body.get().1, index) {
                    return Some(s);
                }
                if scalars.get(index).is_some() {
                    return None;
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
            Repr::Raw {
                body,
                scalars,
                decoded,
                ..
            } => {
                if let Some(args) = decoded.get() {
                    return args.get(index).map(Cow::Borrowed);
                }
                if let Some(scalar) = scalars.get(index) {
                    return Some(Cow::Owned(scalar.to_bson()));
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
                scalars,
                decoded,
            } => match copy(body) {
                Some(body) => Repr::Raw {
                    body,
                    held: *held,
                    scalars: *scalars,
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
pub(crate) mod tests;
