//! An event's body encoded straight from what the caller passed to
//! `emit`, without building its argument list as BSON values first.
//!
//! [`to_args`](crate::event::to_args) turns the caller's value into a
//! `Vec<Bson>`, which `encode_body` then copies into the body: for a small
//! event those allocations and copies were most of the sender's work, and
//! for a large one a copy of its every byte, into fresh memory. The
//! serializer here writes the same argument list straight into the body,
//! as the same bytes, for the values whose BSON is unambiguous: an
//! argument list (tuple, array, `Vec`, `()`, `None`) or a single value of
//! booleans, numbers, characters, strings and bytes. Anything else
//! (documents, nested arrays, dates and other BSON types) returns `None`,
//! and the caller takes the general path, which gives the same body (or
//! error).
//!
//! A body whose strings and binaries are all at most [`DIRECT_MAX_VALUE`]
//! long is written into a scratch buffer and copied out into a buffer of
//! about its size, one the retransmit store gave back when one is at hand
//! (`recycle.rs`). One
//! with a longer value is sized first (`size.rs`) and written once into a
//! buffer of that size, or, when it is large and would be written into
//! fresh memory, planned to be written in parts as it goes out
//! (`parts.rs`, for `node/parts.rs`).

pub(crate) mod parts;
mod refuse;
mod size;

use std::cell::Cell;

use bson::RawArray;
use serde::ser::{self, Impossible, Serialize, SerializeSeq, SerializeStruct, Serializer};

use crate::recycle::BodyPool;
use crate::spare::SpareBody;

/// What a long string argument is written as when its body is planned in
/// parts (`parts.rs`).
const PLACEHOLDER_TEXT: &str = "x";

/// What a long binary argument is written as then.
const PLACEHOLDER_BINARY: &[u8] = &[0];

/// The longest string or binary argument written through the scratch
/// buffer; a body with a longer one is sized first, then written into a
/// buffer of its own (written into the scratch buffer, it would grow it,
/// and copy it, as it goes, and be copied out again).
pub(crate) const DIRECT_MAX_VALUE: usize = 4096;

/// What [`encode_direct`] made of the caller's arguments.
pub(crate) enum Direct {
    /// The body.
    Body(Vec<u8>),
    /// A plain argument list with a value longer than
    /// [`DIRECT_MAX_VALUE`]: for [`encode_sized`] (or `parts.rs`).
    Long,
    /// Not a plain argument list: for the general path.
    General,
}

/// The body `encode_body(name, &to_args(args)?)` gives, encoded without
/// the `Vec<Bson>`; `None` if `args` holds anything but what the module
/// docs list (or fails to serialize): the caller then takes that path.
#[cfg(test)]
pub(crate) fn encode_body<A: Serialize + ?Sized>(
    name: &str,
    args: &A,
    spare: &SpareBody,
) -> Option<Vec<u8>> {
    match encode_direct(name, args, &BodyPool::default()) {
        Direct::Body(body) => Some(body),
        Direct::Long => encode_sized(name, args, size_bound(name, args)?, spare),
        Direct::General => None,
    }
}

/// The body of `args` if every string and binary in it is at most
/// [`DIRECT_MAX_VALUE`] long, written through a scratch buffer; else what
/// to do instead.
pub(crate) fn encode_direct<A: Serialize + ?Sized>(
    name: &str,
    args: &A,
    bodies: &BodyPool,
) -> Direct {
    // Written into a buffer kept from one emit to the next, then copied
    // into one of about its size, one the retransmit store let go when
    // there is one (`recycle.rs`): the body stays in the store for
    // seconds, and allocating it larger meant shrinking it (a `realloc`)
    // or holding room to spare.
    let limit = Limit::new(DIRECT_MAX_VALUE);
    let mut buf = SCRATCH.take();
    buf.clear();
    let body = bson::serialize_to_buffer(&Body::new(name, args, &limit), &mut buf)
        .ok()
        .map(|()| bodies.copy(buf.as_slice()));
    if buf.capacity() <= SCRATCH_KEPT {
        SCRATCH.set(buf);
    }
    match body {
        Some(body) => Direct::Body(body),
        None if limit.exceeded.get() => Direct::Long,
        None => Direct::General,
    }
}

