//! A large body planned to be written in parts: what lets a large event's
//! first datagrams leave while the rest of its body is being written.
//!
//! The bson crate writes a body into one buffer, at once. For a body with
//! long string or binary arguments, [`plan`] has it write the body with
//! each long value as a one-byte placeholder (a few hundred bytes at
//! most), finds each placeholder with the bson crate's reader, and makes
//! the lengths that say so (the value's, the argument list's and the
//! body's) what they are with the value in place: the *skeleton*.
//! [`PartsPlan::write`] then gives the body's bytes in order: the
//! skeleton up to a placeholder, that value's bytes, the skeleton after
//! it, and so on; the caller cuts them into parts as they come. Every
//! byte but the values' is the bson crate's, and the body is the one
//! `encode_body` gives (tests check it).

use std::cell::RefCell;
use std::sync::Arc;

use bson::spec::BinarySubtype;
use bson::{Bson, RawBsonRef, RawDocument};
use serde::Serialize;

use super::{Body, Limit, LongValues};

/// Values at least this long are written straight into the parts.
pub(crate) const LONG_VALUE: usize = 64 * 1024;

/// A body to be written in parts.
#[derive(Debug)]
pub(crate) struct PartsPlan {
    /// The body with each long value a placeholder, and the lengths set
    /// for the values in place.
    skeleton: Vec<u8>,
    /// The body as the bson crate wrote it with the placeholders.
    probe: Vec<u8>,
    holes: Vec<Hole>,
    len: usize,
}

/// Where a long value goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Hole {
    /// Its placeholder's offset in the skeleton.
    at: usize,
    /// The argument it is.
    index: usize,
    len: usize,
}

/// What takes the body's bytes, in order.
pub(crate) trait Sink {
    /// The next `bytes` of the body.
    fn write(&mut self, bytes: &[u8]);
}

/// The arguments did not serialize the second time as they did the first:
/// the bytes written are not the body.
#[derive(Debug)]
pub(crate) struct Diverged;

/// The plan of the body of `name` and `args` if it has at least one
/// string or binary argument [`LONG_VALUE`] bytes long (and is a plain
/// argument list, as the module `arglist` takes); `None` otherwise.
pub(crate) fn plan<A: Serialize + ?Sized>(name: &str, args: &A) -> Option<PartsPlan> {
    let found = Found::default();
    let limit = Limit::with_long(LONG_VALUE, &found);
    let probe = bson::serialize_to_vec(&Body::new(name, args, &limit)).ok()?;
    let longs = found.0.into_inner();
    if longs.is_empty() {
        return None;
    }
    let mut skeleton = probe.clone();
    let doc = RawDocument::from_bytes(&probe).ok()?;
    let list = doc.get_array("args").ok()?;
    // Where a slice the reader gave lies in `probe`.
    let base = probe.as_ptr() as usize;
    let end = probe.len();
    let offset = |bytes: &[u8]| {
        let at = (bytes.as_ptr() as usize).checked_sub(base)?;
        (at < end).then_some(at)
    };
    let mut holes = Vec::with_capacity(longs.len());
    let mut grown = 0usize;
    for &(index, len, text) in &longs {
        // A string's length (which counts its NUL) comes just before it; a
        // binary's, before its subtype byte.
        let (at, before, declared) = match (list.get(index).ok()??, text) {
            (RawBsonRef::String(s), true) if s.len() == 1 => (offset(s.as_bytes())?, 4, len + 1),
            (RawBsonRef::Binary(b), false) if b.bytes.len() == 1 => (offset(b.bytes)?, 5, len),
            _ => return None,
        };
        patch(&mut skeleton, at.checked_sub(before)?, declared)?;
        holes.push(Hole { at, index, len });
        grown = grown.checked_add(len - 1)?;
    }
    let list_at = offset(list.as_bytes())?;
    patch(
        &mut skeleton,
        list_at,
        read(&probe, list_at)?.checked_add(grown)?,
    )?;
    patch(&mut skeleton, 0, probe.len().checked_add(grown)?)?;
    let len = probe.len() + grown;
    Some(PartsPlan {
        skeleton,
        probe,
        holes,
        len,
    })
}

/// One binary argument: serde's bytes, which BSON writes as a binary of
/// the generic subtype.
pub(crate) struct BinaryArg<'a>(pub(crate) &'a [u8]);

