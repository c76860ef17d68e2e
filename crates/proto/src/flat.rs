//! Above `body`: whether a small received body is flat (its
//! arguments only numbers, booleans, nulls and strings), read with the
//! bson crate's raw iterators, and what the last flat body's shape was.
//!
//! A burst of small events is the same event over and over: the same name,
//! the same kinds of arguments, so the same first bytes up to the contents
//! of the `args` array. Reading the body's shape (its `name` and `args`
//! fields, and nothing else) took about a quarter of a receiver's
//! instructions for each 64-byte event (`cargo bench -p eventcast-proto --
//! receive_burst`, under callgrind), for two elements read again and again.
//! So the shape of the last flat body is remembered with its bytes up to
//! its `args` array's length ([`LastFlat`]), and a body that starts with
//! those very bytes, and is as long, has that shape (see
//! [`LastFlat::fits`]): its arguments are still read one by one, as
//! before.
//!
//! One shape is remembered: a burst that alternates two events, or a
//! sender that keeps changing the shape, has every body read whole, as
//! before, at the price of a comparison and a copy of the head.

use bson::{Bson, RawArray, RawBsonRef, RawDocument};

use crate::body::shape;

/// How many string arguments of a body are kept as read on arrival: the
/// first ones of a flat body, the first ones at least `LONG_STRING` long of
/// a large body. As many of a flat body's other values are kept too
/// ([`ReadScalars`]).
pub(crate) const READ_STRINGS: usize = 4;

/// String arguments read on arrival, with their indices.
pub(crate) type ReadStrings<'a> = [Option<(usize, &'a str)>; READ_STRINGS];

/// A number, boolean or null argument as the check on arrival read it:
/// kept beside the body, so that reading it again (`Args::value_at`,
/// and so `Event::arg`) neither finds the `args` array by key nor walks
/// it (for a one-number read, that walk was most of a listener's reading
/// of its event).
#[derive(Clone, Copy, Debug)]
pub(crate) enum Scalar {
    Double(f64),
    Int32(i32),
    Int64(i64),
    Boolean(bool),
    Null,
}

impl Scalar {
    /// The value as it reads from `raw`, if it is one of these.
    fn of(raw: RawBsonRef<'_>) -> Option<Self> {
        Some(match raw {
            RawBsonRef::Double(x) => Self::Double(x),
            RawBsonRef::Int32(x) => Self::Int32(x),
            RawBsonRef::Int64(x) => Self::Int64(x),
            RawBsonRef::Boolean(x) => Self::Boolean(x),
            RawBsonRef::Null => Self::Null,
            _ => return None,
        })
    }

    /// The value as decoding the body gives it.
    pub(crate) fn to_bson(self) -> Bson {
        match self {
            Self::Double(x) => Bson::Double(x),
            Self::Int32(x) => Bson::Int32(x),
            Self::Int64(x) => Bson::Int64(x),
            Self::Boolean(x) => Bson::Boolean(x),
            Self::Null => Bson::Null,
        }
    }
}

/// The first number, boolean and null arguments of a flat body, read on
/// arrival, with their indices (those among the first 256 arguments).
/// Packed (48 bytes, where four `(usize, Scalar)` took 96): they travel in
/// every received message, which is moved from queue to queue.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct ReadScalars {
    /// How many are kept.
    len: u8,
    /// Their indices among the arguments.
    at: [u8; READ_STRINGS],
    /// Their kinds.
    kinds: [Kind; READ_STRINGS],
    /// Their values: an f64's bits, an integer's (sign-extended), a
    /// boolean as 0 or 1, 0 for null.
    bits: [u64; READ_STRINGS],
}

/// The kind of a kept [`Scalar`].
#[derive(Clone, Copy, Debug, Default)]
enum Kind {
    #[default]
    Null,
    Double,
    Int32,
    Int64,
    Boolean,
}

impl ReadScalars {
    /// Keeps `value`, argument `index`, if there is room: whether it did.
    pub(crate) fn push(&mut self, index: usize, value: Scalar) -> bool {
        let slot = usize::from(self.len);
        let Ok(at) = u8::try_from(index) else {
            return false;
        };
        if slot >= READ_STRINGS {
            return false;
        }
        let (kind, bits) = match value {
            Scalar::Double(x) => (Kind::Double, x.to_bits()),
            Scalar::Int32(x) => (Kind::Int32, i64::from(x) as u64),
            Scalar::Int64(x) => (Kind::Int64, x as u64),
            Scalar::Boolean(x) => (Kind::Boolean, u64::from(x)),
            Scalar::Null => (Kind::Null, 0),
        };
        self.at[slot] = at;
        self.kinds[slot] = kind;
        self.bits[slot] = bits;
        self.len += 1;
        true
    }

    /// Argument `index`, if it is kept.
    pub(crate) fn get(&self, index: usize) -> Option<Scalar> {
        let slot = self.indices().position(|i| i == index)?;
        let bits = self.bits[slot];
        Some(match self.kinds[slot] {
            Kind::Double => Scalar::Double(f64::from_bits(bits)),
            Kind::Int32 => Scalar::Int32(bits as i64 as i32),
            Kind::Int64 => Scalar::Int64(bits as i64),
            Kind::Boolean => Scalar::Boolean(bits != 0),
            Kind::Null => Scalar::Null,
        })
    }

    /// The indices of the arguments kept, in order.
    pub(crate) fn indices(&self) -> impl Iterator<Item = usize> + '_ {
        self.at[..usize::from(self.len)]
            .iter()
            .map(|&i| usize::from(i))
    }
}

/// What the check of a flat body read of its arguments: the first
/// strings (in place) and the first other values.
#[derive(Default)]
pub(crate) struct Read<'a> {
    pub(crate) strings: ReadStrings<'a>,
    pub(crate) scalars: ReadScalars,
}

