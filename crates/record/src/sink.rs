//! The MCAP files of a recording: one open writer, its channels, the
//! chunk boundaries, and the move to the next file at `max_bytes`.
//!
//! Chunks are cut here, not by the `mcap` writer: at [`CHUNK_BYTES`] of
//! messages or when the recorder asks (once a second), so that a crash
//! loses at most the chunk being filled, and so that the size of the file
//! is known before each message is written. Near `max_bytes` the chunk
//! being filled (counted uncompressed) is also cut before the file is
//! called full, so that the file holds what fits once compressed.

use std::collections::HashSet;
use std::fs::File;
use std::io::{self, BufWriter, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use crate::error::Error;
use crate::format::{self, Meta, MESSAGE_ENCODING};
use crate::mcap_writer::{self, Channels};

/// Uncompressed bytes of messages per chunk.
pub(crate) const CHUNK_BYTES: u64 = 1024 * 1024;

/// The smallest `max_bytes` accepted: room for the header, a chunk and the
/// summary.
pub const MIN_MAX_BYTES: u64 = 64 * 1024;

/// Room kept for the summary and the footer, per channel and in all.
/// A channel record without its topic: opcode, length, ids, the topic's
/// and encoding's lengths, `bson`, and the metadata map naming its kind
/// (about 60 bytes, rounded up). It is written twice, into the chunk
/// being filled and into the summary, where the statistics also count
/// the channel's messages ([`CHANNEL_STATS_BYTES`]).
const CHANNEL_BYTES: u64 = 80;
/// A channel's entry in the summary's statistics: its id and count.
const CHANNEL_STATS_BYTES: u64 = 10;
const SUMMARY_BYTES: u64 = 4096;

/// The summary's index of each chunk: its chunk index record without its
/// map of channels (opcode, length, times, offsets, sizes, `zstd`: 77
/// bytes, rounded up)...
const CHUNK_INDEX_BYTES: u64 = 96;
/// ... and, per channel with messages in the chunk, its entry in that map.
const CHUNK_INDEX_PER_CHANNEL: u64 = 10;
/// The message index record of a channel, after its chunk (without its
/// 16 bytes per message, counted with each message).
const MESSAGE_INDEX_BYTES: u64 = 15;

/// What a file writes through: a file that counts its bytes.
struct Counted {
    file: BufWriter<File>,
    /// The end of what was written (the writer seeks back to patch),
    /// shared with [`Open`]: the `mcap` writer owns this.
    len: Arc<AtomicU64>,
    pos: u64,
}

impl Write for Counted {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.file.write(buf)?;
        self.pos += n as u64;
        self.len.fetch_max(self.pos, Ordering::Relaxed);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

impl Seek for Counted {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        self.pos = self.file.seek(to)?;
        Ok(self.pos)
    }
}

/// One open file.
struct Open {
    path: PathBuf,
    writer: mcap::Writer<Counted>,
    len: Arc<AtomicU64>,
    channels: Channels,
    /// Uncompressed bytes in the chunk being filled.
    pending: u64,
    /// The channels with messages in the chunk being filled.
    chunk_channels: HashSet<u16>,
    /// Bytes the summary will take for the channels added so far.
    channel_bytes: u64,
    /// Bytes the summary will take to index the chunks written so far.
    indexes: u64,
    /// Records written into this file.
    messages: u64,
}

/// The files a recording writes.
pub(crate) struct Sink {
    path: PathBuf,
    max_bytes: Option<u64>,
    split: bool,
    open: Option<Open>,
    /// Every file opened, in order, with its final size once closed.
    files: Vec<(PathBuf, u64)>,
}

/// What [`Sink::write`] did.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Written {
    /// The record is in the file.
    Done,
    /// The file is full and no other may start (no `split`): the record
    /// was not written and the recording is over.
    Full,
}

