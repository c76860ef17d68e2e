//! What the bridge's tasks and its handle share.

use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Mutex, MutexGuard};
use std::time::Instant;

use tokio::sync::{broadcast, watch, Notify};

use crate::notice::BridgeNotice;
use crate::outbox::Outbox;
use crate::rivals::Rivals;
use crate::stats::Counters;

/// How many subjects with a bad payload are remembered (each is reported
/// once); beyond that, bad payloads are counted only.
const MAX_BAD_SUBJECTS: usize = 1024;

/// State shared by the handle and the tasks.
#[derive(Debug)]
pub(crate) struct Shared {
    /// This bridge's id: 16 hex digits, drawn at start.
    pub(crate) id: String,
    pub(crate) site: String,
    pub(crate) prefix: String,
    pub(crate) counters: Counters,
    pub(crate) outbox: Mutex<Outbox>,
    /// Woken when the outbox gets an event.
    pub(crate) outbox_filled: Notify,
    /// Woken when the outbox is empty (for the flush at stop).
    pub(crate) outbox_emptied: Notify,
    /// Whether the client's connection is up (its events, as they come).
    pub(crate) link: watch::Sender<bool>,
    /// Whether the bridge is connected: the link is up and the server has
    /// answered a round trip on it, so it holds every subscription.
    pub(crate) connected: watch::Sender<bool>,
    pub(crate) notices: broadcast::Sender<BridgeNotice>,
    /// Woken when the client failed to connect (it says only the kind of
    /// error): [`crate::connect::diagnose`] finds out why.
    pub(crate) connect_failed: Notify,
    pub(crate) rivals: Mutex<Rivals>,
    /// Subjects whose bad payload was already reported.
    bad_subjects: Mutex<Vec<String>>,
}

/// Locks `mutex`, whatever a panicking holder left (the state stays
/// consistent between statements).
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Shared {
    pub(crate) fn new(
        id: String,
        site: String,
        prefix: String,
        outbox: Outbox,
        rivals: Rivals,
    ) -> Self {
        Shared {
            id,
            site,
            prefix,
            counters: Counters::default(),
            outbox: Mutex::new(outbox),
            outbox_filled: Notify::new(),
            outbox_emptied: Notify::new(),
            link: watch::Sender::new(false),
            connected: watch::Sender::new(false),
            notices: broadcast::Sender::new(256),
            connect_failed: Notify::new(),
            rivals: Mutex::new(rivals),
            bad_subjects: Mutex::new(Vec::new()),
        }
    }

    /// Logs `notice` and sends it to whoever listens.
    pub(crate) fn notify(&self, notice: BridgeNotice) {
        match &notice {
            BridgeNotice::Connected { .. } | BridgeNotice::Resumed => {
                tracing::info!(bridge = %self.id, "{notice}");
            }
            _ => tracing::warn!(bridge = %self.id, "{notice}"),
        }
        let _ = self.notices.send(notice);
    }

    /// Counts a bad payload on `subject`, and reports it if it is the
    /// first on that subject.
    pub(crate) fn bad_payload(&self, subject: &str, reason: String) {
        crate::stats::add(&self.counters.dropped_bad_payload, 1);
        let first = {
            let mut seen = lock(&self.bad_subjects);
            let new = seen.len() < MAX_BAD_SUBJECTS && !seen.iter().any(|s| s == subject);
            if new {
                seen.push(subject.to_owned());
            }
            new
        };
        if first {
            self.notify(BridgeNotice::BadPayload {
                subject: subject.to_owned(),
                reason,
            });
        } else {
            tracing::debug!(subject, %reason, "bad payload dropped");
        }
    }

    /// Re-evaluates the other bridges: whether this one stands by, with
    /// the notices of what changed.
    pub(crate) fn standing_by(&self, now: Instant) -> bool {
        let (standing_by, found, notices) = {
            let mut rivals = lock(&self.rivals);
            let (standing_by, notices) = rivals.update(now);
            (standing_by, rivals.found(), notices)
        };
        self.counters.standing_by.store(standing_by, Relaxed);
        self.counters.other_bridges.store(found as u64, Relaxed);
        for notice in notices {
            self.notify(notice);
        }
        standing_by
    }

    /// Publishes the outbox's size to the counters.
    pub(crate) fn outbox_gauges(&self, outbox: &Outbox) {
        self.counters
            .buffered_bytes
            .store(outbox.bytes() as u64, Relaxed);
        self.counters
            .buffered_events
            .store(outbox.len() as u64, Relaxed);
    }
}
