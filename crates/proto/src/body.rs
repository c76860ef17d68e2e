//! The message body: one BSON document `{ name: <string>, args: <array> }`.
//!
//! The body is what segmentation cuts and reassembly puts back together.
//! Decoding checks the nesting depth without recursion before anything is
//! materialised, so a hostile body cannot exhaust the stack.

use bson::{Bson, RawArray, RawBsonRef, RawDocument};
use serde::Serialize;

/// The deepest nesting of documents and arrays a received body may have
/// (the body document itself is depth 1, its `args` array depth 2).
pub const MAX_NESTING_DEPTH: usize = 100;

/// Why a body could not be encoded or decoded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BodyError {
    /// Not a well-formed BSON document.
    #[error("malformed BSON: {0}")]
    Malformed(String),
    /// Nested deeper than [`MAX_NESTING_DEPTH`].
    #[error("BSON nested deeper than {MAX_NESTING_DEPTH} levels")]
    TooDeep,
    /// A well-formed document without a string `name` and an array `args`.
    #[error("body lacks a string `name` or an array `args`: {0}")]
    Shape(String),
    /// The arguments could not be serialized (only on encode).
    #[error("cannot encode as BSON: {0}")]
    Encode(String),
}

#[derive(Serialize)]
struct BodyRef<'a> {
    name: &'a str,
    args: &'a [Bson],
}

/// Encodes an event as a message body.
pub fn encode_body(name: &str, args: &[Bson]) -> Result<Vec<u8>, BodyError> {
    // Room for all of it at once: regrowing dominated the sender's profile
    // for small events, and for large ones it copied the body again and
    // touched fresh memory at every doubling.
    let mut buf = Vec::with_capacity(encoded_len_hint(name, args));
    bson::serialize_to_buffer(&BodyRef { name, args }, &mut buf)
        .map_err(|e| BodyError::Encode(e.to_string()))?;
    Ok(buf)
}

/// The length of the body of `name` whose argument list is `list` as it
/// is ([`encode_kept_body_into`] writes exactly that many bytes).
pub fn kept_body_len(name: &str, list: &RawArray) -> usize {
    // The document's length and NUL; for each field its type byte and its
    // key with the key's NUL; the name's length, bytes and NUL; the list.
    5 + (1 + 5) + (4 + name.len() + 1) + (1 + 5) + list.as_bytes().len()
}

/// Appends to `buf` the body of an event named `name` whose argument list
/// is `list` as it is: a received event's list kept as it arrived
/// (`Args::raw_list`), sent on or stored without being decoded and
/// encoded again. Its bytes are copied once (its keys too, as the sender
/// wrote them) into an empty `buf`, which becomes the body; give it
/// [`kept_body_len`] of room to write it without growing. (After bytes
/// already there, the body is written apart and copied after them.)
pub fn encode_kept_body_into(
    name: &str,
    list: &RawArray,
    buf: &mut Vec<u8>,
) -> Result<(), BodyError> {
    if buf.is_empty() {
        *buf = kept_body(name, list, std::mem::take(buf))?;
    } else {
        let body = kept_body(name, list, Vec::with_capacity(kept_body_len(name, list)))?;
        buf.extend_from_slice(&body);
    }
    Ok(())
}

/// The body of `name` and `list` written into `room` (empty), appended to
/// field by field by the bson crate: the bytes serde writes, in half the
/// instructions (a relay's forward of each small event).
fn kept_body(name: &str, list: &RawArray, mut room: Vec<u8>) -> Result<Vec<u8>, BodyError> {
    room.extend_from_slice(&EMPTY_DOCUMENT);
    let mut doc =
        bson::RawDocumentBuf::from_bytes(room).map_err(|e| BodyError::Encode(e.to_string()))?;
    doc.append(bson::raw::cstr!("name"), name);
    doc.append(bson::raw::cstr!("args"), list);
    Ok(doc.into_bytes())
}

/// A BSON document with nothing in it: its length, 5, and its end.
const EMPTY_DOCUMENT: [u8; 5] = [5, 0, 0, 0, 0];

