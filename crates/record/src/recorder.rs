//! [`Recorder`]: a node's events into MCAP files, on a thread of its own.
//!
//! The node hands each event to a listener (on the node's task), which
//! stamps it and queues it; a writer thread takes the queue in batches and
//! writes them. Nothing the node delivers is dropped: when the queue holds
//! [`RecorderOptions::queue_bytes`], the listener waits for the writer.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use eventcast::{Event, EventFilter, Eventcast, ListenerId, Notice};
use tokio::sync::watch;

use crate::error::Error;
use crate::format::{self, Meta, RecordedLoss};
use crate::queue::{ByteQueue, Popped};
use crate::sink::{Sink, Written, MIN_MAX_BYTES};

/// How a [`Recorder`] records.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct RecorderOptions {
    /// The (first) file: replaced if it exists, and then the later files of
    /// the earlier recording there (`STEM.0001.EXT`, ... as long as they
    /// follow each other) are removed ([`Recorder::removed_files`]).
    pub path: PathBuf,
    /// Only events this filter matches; `None`: every event.
    pub filter: Option<EventFilter>,
    /// Stop after this many events.
    pub count: Option<u64>,
    /// Keep each file within this many bytes (at least [`MIN_MAX_BYTES`]):
    /// the recording ends there, or goes on in a new file with
    /// [`split`](Self::split).
    pub max_bytes: Option<u64>,
    /// At `max_bytes`, go on in `STEM.0001.EXT`, `STEM.0002.EXT`, ...
    pub split: bool,
    /// Bytes of events waiting for the writer before the node is made to
    /// wait (default 64 MiB).
    pub queue_bytes: usize,
    /// The longest an event waits in memory before its chunk is written
    /// out (default 1 s): what a crash can lose at most.
    pub flush_interval: Duration,
}

impl RecorderOptions {
    /// Every event into `path`, one file, no limit.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self {
            path: path.into(),
            filter: None,
            count: None,
            max_bytes: None,
            split: false,
            queue_bytes: 64 << 20,
            flush_interval: Duration::from_secs(1),
        }
    }

    /// Checks the options before anything is created (as
    /// [`Recorder::start`] does first): a `max_bytes` below
    /// [`MIN_MAX_BYTES`] is [`Error::MaxBytesTooSmall`].
    pub fn check(&self) -> Result<(), Error> {
        match self.max_bytes {
            Some(max) if max < MIN_MAX_BYTES => Err(Error::MaxBytesTooSmall {
                max,
                min: MIN_MAX_BYTES,
            }),
            _ => Ok(()),
        }
    }
}

/// Counters of a recording, live from [`Recorder::stats`] and final from
/// [`Recorder::finish`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RecorderStats {
    /// Events written.
    pub events: u64,
    /// Loss reports written.
    pub loss_reports: u64,
    /// Events those reports said were lost.
    pub events_lost: u64,
    /// Bytes in the files.
    pub bytes: u64,
    /// Times the node waited for the writer (the queue was full).
    pub queue_waits: u64,
    /// Events that reached the recorder after it stopped writing (after
    /// `count`, a full file without `split`, or a write error): not
    /// recorded.
    pub refused: u64,
}

/// What a finished recording wrote.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct RecordSummary {
    /// The counters.
    pub stats: RecorderStats,
    /// Every file, in order, with its size in bytes.
    pub files: Vec<(PathBuf, u64)>,
}

/// The files written, with their sizes, as the writer thread ends.
type Files = Result<Vec<(PathBuf, u64)>, Error>;

/// What the listener hands the writer: the event as the node shares it
/// (encoded on the writer's thread, not the node's), or a loss.
enum Pending {
    Event(Event, SystemTime),
    Loss(RecordedLoss),
}

impl Pending {
    /// Its header's and channel's fields, and its message data: for an
    /// event, what [`RecordedEvent::received`](crate::RecordedEvent::received)
    /// would record, encoded from the event itself (a list kept as it
    /// arrived is copied, not decoded).
    fn encode(&self) -> (Meta<'_>, Result<Vec<u8>, bson::error::Error>) {
        match self {
            Pending::Event(event, at) => {
                (Meta::received(event, *at), format::encode_received(event))
            }
            Pending::Loss(loss) => (loss.meta(), format::encode_loss(loss)),
        }
    }
}

/// What the listener, the writer and the handle share.
struct Shared {
    queue: ByteQueue<Pending>,
    filter: Option<EventFilter>,
    count: Option<u64>,
    /// Events accepted by the listener.
    accepted: AtomicU64,
    refused: AtomicU64,
    written: AtomicU64,
    loss_reports: AtomicU64,
    events_lost: AtomicU64,
    bytes: AtomicU64,
    /// Set when the writer stops writing: count reached, file full, error.
    over: AtomicBool,
    done: watch::Sender<bool>,
}

