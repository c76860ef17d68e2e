//! A JSON copy of a recording, for tools that do not read BSON: Foxglove
//! Studio opens schemaless `json` channels.

use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::io::{BufWriter, Write as _};
use std::path::{Path, PathBuf};

use eventcast::EventFilter;
use mcap::records::MessageHeader;

use crate::error::Error;
use crate::format::{self, Record, KIND_EVENT, KIND_KEY, KIND_LOSS, LOSS_TOPIC};
use crate::json::RecordedEventJson;
use crate::reader::{Reader, ReaderStats};

/// What [`write_json_copy`] wrote.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct JsonCopyStats {
    /// Events written.
    pub events: u64,
    /// Loss reports written.
    pub losses: u64,
    /// What the reader skipped.
    pub reader: ReaderStats,
}

/// Copies the recording at `input` to `output` with JSON-encoded,
/// schemaless channels: one per event name, each message `cat`'s line
/// (`{"event", "args", "sender", "from", "time"}`), losses on
/// `eventcast.loss` as `{"sender", "first", "count", "reason"}`.
pub fn write_json_copy(
    input: &Path,
    output: &Path,
    filter: Option<EventFilter>,
) -> Result<JsonCopyStats, Error> {
    let mut reader = Reader::open(input)?.with_filter(filter);
    let file = File::create(output).map_err(|e| Error::io(output, "cannot create", e))?;
    let mut writer = mcap::WriteOptions::new()
        .profile("")
        .library(concat!("eventcast-record ", env!("CARGO_PKG_VERSION")))
        .compression(Some(mcap::Compression::Zstd))
        .compression_threads(0)
        .create(BufWriter::new(file))
        .map_err(|e| Error::mcap(output, "cannot write", e))?;
    let mut channels: HashMap<String, u16> = HashMap::new();
    let mut stats = JsonCopyStats::default();
    let out = PathBuf::from(output);
    for record in reader.by_ref() {
        let (topic, kind, data, sequence) = match &record {
            Record::Event(e) => (
                e.name.as_str(),
                KIND_EVENT,
                RecordedEventJson(e).to_line(),
                e.seq.map_or(0, |s| s.get() as u32),
            ),
            Record::Loss(l) => (
                LOSS_TOPIC,
                KIND_LOSS,
                serde_json::json!({
                    "sender": l.sender.to_string(),
                    "first": l.first.get(),
                    "count": l.count,
                    "reason": l.reason,
                })
                .to_string(),
                l.first.get() as u32,
            ),
        };
        let key = format!("{kind}\0{topic}");
        let channel_id = match channels.get(&key) {
            Some(&id) => id,
            None => {
                let metadata = BTreeMap::from([(KIND_KEY.to_owned(), kind.to_owned())]);
                let id = writer
                    .add_channel(0, topic, "json", &metadata)
                    .map_err(|e| Error::mcap(&out, "cannot write", e))?;
                channels.insert(key, id);
                id
            }
        };
        let log_time = format::nanos(record.log_time());
        let header = MessageHeader {
            channel_id,
            sequence,
            log_time,
            publish_time: log_time,
        };
        writer
            .write_to_known_channel(&header, data.as_bytes())
            .map_err(|e| Error::mcap(&out, "cannot write", e))?;
        match record {
            Record::Event(_) => stats.events += 1,
            Record::Loss(_) => stats.losses += 1,
        }
    }
    writer
        .finish()
        .map_err(|e| Error::mcap(&out, "cannot finish", e))?;
    writer
        .into_inner()
        .flush()
        .map_err(|e| Error::io(output, "cannot write", e))?;
    stats.reader = reader.stats().clone();
    Ok(stats)
}
