//! Recorded events as JSON: `listen`'s line with a `"time"` field, for
//! `cat` and for the JSON copy Foxglove Studio opens.

use std::time::{SystemTime, UNIX_EPOCH};

use eventcast::extjson::RelaxedList;
use serde::ser::{Serialize, SerializeStruct, Serializer};

use crate::format::RecordedEvent;

/// A recorded event as `listen` prints an event, with the receive time:
/// `{"event": NAME, "args": [...], "sender": ID, "from": "IP:PORT",
/// "time": "2026-12-03T16:00:00.123456789Z"}`, the arguments in relaxed
/// Extended JSON.
#[derive(Debug, Clone, Copy)]
pub struct RecordedEventJson<'a>(pub &'a RecordedEvent);

impl RecordedEventJson<'_> {
    /// The event as one line of JSON, without the line end.
    pub fn to_line(&self) -> String {
        // Every value is representable: relaxed Extended JSON writes the
        // numbers JSON has none for as wrappers.
        serde_json::to_string(self).unwrap_or_else(|e| format!("{{\"error\":{:?}}}", e.to_string()))
    }
}

impl Serialize for RecordedEventJson<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let event = self.0;
        let mut s = serializer.serialize_struct("RecordedEvent", 5)?;
        s.serialize_field("event", &event.name)?;
        s.serialize_field("args", &RelaxedList(&event.args))?;
        s.serialize_field("sender", &event.sender.to_string())?;
        s.serialize_field("from", &event.from.map(|a| a.to_string()))?;
        s.serialize_field("time", &rfc3339(event.log_time))?;
        s.end()
    }
}

/// `time` in RFC 3339, UTC, to the nanosecond:
/// `2026-12-03T16:00:00.123456789Z` (times before 1970 read as 1970).
pub fn rfc3339(time: SystemTime) -> String {
    let since = time.duration_since(UNIX_EPOCH).unwrap_or_default();
    let millis = i64::try_from(since.as_millis()).unwrap_or(i64::MAX);
    // The date and time of day as JavaScript writes them (the protocol's
    // legacy `time` field), to the second; then the nanoseconds.
    let iso = eventcast_proto::legacy::js_iso_string(bson::DateTime::from_millis(millis));
    let seconds = iso.get(..19).unwrap_or(&iso);
    format!("{seconds}.{:09}Z", since.subsec_nanos())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::time;
    use bson::Bson;
    use eventcast::{MessageSeq, SenderId};

    #[test]
    fn times_in_rfc3339() {
        assert_eq!(rfc3339(UNIX_EPOCH), "1970-01-01T00:00:00.000000000Z");
        assert_eq!(
            rfc3339(time(951_782_400_000_000_001)),
            "2000-02-29T00:00:00.000000001Z"
        );
        assert_eq!(
            rfc3339(time(1_796_313_600_500_000_000)),
            "2026-12-03T16:00:00.500000000Z"
        );
    }

    #[test]
    fn listen_s_line_with_the_time() {
        let event = RecordedEvent {
            name: "greet".into(),
            args: vec![Bson::from("hi"), Bson::Int32(5)],
            sender: SenderId::new(0x1f2e_3d4c_5b6a_7980),
            from: Some("10.0.0.7:41234".parse().unwrap()),
            seq: Some(MessageSeq::new(1)),
            log_time: time(1_796_313_600_000_000_000),
            publish_time: time(1_796_313_600_000_000_000),
        };
        assert_eq!(
            RecordedEventJson(&event).to_line(),
            "{\"event\":\"greet\",\"args\":[\"hi\",5],\"sender\":\"1f2e3d4c5b6a7980\",\
             \"from\":\"10.0.0.7:41234\",\"time\":\"2026-12-03T16:00:00.000000000Z\"}"
        );
    }
}
