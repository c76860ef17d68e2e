//! Event arguments as NATS payloads: a JSON array in relaxed Extended JSON
//! (`application/json`, the default, readable by any NATS client), or
//! eventcast's BSON body `{name, args}` (`application/bson`).

use bson::{Bson, RawArray};
use eventcast::extjson::{ExtJson, RelaxedList};

/// The `Content-Type` of a JSON payload.
pub const JSON: &str = "application/json";
/// The `Content-Type` of a BSON payload.
pub const BSON: &str = "application/bson";

/// How a bridge writes the events it publishes (it reads both).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Encoding {
    /// The arguments as a JSON array in relaxed Extended JSON
    /// (`application/json`): dates are `{"$date": ...}`, and so on.
    #[default]
    Json,
    /// eventcast's BSON body, the document `{name, args}` the LAN carries
    /// (`application/bson`): every BSON type survives exactly.
    Bson,
}

impl Encoding {
    /// The `Content-Type` header of a payload in this encoding.
    pub fn content_type(self) -> &'static str {
        match self {
            Encoding::Json => JSON,
            Encoding::Bson => BSON,
        }
    }
}

/// Why a payload could not be read (or, rarely, written).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PayloadError {
    /// Not JSON, or JSON that is not valid Extended JSON.
    #[error("not JSON (or not valid Extended JSON): {0}")]
    NotJson(String),
    /// JSON, but not an array, from a bridge (which always writes arrays).
    #[error("not a JSON array of arguments")]
    NotArray,
    /// Not an eventcast BSON body.
    #[error("not an eventcast BSON body: {0}")]
    NotBson(String),
    /// Nested deeper than LAN receivers take
    /// ([`MAX_NESTING_DEPTH`](eventcast_proto::MAX_NESTING_DEPTH) levels,
    /// counting the body and its `args` array): every one would drop it.
    #[error(
        "nested deeper than {} levels (with the body and its args)",
        eventcast_proto::MAX_NESTING_DEPTH
    )]
    TooDeep,
    /// A `Content-Type` this bridge does not read.
    #[error("unknown Content-Type `{0}` (application/json or application/bson)")]
    UnknownType(String),
    /// The arguments could not be encoded.
    #[error("cannot encode the arguments: {0}")]
    Encode(String),
}

/// Writes an event's arguments in `encoding`.
pub fn encode(encoding: Encoding, name: &str, args: &[Bson]) -> Result<Vec<u8>, PayloadError> {
    match encoding {
        Encoding::Json => {
            serde_json::to_vec(&RelaxedList(args)).map_err(|e| PayloadError::Encode(e.to_string()))
        }
        Encoding::Bson => eventcast_proto::encode_body(name, args)
            .map_err(|e| PayloadError::Encode(e.to_string())),
    }
}

/// The payload of a LAN event: what [`encode`] gives from its name and
/// arguments. A BSON payload of an event kept as it arrived
/// ([`eventcast::Event::raw_list`]) has its argument list copied as the
/// bytes that arrived, into a buffer of the payload's size, instead of
/// being decoded and encoded again.
pub fn encode_event(encoding: Encoding, event: &eventcast::Event) -> Result<Vec<u8>, PayloadError> {
    match (encoding, event.raw_list()) {
        (Encoding::Bson, Some(list)) => kept_body(event.name(), list),
        _ => encode(encoding, event.name(), event.raw_args()),
    }
}

/// The body `{name, args}` with `list` as its `args`, as it is.
fn kept_body(name: &str, list: &RawArray) -> Result<Vec<u8>, PayloadError> {
    let mut buf = Vec::with_capacity(eventcast_proto::kept_body_len(name, list));
    eventcast_proto::encode_kept_body_into(name, list, &mut buf)
        .map_err(|e| PayloadError::Encode(e.to_string()))?;
    Ok(buf)
}

/// Reads a payload's arguments. `content_type` is the message's header
/// (none: JSON). A JSON payload is an array of arguments; a single other
/// JSON value is one argument when `lenient` (a plain NATS client's
/// message), and an error otherwise (a bridge's).
pub fn decode(
    content_type: Option<&str>,
    bytes: &[u8],
    lenient: bool,
) -> Result<Vec<Bson>, PayloadError> {
    let kind = content_type.map(|t| t.split(';').next().unwrap_or(t).trim());
    match kind {
        None | Some(JSON) | Some("") => {
            let ExtJson(value) =
                serde_json::from_slice(bytes).map_err(|e| PayloadError::NotJson(e.to_string()))?;
            let args = match value {
                Bson::Array(items) => items,
                other if lenient => vec![other],
                _ => return Err(PayloadError::NotArray),
            };
            // serde_json takes 128 levels; a BSON payload is checked
            // as it is decoded.
            if too_deep(&args) {
                return Err(PayloadError::TooDeep);
            }
            Ok(args)
        }
        Some(BSON) => eventcast_proto::decode_body(bytes)
            .map(|(_, args)| args)
            .map_err(|e| PayloadError::NotBson(e.to_string())),
        Some(other) => Err(PayloadError::UnknownType(other.chars().take(64).collect())),
    }
}

