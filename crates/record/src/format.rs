//! How eventcast lays events out in MCAP: the names, the records and their
//! bytes. A leaf: it knows BSON and the protocol's ids, nothing of files.
//!
//! - The header's profile is [`PROFILE`].
//! - One channel per event name: topic = the name, message encoding
//!   [`MESSAGE_ENCODING`] (`bson`), no schema, metadata
//!   `{"eventcast.kind": "event"}`.
//! - Each message's data is the event's BSON body `{name, args}` followed
//!   by `sender` (16 hex digits), `from` (`IP:PORT`, or null for the
//!   recording node's own events) and `seq` (the sender's message number,
//!   int64, or null): a reader of the body alone sees an ordinary body.
//! - `log_time` is when the recorder received the event, in nanoseconds
//!   since the Unix epoch. The protocol carries no send time, so
//!   `publish_time` is the receive time too, as the MCAP specification asks
//!   when the publish time is not known. The message `sequence` is the low
//!   32 bits of `seq`.
//! - Reported losses go to one channel of their own, topic [`LOSS_TOPIC`],
//!   metadata `{"eventcast.kind": "loss"}`; data
//!   `{sender, first, count, reason}`.

use std::net::SocketAddr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bson::{Bson, RawArray, RawDocument};
use eventcast::{MessageSeq, SenderId};
use serde::Serialize;

/// The MCAP header's profile of an eventcast recording.
pub const PROFILE: &str = "eventcast";

/// The message encoding of event channels.
pub const MESSAGE_ENCODING: &str = "bson";

/// The channel metadata key that says what a channel carries: `event` or
/// `loss`.
pub const KIND_KEY: &str = "eventcast.kind";

/// [`KIND_KEY`]'s value on event channels.
pub const KIND_EVENT: &str = "event";

/// [`KIND_KEY`]'s value on the loss channel.
pub const KIND_LOSS: &str = "loss";

/// The topic of the channel of reported losses.
pub const LOSS_TOPIC: &str = "eventcast.loss";

/// One event as recorded.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct RecordedEvent {
    /// The event name.
    pub name: String,
    /// Its arguments.
    pub args: Vec<Bson>,
    /// The node that emitted it.
    pub sender: SenderId,
    /// Where it came from; `None` for the recording node's own events.
    pub from: Option<SocketAddr>,
    /// Its number in the sender's stream, when the protocol numbers it.
    pub seq: Option<MessageSeq>,
    /// When the recorder received it.
    pub log_time: SystemTime,
    /// When it was sent, as far as known (the protocol carries no send
    /// time: the receive time).
    pub publish_time: SystemTime,
}

/// Events lost for good, as the protocol reported them to the recorder.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct RecordedLoss {
    /// The sender whose events were lost.
    pub sender: SenderId,
    /// The first message lost.
    pub first: MessageSeq,
    /// How many consecutive messages.
    pub count: u64,
    /// Why, in words.
    pub reason: String,
    /// When the loss was reported.
    pub log_time: SystemTime,
}

/// One record of a recording: an event, or a reported loss.
#[derive(Clone, Debug, PartialEq)]
pub enum Record {
    /// An event.
    Event(RecordedEvent),
    /// A reported loss.
    Loss(RecordedLoss),
}

/// What a record's message header and channel are made of: an event's
/// name, seq and times, or a loss's first seq and time.
pub(crate) enum Meta<'a> {
    Event {
        name: &'a str,
        seq: Option<MessageSeq>,
        log_time: SystemTime,
        publish_time: SystemTime,
    },
    Loss {
        first: MessageSeq,
        log_time: SystemTime,
    },
}

impl Meta<'_> {
    /// An event received at `log_time`, as [`RecordedEvent::received`]
    /// records it.
    pub(crate) fn received(event: &eventcast::Event, log_time: SystemTime) -> Meta<'_> {
        Meta::Event {
            name: event.name(),
            seq: event.seq(),
            log_time,
            publish_time: log_time,
        }
    }
}

impl Record {
    /// Its header's and channel's fields.
    pub(crate) fn meta(&self) -> Meta<'_> {
        match self {
            Record::Event(e) => Meta::Event {
                name: &e.name,
                seq: e.seq,
                log_time: e.log_time,
                publish_time: e.publish_time,
            },
            Record::Loss(l) => l.meta(),
        }
    }

    /// When it was recorded.
    pub fn log_time(&self) -> SystemTime {
        match self {
            Record::Event(e) => e.log_time,
            Record::Loss(l) => l.log_time,
        }
    }
}

impl RecordedEvent {
    /// An event received at `log_time`.
    pub fn received(event: &eventcast::Event, log_time: SystemTime) -> Self {
        Self {
            name: event.name().to_owned(),
            args: event.raw_args().to_vec(),
            sender: event.sender(),
            from: event.from(),
            seq: event.seq(),
            log_time,
            publish_time: log_time,
        }
    }
}