/// The longest head remembered ([`LastFlat`]): a body whose `args` array
/// starts further in (a long event name) is read whole every time.
pub(crate) const HEAD_MAX: usize = 128;

/// What a flat body holds (see [`check`]).
pub(crate) struct Flat<'a, N> {
    /// The event's name, as the caller makes it.
    pub(crate) name: N,
    /// The `args` array, when its shape was read (`None` when it was
    /// known from the last body: the array is then found again on use).
    pub(crate) list: Option<&'a RawArray>,
    /// How many arguments there are.
    pub(crate) args: usize,
    /// The bytes of their strings.
    pub(crate) text: usize,
}

/// The shape of the last flat body whose `args` array was its last field:
/// its bytes up to and including that array's length, its length, where
/// the array starts, and its name as the caller made it.
#[derive(Debug)]
pub(crate) struct LastFlat<N> {
    head: Vec<u8>,
    len: usize,
    args_at: usize,
    name: N,
}

impl<N> LastFlat<N> {
    /// How many first bytes of a body it compares.
    #[cfg(any(test, feature = "fuzzing"))]
    pub(crate) fn head_len(&self) -> usize {
        self.head.len()
    }

    /// Whether `body` (a document: its length field matches its length,
    /// and its last byte is 0) has this shape: it is as long, and its first
    /// bytes are the head's.
    ///
    /// Those bytes hold every field before the `args` array whole, the
    /// array's type, key and length, and (the body's length field) where
    /// the body ends. Read by the bson crate, such a body gives what the
    /// remembered one gave: the same fields before the array, the array
    /// over the same bytes (its last byte a 0, which
    /// `RawDocument::from_bytes` checks on the array), then the body's
    /// end. Only the array's contents differ, and they are read as
    /// before.
    fn fits(&self, body: &[u8]) -> bool {
        body.len() == self.len && body.get(..self.head.len()) == Some(self.head.as_slice())
    }

    /// The `args` array of a `body` that [`fits`](Self::fits), as a
    /// document (its keys "0", "1", ...), if it reads as one.
    fn args_of<'a>(&self, body: &'a [u8]) -> Option<&'a RawDocument> {
        let array = body.get(self.args_at..self.len.checked_sub(1)?)?;
        RawDocument::from_bytes(array).ok()
    }
}

/// Remembers the shape of `body`, whose `args` array is `list` (read from
/// it), named `name`; forgets it when the array is not the body's last
/// field (then it ends just before the body's closing 0) or when the head,
/// up to the end of the array's length, would pass [`HEAD_MAX`].
fn remember<N>(last: &mut Option<LastFlat<N>>, body: &[u8], list: &RawArray, name: N) {
    let array = list.as_bytes();
    let args_at = body
        .len()
        .checked_sub(array.len() + 1)
        .filter(|&at| std::ptr::eq(body[at..].as_ptr(), array.as_ptr()));
    let head = args_at.and_then(|at| body.get(..at + 4));
    match (args_at, head) {
        (Some(args_at), Some(head)) if head.len() <= HEAD_MAX => {
            let mut kept = last.take().map(|l| l.head).unwrap_or_default();
            kept.clear();
            kept.extend_from_slice(head);
            *last = Some(LastFlat {
                head: kept,
                len: body.len(),
                args_at,
                name,
            });
        }
        _ => *last = None,
    }
}

/// `doc` if it is a flat body: one string `name`, one array `args` and
/// nothing else, every argument a number, boolean, null or string, each
/// element read well-formed by the bson crate (as decoding it would);
/// `None` for anything else, left to a full decode. Its shape is known
/// from `last` when the body fits it, read otherwise (and then
/// remembered in `last`, if there is one); `name` makes the event's name
/// when it is read.
/// Puts the first string arguments it reads, and the first other ones,
/// with their indices, in `read`.
pub(crate) fn check<'a, N: Clone>(
    doc: &'a RawDocument,
    read: &mut Read<'a>,
    last: Option<&mut Option<LastFlat<N>>>,
    name: impl FnOnce(&str) -> N,
) -> Option<Flat<'a, N>> {
    let body = doc.as_bytes();
    let seen = last.as_deref().and_then(Option::as_ref);
    if let Some(seen) = seen.filter(|l| l.fits(body)) {
        let list = seen.args_of(body)?;
        let (args, text) = check_args(list.iter().map(|e| e.map(|(_, v)| v)), read)?;
        return Some(Flat {
            name: seen.name.clone(),
            list: None,
            args,
            text,
        });
    }
    let (named, list, others) = shape(doc).ok()?;
    if others {
        return None;
    }
    let (args, text) = check_args(list.into_iter(), read)?;
    let named = name(named);
    if let Some(last) = last {
        remember(last, body, list, named.clone());
    }
    Some(Flat {
        name: named,
        list: Some(list),
        args,
        text,
    })
}

/// How many `values` there are and the bytes of their strings, if every
/// one reads well-formed and is a number, boolean, null or string; the
/// first strings and the first other values, with their indices, go in
/// `read`.
fn check_args<'a>(
    values: impl Iterator<Item = bson::error::Result<RawBsonRef<'a>>>,
    read: &mut Read<'a>,
) -> Option<(usize, usize)> {
    let (mut args, mut text) = (0, 0);
    let mut strings = read.strings.iter_mut();
    for value in values {
        match value.ok()? {
            RawBsonRef::String(s) => {
                text += s.len();
                if let Some(slot) = strings.next() {
                    *slot = Some((args, s));
                }
            }
            other => {
                let scalar = Scalar::of(other)?;
                read.scalars.push(args, scalar);
            }
        }
        args += 1;
    }
    Some((args, text))
}
