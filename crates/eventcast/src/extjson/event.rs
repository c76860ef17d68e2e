//! An event written as one line of JSON: what `eventcast listen` prints
//! and the REPL streams.
//!
//! A listener that prints every event of a burst spends most of its time
//! here, so the common case costs little: an event kept as it arrived
//! with flat arguments (numbers, booleans, nulls, strings: most small
//! events) is written from the BSON that arrived, without decoding it
//! into `Bson` values first; the sender and the address are written
//! straight into the output; [`EventJson::write_line`] writes into any
//! `io::Write` without a `String` in between.

use std::fmt::Display;
use std::io;

use bson::{Bson, RawArray, RawBsonRef};
use serde::ser::{Error as _, Serialize, SerializeSeq, SerializeStruct, Serializer};

use super::relaxed::{Relaxed, RelaxedList};
use crate::event::Event;

/// An event written as one JSON object, the form `eventcast listen` prints
/// and the REPL streams:
/// `{"event": NAME, "args": [...], "sender": ID, "from": "IP:PORT"}`, the
/// arguments in relaxed Extended JSON, `from` null for this node's own
/// emits.
#[derive(Debug, Clone, Copy)]
pub struct EventJson<'a>(pub &'a Event);

impl EventJson<'_> {
    /// The event as one line of JSON, without the line end.
    pub fn to_line(&self) -> String {
        // Every value is representable: relaxed Extended JSON writes the
        // numbers JSON has none for as wrappers.
        serde_json::to_string(self).unwrap_or_else(|e| format!("{{\"error\":{:?}}}", e.to_string()))
    }

    /// Writes the event into `out` as one line of JSON, line end included:
    /// the same text as [`to_line`](Self::to_line), without making a
    /// `String` of it first. Only `out`'s errors are errors.
    pub fn write_line<W: io::Write>(&self, mut out: W) -> io::Result<()> {
        serde_json::to_writer(&mut out, self).map_err(io::Error::other)?;
        out.write_all(b"\n")
    }
}

impl Serialize for EventJson<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let event = self.0;
        let mut s = serializer.serialize_struct("Event", 4)?;
        s.serialize_field("event", event.name())?;
        match event.raw_list().filter(|list| is_flat(list)) {
            Some(list) => s.serialize_field("args", &FlatList(list))?,
            None => s.serialize_field("args", &RelaxedList(event.raw_args()))?,
        }
        s.serialize_field("sender", &Text(event.sender()))?;
        s.serialize_field("from", &event.from().map(Text))?;
        s.end()
    }
}

/// A value written as the JSON string of its `Display`, without a
/// `String` in between.
struct Text<T>(T);

impl<T: Display> Serialize for Text<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(&self.0)
    }
}

/// Whether every element of `list` reads well and is flat (see
/// [`FlatList`]).
fn is_flat(list: &RawArray) -> bool {
    list.into_iter().all(|value| {
        matches!(
            value,
            Ok(RawBsonRef::String(_)
                | RawBsonRef::Int32(_)
                | RawBsonRef::Int64(_)
                | RawBsonRef::Double(_)
                | RawBsonRef::Boolean(_)
                | RawBsonRef::Null)
        )
    })
}

/// Arguments kept as they arrived, all flat (checked by [`is_flat`]),
/// written as [`RelaxedList`] writes them once decoded: strings from the
/// received bytes, the other values through [`Relaxed`] (no allocation
/// for a number, a boolean or null).
struct FlatList<'a>(&'a RawArray);

impl Serialize for FlatList<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(None)?;
        for value in self.0 {
            match value.map_err(S::Error::custom)? {
                RawBsonRef::String(text) => seq.serialize_element(text)?,
                RawBsonRef::Int32(n) => seq.serialize_element(&Relaxed(&Bson::Int32(n)))?,
                RawBsonRef::Int64(n) => seq.serialize_element(&Relaxed(&Bson::Int64(n)))?,
                RawBsonRef::Double(n) => seq.serialize_element(&Relaxed(&Bson::Double(n)))?,
                RawBsonRef::Boolean(b) => seq.serialize_element(&b)?,
                RawBsonRef::Null => seq.serialize_element(&())?,
                // `is_flat` keeps any other value from here.
                _ => return Err(S::Error::custom("an argument that is not flat")),
            }
        }
        seq.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bson::doc;
    use eventcast_proto::{MessageSeq, SenderId};

    #[test]
    fn events_as_lines() {
        let local = Event::new(
            "greet".into(),
            vec![Bson::from("hi"), Bson::Int32(5)],
            SenderId::new(0x1f2e),
            None,
            None,
        );
        assert_eq!(
            EventJson(&local).to_line(),
            r#"{"event":"greet","args":["hi",5],"sender":"0000000000001f2e","from":null}"#
        );
        let remote = Event::new(
            "x".into(),
            vec![],
            SenderId::new(1),
            Some("10.0.0.7:41234".parse().unwrap()),
            None,
        );
        assert!(EventJson(&remote)
            .to_line()
            .ends_with(r#""from":"10.0.0.7:41234"}"#));
    }

    fn received(args: &[Bson]) -> Event {
        let body = eventcast_proto::encode_body("e", args).unwrap();
        let (name, args) = eventcast_proto::decode_received(body).unwrap();
        Event::with_args(
            name,
            args,
            SenderId::new(7),
            Some(from()),
            Some(MessageSeq::new(3)),
        )
    }

    fn from() -> std::net::SocketAddr {
        "10.0.0.7:41234".parse().unwrap()
    }

    #[test]
    fn kept_events_read_as_decoded_ones() {
        let flat = vec![
            Bson::from("hi \"there\"\n\u{e9}"),
            Bson::from(""),
            Bson::Int32(-5),
            Bson::Int64(5_000_000_000),
            Bson::Int64(1),
            Bson::Double(1.0),
            Bson::Double(-0.0),
            Bson::Double(2.5e-300),
            Bson::Double(f64::NAN),
            Bson::Double(f64::NEG_INFINITY),
            Bson::Boolean(true),
            Bson::Null,
        ];
        let nested = vec![Bson::from("x"), Bson::Document(doc! {"a": [1, "b"]})];
        let cases = [vec![], flat, nested];
        for args in &cases {
            let kept = received(args);
            let decoded = Event::new(
                "e".into(),
                args.clone(),
                SenderId::new(7),
                Some(from()),
                Some(MessageSeq::new(3)),
            );
            let line = EventJson(&kept).to_line();
            assert_eq!(line, EventJson(&decoded).to_line());
            let mut out = Vec::new();
            EventJson(&kept).write_line(&mut out).unwrap();
            assert_eq!(out, format!("{line}\n").into_bytes());
        }
        // The flat ones took the path that reads the received bytes.
        let kept = received(&cases[1]);
        assert!(kept.raw_list().is_some_and(is_flat));
        assert!(!received(&cases[2]).raw_list().is_some_and(is_flat));
        assert_eq!(
            EventJson(&kept).to_line(),
            r#"{"event":"e","args":["hi \"there\"\né","",-5,5000000000,1,1.0,-0.0,2.5e-300,{"$numberDouble":"NaN"},{"$numberDouble":"-Infinity"},true,null],"sender":"0000000000000007","from":"10.0.0.7:41234"}"#
        );
    }
}
