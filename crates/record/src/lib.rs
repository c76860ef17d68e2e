//! Record eventcast events into MCAP files, read them back, play them
//! again: what `eventcast record`, `cat` and `play` are built on, as a
//! library for other programs and for the Node and Python packages.
//!
//! - [`Recorder`] takes what a node delivers (every event, or those a
//!   filter matches) and the losses it reports, and writes them on a
//!   thread of its own into chunked, zstd-compressed, indexed MCAP files.
//!   It loses nothing the node delivers: when the writer falls behind, the
//!   node waits.
//! - [`Reader`] streams the records of a recording back; a file cut short
//!   gives every complete chunk; other programs' channels are skipped and
//!   counted.
//! - [`Player`] emits a recording again through a node, at its recorded
//!   pace divided by a speed.
//! - [`write_json_copy`] writes a copy with JSON channels that Foxglove
//!   Studio opens.
//!
//! The layout of a recording is in [`format`](mod@format). Files are written and read
//! with the `mcap` crate.
//!
//! ```no_run
//! # async fn f() -> Result<(), Box<dyn std::error::Error>> {
//! use eventcast_record::{Reader, Record};
//!
//! for record in Reader::open("bus.mcap")? {
//!     if let Record::Event(event) = record {
//!         println!("{} {:?}", event.name, event.args);
//!     }
//! }
//! # Ok(()) }
//! ```
//!
//! Modules, each importing only those before it: `format` and `json`
//! (leaves), `error`, `queue`, `mcap_writer`, `sink`, `reader`,
//! `recorder`, `player`, `json_copy`.

pub mod format;
mod json;

mod error;
mod mcap_writer;
mod queue;
mod sink;

mod json_copy;
mod player;
mod reader;
mod recorder;

pub use error::Error;
pub use format::{DataError, Record, RecordedEvent, RecordedLoss};
pub use json::{rfc3339, RecordedEventJson};
pub use json_copy::{write_json_copy, JsonCopyStats};
pub use player::{PlayOptions, PlayProgress, PlayStats, Player};
pub use reader::{Reader, ReaderStats, RecordingInfo};
pub use recorder::{RecordSummary, Recorder, RecorderOptions, RecorderStats};
pub use sink::MIN_MAX_BYTES;