/// About how long the body of `name` and `args` is: exact for strings
/// and binaries, a little over for the rest (keys, numbers), which is
/// what matters for large events.
fn encoded_len_hint(name: &str, args: &[Bson]) -> usize {
    // Type byte, a key of a few digits, a length or a number.
    const VALUE: usize = 16;
    64 + name.len() + args_size(args, VALUE, 0)
}

/// The bytes the arguments' strings, binaries, patterns and document keys
/// hold, plus `per_value` for every value and `per_key` for every key, at
/// any depth (walked without recursion: arguments may nest deeply). What
/// an encoded body or a decoded event takes, given their fixed costs.
pub fn args_size(args: &[Bson], per_value: usize, per_key: usize) -> usize {
    let mut size = 0;
    let mut pending: Vec<&Bson> = args.iter().collect();
    while let Some(value) = pending.pop() {
        size += per_value;
        match value {
            Bson::String(s) | Bson::Symbol(s) | Bson::JavaScriptCode(s) => size += s.len(),
            Bson::Binary(b) => size += b.bytes.len(),
            Bson::RegularExpression(r) => size += r.pattern.len() + r.options.len(),
            Bson::Array(items) => pending.extend(items),
            Bson::Document(doc) => {
                for (key, item) in doc {
                    size += key.len() + per_key;
                    pending.push(item);
                }
            }
            _ => {}
        }
    }
    size
}

/// The shortest body that can nest deeper than [`MAX_NESTING_DEPTH`]: the
/// body document is 5 bytes at least, and each level below it at least 7
/// (a type byte, an empty key's NUL and a 5-byte empty document). Shorter
/// bodies skip the depth walk: it was a quarter of the receiver's work per
/// small event.
const SHORTEST_TOO_DEEP: usize = 5 + 7 * MAX_NESTING_DEPTH;

/// Decodes a message body into the event name and its arguments.
///
/// The arguments are converted value by value from the raw BSON (a
/// document whose keys look like extended JSON, `$oid` and the like,
/// stays a document), after the checks a large body gets on arrival:
/// every value well-formed, nesting bounded, one string `name` and one
/// array `args`.
pub fn decode_body(bytes: &[u8]) -> Result<(String, Vec<Bson>), BodyError> {
    let doc = RawDocument::from_bytes(bytes).map_err(|e| BodyError::Malformed(e.to_string()))?;
    let walked = bytes.len() >= SHORTEST_TOO_DEEP;
    if walked {
        check_depth(doc)?;
    }
    let (name, args, others) = shape(doc)?;
    if others && !walked {
        // Fields besides `name` and `args` are checked as a large body's.
        check_depth(doc)?;
    }
    let args = Vec::<Bson>::try_from(args).map_err(|e| BodyError::Malformed(e.to_string()))?;
    Ok((name.to_owned(), args))
}

/// Checks a body whole without decoding it: every element (see
/// [`check_depth`]) and the shape (one string `name`, one array `args`,
/// as decoding insists). Returns the name and how many values the body
/// holds, and shows `on_arg` each argument (its index and value) as the
/// walk reads it.
pub(crate) fn check_whole<'a>(
    doc: &'a RawDocument,
    on_arg: impl FnMut(usize, RawBsonRef<'a>),
) -> Result<(&'a str, usize), BodyError> {
    let values = walk(doc, on_arg)?;
    let (name, _, _) = shape(doc)?;
    Ok((name, values))
}

/// The body's `name` and `args`, each there exactly once, and whether it
/// has other fields (checking only the top level's elements).
pub(crate) fn shape(doc: &RawDocument) -> Result<(&str, &RawArray, bool), BodyError> {
    let (mut name, mut args) = (None, None);
    let (mut names, mut argses, mut others) = (0, 0, false);
    for item in doc.iter() {
        let (key, value) = item.map_err(|e| BodyError::Malformed(e.to_string()))?;
        match key.as_str() {
            "name" => {
                names += 1;
                name = Some(value);
            }
            "args" => {
                argses += 1;
                args = Some(value);
            }
            _ => others = true,
        }
    }
    if (names, argses) != (1, 1) {
        return Err(BodyError::Shape(format!(
            "{names} `name` and {argses} `args` fields, not one of each"
        )));
    }
    let Some(RawBsonRef::String(name)) = name else {
        return Err(BodyError::Shape("`name` is not a string".into()));
    };
    let Some(RawBsonRef::Array(args)) = args else {
        return Err(BodyError::Shape("`args` is not an array".into()));
    };
    Ok((name, args, others))
}

