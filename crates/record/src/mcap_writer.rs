//! What every MCAP file this crate writes shares, recordings and JSON
//! copies alike: the writer's options, the channels (one per event name,
//! one for losses) and a record's message header.

use std::collections::{BTreeMap, HashMap};
use std::io::{Seek, Write};
use std::path::Path;

use mcap::records::MessageHeader;

use crate::error::Error;
use crate::format::{self, Meta, KIND_EVENT, KIND_KEY, KIND_LOSS, LOSS_TOPIC};

/// The options of every file written: this library's name, zstd chunks
/// compressed on the writer's thread (the other cores stay the node's).
/// The caller sets the profile.
pub(crate) fn write_options() -> mcap::WriteOptions {
    mcap::WriteOptions::new()
        .library(concat!("eventcast-record ", env!("CARGO_PKG_VERSION")))
        .compression(Some(mcap::Compression::Zstd))
        .compression_threads(0)
}

/// The channels of one file: one per event name, one for losses, each
/// added when its first record is written.
pub(crate) struct Channels {
    /// The message encoding of every channel.
    encoding: &'static str,
    /// Channel ids by event name.
    events: HashMap<String, u16>,
    loss: Option<u16>,
}

impl Channels {
    /// No channels yet; each will carry messages in `encoding`.
    pub(crate) fn new(encoding: &'static str) -> Self {
        Self {
            encoding,
            events: HashMap::new(),
            loss: None,
        }
    }

    /// The length of the topic of the record `meta` describes if its
    /// channel is not in the file yet (the next [`id`](Self::id) adds it).
    pub(crate) fn new_topic(&self, meta: &Meta<'_>) -> Option<usize> {
        match meta {
            Meta::Event { name, .. } => (!self.events.contains_key(*name)).then_some(name.len()),
            Meta::Loss { .. } => self.loss.is_none().then_some(LOSS_TOPIC.len()),
        }
    }

    /// The id of the channel of the record `meta` describes in `writer`
    /// (the file at `path`), added now if it is the first of its channel;
    /// then with the length of its topic, whose record was written.
    pub(crate) fn id<W: Write + Seek>(
        &mut self,
        writer: &mut mcap::Writer<W>,
        path: &Path,
        meta: &Meta<'_>,
    ) -> Result<(u16, Option<usize>), Error> {
        let (topic, kind) = match meta {
            Meta::Event { name, .. } => {
                if let Some(&id) = self.events.get(*name) {
                    return Ok((id, None));
                }
                (*name, KIND_EVENT)
            }
            Meta::Loss { .. } => {
                if let Some(id) = self.loss {
                    return Ok((id, None));
                }
                (LOSS_TOPIC, KIND_LOSS)
            }
        };
        let metadata = BTreeMap::from([(KIND_KEY.to_owned(), kind.to_owned())]);
        let id = writer
            .add_channel(0, topic, self.encoding, &metadata)
            .map_err(|e| Error::mcap(path, "cannot write", e))?;
        match meta {
            Meta::Event { name, .. } => {
                self.events.insert((*name).to_owned(), id);
            }
            Meta::Loss { .. } => self.loss = Some(id),
        }
        Ok((id, Some(topic.len())))
    }
}

/// The header of the message `meta` describes, on `channel_id`: an
/// event's seq (0 without one) or a loss's first seq as the sequence,
/// and its times.
pub(crate) fn header(meta: &Meta<'_>, channel_id: u16) -> MessageHeader {
    let (sequence, log_time, publish_time) = match *meta {
        Meta::Event {
            seq,
            log_time,
            publish_time,
            ..
        } => (seq.map_or(0, |s| s.get() as u32), log_time, publish_time),
        Meta::Loss { first, log_time } => (first.get() as u32, log_time, log_time),
    };
    MessageHeader {
        channel_id,
        sequence,
        log_time: format::nanos(log_time),
        publish_time: format::nanos(publish_time),
    }
}