/// Records a node's events into MCAP files until [`finish`](Self::finish).
///
/// ```no_run
/// # async fn f() -> Result<(), Box<dyn std::error::Error>> {
/// use eventcast::{Config, Eventcast};
/// use eventcast_record::{Recorder, RecorderOptions};
///
/// let node = Eventcast::new(Config::default().port(41234))?;
/// let recorder = Recorder::start(&node, RecorderOptions::new("bus.mcap"))?;
/// node.start().await?;
/// tokio::time::sleep(std::time::Duration::from_secs(10)).await;
/// let summary = recorder.finish().await?;
/// println!("{} events", summary.stats.events);
/// # Ok(()) }
/// ```
pub struct Recorder {
    node: Eventcast,
    shared: Arc<Shared>,
    listener: ListenerId,
    notice_listener: ListenerId,
    writer: Option<std::thread::JoinHandle<Files>>,
    done: watch::Receiver<bool>,
    error: Arc<Mutex<Option<Error>>>,
    removed: Vec<PathBuf>,
}

impl Recorder {
    /// Creates the first file (replacing an earlier recording at its path,
    /// with all its files: see [`RecorderOptions::path`]) and starts
    /// recording what `node` delivers (start the node after this, so that
    /// nothing is missed).
    pub fn start(node: &Eventcast, options: RecorderOptions) -> Result<Self, Error> {
        options.check()?;
        let (sink, removed) = Sink::create(&options.path, options.max_bytes, options.split)?;
        let (done_tx, done) = watch::channel(false);
        let shared = Arc::new(Shared {
            queue: ByteQueue::new(options.queue_bytes.max(1)),
            filter: options.filter,
            count: options.count,
            accepted: AtomicU64::new(0),
            refused: AtomicU64::new(0),
            written: AtomicU64::new(0),
            loss_reports: AtomicU64::new(0),
            events_lost: AtomicU64::new(0),
            bytes: AtomicU64::new(0),
            over: AtomicBool::new(false),
            done: done_tx,
        });
        let error = Arc::new(Mutex::new(None));
        let writer = {
            let shared = Arc::clone(&shared);
            let error = Arc::clone(&error);
            let interval = options.flush_interval;
            std::thread::Builder::new()
                .name("eventcast-record".into())
                .spawn(move || write_loop(sink, &shared, interval, &error))
                .map_err(|_| Error::Thread("could not be started"))?
        };
        let listener = {
            let shared = Arc::clone(&shared);
            node.on("**", move |event| shared.on_event(event))
                .map_err(|_| Error::Thread("could not listen"))?
        };
        let notice_listener = {
            let shared = Arc::clone(&shared);
            node.on_notice(move |notice| {
                if let Notice::Loss(loss) = notice {
                    let loss = RecordedLoss::reported(loss, SystemTime::now());
                    let size = 64 + loss.reason.len();
                    shared.queue.push(Pending::Loss(loss), size);
                }
            })
        };
        Ok(Self {
            node: node.clone(),
            shared,
            listener,
            notice_listener,
            writer: Some(writer),
            done,
            error,
            removed,
        })
    }

    /// The later files of an earlier recording at the path
    /// (`STEM.0001.EXT`, ...) that [`start`](Self::start) removed, in
    /// order: empty unless the path held a file.
    pub fn removed_files(&self) -> &[PathBuf] {
        &self.removed
    }

    /// The counters so far.
    pub fn stats(&self) -> RecorderStats {
        self.shared.stats()
    }

    /// Resolves once the recorder stopped writing by itself: `count`
    /// events written, the file full without `split`, or a write error
    /// ([`finish`](Self::finish) returns it).
    pub async fn stopped(&self) {
        let mut done = self.done.clone();
        // An error means the sender is gone: the recorder is over too.
        let _ = done.wait_for(|over| *over).await;
    }

    /// Stops listening, writes what is queued, the summary and the index,
    /// and closes the file.
    pub async fn finish(mut self) -> Result<RecordSummary, Error> {
        self.node.off("**", self.listener);
        self.node.off_notice(self.notice_listener);
        self.shared.queue.close();
        let writer = self.writer.take();
        let files = tokio::task::spawn_blocking(move || match writer {
            Some(writer) => writer.join().map_err(|_| Error::Thread("panicked")),
            None => Err(Error::Thread("was already joined")),
        })
        .await
        .map_err(|_| Error::Thread("panicked"))??;
        // The error that stopped the writer comes first: closing the file
        // after it fails too, with only "a write method failed" to say.
        if let Some(error) = self.error.lock().unwrap_or_else(|e| e.into_inner()).take() {
            return Err(error);
        }
        let files = files?;
        let mut stats = self.shared.stats();
        stats.bytes = files.iter().map(|(_, len)| len).sum();
        Ok(RecordSummary { stats, files })
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        // Not finished: stop listening; the writer finishes the file by
        // itself once the queue is closed.
        self.node.off("**", self.listener);
        self.node.off_notice(self.notice_listener);
        self.shared.queue.close();
    }
}

