//! [`Player`]: a recording emitted again through a node, with its timing.
//!
//! A thread reads the file (blocking reads stay off the runtime) and hands
//! the events over a bounded channel; the player emits each at the
//! recording's gap divided by the speed, waiting for room in the node's
//! send queue rather than failing when it is full.

use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use eventcast::{EventFilter, Eventcast};
use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::error::Error;
use crate::format::{Record, RecordedEvent};
use crate::reader::{Reader, ReaderStats};

/// Events read ahead of the player.
const READ_AHEAD: usize = 1024;

/// How a [`Player`] plays.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct PlayOptions {
    /// Gaps are divided by this: 1 as recorded, 2 twice as fast, 0 as fast
    /// as the node's pacing allows.
    pub speed: f64,
    /// Start this far into the recording (from its first record).
    pub from: Option<Duration>,
    /// Stop this far into the recording.
    pub to: Option<Duration>,
    /// Only events this filter matches.
    pub filter: Option<EventFilter>,
    /// Play again from the start, without end.
    pub repeat: bool,
}

impl Default for PlayOptions {
    fn default() -> Self {
        Self {
            speed: 1.0,
            from: None,
            to: None,
            filter: None,
            repeat: false,
        }
    }
}

/// Where a [`Player`] is, for a progress display.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct PlayProgress {
    /// Events emitted so far, every pass.
    pub emitted: u64,
    /// The offset into the recording of the latest event emitted.
    pub position: Duration,
    /// Which pass (0, then 1, ... with `repeat`).
    pub pass: u64,
}

/// What a finished [`Player::play`] did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct PlayStats {
    /// Events emitted.
    pub emitted: u64,
    /// What the reader skipped, of the last pass.
    pub reader: ReaderStats,
}

/// Plays a recording through a started node.
pub struct Player {
    node: Eventcast,
    path: PathBuf,
    options: PlayOptions,
}

impl Player {
    /// A player of `path` through `node`; checks the options and that the
    /// file is MCAP.
    pub fn new(
        node: &Eventcast,
        path: impl Into<PathBuf>,
        options: PlayOptions,
    ) -> Result<Self, Error> {
        if !(options.speed >= 0.0 && options.speed.is_finite()) {
            return Err(Error::BadSpeed(options.speed));
        }
        let path = path.into();
        Reader::open(&path)?;
        Ok(Self {
            node: node.clone(),
            path,
            options,
        })
    }

    /// Emits the recording (again and again with `repeat`), calling
    /// `progress` after each event.
    pub async fn play(&self, mut progress: impl FnMut(&PlayProgress)) -> Result<PlayStats, Error> {
        let mut stats = PlayStats::default();
        let mut pass = 0;
        loop {
            stats.reader = self
                .play_once(pass, &mut stats.emitted, &mut progress)
                .await?;
            pass += 1;
            if !self.options.repeat || stats.emitted == 0 {
                return Ok(stats);
            }
        }
    }

    async fn play_once(
        &self,
        pass: u64,
        emitted: &mut u64,
        progress: &mut impl FnMut(&PlayProgress),
    ) -> Result<ReaderStats, Error> {
        let reader = Reader::open(&self.path)?.with_filter(self.options.filter.clone());
        let (tx, mut rx) = mpsc::channel(READ_AHEAD);
        let reading = tokio::task::spawn_blocking(move || read_into(reader, &tx));
        let from = self.options.from.unwrap_or_default();
        // Offsets count from the recording's first record: from the summary,
        // else the first message the reader read (with a filter, it may
        // come before the first record it gives). Then the event the pace
        // counts from, and when it was played; and the offset of the latest
        // event played.
        let mut origin = Reader::info(&self.path)?.map(|info| info.start);
        let mut started: Option<(Duration, Instant)> = None;
        let mut latest = Duration::ZERO;
        while let Some(Read {
            first,
            log_time,
            event,
        }) = rx.recv().await
        {
            let origin = *origin.get_or_insert(first);
            let offset = log_time.duration_since(origin).unwrap_or_default();
            let Some(event) = event else { continue };
            if offset < from {
                continue;
            }
            if self.options.to.is_some_and(|to| offset > to) {
                break;
            }
            // Log times can go back (the recorder's clock stepped back,
            // another program's file): an event recorded before the one
            // played before it is due at once, and the pace goes on from it.
            let (first, at) = match started {
                Some(start) if offset >= latest => start,
                _ => *started.insert((offset, Instant::now())),
            };
            latest = offset;
            if self.options.speed > 0.0 {
                let gap = (offset - first).as_secs_f64() / self.options.speed;
                let due = Duration::try_from_secs_f64(gap)
                    .ok()
                    .and_then(|gap| at.checked_add(gap));
                let Some(due) = due else {
                    return Err(Error::TooFar {
                        offset,
                        speed: self.options.speed,
                    });
                };
                tokio::time::sleep_until(due).await;
            }
            self.node
                .emit_list_wait(&event.name, event.args)
                .await
                .map_err(|source| Error::Emit {
                    name: event.name.clone(),
                    source,
                })?;
            *emitted += 1;
            progress(&PlayProgress {
                emitted: *emitted,
                position: offset,
                pass,
            });
        }
        drop(rx);
        reading.await.map_err(|_| Error::Thread("panicked"))
    }
}

/// A record as the reading thread hands it to the player.
struct Read {
    /// The log time of the first message read from the file.
    first: SystemTime,
    /// The record's.
    log_time: SystemTime,
    /// The event; `None` for a loss (sent all the same, for the times).
    event: Option<RecordedEvent>,
}

/// Reads every record into `tx` until the file ends or the player stops
/// listening.
fn read_into(mut reader: Reader, tx: &mpsc::Sender<Read>) -> ReaderStats {
    while let Some(record) = reader.next() {
        let (log_time, event) = match record {
            Record::Event(e) => (e.log_time, Some(e)),
            Record::Loss(l) => (l.log_time, None),
        };
        let first = reader.first_log_time().unwrap_or(log_time);
        let item = Read {
            first,
            log_time,
            event,
        };
        if tx.blocking_send(item).is_err() {
            break;
        }
    }
    reader.stats().clone()
}
