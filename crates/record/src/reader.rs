//! [`Reader`]: the records of a recording, in file order, streamed.
//!
//! It reads with the `mcap` crate's streaming reader, so memory follows the
//! largest chunk, not the file. A file cut short (a recorder killed, a disk
//! full) gives every record of its complete chunks, then ends, with the
//! reason in [`ReaderStats::truncated`]. Messages of channels eventcast did
//! not write (another encoding) and messages it cannot read are skipped and
//! counted, never a panic.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use eventcast::EventFilter;
use mcap::sans_io::SummaryReadEvent;

use crate::error::Error;
use crate::format::{self, Record, KIND_EVENT, KIND_KEY, KIND_LOSS, MESSAGE_ENCODING};

/// The first bytes of every MCAP file.
const MAGIC: &[u8; 8] = b"\x89MCAP0\r\n";

/// What a [`Reader`] skipped, and whether the file was whole.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ReaderStats {
    /// Records read (events and losses).
    pub records: u64,
    /// Events of eventcast's channels that the filter left out (not read).
    pub filtered_out: u64,
    /// Messages of channels eventcast does not write, by `TOPIC (ENCODING)`.
    pub foreign: BTreeMap<String, u64>,
    /// Messages of eventcast channels whose data could not be read.
    pub unreadable: u64,
    /// Set when the file ends early or breaks off: what the `mcap` reader
    /// said. Every record before that point was read.
    pub truncated: Option<String>,
}

impl ReaderStats {
    /// Messages of other programs' channels, in all.
    pub fn foreign_messages(&self) -> u64 {
        self.foreign.values().sum()
    }
}

/// A recording's extent, from its summary (absent in a file cut short).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct RecordingInfo {
    /// Messages in the file, losses included.
    pub messages: u64,
    /// The earliest log time.
    pub start: SystemTime,
    /// The latest log time.
    pub end: SystemTime,
}

/// Reads the records of one recording.
pub struct Reader {
    path: PathBuf,
    messages: mcap::io::MessageReader<BufReader<File>>,
    filter: Option<EventFilter>,
    stats: ReaderStats,
    /// The log time of the first message read, of any channel.
    first: Option<SystemTime>,
    done: bool,
}

/// The longest record read from a file of `len` bytes, so that a length
/// field of a damaged or forged file cannot make the reader allocate what
/// it claims (`mcap` otherwise reserves a record's claimed length before
/// reading it). A record outside a chunk cannot be longer than its file; one
/// inside a compressed chunk can, as can the chunk's uncompressed size, and
/// is allowed up to an event of the default `max_message_size` (64 MiB)
/// with room for its name and fields.
fn record_length_limit(len: u64) -> usize {
    const LARGEST_DEFAULT_EVENT: usize = 64 * 1024 * 1024 + 1024 * 1024;
    usize::try_from(len)
        .unwrap_or(usize::MAX)
        .max(LARGEST_DEFAULT_EVENT)
}