impl Serialize for BinaryArg<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(self.0)
    }
}

/// The body of `name` with the one argument `value` (a binary), as three
/// pieces laid end to end: the encoding before the value, `value` itself
/// (shared, not copied), and the encoding after it; `None` if `value` is
/// shorter than [`LONG_VALUE`] (its copy costs little) or too long for a
/// BSON document.
pub(crate) fn around_binary(name: &str, value: &Arc<Vec<u8>>) -> Option<Vec<Arc<Vec<u8>>>> {
    let plan = plan(name, &(BinaryArg(value),))?;
    let [hole] = plan.holes[..] else {
        return None;
    };
    if hole.len != value.len() {
        return None;
    }
    let before = plan.skeleton.get(..hole.at)?.to_vec();
    let after = plan.skeleton.get(hole.at + 1..)?.to_vec();
    Some(vec![Arc::new(before), value.clone(), Arc::new(after)])
}

/// The bytes of `args` when the list is one binary argument (of the
/// generic subtype) of 64 KiB or more, taken out of it without a copy, to
/// hand to [`Eventcast::emit_binary`](crate::Eventcast::emit_binary);
/// otherwise `args`, to [`emit`](crate::Eventcast::emit) as they are. For
/// code that builds an argument list of BSON values and then emits it (the
/// Node and Python packages do): a lone large binary, a frame, is then not
/// copied into the body.
///
/// ```
/// use eventcast::bson::{spec::BinarySubtype, Binary, Bson};
///
/// let frame = Bson::Binary(Binary {
///     subtype: BinarySubtype::Generic,
///     bytes: vec![7; 100_000],
/// });
/// assert_eq!(eventcast::lone_binary(vec![frame]).map(|b| b.len()), Ok(100_000));
/// assert!(eventcast::lone_binary(vec![Bson::Int32(1)]).is_err());
/// ```
pub fn lone_binary(mut args: Vec<Bson>) -> Result<Arc<Vec<u8>>, Vec<Bson>> {
    match args.as_mut_slice() {
        [Bson::Binary(binary)]
            if binary.subtype == BinarySubtype::Generic && binary.bytes.len() >= LONG_VALUE =>
        {
            Ok(Arc::new(std::mem::take(&mut binary.bytes)))
        }
        _ => Err(args),
    }
}

impl PartsPlan {
    /// The body's length.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Hands the body of `name` and `args` (those [`plan`] was given) to
    /// `sink`, in order, [`len`](Self::len) bytes in all. If the arguments
    /// serialize otherwise this time (a `Serialize` that changes between
    /// two calls), the sink still gets that many bytes, and `Diverged`
    /// says they are not the body.
    pub(crate) fn write<A: Serialize + ?Sized>(
        &self,
        name: &str,
        args: &A,
        sink: &mut dyn Sink,
    ) -> Result<(), Diverged> {
        let walk = Walk {
            plan: self,
            state: RefCell::new(WalkState {
                sink,
                next: 0,
                cursor: 0,
                written: 0,
                diverged: false,
            }),
        };
        let limit = Limit::with_long(LONG_VALUE, &walk);
        let again = bson::serialize_to_vec(&Body::new(name, args, &limit));
        let mut state = walk.state.into_inner();
        if again.ok().as_ref() != Some(&self.probe) || state.next != self.holes.len() {
            state.diverged = true;
        }
        let rest = self.skeleton.get(state.cursor..).unwrap_or_default();
        if !state.diverged && state.written + rest.len() == self.len {
            state.put(rest);
            return Ok(());
        }
        // Made up to the length promised, but never as a body a receiver
        // would take: the skeleton's rest (a short value serialized the
        // first time) with zeros would often decode.
        let keep = rest.len().min(self.len.saturating_sub(state.written + 1));
        state.put(rest.get(..keep).unwrap_or_default());
        let missing = self.len.saturating_sub(state.written);
        spoil(&mut *state.sink, missing);
        Err(Diverged)
    }
}

/// Writes the last `missing` bytes of a body that is not to be taken for
/// one: zeros, then a last byte that is not the zero every BSON document
/// ends with, so that every receiver drops it as malformed.
pub(crate) fn spoil(sink: &mut dyn Sink, missing: usize) {
    const ZEROS: [u8; 4096] = [0; 4096];
    let mut zeros = missing.saturating_sub(1);
    while zeros > 0 {
        let n = zeros.min(ZEROS.len());
        sink.write(&ZEROS[..n]);
        zeros -= n;
    }
    if missing > 0 {
        sink.write(&[0xFF]);
    }
}