/// Walks every element once, iteratively (returning how many there are), failing on malformed elements and
/// on nesting deeper than [`MAX_NESTING_DEPTH`].
pub(crate) fn check_depth(root: &RawDocument) -> Result<usize, BodyError> {
    walk(root, |_, _| {})
}

/// [`check_depth`], showing `on_arg` the elements of every top-level
/// array keyed `args` (there is one in a body of the right shape), each
/// with its index, as they are read.
fn walk<'a>(
    root: &'a RawDocument,
    mut on_arg: impl FnMut(usize, RawBsonRef<'a>),
) -> Result<usize, BodyError> {
    let malformed = |e: bson::error::Error| BodyError::Malformed(e.to_string());
    let mut values = 0usize;
    // Each level's elements, its depth, and for an `args` array the index
    // of its next element.
    let mut stack = vec![(root.iter(), 1usize, None::<usize>)];
    while let Some((iter, depth, arg)) = stack.last_mut() {
        let depth = *depth;
        let Some(item) = iter.next() else {
            stack.pop();
            continue;
        };
        let (key, value) = item.map_err(malformed)?;
        values += 1;
        if let Some(index) = arg {
            on_arg(*index, value);
            *index += 1;
        }
        let child = match value {
            RawBsonRef::Document(d) => Some((d, None)),
            RawBsonRef::Array(a) => {
                let args = (depth == 1 && key.as_str() == "args").then_some(0);
                Some((
                    RawDocument::from_bytes(a.as_bytes()).map_err(malformed)?,
                    args,
                ))
            }
            RawBsonRef::JavaScriptCodeWithScope(c) => Some((c.scope, None)),
            _ => None,
        };
        if let Some((child, args)) = child {
            if depth + 1 > MAX_NESTING_DEPTH {
                return Err(BodyError::TooDeep);
            }
            stack.push((child.iter(), depth + 1, args));
        }
    }
    Ok(values)
}

#[cfg(test)]
mod tests {
    use super::*;
    use bson::{doc, DateTime, Regex};

    #[test]
    fn round_trip_every_type() {
        let args = vec![
            Bson::Document(doc! {"obj": 2}),
            Bson::Array(vec![1.into(), 2.into(), 3.into()]),
            Bson::Null,
            "yay".into(),
            5.into(),
            2.5.into(),
            true.into(),
            Bson::DateTime(DateTime::from_millis(1_383_000_000_000)),
            Bson::RegularExpression(Regex {
                pattern: "serialize me please".try_into().unwrap(),
                options: "".try_into().unwrap(),
            }),
            "héllo wörld ✓ 日本".into(),
        ];
        let bytes = encode_body("many", &args).unwrap();
        let (name, back) = decode_body(&bytes).unwrap();
        assert_eq!(name, "many");
        assert_eq!(back, args);
    }