/// The body of `args`, whatever the length of its values, written into a
/// buffer of `size` (its [`size_bound`]): the node's spare (`spare.rs`), or
/// allocated with its fresh pages faulted in at once (`prefault.rs`);
/// written once.
pub(crate) fn encode_sized<A: Serialize + ?Sized>(
    name: &str,
    args: &A,
    size: usize,
    spare: &SpareBody,
) -> Option<Vec<u8>> {
    let mut buf = spare.take(size);
    let limit = Limit::new(usize::MAX);
    bson::serialize_to_buffer(&Body::new(name, args, &limit), &mut buf).ok()?;
    Some(buf)
}

/// How long the body of `name` and `args` is at most (a few bytes a value
/// over), found without writing it (`size.rs`); `None` if `args` is not a
/// plain argument list.
pub(crate) fn size_bound<A: Serialize + ?Sized>(name: &str, args: &A) -> Option<usize> {
    let limit = Limit::new(usize::MAX);
    Body::new(name, args, &limit).serialize(size::Sizer).ok()
}

/// The body of an event named `name` whose argument list is `list` as
/// it is: a received event's list, kept as it arrived (checked whole
/// then), forwarded under another name. Its bytes are copied once, into
/// a buffer of the body's size, and not decoded; `None` if the bson crate
/// fails to write it (the caller then takes the general path, which says
/// why).
pub(crate) fn encode_kept(name: &str, list: &RawArray, spare: &SpareBody) -> Option<Vec<u8>> {
    let mut buf = spare.take(eventcast_proto::kept_body_len(name, list));
    eventcast_proto::encode_kept_body_into(name, list, &mut buf).ok()?;
    Some(buf)
}

/// The most room the scratch buffer keeps between emits.
const SCRATCH_KEPT: usize = 64 * 1024;

thread_local! {
    /// Where [`encode_body`] writes a body before copying it out.
    static SCRATCH: Cell<Vec<u8>> = const { Cell::new(Vec::new()) };
}

/// The longest string or binary the serializer takes, and whether it
/// refused a longer one; and what becomes of long values when a body is
/// written in parts (`parts.rs`).
struct Limit<'h> {
    max: usize,
    exceeded: Cell<bool>,
    /// Values at least `.0` bytes long are handed to `.1` and written as a
    /// one-byte placeholder.
    long: Option<(usize, &'h dyn LongValues)>,
    /// The index of the next argument.
    next: Cell<usize>,
}

impl<'h> Limit<'h> {
    fn new(max: usize) -> Self {
        Self {
            max,
            exceeded: Cell::new(false),
            long: None,
            next: Cell::new(0),
        }
    }

    /// No limit; values at least `min` bytes long go to `hook`.
    fn with_long(min: usize, hook: &'h dyn LongValues) -> Self {
        Self {
            long: Some((min, hook)),
            ..Self::new(usize::MAX)
        }
    }

    /// Whether a value `len` bytes long may be written (noting it if not).
    fn admits<E: ser::Error>(&self, len: usize) -> Result<(), E> {
        if len > self.max {
            self.exceeded.set(true);
            return Err(general());
        }
        Ok(())
    }

    /// The hook for a value `len` bytes long, if it is a long one.
    fn long(&self, len: usize) -> Option<&'h dyn LongValues> {
        self.long
            .filter(|&(min, _)| len >= min)
            .map(|(_, hook)| hook)
    }
}

/// Where the long string and binary arguments of a body written in parts
/// go, in the order they are serialized.
pub(crate) trait LongValues {
    /// Argument `index` is `bytes` long (a string if `text`, else a binary).
    fn value(&self, index: usize, bytes: &[u8], text: bool);
}

/// `{ name, args }`, with `args` written as an argument list.
struct Body<'a, A: ?Sized> {
    name: &'a str,
    args: &'a A,
    limit: &'a Limit<'a>,
}

impl<'a, A: ?Sized> Body<'a, A> {
    fn new(name: &'a str, args: &'a A, limit: &'a Limit<'a>) -> Self {
        Self { name, args, limit }
    }
}

impl<A: Serialize + ?Sized> Serialize for Body<'_, A> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut body = s.serialize_struct("Body", 2)?;
        body.serialize_field("name", self.name)?;
        body.serialize_field("args", &List(self.args, self.limit))?;
        body.end()
    }
}

/// The caller's value, serialized as the argument list it stands for.
struct List<'a, A: ?Sized>(&'a A, &'a Limit<'a>);

impl<A: Serialize + ?Sized> Serialize for List<'_, A> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(Top(s, self.1))
    }
}

