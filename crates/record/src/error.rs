//! What can go wrong while recording, reading or playing.

use std::path::{Path, PathBuf};
use std::time::Duration;

/// An error of the recorder, the reader or the player.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The file system refused.
    #[error("{context} {}: {source}", path.display())]
    Io {
        /// What was being done (`cannot create`, `cannot read`).
        context: &'static str,
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The `mcap` crate refused to write or read.
    #[error("{context} {}: {source}", path.display())]
    Mcap {
        /// What was being done.
        context: &'static str,
        /// The file.
        path: PathBuf,
        /// The cause.
        source: mcap::McapError,
    },
    /// The file is not MCAP at all.
    #[error("{} is not an MCAP file (it does not start with MCAP's magic bytes)", path.display())]
    NotMcap {
        /// The file.
        path: PathBuf,
    },
    /// An event could not be encoded (a value BSON cannot hold).
    #[error("cannot encode an event as BSON: {0}")]
    Encode(String),
    /// `max_bytes` below what one file needs.
    #[error("max_bytes {max} is too small: a file needs at least {min} bytes")]
    MaxBytesTooSmall {
        /// What was asked.
        max: u64,
        /// The least accepted.
        min: u64,
    },
    /// The node refused an event while playing.
    #[error("cannot emit {name:?}: {source}")]
    Emit {
        /// The event name.
        name: String,
        /// Why.
        source: eventcast::Error,
    },
    /// A speed that is negative or not a number.
    #[error("speed {0} is not 0 or more")]
    BadSpeed(f64),
    /// At this speed, the next event is further away than a clock can
    /// count (a speed very close to 0).
    #[error(
        "at speed {speed}, the event {offset:?} into the recording is too far away to wait for"
    )]
    TooFar {
        /// The event's time from the start of the recording.
        offset: Duration,
        /// The speed asked for.
        speed: f64,
    },
    /// The writer thread could not be started or ended abnormally.
    #[error("the recorder's writer thread {0}")]
    Thread(&'static str),
    /// A copy's output is its input: writing it would empty the recording
    /// before it is read.
    #[error("{} is the recording being copied: give the copy another path", path.display())]
    SameFile {
        /// The output path given.
        path: PathBuf,
    },
}

impl Error {
    pub(crate) fn io(path: &Path, context: &'static str, source: std::io::Error) -> Self {
        Error::Io {
            context,
            path: path.to_owned(),
            source,
        }
    }

    pub(crate) fn mcap(path: &Path, context: &'static str, source: mcap::McapError) -> Self {
        match source {
            mcap::McapError::Io(io) => Error::io(path, context, io),
            source => Error::Mcap {
                context,
                path: path.to_owned(),
                source,
            },
        }
    }
}