/// The long values [`plan`] finds: argument, length, whether a string.
#[derive(Default)]
struct Found(RefCell<Vec<(usize, usize, bool)>>);

impl LongValues for Found {
    fn value(&self, index: usize, bytes: &[u8], text: bool) {
        self.0.borrow_mut().push((index, bytes.len(), text));
    }
}

/// [`PartsPlan::write`]'s pass over the arguments.
struct Walk<'p, 's> {
    plan: &'p PartsPlan,
    state: RefCell<WalkState<'s>>,
}

struct WalkState<'s> {
    sink: &'s mut dyn Sink,
    /// The next hole.
    next: usize,
    /// How much of the skeleton is written.
    cursor: usize,
    written: usize,
    diverged: bool,
}

impl WalkState<'_> {
    /// Writes `bytes`, never past the body's length.
    fn put(&mut self, bytes: &[u8]) {
        self.sink.write(bytes);
        self.written += bytes.len();
    }
}

impl LongValues for Walk<'_, '_> {
    fn value(&self, index: usize, bytes: &[u8], _text: bool) {
        let mut state = self.state.borrow_mut();
        let hole = self.plan.holes.get(state.next).copied();
        state.next += 1;
        match hole {
            Some(hole) if hole.index == index && hole.len == bytes.len() => {
                let before = self.plan.skeleton.get(state.cursor..hole.at);
                state.put(before.unwrap_or_default());
                state.put(bytes);
                state.cursor = hole.at + 1;
            }
            _ => state.diverged = true,
        }
    }
}

/// The little-endian `i32` at `at`, as a length.
fn read(bytes: &[u8], at: usize) -> Option<usize> {
    let field = bytes.get(at..at + 4)?.try_into().ok()?;
    usize::try_from(i32::from_le_bytes(field)).ok()
}