/// One argument, serialized only if it is a plain value.
struct Arg<'a, T: ?Sized>(&'a T, &'a Limit<'a>);

impl<T: Serialize + ?Sized> Serialize for Arg<'_, T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let limit = self.1;
        let index = limit.next.get();
        limit.next.set(index + 1);
        self.0.serialize(Plain { s, limit, index })
    }
}

/// Bytes serialized as a BSON binary, as `serialize_bytes` received them.
struct Bytes<'a>(&'a [u8]);

impl Serialize for Bytes<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(self.0)
    }
}

/// What this module leaves to the general path.
fn general<E: ser::Error>() -> E {
    E::custom("not a plain argument list")
}

/// Refuses what is not a plain value: the general path takes it.
macro_rules! refuse_compound {
    ($ok:ty, $err:ty) => {
        refuse::refuse_variants!($ok, $err);
        fn serialize_newtype_struct<T: Serialize + ?Sized>(
            self,
            _: &'static str,
            _: &T,
        ) -> Result<$ok, $err> {
            Err(general())
        }
        fn serialize_struct(
            self,
            _: &'static str,
            _: usize,
        ) -> Result<Self::SerializeStruct, $err> {
            Err(general())
        }
    };
}

/// Scalars as `self.$apply(value)` wants them.
macro_rules! scalars {
    ($ok:ty, $err:ty, $apply:ident) => {
        fn serialize_bool(self, v: bool) -> Result<$ok, $err> {
            self.$apply(&v)
        }
        fn serialize_i8(self, v: i8) -> Result<$ok, $err> {
            self.$apply(&v)
        }
        fn serialize_i16(self, v: i16) -> Result<$ok, $err> {
            self.$apply(&v)
        }
        fn serialize_i32(self, v: i32) -> Result<$ok, $err> {
            self.$apply(&v)
        }
        fn serialize_i64(self, v: i64) -> Result<$ok, $err> {
            self.$apply(&v)
        }
        fn serialize_u8(self, v: u8) -> Result<$ok, $err> {
            self.$apply(&v)
        }
        fn serialize_u16(self, v: u16) -> Result<$ok, $err> {
            self.$apply(&v)
        }
        fn serialize_u32(self, v: u32) -> Result<$ok, $err> {
            self.$apply(&v)
        }
        fn serialize_u64(self, v: u64) -> Result<$ok, $err> {
            self.$apply(&v)
        }
        fn serialize_f32(self, v: f32) -> Result<$ok, $err> {
            self.$apply(&v)
        }
        fn serialize_f64(self, v: f64) -> Result<$ok, $err> {
            self.$apply(&v)
        }
        fn serialize_char(self, v: char) -> Result<$ok, $err> {
            self.$apply(&v)
        }
        fn serialize_str(self, v: &str) -> Result<$ok, $err> {
            self.text(v)
        }
        fn serialize_bytes(self, v: &[u8]) -> Result<$ok, $err> {
            self.binary(v)
        }
    };
}

/// The serializer of the caller's value: a list as it is, nothing as an
/// empty list, a plain value as a list of one.
struct Top<'a, S>(S, &'a Limit<'a>);

impl<S: Serializer> Top<'_, S> {
    /// A one-argument list of `value`.
    fn one<T: Serialize + ?Sized>(self, value: &T) -> Result<S::Ok, S::Error> {
        let mut list = self.0.serialize_seq(Some(1))?;
        list.serialize_element(&Arg(value, self.1))?;
        list.end()
    }

    fn text(self, v: &str) -> Result<S::Ok, S::Error> {
        self.one(v)
    }

    fn binary(self, v: &[u8]) -> Result<S::Ok, S::Error> {
        self.one(&Bytes(v))
    }
}

impl<'a, S: Serializer> Serializer for Top<'a, S> {
    type Ok = S::Ok;
    type Error = S::Error;
    type SerializeSeq = Items<'a, S::SerializeSeq>;
    type SerializeTuple = Items<'a, S::SerializeSeq>;
    type SerializeTupleStruct = Items<'a, S::SerializeSeq>;
    type SerializeTupleVariant = Impossible<S::Ok, S::Error>;
    type SerializeMap = Impossible<S::Ok, S::Error>;
    type SerializeStruct = Impossible<S::Ok, S::Error>;
    type SerializeStructVariant = Impossible<S::Ok, S::Error>;

    scalars!(S::Ok, S::Error, one);
    refuse_compound!(S::Ok, S::Error);