/// Removes the later files of an earlier recording at `path`
/// (`STEM.0001.EXT`, ... as long as they follow each other and are files
/// or links, not directories): the new recording has replaced the file at
/// `path`, and those would be taken for its own. The last goes first, so
/// that what a failure leaves is still a recording's first files. Returns
/// the files removed, in order.
fn remove_stale_parts(path: &Path) -> Result<Vec<PathBuf>, Error> {
    let stale = (1..)
        .map(|index| Sink::part_path(path, index))
        .take_while(|part| part.symlink_metadata().is_ok_and(|m| !m.is_dir()))
        .collect::<Vec<_>>();
    for part in stale.iter().rev() {
        std::fs::remove_file(part).map_err(|e| {
            Error::io(
                part,
                "cannot remove a later file of the recording replaced",
                e,
            )
        })?;
    }
    Ok(stale)
}

impl Sink {
    /// Creates the first file at `path`. If it replaced a file, also
    /// removes the later files of the earlier recording there (see
    /// [`remove_stale_parts`]), once the new file exists: a path that
    /// cannot be created removes nothing. Returns the sink and the files
    /// removed, in order. (`max_bytes` is checked before:
    /// `RecorderOptions::check`.)
    pub(crate) fn create(
        path: &Path,
        max_bytes: Option<u64>,
        split: bool,
    ) -> Result<(Self, Vec<PathBuf>), Error> {
        let replaces = path.is_file();
        let mut sink = Self {
            path: path.to_owned(),
            max_bytes,
            split,
            open: None,
            files: Vec::new(),
        };
        sink.open_next()?;
        let removed = if replaces {
            remove_stale_parts(path)?
        } else {
            Vec::new()
        };
        Ok((sink, removed))
    }

    /// The name of file number `index` (0: the path given; then
    /// `STEM.0001.EXT`, ...).
    pub(crate) fn part_path(path: &Path, index: usize) -> PathBuf {
        if index == 0 {
            return path.to_owned();
        }
        let stem = path.file_stem().unwrap_or_default().to_string_lossy();
        let name = match path.extension() {
            Some(ext) => format!("{stem}.{index:04}.{}", ext.to_string_lossy()),
            None => format!("{stem}.{index:04}"),
        };
        path.with_file_name(name)
    }

    fn open_next(&mut self) -> Result<(), Error> {
        let path = Self::part_path(&self.path, self.files.len());
        let file = File::create(&path).map_err(|e| Error::io(&path, "cannot create", e))?;
        let len = Arc::new(AtomicU64::new(0));
        let counted = Counted {
            file: BufWriter::with_capacity(256 * 1024, file),
            len: Arc::clone(&len),
            pos: 0,
        };
        let options = mcap_writer::write_options()
            .profile(format::PROFILE)
            .chunk_size(None);
        let writer = options
            .create(counted)
            .map_err(|e| Error::mcap(&path, "cannot write", e))?;
        self.files.push((path.clone(), 0));
        self.open = Some(Open {
            path,
            writer,
            len,
            channels: Channels::new(MESSAGE_ENCODING),
            pending: 0,
            chunk_channels: HashSet::new(),
            channel_bytes: 0,
            indexes: 0,
            messages: 0,
        });
        Ok(())
    }

    /// Writes one record, the one `meta` describes with its message data
    /// `data` (as encoded, or why it was not), moving to the next file
    /// first when this one would grow past `max_bytes`.
    pub(crate) fn write(
        &mut self,
        meta: &Meta<'_>,
        data: Result<Vec<u8>, bson::error::Error>,
    ) -> Result<Written, Error> {
        let Some(open) = self.open.as_mut() else {
            return Ok(Written::Full);
        };
        let data = data.map_err(|e| Error::Encode(e.to_string()))?;
        if let Some(max) = self.max_bytes {
            // A channel new to the file goes into the chunk too.
            let new_topic = open.channels.new_topic(meta).map(|len| len as u64);
            let more = data.len() as u64 + 64 + new_topic.map_or(0, |t| CHANNEL_BYTES + t);
            // The chunk being filled is counted uncompressed: compressed,
            // it may leave room for this record.
            if open.estimate(more, new_topic) > max && open.pending > 0 {
                open.flush()?;
            }
            if open.estimate(more, new_topic) > max && open.messages > 0 {
                self.close_current()?;
                if !self.split {
                    return Ok(Written::Full);
                }
                self.open_next()?;
            }
        }
        let Some(open) = self.open.as_mut() else {
            return Ok(Written::Full);
        };
        open.write(meta, &data)?;
        if open.pending >= CHUNK_BYTES {
            open.flush()?;
        }
        Ok(Written::Done)
    }