impl RecordedLoss {
    /// Its header's and channel's fields.
    pub(crate) fn meta(&self) -> Meta<'_> {
        Meta::Loss {
            first: self.first,
            log_time: self.log_time,
        }
    }

    /// A loss reported at `log_time`.
    pub fn reported(loss: &eventcast::Loss, log_time: SystemTime) -> Self {
        Self {
            sender: loss.sender,
            first: loss.first,
            count: loss.count,
            reason: loss.reason.to_string(),
            log_time,
        }
    }
}

/// Why a message's data could not be read as eventcast's.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DataError {
    /// Not a BSON body (malformed, too deep, or lacking `name`/`args`).
    #[error(transparent)]
    Body(#[from] eventcast_proto::BodyError),
    /// A field is missing or of the wrong type.
    #[error("field `{0}` is missing or not as eventcast writes it")]
    Field(&'static str),
}

#[derive(Serialize)]
struct EventData<'a> {
    name: &'a str,
    args: ArgsData<'a>,
    sender: String,
    from: Option<String>,
    seq: Option<i64>,
}

/// An event's arguments: decoded values, or a received event's list as
/// it arrived (copied as it is, not decoded and encoded again).
enum ArgsData<'a> {
    Values(&'a [Bson]),
    Kept(&'a RawArray),
}

impl Serialize for ArgsData<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            ArgsData::Values(values) => values.serialize(s),
            ArgsData::Kept(list) => list.serialize(s),
        }
    }
}

#[derive(Serialize)]
struct LossData<'a> {
    sender: String,
    first: i64,
    count: i64,
    reason: &'a str,
}

/// Nanoseconds since the Unix epoch (0 before it, saturating far after).
pub fn nanos(time: SystemTime) -> u64 {
    let since = time.duration_since(UNIX_EPOCH).unwrap_or_default();
    u64::try_from(since.as_nanos()).unwrap_or(u64::MAX)
}

/// The time `nanos` nanoseconds after the Unix epoch.
pub fn time(nanos: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_nanos(nanos)
}

/// `seq` as BSON has it (int64; numbers past i64::MAX saturate).
fn seq_i64(seq: u64) -> i64 {
    i64::try_from(seq).unwrap_or(i64::MAX)
}

/// The message data of a received event: what [`RecordedEvent::received`]
/// of it would be written as, written from the event itself. A list
/// kept as it arrived (`Event::raw_list`) is copied into the data as it
/// is (its keys as the sender wrote them), into a buffer sized for it: a
/// large event is neither decoded nor copied again as the data grows.
pub(crate) fn encode_received(event: &eventcast::Event) -> Result<Vec<u8>, bson::error::Error> {
    let args = match event.raw_list() {
        Some(list) => ArgsData::Kept(list),
        None => ArgsData::Values(event.raw_args()),
    };
    let room = match args {
        // The list, the name, and room for the other fields.
        ArgsData::Kept(list) => list.as_bytes().len() + event.name().len() + 160,
        ArgsData::Values(_) => 0,
    };
    let mut data = Vec::with_capacity(room);
    bson::serialize_to_buffer(
        &EventData {
            name: event.name(),
            args,
            sender: event.sender().to_string(),
            from: event.from().map(|a| a.to_string()),
            seq: event.seq().map(|s| seq_i64(s.get())),
        },
        &mut data,
    )?;
    Ok(data)
}

/// The message data of a loss.
pub(crate) fn encode_loss(loss: &RecordedLoss) -> Result<Vec<u8>, bson::error::Error> {
    bson::serialize_to_vec(&LossData {
        sender: loss.sender.to_string(),
        first: seq_i64(loss.first.get()),
        count: seq_i64(loss.count),
        reason: &loss.reason,
    })
}

/// Reads an event's message data; `log_time` and `publish_time` come from
/// the message header.
pub(crate) fn decode_event(
    data: &[u8],
    log_time: u64,
    publish_time: u64,
) -> Result<RecordedEvent, DataError> {
    // Checks the depth and the shape before anything is materialised.
    let (name, args) = eventcast_proto::decode_body(data)?;
    let doc = RawDocument::from_bytes(data).map_err(|_| DataError::Field("sender"))?;
    let sender = sender_of(doc)?;
    let from = match doc.get("from") {
        Ok(Some(bson::RawBsonRef::String(text))) => {
            Some(text.parse().map_err(|_| DataError::Field("from"))?)
        }
        Ok(Some(bson::RawBsonRef::Null)) | Ok(None) => None,
        _ => return Err(DataError::Field("from")),
    };
    let seq = match doc.get("seq") {
        Ok(Some(bson::RawBsonRef::Int64(n))) => Some(MessageSeq::new(unsigned(n, "seq")?)),
        Ok(Some(bson::RawBsonRef::Null)) | Ok(None) => None,
        _ => return Err(DataError::Field("seq")),
    };
    Ok(RecordedEvent {
        name,
        args,
        sender,
        from,
        seq,
        log_time: time(log_time),
        publish_time: time(publish_time),
    })
}

