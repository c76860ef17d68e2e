//! BSON written as relaxed Extended JSON.

use bson::Bson;
use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};

/// A BSON value written as relaxed Extended JSON, keys in document order.
#[derive(Debug, Clone, Copy)]
pub struct Relaxed<'a>(pub &'a Bson);

impl Serialize for Relaxed<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Bson::Document(doc) => {
                let mut map = serializer.serialize_map(Some(doc.len()))?;
                for (key, value) in doc {
                    map.serialize_entry(key, &Relaxed(value))?;
                }
                map.end()
            }
            Bson::Array(items) => RelaxedList(items).serialize(serializer),
            Bson::String(text) => serializer.serialize_str(text),
            Bson::RegularExpression(regex) => {
                // Pattern before options, as the specification writes it.
                let mut options: Vec<char> = regex.options.as_str().chars().collect();
                options.sort_unstable();
                let options: String = options.into_iter().collect();
                let body = RegexBody {
                    pattern: regex.pattern.as_str(),
                    options: &options,
                };
                let mut map = serializer.serialize_map(Some(1))?;
                map.serialize_entry("$regularExpression", &body)?;
                map.end()
            }
            other => other.clone().into_relaxed_extjson().serialize(serializer),
        }
    }
}

#[derive(serde::Serialize)]
struct RegexBody<'a> {
    pattern: &'a str,
    options: &'a str,
}

/// An argument list written as a JSON array of relaxed Extended JSON values.
#[derive(Debug, Clone, Copy)]
pub struct RelaxedList<'a>(pub &'a [Bson]);

impl Serialize for RelaxedList<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(self.0.len()))?;
        for item in self.0 {
            seq.serialize_element(&Relaxed(item))?;
        }
        seq.end()
    }
}
