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
//! long is written into a scratch buffer and copied out at its size. One
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
    match encode_direct(name, args) {
        Direct::Body(body) => Some(body),
        Direct::Long => encode_sized(name, args, size_bound(name, args)?, spare),
        Direct::General => None,
    }
}

/// The body of `args` if every string and binary in it is at most
/// [`DIRECT_MAX_VALUE`] long, written through a scratch buffer; else what
/// to do instead.
pub(crate) fn encode_direct<A: Serialize + ?Sized>(name: &str, args: &A) -> Direct {
    // Written into a buffer kept from one emit to the next, then copied
    // into one of the exact size: the body stays in the retransmit store
    // for seconds, and allocating it larger meant shrinking it (a
    // `realloc`) or holding room to spare.
    let limit = Limit::new(DIRECT_MAX_VALUE);
    let mut buf = SCRATCH.take();
    buf.clear();
    let body = bson::serialize_to_buffer(&Body::new(name, args, &limit), &mut buf)
        .ok()
        .map(|()| buf.as_slice().to_vec());
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
mod tests {
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
}