/// Sets the length at `at` to `len` (which BSON must be able to hold).
fn patch(bytes: &mut [u8], at: usize, len: usize) -> Option<()> {
    let len = i32::try_from(len).ok()?;
    bytes
        .get_mut(at..at + 4)?
        .copy_from_slice(&len.to_le_bytes());
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::to_args;
    use proptest::prelude::*;

    impl Sink for Vec<u8> {
        fn write(&mut self, bytes: &[u8]) {
            self.extend_from_slice(bytes);
        }
    }

    /// The body written in parts, and the one the general path gives.
    fn both<A: Serialize + ?Sized>(args: &A) -> (Option<Vec<u8>>, Vec<u8>) {
        let general = eventcast_proto::encode_body("frame", &to_args(args).unwrap()).unwrap();
        let parts = plan("frame", args).map(|plan| {
            let mut body = Vec::new();
            plan.write("frame", args, &mut body).unwrap();
            assert_eq!(body.len(), plan.len());
            body
        });
        (parts, general)
    }

    #[test]
    fn a_long_string_or_binary_anywhere_in_the_list_gives_the_general_path_s_body() {
        let long = "é".repeat(LONG_VALUE);
        let bytes = Bin(vec![7u8; LONG_VALUE + 3]);
        let (parts, general) = both(&(1, long.as_str(), true, &bytes, "short", 2.5));
        assert_eq!(parts, Some(general));
        let (parts, general) = both(long.as_str());
        assert_eq!(parts, Some(general));
        let (parts, general) = both(&(&bytes,));
        assert_eq!(parts, Some(general));
        // Twelve arguments: two-digit keys before and after a long one.
        let list: Vec<&str> = (0..12)
            .map(|i| if i == 10 { &long[..] } else { "a" })
            .collect();
        let (parts, general) = both(&list);
        assert_eq!(parts, Some(general));
    }

    #[test]
    fn a_long_binary_s_pieces_are_the_general_path_s_body_with_the_value_shared() {
        for len in [LONG_VALUE, 1 << 20] {
            let value = Arc::new((0..len).map(|i| i as u8).collect::<Vec<u8>>());
            let pieces = around_binary("frame", &value).unwrap();
            assert_eq!(pieces.len(), 3);
            assert!(Arc::ptr_eq(&pieces[1], &value), "shared, not copied");
            let (_, general) = both(&(Bin(value.to_vec()),));
            let joined: Vec<u8> = pieces.iter().flat_map(|p| p.iter().copied()).collect();
            assert_eq!(joined, general);
        }
        // Short: copied as any argument is.
        let short = Arc::new(vec![1u8; LONG_VALUE - 1]);
        assert!(around_binary("frame", &short).is_none());
    }

    #[test]
    fn bodies_without_a_long_value_are_not_planned() {
        assert!(plan("frame", &(1, "short")).is_none());
        assert!(plan("frame", &"x".repeat(LONG_VALUE - 1)).is_none());
        // Not a plain list: the general path's.
        assert!(plan("frame", &bson::doc! { "a": "x".repeat(LONG_VALUE) }).is_none());
    }

    /// A value that serializes longer the second time.
    struct Fickle(std::cell::Cell<usize>);

    impl Serialize for Fickle {
        fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            let n = self.0.get();
            self.0.set(n + 1);
            s.serialize_str(&"x".repeat(LONG_VALUE + n))
        }
    }

    /// A short value that serializes otherwise each time.
    struct Counter(std::cell::Cell<i32>);

    impl Serialize for Counter {
        fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            let n = self.0.get();
            self.0.set(n + 1);
            s.serialize_i32(n)
        }
    }

    /// The body `plan` writes for `args`, which must change between passes:
    /// its length kept, and no receiver takes it.
    fn diverged<A: Serialize + ?Sized>(args: &A) {
        let plan = plan("frame", args).unwrap();
        let mut body = Vec::new();
        assert!(plan.write("frame", args, &mut body).is_err());
        assert_eq!(body.len(), plan.len());
        assert!(eventcast_proto::decode_body(&body).is_err());
        assert!(eventcast_proto::decode_received(body).is_err());
    }

    #[test]
    fn arguments_that_change_between_the_passes_are_caught_and_the_length_kept() {
        // A long value that grows.
        diverged(&(Fickle(std::cell::Cell::new(0)),));
        // A short one that changes beside a long one that does not: the
        // first pass's skeleton would be a whole, valid body.
        let long = "x".repeat(LONG_VALUE);
        diverged(&(long.as_str(), Counter(std::cell::Cell::new(0))));
    }

    #[test]
    fn a_spoiled_end_is_as_long_as_missing_and_ends_in_a_byte_no_document_ends_in() {
        for missing in [0, 1, 2, 4096, 4097, 10_000] {
            let mut bytes = Vec::new();
            spoil(&mut bytes, missing);
            assert_eq!(bytes.len(), missing);
            assert!(bytes.last().is_none_or(|&b| b != 0));
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]
        #[test]
        fn any_mix_of_long_and_short_values_gives_the_general_path_s_body(
            values in prop::collection::vec(
                prop_oneof![
                    (0usize..3 * LONG_VALUE).prop_map(|n| Err(vec![1u8; n])),
                    (0usize..3 * LONG_VALUE).prop_map(|n| Ok("s".repeat(n))),
                ],
                1..5,
            ),
        ) {
            let args: Vec<bson::Bson> = values
                .into_iter()
                .map(|v| match v {
                    Ok(s) => bson::Bson::String(s),
                    Err(b) => bson::Bson::Binary(bson::Binary {
                        subtype: bson::spec::BinarySubtype::Generic,
                        bytes: b,
                    }),
                })
                .collect();
            // As the caller's values: strings and byte buffers.
            let plain: Vec<Plainly> = args.iter().map(Plainly).collect();
            let (parts, general) = both(&plain);
            if let Some(parts) = parts {
                prop_assert_eq!(parts, general);
            }
        }
    }

    /// Bytes, serialized as serde's bytes.
    struct Bin(Vec<u8>);

    impl Serialize for Bin {
        fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            s.serialize_bytes(&self.0)
        }
    }

    /// A string or binary `Bson` serialized as serde's string or bytes.
    struct Plainly<'a>(&'a bson::Bson);

    impl Serialize for Plainly<'_> {
        fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            match self.0 {
                bson::Bson::String(v) => s.serialize_str(v),
                bson::Bson::Binary(b) => s.serialize_bytes(&b.bytes),
                _ => s.serialize_unit(),
            }
        }
    }
}