    fn serialize_none(self) -> Result<S::Ok, S::Error> {
        self.serialize_unit()
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<S::Ok, S::Error> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<S::Ok, S::Error> {
        self.0.serialize_seq(Some(0))?.end()
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<S::Ok, S::Error> {
        self.serialize_unit()
    }
    fn serialize_seq(self, len: Option<usize>) -> Result<Self::SerializeSeq, S::Error> {
        self.0.serialize_seq(len).map(|list| Items(list, self.1))
    }
    fn serialize_tuple(self, len: usize) -> Result<Self::SerializeTuple, S::Error> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_struct(
        self,
        _: &'static str,
        len: usize,
    ) -> Result<Self::SerializeTupleStruct, S::Error> {
        self.serialize_seq(Some(len))
    }
}

/// The items of the argument list, each a plain value.
struct Items<'a, L>(L, &'a Limit<'a>);

impl<L: SerializeSeq> SerializeSeq for Items<'_, L> {
    type Ok = L::Ok;
    type Error = L::Error;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), L::Error> {
        self.0.serialize_element(&Arg(value, self.1))
    }
    fn end(self) -> Result<L::Ok, L::Error> {
        self.0.end()
    }
}

impl<L: SerializeSeq> ser::SerializeTuple for Items<'_, L> {
    type Ok = L::Ok;
    type Error = L::Error;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), L::Error> {
        SerializeSeq::serialize_element(self, value)
    }
    fn end(self) -> Result<L::Ok, L::Error> {
        SerializeSeq::end(self)
    }
}

impl<L: SerializeSeq> ser::SerializeTupleStruct for Items<'_, L> {
    type Ok = L::Ok;
    type Error = L::Error;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), L::Error> {
        SerializeSeq::serialize_element(self, value)
    }
    fn end(self) -> Result<L::Ok, L::Error> {
        SerializeSeq::end(self)
    }
}

/// The serializer of one argument: plain values only.
struct Plain<'a, S> {
    s: S,
    limit: &'a Limit<'a>,
    /// Which argument it is.
    index: usize,
}

impl<S: Serializer> Plain<'_, S> {
    /// Serializes `value` as it is.
    fn itself<T: Serialize + ?Sized>(self, value: &T) -> Result<S::Ok, S::Error> {
        value.serialize(self.s)
    }

    /// A string: a long one goes to the hook, and a placeholder in its
    /// place.
    fn text(self, v: &str) -> Result<S::Ok, S::Error> {
        self.limit.admits(v.len())?;
        match self.limit.long(v.len()) {
            Some(hook) => {
                hook.value(self.index, v.as_bytes(), true);
                self.s.serialize_str(PLACEHOLDER_TEXT)
            }
            None => self.s.serialize_str(v),
        }
    }

    /// Bytes, serialized as a BSON binary; a long one as [`text`](Self::text).
    fn binary(self, v: &[u8]) -> Result<S::Ok, S::Error> {
        self.limit.admits(v.len())?;
        match self.limit.long(v.len()) {
            Some(hook) => {
                hook.value(self.index, v, false);
                Bytes(PLACEHOLDER_BINARY).serialize(self.s)
            }
            None => Bytes(v).serialize(self.s),
        }
    }
}

impl<S: Serializer> Serializer for Plain<'_, S> {
    type Ok = S::Ok;
    type Error = S::Error;
    type SerializeSeq = Impossible<S::Ok, S::Error>;
    type SerializeTuple = Impossible<S::Ok, S::Error>;
    type SerializeTupleStruct = Impossible<S::Ok, S::Error>;
    type SerializeTupleVariant = Impossible<S::Ok, S::Error>;
    type SerializeMap = Impossible<S::Ok, S::Error>;
    type SerializeStruct = Impossible<S::Ok, S::Error>;
    type SerializeStructVariant = Impossible<S::Ok, S::Error>;

    scalars!(S::Ok, S::Error, itself);
    refuse_compound!(S::Ok, S::Error);

    fn serialize_none(self) -> Result<S::Ok, S::Error> {
        self.s.serialize_none()
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<S::Ok, S::Error> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<S::Ok, S::Error> {
        self.s.serialize_unit()
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<S::Ok, S::Error> {
        self.s.serialize_unit()
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq, S::Error> {
        Err(general())
    }
    fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple, S::Error> {
        Err(general())
    }
    fn serialize_tuple_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleStruct, S::Error> {
        Err(general())
    }
}

#[cfg(test)]
mod tests;