/// Reads a loss's message data.
pub(crate) fn decode_loss(data: &[u8], log_time: u64) -> Result<RecordedLoss, DataError> {
    let doc = RawDocument::from_bytes(data).map_err(|_| DataError::Field("sender"))?;
    let int = |key: &'static str| match doc.get(key) {
        Ok(Some(bson::RawBsonRef::Int64(n))) => unsigned(n, key),
        _ => Err(DataError::Field(key)),
    };
    let reason = match doc.get("reason") {
        Ok(Some(bson::RawBsonRef::String(text))) => text.to_owned(),
        _ => return Err(DataError::Field("reason")),
    };
    Ok(RecordedLoss {
        sender: sender_of(doc)?,
        first: MessageSeq::new(int("first")?),
        count: int("count")?,
        reason,
        log_time: time(log_time),
    })
}

fn sender_of(doc: &RawDocument) -> Result<SenderId, DataError> {
    match doc.get("sender") {
        Ok(Some(bson::RawBsonRef::String(text))) => {
            text.parse().map_err(|_| DataError::Field("sender"))
        }
        _ => Err(DataError::Field("sender")),
    }
}

fn unsigned(n: i64, key: &'static str) -> Result<u64, DataError> {
    u64::try_from(n).map_err(|_| DataError::Field(key))
}

#[cfg(test)]
mod tests {
    use super::*;
    use bson::doc;

    /// The message data of a recorded event (the recorder writes
    /// received events with `encode_received`, which gives the same).
    fn encode_event(event: &RecordedEvent) -> Result<Vec<u8>, bson::error::Error> {
        bson::serialize_to_vec(&EventData {
            name: &event.name,
            args: ArgsData::Values(&event.args),
            sender: event.sender.to_string(),
            from: event.from.map(|a| a.to_string()),
            seq: event.seq.map(|s| seq_i64(s.get())),
        })
    }

    fn event() -> RecordedEvent {
        RecordedEvent {
            name: "greet".into(),
            args: vec![
                Bson::from("hi"),
                Bson::Int32(5),
                Bson::Document(doc! {"a": 1}),
            ],
            sender: SenderId::new(0x1f2e_3d4c_5b6a_7980),
            from: Some("10.0.0.7:41234".parse().unwrap()),
            seq: Some(MessageSeq::new(42)),
            log_time: time(1_700_000_000_123_456_789),
            publish_time: time(1_700_000_000_123_456_789),
        }
    }

    #[test]
    fn an_event_round_trips_and_its_data_is_a_body() {
        let e = event();
        let data = encode_event(&e).unwrap();
        let (name, args) = eventcast_proto::decode_body(&data).unwrap();
        assert_eq!((name.as_str(), &args), ("greet", &e.args));
        let back = decode_event(&data, nanos(e.log_time), nanos(e.publish_time)).unwrap();
        assert_eq!(back, e);
        let local = RecordedEvent {
            from: None,
            seq: None,
            ..e
        };
        let data = encode_event(&local).unwrap();
        assert_eq!(decode_event(&data, 1, 1).unwrap().from, None);
    }

    #[test]
    fn a_loss_round_trips() {
        let l = RecordedLoss {
            sender: SenderId::new(7),
            first: MessageSeq::new(10),
            count: 3,
            reason: "no progress for message_ttl".into(),
            log_time: time(5),
        };
        let data = encode_loss(&l).unwrap();
        assert_eq!(decode_loss(&data, 5).unwrap(), l);
    }

    #[test]
    fn foreign_data_is_an_error_not_a_panic() {
        for data in [
            &b""[..],
            b"{\"name\":\"x\"}",
            &bson::serialize_to_vec(&doc! {"name": "x", "args": []}).unwrap(),
            &bson::serialize_to_vec(&doc! {"name": "x", "args": [], "sender": 5}).unwrap(),
            &bson::serialize_to_vec(&doc! {"name": "x", "args": [], "sender": "zz"}).unwrap(),
        ] {
            assert!(decode_event(data, 0, 0).is_err());
            assert!(decode_loss(data, 0).is_err());
        }
        let data = bson::serialize_to_vec(
            &doc! {"name": "x", "args": [], "sender": "0000000000000001", "seq": -1i64},
        )
        .unwrap();
        assert!(matches!(
            decode_event(&data, 0, 0),
            Err(DataError::Field("seq"))
        ));
    }
}
