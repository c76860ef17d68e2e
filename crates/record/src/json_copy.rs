//! A JSON copy of a recording, for tools that do not read BSON: Foxglove
//! Studio opens schemaless `json` channels.

use std::fs::File;
use std::io::{BufWriter, Write as _};
use std::path::Path;

use eventcast::EventFilter;

use crate::error::Error;
use crate::format::Record;
use crate::json::RecordedEventJson;
use crate::mcap_writer::{self, Channels};
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
    if same_file(input, output) {
        return Err(Error::SameFile {
            path: output.to_owned(),
        });
    }
    let file = File::create(output).map_err(|e| Error::io(output, "cannot create", e))?;
    let mut writer = mcap_writer::write_options()
        .profile("")
        .create(BufWriter::new(file))
        .map_err(|e| Error::mcap(output, "cannot write", e))?;
    let mut channels = Channels::new("json");
    let mut stats = JsonCopyStats::default();
    for record in reader.by_ref() {
        let data = match &record {
            Record::Event(e) => RecordedEventJson(e).to_line(),
            Record::Loss(l) => serde_json::json!({
                "sender": l.sender.to_string(),
                "first": l.first.get(),
                "count": l.count,
                "reason": l.reason,
            })
            .to_string(),
        };
        let meta = record.meta();
        let (channel_id, _) = channels.id(&mut writer, output, &meta)?;
        writer
            .write_to_known_channel(&mcap_writer::header(&meta, channel_id), data.as_bytes())
            .map_err(|e| Error::mcap(output, "cannot write", e))?;
        match record {
            Record::Event(_) => stats.events += 1,
            Record::Loss(_) => stats.losses += 1,
        }
    }
    writer
        .finish()
        .map_err(|e| Error::mcap(output, "cannot finish", e))?;
    writer
        .into_inner()
        .flush()
        .map_err(|e| Error::io(output, "cannot write", e))?;
    stats.reader = reader.stats().clone();
    Ok(stats)
}

/// Whether `output` exists and is the file `input` is (a hard link or a
/// symbolic link to it included, on Unix).
fn same_file(input: &Path, output: &Path) -> bool {
    let (Ok(a), Ok(b)) = (std::fs::metadata(input), std::fs::metadata(output)) else {
        return false;
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt as _;
        a.dev() == b.dev() && a.ino() == b.ino()
    }
    #[cfg(not(unix))]
    {
        let _ = (a, b);
        matches!(
            (std::fs::canonicalize(input), std::fs::canonicalize(output)),
            (Ok(x), Ok(y)) if x == y
        )
    }
}