    /// The body `{name, args}` whose `args` is `list` as it is, as serde
    /// writes it: the reference for [`encode_kept_body_into`].
    #[derive(Serialize)]
    struct KeptRef<'a> {
        name: &'a str,
        args: &'a RawArray,
    }

    fn encode_kept_by_serde(
        name: &str,
        list: &RawArray,
        buf: &mut Vec<u8>,
    ) -> Result<(), BodyError> {
        bson::serialize_to_buffer(&KeptRef { name, args: list }, buf)
            .map_err(|e| BodyError::Encode(e.to_string()))
    }

    #[test]
    fn a_kept_list_is_written_as_serde_writes_it_into_an_empty_buffer_or_after_bytes() {
        let lists = [
            vec![],
            vec![Bson::Int64(1), "x".into()],
            vec![
                Bson::Document(doc! {"a": [1, {"b": "c"}]}),
                Bson::Null,
                "héllo ✓".into(),
            ],
        ];
        for (args, name) in lists.iter().zip(["", "pong", "日本 name"]) {
            let body = encode_body("ping", args).unwrap();
            let doc = RawDocument::from_bytes(&body).unwrap();
            let list = doc.get_array("args").unwrap();
            let mut by_serde = Vec::new();
            encode_kept_by_serde(name, list, &mut by_serde).unwrap();
            let mut written = Vec::new();
            encode_kept_body_into(name, list, &mut written).unwrap();
            assert_eq!(written, by_serde, "{name:?}");
            assert_eq!(written.len(), kept_body_len(name, list));
            assert_eq!(
                decode_body(&written).unwrap(),
                (name.to_owned(), args.clone())
            );
            let mut after = b"head".to_vec();
            encode_kept_body_into(name, list, &mut after).unwrap();
            assert_eq!(after[..4], *b"head");
            assert_eq!(after[4..], written);
        }
    }

    #[test]
    fn the_length_hint_covers_the_body() {
        let big = "x".repeat(100_000);
        let args = vec![
            Bson::from(big.as_str()),
            Bson::Binary(bson::Binary {
                subtype: bson::spec::BinarySubtype::Generic,
                bytes: vec![7; 5_000],
            }),
            Bson::Document(doc! {"a": [1, 2, {"b": "c"}], "d": 2.5}),
        ];
        let hint = encoded_len_hint("name", &args);
        let len = encode_body("name", &args).unwrap().len();
        assert!(hint >= len, "hint {hint} < {len}");
        assert!(hint < len + 512, "hint {hint} far over {len}");
    }

    #[test]
    fn no_args() {
        let bytes = encode_body("noargs", &[]).unwrap();
        assert_eq!(decode_body(&bytes).unwrap(), ("noargs".to_owned(), vec![]));
    }

    fn nested(depth: usize) -> Bson {
        let mut v = Bson::Int32(1);
        for _ in 0..depth {
            v = Bson::Array(vec![v]);
        }
        v
    }

    #[test]
    fn depth_limit() {
        // body (1) + args (2) + 98 more arrays = 100: accepted
        let ok = encode_body("d", &[nested(98)]).unwrap();
        assert!(decode_body(&ok).is_ok());
        let deep = encode_body("d", &[nested(99)]).unwrap();
        assert!(matches!(decode_body(&deep), Err(BodyError::TooDeep)));
    }

    #[test]
    fn the_most_compact_too_deep_body_is_long_enough_to_be_walked() {
        // Documents with empty keys are the cheapest nesting there is.
        let mut v = Bson::Document(bson::Document::new());
        for _ in 0..(MAX_NESTING_DEPTH - 1) {
            let mut d = bson::Document::new();
            d.insert("", v);
            v = Bson::Document(d);
        }
        let deep = bson::serialize_to_vec(&doc! {"": v}).unwrap();
        assert_eq!(
            deep.len(),
            SHORTEST_TOO_DEEP,
            "depth 101 in the fewest bytes"
        );
        assert!(matches!(decode_body(&deep), Err(BodyError::TooDeep)));
    }

    #[test]
    fn rejects_wrong_shape_and_garbage() {
        let no_name = bson::serialize_to_vec(&doc! {"args": []}).unwrap();
        assert!(matches!(decode_body(&no_name), Err(BodyError::Shape(_))));
        let bad_args = bson::serialize_to_vec(&doc! {"name": "x", "args": 1}).unwrap();
        assert!(matches!(decode_body(&bad_args), Err(BodyError::Shape(_))));
        assert!(decode_body(&[]).is_err());
        assert!(decode_body(&[5, 0, 0, 0]).is_err());
        assert!(decode_body(&[9, 0, 0, 0, 0x02, b'a', 0, 0, 0]).is_err());
    }
}
