//! What a REPL session streams: the listeners it added to the node, and
//! the bounded queue they fill for the client.

use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::mpsc;

use crate::error::Error;
use crate::event::{Event, EventIdentity};
use crate::listeners::ListenerId;
use crate::node::Eventcast;
use crate::repl::stats::Counters;

/// Events a session remembers having queued (see `Session::last`).
const RECENT: usize = 8;

/// An event for a streaming client, from one of its listeners.
pub(super) struct Streamed {
    pub(super) event: Event,
    pub(super) once: bool,
    /// The name or pattern the listener streams (a pattern's events have
    /// other names).
    pub(super) stream: Arc<str>,
    /// Another of the session's streams queued this event already: it is
    /// not written again (only a `once` is told so, to be forgotten).
    pub(super) duplicate: bool,
}

/// A listener a session added to the node.
#[derive(Clone, Copy, Debug)]
pub(super) struct Stream {
    pub(super) listener: ListenerId,
    pub(super) once: bool,
}

/// What a session's commands may change.
pub(super) struct Session {
    pub(super) id: u64,
    /// Listeners this session added, by event name or pattern.
    pub(super) streams: BTreeMap<String, Vec<Stream>>,
    /// Where its listeners put events (bounded).
    events: mpsc::Sender<Streamed>,
    /// Events its listeners dropped since the client was last told.
    dropped: Arc<AtomicU64>,
    /// The last [`RECENT`] events its listeners were handed: the node
    /// calls every listener an event matches one after the other, so the
    /// next ones to see it know it is queued already. More than one, as
    /// the session's own emits are dispatched on its task while received
    /// events are on the node's: the two can interleave.
    last: Arc<Mutex<VecDeque<EventIdentity>>>,
    counters: Arc<Counters>,
    /// Set by `quit`.
    pub(super) quit: bool,
}

impl Session {
    /// The session of client `id`, and the receiving end of the queue its
    /// listeners fill (`capacity` events).
    pub(super) fn new(
        id: u64,
        capacity: usize,
        counters: Arc<Counters>,
    ) -> (Self, mpsc::Receiver<Streamed>) {
        let (events, streamed) = mpsc::channel(capacity);
        let session = Self {
            id,
            streams: BTreeMap::new(),
            events,
            dropped: Arc::new(AtomicU64::new(0)),
            last: Arc::new(Mutex::new(VecDeque::with_capacity(RECENT))),
            counters,
            quit: false,
        };
        (session, streamed)
    }

    /// Events dropped since the last call.
    pub(super) fn take_dropped(&self) -> u64 {
        self.dropped.swap(0, Ordering::Relaxed)
    }

    /// Adds a listener that streams the events of the name or pattern
    /// `name` into this session; fails on a bad pattern. An event several
    /// of the session's streams match is streamed once.
    pub(super) fn add_stream(
        &mut self,
        node: &Eventcast,
        name: &str,
        once: bool,
    ) -> Result<(), Error> {
        let stream: Arc<str> = name.into();
        let events = self.events.clone();
        let dropped = self.dropped.clone();
        let last = self.last.clone();
        let counters = self.counters.clone();
        // Runs on the node's task: never waits (the lock is only ever held
        // here, by the node's listeners of this session, one at a time).
        let listener = move |event: &Event| {
            let duplicate = {
                let mut last = last.lock().unwrap_or_else(|e| e.into_inner());
                let duplicate = last.iter().any(|l| l.is(event));
                if !duplicate {
                    if last.len() == RECENT {
                        last.pop_front();
                    }
                    last.push_back(event.identity());
                }
                duplicate
            };
            if duplicate && !once {
                return;
            }
            let streamed = Streamed {
                event: event.clone(),
                once,
                stream: stream.clone(),
                duplicate,
            };
            if let Err(mpsc::error::TrySendError::Full(_)) = events.try_send(streamed) {
                // Counted once per event: a duplicate was counted already.
                if !duplicate {
                    dropped.fetch_add(1, Ordering::Relaxed);
                    Counters::add(&counters.events_dropped);
                }
            }
        };
        let listener = if once {
            node.once(name, listener)?
        } else {
            node.on(name, listener)?
        };
        self.streams
            .entry(name.to_owned())
            .or_default()
            .push(Stream { listener, once });
        Ok(())
    }

    /// Removes this session's listeners of `name`, or all of them; returns
    /// how many were still registered.
    pub(super) fn remove_streams(&mut self, node: &Eventcast, name: Option<&str>) -> usize {
        let names: Vec<String> = match name {
            Some(name) => vec![name.to_owned()],
            None => self.streams.keys().cloned().collect(),
        };
        let mut removed = 0;
        for name in names {
            for stream in self.streams.remove(&name).unwrap_or_default() {
                if node.off(&name, stream.listener) {
                    removed += 1;
                }
            }
        }
        removed
    }

    /// The event names streamed, for `clients`.
    pub(super) fn stream_names(&self) -> Vec<String> {
        self.streams.keys().cloned().collect()
    }

    /// A `once` listener of the name or pattern `name` fired: forget it.
    pub(super) fn once_fired(&mut self, name: &str) {
        if let Some(list) = self.streams.get_mut(name) {
            if let Some(i) = list.iter().position(|s| s.once) {
                list.remove(i);
            }
            if list.is_empty() {
                self.streams.remove(name);
            }
        }
    }
}