/// Whether `args`, as a body's arguments, nest deeper than
/// [`MAX_NESTING_DEPTH`](eventcast_proto::MAX_NESTING_DEPTH): the body is
/// level 1, its `args` array level 2, so an argument that is a document
/// or an array is level 3. Iterative: no recursion on network input.
fn too_deep(args: &[Bson]) -> bool {
    let mut stack: Vec<(&Bson, usize)> = args.iter().map(|arg| (arg, 3)).collect();
    while let Some((value, depth)) = stack.pop() {
        let children: Box<dyn Iterator<Item = &Bson>> = match value {
            Bson::Array(items) => Box::new(items.iter()),
            Bson::Document(doc) => Box::new(doc.values()),
            Bson::JavaScriptCodeWithScope(code) => Box::new(code.scope.values()),
            _ => continue,
        };
        if depth > eventcast_proto::MAX_NESTING_DEPTH {
            return true;
        }
        stack.extend(children.map(|child| (child, depth + 1)));
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args() -> Vec<Bson> {
        let date = bson::DateTime::from_millis(1_383_000_000_000);
        vec![
            Bson::from("hi"),
            Bson::Int32(5),
            Bson::DateTime(date),
            Bson::Array(vec![Bson::Boolean(true)]),
        ]
    }

    #[test]
    fn both_encodings_round_trip() {
        for encoding in [Encoding::Json, Encoding::Bson] {
            let bytes = encode(encoding, "greet", &args()).unwrap();
            let back = decode(Some(encoding.content_type()), &bytes, false).unwrap();
            assert_eq!(back, args(), "{encoding:?}");
        }
    }

    #[test]
    fn a_kept_list_gives_the_body_the_values_give() {
        let large = vec![Bson::from("x".repeat(100_000)), Bson::Int64(3)];
        for list in [args(), large, Vec::new()] {
            let body = eventcast_proto::encode_body("ping", &list).unwrap();
            let doc = bson::RawDocument::from_bytes(&body).unwrap();
            let kept = doc.get_array("args").unwrap();
            let bytes = kept_body("greet", kept).unwrap();
            assert_eq!(bytes, encode(Encoding::Bson, "greet", &list).unwrap());
            assert_eq!(bytes.capacity(), bytes.len(), "sized exactly");
        }
    }

    #[test]
    fn json_is_relaxed_extended_json() {
        let bytes = encode(Encoding::Json, "greet", &args()).unwrap();
        assert_eq!(
            String::from_utf8(bytes).unwrap(),
            r#"["hi",5,{"$date":"2013-10-28T22:40:00Z"},[true]]"#
        );
    }

    #[test]
    fn a_plain_client_may_send_one_value() {
        assert_eq!(decode(None, b"42", true).unwrap(), vec![Bson::Int32(42)]);
        assert_eq!(
            decode(Some("application/json; charset=utf-8"), br#"["a"]"#, true).unwrap(),
            vec![Bson::from("a")]
        );
        assert_eq!(decode(None, b"42", false), Err(PayloadError::NotArray));
    }

    #[test]
    fn bad_payloads_are_errors() {
        assert!(matches!(
            decode(None, b"not json", true),
            Err(PayloadError::NotJson(_))
        ));
        assert!(matches!(
            decode(None, br#"[{"$date":"soon"}]"#, true),
            Err(PayloadError::NotJson(_))
        ));
        assert!(matches!(
            decode(Some(BSON), b"[1]", true),
            Err(PayloadError::NotBson(_))
        ));
        assert!(matches!(
            decode(Some("text/plain"), b"x", true),
            Err(PayloadError::UnknownType(_))
        ));
    }

    /// `levels` JSON arrays, one inside the other, around `1`.
    fn nested_json(levels: usize) -> Vec<u8> {
        format!("{}1{}", "[".repeat(levels), "]".repeat(levels)).into_bytes()
    }

    #[test]
    fn deeper_than_lan_receivers_take_is_an_error() {
        // the args array is level 2 (body 1): 99 JSON levels are 100
        let deepest = decode(None, &nested_json(99), false).expect("100 levels");
        let body = eventcast_proto::encode_body("d", &deepest).expect("encodes");
        eventcast_proto::decode_body(&body).expect("a LAN receiver takes it");
        let deeper = [Bson::Array(deepest)];
        let body = eventcast_proto::encode_body("d", &deeper).expect("encodes");
        assert!(
            eventcast_proto::decode_body(&body).is_err(),
            "one level more, it does not"
        );
        for levels in [100, 127] {
            assert_eq!(
                decode(None, &nested_json(levels), false),
                Err(PayloadError::TooDeep),
                "{levels}"
            );
        }
        // a single value from a plain client is one argument: level 3
        let object = format!("{}1{}", r#"{"a":"#.repeat(98), "}".repeat(98));
        assert!(decode(None, object.as_bytes(), true).is_ok());
        let object = format!("{}1{}", r#"{"a":"#.repeat(99), "}".repeat(99));
        assert_eq!(
            decode(None, object.as_bytes(), true),
            Err(PayloadError::TooDeep)
        );
    }
}