    /// Ends the chunk being filled and hands it to the operating system.
    pub(crate) fn flush(&mut self) -> Result<(), Error> {
        match self.open.as_mut() {
            Some(open) if open.pending > 0 => open.flush(),
            _ => Ok(()),
        }
    }

    /// Bytes in every file so far.
    pub(crate) fn bytes(&self) -> u64 {
        let closed: u64 = self.files.iter().map(|(_, len)| len).sum();
        closed + self.open.as_ref().map_or(0, |o| o.writer_len())
    }

    /// Writes the summary of the open file and closes it; returns every
    /// file with its size.
    pub(crate) fn finish(mut self) -> Result<Vec<(PathBuf, u64)>, Error> {
        self.close_current()?;
        Ok(self.files)
    }

    fn close_current(&mut self) -> Result<(), Error> {
        let Some(mut open) = self.open.take() else {
            return Ok(());
        };
        let path = open.path.clone();
        open.writer
            .finish()
            .map_err(|e| Error::mcap(&path, "cannot finish", e))?;
        let mut counted = open.writer.into_inner();
        counted
            .flush()
            .map_err(|e| Error::io(&path, "cannot write", e))?;
        if let Some(last) = self.files.last_mut() {
            last.1 = open.len.load(Ordering::Relaxed);
        }
        Ok(())
    }
}

impl Open {
    fn writer_len(&self) -> u64 {
        self.len.load(Ordering::Relaxed)
    }

    /// The file's size, at most, once `more` bytes of message are added
    /// (a new channel's record included, its topic `new_topic` bytes long)
    /// and it is finished: what is written, the chunk being filled (zstd
    /// can grow incompressible data a little) with its message indexes,
    /// the summary with every channel and an index of every chunk.
    fn estimate(&self, more: u64, new_topic: Option<u64>) -> u64 {
        let chunk = self.pending + more;
        // The record's channel may be new to the chunk.
        let chunk_channels = self.chunk_channels.len() as u64 + 1;
        let chunk_index =
            CHUNK_INDEX_BYTES + chunk_channels * (CHUNK_INDEX_PER_CHANNEL + MESSAGE_INDEX_BYTES);
        let channels =
            self.channel_bytes + new_topic.map_or(0, |t| CHANNEL_BYTES + t + CHANNEL_STATS_BYTES);
        self.writer_len()
            + chunk
            + chunk / 64
            + 256
            + chunk_index
            + self.indexes
            + SUMMARY_BYTES
            + channels
    }

    fn write(&mut self, meta: &Meta<'_>, data: &[u8]) -> Result<(), Error> {
        let (channel_id, added) = self.channels.id(&mut self.writer, &self.path, meta)?;
        if let Some(topic) = added {
            // Its record went into the chunk, and goes into the summary.
            let record = CHANNEL_BYTES + topic as u64;
            self.pending += record;
            self.channel_bytes += record + CHANNEL_STATS_BYTES;
        }
        self.writer
            .write_to_known_channel(&mcap_writer::header(meta, channel_id), data)
            .map_err(|e| Error::mcap(&self.path, "cannot write", e))?;
        // Its header (31 bytes) and its entry in the message index (16).
        self.pending += data.len() as u64 + 48;
        self.chunk_channels.insert(channel_id);
        self.messages += 1;
        Ok(())
    }

    fn flush(&mut self) -> Result<(), Error> {
        self.writer
            .flush()
            .map_err(|e| Error::mcap(&self.path, "cannot write", e))?;
        self.indexes +=
            CHUNK_INDEX_BYTES + self.chunk_channels.len() as u64 * CHUNK_INDEX_PER_CHANNEL;
        self.chunk_channels.clear();
        self.pending = 0;
        Ok(())
    }
}