impl Reader {
    /// Opens `path`; fails when it cannot be read or is not MCAP.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, Error> {
        let path = path.as_ref();
        let mut file = File::open(path).map_err(|e| Error::io(path, "cannot open", e))?;
        let mut magic = [0u8; 8];
        let mut got = 0;
        while got < magic.len() {
            match file.read(&mut magic[got..]) {
                Ok(0) => break,
                Ok(n) => got += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(Error::io(path, "cannot read", e)),
            }
        }
        if &magic[..got] != MAGIC {
            return Err(Error::NotMcap {
                path: path.to_owned(),
            });
        }
        let file = File::open(path).map_err(|e| Error::io(path, "cannot open", e))?;
        let len = file
            .metadata()
            .map_err(|e| Error::io(path, "cannot read", e))?
            .len();
        let options = mcap::sans_io::LinearReaderOptions::default()
            .with_record_length_limit(record_length_limit(len));
        Ok(Self {
            path: path.to_owned(),
            messages: mcap::io::MessageReader::new_with_options(
                BufReader::with_capacity(256 * 1024, file),
                options,
            ),
            filter: None,
            stats: ReaderStats::default(),
            first: None,
            done: false,
        })
    }

    /// Gives only the events this filter matches (losses still come).
    pub fn with_filter(mut self, filter: Option<EventFilter>) -> Self {
        self.filter = filter;
        self
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// What was read and skipped so far.
    pub fn stats(&self) -> &ReaderStats {
        &self.stats
    }

    /// The log time of the first message read so far, of any channel
    /// (those the filter leaves out and other programs' included): the
    /// recording's start when it has no summary to say so.
    pub fn first_log_time(&self) -> Option<SystemTime> {
        self.first
    }

    /// The recording's extent from the summary at the end of the file;
    /// `None` when it has none (cut short, or written without one).
    pub fn info(path: impl AsRef<Path>) -> Result<Option<RecordingInfo>, Error> {
        use std::io::Seek as _;
        let path = path.as_ref();
        let mut file = File::open(path).map_err(|e| Error::io(path, "cannot open", e))?;
        let mut reader = mcap::sans_io::SummaryReader::new();
        while let Some(event) = reader.next_event() {
            let step = match event {
                Ok(SummaryReadEvent::ReadRequest(need)) => file
                    .read(reader.insert(need))
                    .map(|n| reader.notify_read(n)),
                Ok(SummaryReadEvent::SeekRequest(to)) => match file.seek(to) {
                    // Before the start: a file too short for a footer.
                    Err(e) if e.kind() == std::io::ErrorKind::InvalidInput => return Ok(None),
                    seeked => seeked.map(|pos| reader.notify_seeked(pos)),
                },
                // No summary, or a broken one: nothing to tell.
                Err(_) => return Ok(None),
            };
            step.map_err(|e| Error::io(path, "cannot read", e))?;
        }
        Ok(reader.finish().and_then(|summary| {
            summary.stats.map(|stats| RecordingInfo {
                messages: stats.message_count,
                start: format::time(stats.message_start_time),
                end: format::time(stats.message_end_time),
            })
        }))
    }

    /// The next record, skipping what is not eventcast's.
    fn next_record(&mut self) -> Option<Record> {
        while !self.done {
            let message = match self.messages.next() {
                Some(Ok(message)) => message,
                Some(Err(e)) => {
                    self.done = true;
                    self.stats.truncated = Some(e.to_string());
                    return None;
                }
                None => {
                    self.done = true;
                    return None;
                }
            };
            self.first.get_or_insert(format::time(message.log_time));
            let channel = &message.channel;
            let kind = channel.metadata.get(KIND_KEY).map(String::as_str);
            let record = match (channel.message_encoding.as_str(), kind) {
                (MESSAGE_ENCODING, Some(KIND_EVENT)) => {
                    if self
                        .filter
                        .as_ref()
                        .is_some_and(|f| !f.matches(&channel.topic))
                    {
                        self.stats.filtered_out += 1;
                        continue;
                    }
                    format::decode_event(&message.data, message.log_time, message.publish_time)
                        .map(Record::Event)
                }
                (MESSAGE_ENCODING, Some(KIND_LOSS)) => {
                    format::decode_loss(&message.data, message.log_time).map(Record::Loss)
                }
                (encoding, _) => {
                    let key = format!("{} ({encoding})", channel.topic);
                    *self.stats.foreign.entry(key).or_default() += 1;
                    continue;
                }
            };
            match record {
                Ok(record) => {
                    self.stats.records += 1;
                    return Some(record);
                }
                Err(e) => {
                    tracing::debug!(target: "eventcast", topic = %channel.topic, "unreadable message: {e}");
                    self.stats.unreadable += 1;
                }
            }
        }
        None
    }
}

impl Iterator for Reader {
    type Item = Record;

    fn next(&mut self) -> Option<Record> {
        self.next_record()
    }
}
