//! Event arguments as MongoDB Extended JSON, both ways: the one conversion
//! the `eventcast` command line and the REPL share.
//!
//! Input accepts canonical and relaxed Extended JSON (`{"$date": ...}`,
//! `{"$regularExpression": ...}`, `{"$numberLong": ...}`, ...); output is
//! relaxed Extended JSON, so that BSON dates and regular expressions survive
//! a trip through text. Unlike a round trip through `serde_json::Value`
//! (whose objects sort their keys), the keys of documents keep their order
//! both ways: BSON documents are ordered.
//!
//! ```
//! use eventcast::bson::Bson;
//! use eventcast::extjson::{parse_arg, RelaxedList};
//!
//! // As on the command line: JSON when it is JSON, else a plain string.
//! let args = vec![
//!     parse_arg("hello")?,
//!     parse_arg("5")?,
//!     parse_arg(r#"{"$date": "2013-10-28T22:40:00Z"}"#)?,
//! ];
//! assert_eq!(args[0], Bson::from("hello"));
//! assert_eq!(args[1], Bson::Int32(5));
//! assert_eq!(
//!     serde_json::to_string(&RelaxedList(&args)).unwrap(),
//!     r#"["hello",5,{"$date":"2013-10-28T22:40:00Z"}]"#
//! );
//! # Ok::<(), eventcast::extjson::ExtJsonError>(())
//! ```

use bson::{Bson, Document};
use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

mod event;
mod relaxed;

pub use event::EventJson;
pub use relaxed::{Relaxed, RelaxedList};

/// The keys that make an object an Extended JSON wrapper of one BSON value
/// rather than a document.
const WRAPPER_KEYS: &[&str] = &[
    "$oid",
    "$symbol",
    "$regularExpression",
    "$numberInt",
    "$numberLong",
    "$numberDouble",
    "$numberDecimal",
    "$binary",
    "$uuid",
    "$code",
    "$timestamp",
    "$date",
    "$minKey",
    "$maxKey",
    "$dbPointer",
    "$undefined",
];

/// Text that is JSON but not valid Extended JSON (`{"$date":"soon"}`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{text} is JSON but not valid Extended JSON: {reason}")]
#[non_exhaustive]
pub struct ExtJsonError {
    /// The text as given.
    pub text: String,
    /// What is wrong with it.
    pub reason: String,
}

/// One argument as given on the command line or in the REPL: Extended JSON
/// when the text is JSON (`5`, `"x"`, `[1,2]`, `{"a":1}`,
/// `{"$date":"2013-10-28T22:40:00Z"}`), else the text itself as a string
/// (`hello`).
///
/// Text that is JSON but not valid Extended JSON (`{"$date":"soon"}`) is an
/// error rather than a string, so that a typo is not sent unnoticed.
pub fn parse_arg(text: &str) -> Result<Bson, ExtJsonError> {
    match serde_json::from_str::<Json>(text) {
        Ok(json) => json.into_bson().map_err(|reason| ExtJsonError {
            text: text.to_owned(),
            reason,
        }),
        Err(_) => Ok(Bson::String(text.to_owned())),
    }
}

/// A BSON value read from Extended JSON, for use in `serde` structures
/// (`{"args": [...]}` lines, for instance).
#[derive(Debug, Clone, PartialEq)]
pub struct ExtJson(pub Bson);

impl<'de> Deserialize<'de> for ExtJson {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let json = Json::deserialize(deserializer)?;
        json.into_bson().map(ExtJson).map_err(de::Error::custom)
    }
}

/// JSON as parsed, with object keys in their order.
#[derive(Debug, Clone, PartialEq)]
enum Json {
    Null,
    Bool(bool),
    Int(i64),
    UInt(u64),
    Float(f64),
    String(String),
    Array(Vec<Json>),
    Object(Vec<(String, Json)>),
}