impl Shared {
    fn on_event(&self, event: &Event) {
        if self
            .filter
            .as_ref()
            .is_some_and(|f| !f.matches(event.name()))
        {
            return;
        }
        let taken = self.accepted.fetch_add(1, Ordering::Relaxed);
        if self.over.load(Ordering::Relaxed) || self.count.is_some_and(|n| taken >= n) {
            self.refused.fetch_add(1, Ordering::Relaxed);
            return;
        }
        // The length of the body kept as it arrived (this runs on the
        // node's task: nothing is decoded here); events whose arguments
        // were decoded are estimated from their values.
        let args = event
            .received_body_len()
            .unwrap_or_else(|| estimate(event.raw_args()));
        let size = 96 + event.name().len() + args;
        if !self
            .queue
            .push(Pending::Event(event.clone(), SystemTime::now()), size)
        {
            self.refused.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn stats(&self) -> RecorderStats {
        RecorderStats {
            events: self.written.load(Ordering::Relaxed),
            loss_reports: self.loss_reports.load(Ordering::Relaxed),
            events_lost: self.events_lost.load(Ordering::Relaxed),
            bytes: self.bytes.load(Ordering::Relaxed),
            queue_waits: self.queue.waits(),
            refused: self.refused.load(Ordering::Relaxed),
        }
    }

    fn stop(&self) {
        self.over.store(true, Ordering::Relaxed);
        self.queue.close();
        self.done.send_replace(true);
    }
}

/// Roughly the bytes `args` take, without encoding them.
fn estimate(args: &[bson::Bson]) -> usize {
    use bson::Bson;
    args.iter()
        .map(|arg| {
            8 + match arg {
                Bson::String(s) => s.len(),
                Bson::Binary(b) => b.bytes.len(),
                Bson::Array(items) => estimate(items),
                Bson::Document(doc) => doc
                    .iter()
                    .map(|(k, v)| k.len() + estimate(std::slice::from_ref(v)))
                    .sum(),
                _ => 8,
            }
        })
        .sum()
}

/// The writer thread: batches from the queue into the sink, a chunk
/// written out at least every `interval`, until the queue closes.
fn write_loop(
    mut sink: Sink,
    shared: &Shared,
    interval: Duration,
    error: &Mutex<Option<Error>>,
) -> Files {
    let mut last_flush = Instant::now();
    let fail = |e: Error| {
        *error.lock().unwrap_or_else(|p| p.into_inner()) = Some(e);
        shared.stop();
    };
    let mut writing = true;
    loop {
        let batch = match shared.queue.pop(interval) {
            Popped::Items(items) => items,
            Popped::Idle => Vec::new(),
            Popped::Closed => break,
        };
        for pending in batch {
            if !writing {
                shared.refused.fetch_add(1, Ordering::Relaxed);
                continue;
            }
            let (meta, data) = pending.encode();
            match sink.write(&meta, data) {
                Ok(Written::Done) => shared.count_written(&pending),
                Ok(Written::Full) => {
                    writing = false;
                    shared.refused.fetch_add(1, Ordering::Relaxed);
                    shared.stop();
                }
                Err(e) => {
                    writing = false;
                    shared.refused.fetch_add(1, Ordering::Relaxed);
                    fail(e);
                }
            }
        }
        if shared
            .count
            .is_some_and(|n| shared.written.load(Ordering::Relaxed) >= n)
        {
            shared.stop();
        }
        if last_flush.elapsed() >= interval {
            if let Err(e) = sink.flush() {
                fail(e);
            }
            last_flush = Instant::now();
        }
        shared.bytes.store(sink.bytes(), Ordering::Relaxed);
    }
    let files = sink.finish();
    shared.done.send_replace(true);
    files
}

impl Shared {
    fn count_written(&self, pending: &Pending) {
        match pending {
            Pending::Event(..) => {
                self.written.fetch_add(1, Ordering::Relaxed);
            }
            Pending::Loss(loss) => {
                self.loss_reports.fetch_add(1, Ordering::Relaxed);
                self.events_lost.fetch_add(loss.count, Ordering::Relaxed);
            }
        }
    }
}
