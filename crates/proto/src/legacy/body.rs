//! The body of a whole legacy message: one BSON document `{ payload: ... }`.
//!
//! For an event, `payload` is the array of the emit arguments (empty when
//! there are none); for a retransmission request it is a document (see
//! [`RetxRequest`](super::RetxRequest)). Decoding checks the nesting depth
//! without recursion before anything is materialised, with the same limit
//! as native bodies ([`MAX_NESTING_DEPTH`]: the body document is depth 1,
//! the `payload` array depth 2).
//!
//! [`MAX_NESTING_DEPTH`]: crate::MAX_NESTING_DEPTH

use bson::{doc, Bson, RawDocument};
use serde::Serialize;

use super::error::{EncodeError, LegacyError};
use crate::body::BodyError;

/// The encoded body of an event, `{ payload: [args...] }`, ready to be
/// framed and sent ([`LegacyEndpoint::emit_body`](super::LegacyEndpoint::emit_body),
/// [`Encoder::encode_event_body`](super::Encoder::encode_event_body)).
/// Only [`encode`](Self::encode) makes one, so it is always a well-formed
/// body: a driver can encode an event once, where it is emitted, and hand
/// the bytes to the endpoint without reading them back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventBody(Vec<u8>);

impl EventBody {
    /// Encodes the arguments of an event.
    pub fn encode(args: &[Bson]) -> Result<Self, EncodeError> {
        encode_args(args).map(Self)
    }

    /// The encoded document.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

/// Encodes a body `{ payload: <payload> }`.
pub fn encode_payload(payload: Bson) -> Result<Vec<u8>, EncodeError> {
    bson::serialize_to_vec(&doc! { "payload": payload })
        .map_err(|e| EncodeError::Bson(e.to_string()))
}

/// `{ payload: [args...] }` without copying the arguments into a document.
#[derive(Serialize)]
struct ArgsRef<'a> {
    payload: &'a [Bson],
}

/// Encodes the body of an event: `{ payload: [args...] }`.
pub fn encode_args(args: &[Bson]) -> Result<Vec<u8>, EncodeError> {
    bson::serialize_to_vec(&ArgsRef { payload: args }).map_err(|e| EncodeError::Bson(e.to_string()))
}

/// Decodes a body into its `payload` value, whatever its type. The body
/// must be exactly one well-formed document, nested no deeper than
/// [`MAX_NESTING_DEPTH`](crate::MAX_NESTING_DEPTH), with a `payload` field.
pub fn decode_payload(bytes: &[u8]) -> Result<Bson, LegacyError> {
    let doc = RawDocument::from_bytes(bytes).map_err(LegacyError::bson)?;
    check_depth(doc)?;
    let payload = doc
        .get("payload")
        .map_err(LegacyError::bson)?
        .ok_or(LegacyError::Field {
            field: "payload",
            problem: "missing",
        })?;
    Bson::try_from(payload).map_err(LegacyError::bson)
}

/// Decodes the body of an event into its arguments: `payload` must be an
/// array. The values are exactly what native mode's
/// [`decode_body`](crate::decode_body) yields for the same arguments.
pub fn decode_args(bytes: &[u8]) -> Result<Vec<Bson>, LegacyError> {
    match decode_payload(bytes)? {
        Bson::Array(args) => Ok(args),
        _ => Err(LegacyError::Field {
            field: "payload",
            problem: "not an array",
        }),
    }
}

/// The native body's depth check, with its errors in legacy terms.
fn check_depth(root: &RawDocument) -> Result<(), LegacyError> {
    crate::body::check_depth(root)
        .map(|_| ())
        .map_err(|e| match e {
            BodyError::TooDeep => LegacyError::TooDeep,
            other => LegacyError::bson(other),
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use bson::{DateTime, Regex};

    fn every_type() -> Vec<Bson> {
        vec![
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
        ]
    }

    #[test]
    fn same_values_as_native_mode() {
        let args = every_type();
        let legacy = decode_args(&encode_args(&args).unwrap()).unwrap();
        let (_, native) =
            crate::body::decode_body(&crate::body::encode_body("many", &args).unwrap()).unwrap();
        assert_eq!(legacy, args);
        assert_eq!(legacy, native);
    }

    #[test]
    fn args_encode_as_the_payload_document() {
        let args = every_type();
        let direct = encode_args(&args).unwrap();
        assert_eq!(direct, encode_payload(Bson::Array(args.clone())).unwrap());
        assert_eq!(EventBody::encode(&args).unwrap().as_bytes(), &direct[..]);
    }

    #[test]
    fn no_args_is_an_empty_array() {
        let bytes = encode_args(&[]).unwrap();
        // { payload: [] } as the original writes it
        assert_eq!(
            bytes,
            [0x13, 0, 0, 0, 0x04, b'p', b'a', b'y', b'l', b'o', b'a', b'd', 0, 5, 0, 0, 0, 0, 0]
        );
        assert_eq!(decode_args(&bytes).unwrap(), Vec::<Bson>::new());
    }

    fn nested(depth: usize) -> Bson {
        let mut v = Bson::Int32(1);
        for _ in 0..depth {
            v = Bson::Array(vec![v]);
        }
        v
    }

    #[test]
    fn depth_limit_as_native() {
        let ok = encode_args(&[nested(98)]).unwrap();
        assert!(decode_args(&ok).is_ok());
        let deep = encode_args(&[nested(99)]).unwrap();
        assert_eq!(decode_args(&deep), Err(LegacyError::TooDeep));
    }

    #[test]
    fn shapes() {
        let doc_payload = encode_payload(Bson::Document(doc! {"a": 1})).unwrap();
        assert_eq!(
            decode_payload(&doc_payload).unwrap(),
            Bson::Document(doc! {"a": 1})
        );
        assert!(decode_args(&doc_payload).is_err());
        let none = bson::serialize_to_vec(&doc! {"args": []}).unwrap();
        assert!(decode_payload(&none).is_err());
        let mut trailing = encode_args(&[]).unwrap();
        trailing.push(0);
        assert!(decode_args(&trailing).is_err());
        assert!(decode_args(&[]).is_err());
    }
}