impl Json {
    /// Extended JSON to BSON: a wrapper object (`{"$date": ...}`) is read by
    /// `bson` itself; everything else keeps its order.
    /// Errors are bson's message alone, without its "BSON error. Kind: ..."
    /// frame.
    fn into_bson(self) -> Result<Bson, String> {
        Ok(match self {
            Json::Null => Bson::Null,
            Json::Bool(b) => Bson::Boolean(b),
            Json::Int(i) => i32::try_from(i).map_or(Bson::Int64(i), Bson::Int32),
            Json::UInt(u) => match (i32::try_from(u), i64::try_from(u)) {
                (Ok(i), _) => Bson::Int32(i),
                (_, Ok(i)) => Bson::Int64(i),
                // As bson's own conversion does: too large for any integer.
                _ => Bson::Double(u as f64),
            },
            Json::Float(f) => Bson::Double(f),
            Json::String(s) => Bson::String(s),
            Json::Array(items) => Bson::Array(
                items
                    .into_iter()
                    .map(Json::into_bson)
                    .collect::<Result<_, _>>()?,
            ),
            Json::Object(entries)
                if entries
                    .iter()
                    .any(|(k, _)| WRAPPER_KEYS.contains(&k.as_str())) =>
            {
                Bson::try_from(Json::Object(entries).into_value())
                    .map_err(|e| e.message.clone().unwrap_or_else(|| e.to_string()))?
            }
            Json::Object(entries) => {
                let mut doc = Document::new();
                for (key, value) in entries {
                    doc.insert(key, value.into_bson()?);
                }
                Bson::Document(doc)
            }
        })
    }

    fn into_value(self) -> serde_json::Value {
        use serde_json::Value;
        match self {
            Json::Null => Value::Null,
            Json::Bool(b) => Value::Bool(b),
            Json::Int(i) => Value::from(i),
            Json::UInt(u) => Value::from(u),
            // JSON text has no NaN or infinity, so this is always a number.
            Json::Float(f) => serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number),
            Json::String(s) => Value::String(s),
            Json::Array(items) => Value::Array(items.into_iter().map(Json::into_value).collect()),
            Json::Object(entries) => Value::Object(
                entries
                    .into_iter()
                    .map(|(k, v)| (k, v.into_value()))
                    .collect(),
            ),
        }
    }
}

impl<'de> Deserialize<'de> for Json {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(JsonVisitor)
    }
}

struct JsonVisitor;

impl<'de> Visitor<'de> for JsonVisitor {
    type Value = Json;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_unit<E>(self) -> Result<Json, E> {
        Ok(Json::Null)
    }

    fn visit_none<E>(self) -> Result<Json, E> {
        Ok(Json::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Json, D::Error> {
        Json::deserialize(deserializer)
    }

    fn visit_bool<E>(self, b: bool) -> Result<Json, E> {
        Ok(Json::Bool(b))
    }

    fn visit_i64<E>(self, i: i64) -> Result<Json, E> {
        Ok(Json::Int(i))
    }

    fn visit_u64<E>(self, u: u64) -> Result<Json, E> {
        Ok(Json::UInt(u))
    }

    fn visit_f64<E>(self, f: f64) -> Result<Json, E> {
        Ok(Json::Float(f))
    }

    fn visit_str<E>(self, s: &str) -> Result<Json, E> {
        Ok(Json::String(s.to_owned()))
    }

    fn visit_string<E>(self, s: String) -> Result<Json, E> {
        Ok(Json::String(s))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Json, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Json::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Json, A::Error> {
        let mut entries = Vec::new();
        while let Some(entry) = map.next_entry::<String, Json>()? {
            entries.push(entry);
        }
        Ok(Json::Object(entries))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bson::{doc, DateTime};

    fn relaxed(value: &Bson) -> String {
        serde_json::to_string(&Relaxed(value)).unwrap()
    }

    #[test]
    fn plain_text_is_a_string() {
        assert_eq!(parse_arg("hello").unwrap(), Bson::from("hello"));
        assert_eq!(parse_arg("").unwrap(), Bson::from(""));
        assert_eq!(parse_arg("hello world").unwrap(), Bson::from("hello world"));
        assert_eq!(parse_arg("{not json").unwrap(), Bson::from("{not json"));
        assert_eq!(parse_arg("5 apples").unwrap(), Bson::from("5 apples"));
    }

    #[test]
    fn json_scalars() {
        assert_eq!(parse_arg("5").unwrap(), Bson::Int32(5));
        assert_eq!(parse_arg("-5").unwrap(), Bson::Int32(-5));
        assert_eq!(parse_arg("5000000000").unwrap(), Bson::Int64(5_000_000_000));
        assert_eq!(
            parse_arg("-5000000000").unwrap(),
            Bson::Int64(-5_000_000_000)
        );
        assert_eq!(
            parse_arg("18446744073709551615").unwrap(),
            Bson::Double(18_446_744_073_709_551_615.0)
        );
        assert_eq!(parse_arg("1.5").unwrap(), Bson::Double(1.5));
        assert_eq!(parse_arg("\"x\"").unwrap(), Bson::from("x"));
        assert_eq!(parse_arg("\"5\"").unwrap(), Bson::from("5"));
        assert_eq!(parse_arg("true").unwrap(), Bson::Boolean(true));
        assert_eq!(parse_arg("null").unwrap(), Bson::Null);
        assert_eq!(parse_arg(" 7 ").unwrap(), Bson::Int32(7));
    }

    #[test]
    fn arrays_and_documents_keep_their_order() {
        assert_eq!(
            parse_arg("[1,2]").unwrap(),
            Bson::Array(vec![Bson::Int32(1), Bson::Int32(2)])
        );
        let parsed = parse_arg(r#"{"b":1,"a":{"d":2,"c":[true]}}"#).unwrap();
        assert_eq!(
            parsed,
            Bson::Document(doc! {"b": 1, "a": {"d": 2, "c": [true]}})
        );
        assert_eq!(relaxed(&parsed), r#"{"b":1,"a":{"d":2,"c":[true]}}"#);
    }

    #[test]
    fn extended_json_wrappers() {
        let date = parse_arg(r#"{"$date":"2013-10-28T22:40:00Z"}"#).unwrap();
        assert_eq!(
            date,
            Bson::DateTime(DateTime::from_millis(1_383_000_000_000))
        );
        assert_eq!(relaxed(&date), r#"{"$date":"2013-10-28T22:40:00Z"}"#);
        let canonical = parse_arg(r#"{"$date":{"$numberLong":"1383000000000"}}"#).unwrap();
        assert_eq!(canonical, date);

        let regex =
            parse_arg(r#"{"$regularExpression":{"pattern":"^a+","options":"mi"}}"#).unwrap();
        assert!(matches!(&regex, Bson::RegularExpression(r) if r.pattern.as_str() == "^a+"));
        assert_eq!(
            relaxed(&regex),
            r#"{"$regularExpression":{"pattern":"^a+","options":"im"}}"#
        );

        assert_eq!(parse_arg(r#"{"$numberLong":"5"}"#).unwrap(), Bson::Int64(5));
        assert_eq!(
            parse_arg(r#"{"$numberDouble":"Infinity"}"#).unwrap(),
            Bson::Double(f64::INFINITY)
        );
        let nested = parse_arg(r#"{"when":{"$date":"2013-10-28T22:40:00Z"},"n":1}"#).unwrap();
        assert_eq!(
            relaxed(&nested),
            r#"{"when":{"$date":"2013-10-28T22:40:00Z"},"n":1}"#
        );
        // A `$` key that is no wrapper is an ordinary key.
        assert_eq!(
            parse_arg(r#"{"$set":{"a":1}}"#).unwrap(),
            Bson::Document(doc! {"$set": {"a": 1}})
        );
    }

    #[test]
    fn bad_extended_json_is_an_error() {
        let err = parse_arg(r#"{"$date":"soon"}"#).unwrap_err();
        assert_eq!(
            err.to_string(),
            "{\"$date\":\"soon\"} is JSON but not valid Extended JSON: invalid value: \
             string \"soon\", expected rfc3339 formatted utc datetime"
        );
        assert!(parse_arg(r#"{"$numberLong":5}"#).is_err());
    }

    #[test]
    fn relaxed_output_of_every_common_type() {
        let args = vec![
            Bson::from("hi"),
            Bson::Int32(5),
            Bson::Int64(5_000_000_000),
            Bson::Double(1.5),
            Bson::Boolean(false),
            Bson::Null,
            Bson::DateTime(DateTime::from_millis(1_383_000_000_123)),
            Bson::Array(vec![Bson::Int32(1)]),
            Bson::Double(f64::NAN),
        ];
        assert_eq!(
            serde_json::to_string(&RelaxedList(&args)).unwrap(),
            r#"["hi",5,5000000000,1.5,false,null,{"$date":"2013-10-28T22:40:00.123Z"},[1],{"$numberDouble":"NaN"}]"#
        );
    }

    #[test]
    fn output_reads_back_as_the_same_value() {
        let args = vec![
            Bson::Document(doc! {"z": 1, "a": [1.5, "x", {"k": null}]}),
            parse_arg(r#"{"$regularExpression":{"pattern":"x","options":"s"}}"#).unwrap(),
            Bson::DateTime(DateTime::from_millis(-5)),
            Bson::Int64(1),
        ];
        let text = serde_json::to_string(&RelaxedList(&args)).unwrap();
        let back: Vec<ExtJson> = serde_json::from_str(&text).unwrap();
        let back: Vec<Bson> = back.into_iter().map(|e| e.0).collect();
        // Relaxed form writes small Int64s as plain numbers, read back as Int32.
        assert_eq!(back[..3], args[..3]);
        assert_eq!(back[3], Bson::Int32(1));
    }
}
