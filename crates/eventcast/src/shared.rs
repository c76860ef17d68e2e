//! What the node's handles and its task share: the listeners, the notice
//! receivers, the counters, the published keys and the send queue's
//! accounting. The node's task writes into it what its driver hands over
//! (`task::publish`), and the handles read it; the drivers never see it.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use eventcast_proto::crypto::KeyInfo;
use eventcast_proto::EmitError;
use tokio::sync::{broadcast, Notify};

use crate::listeners::{ListenerId, Listeners};
use crate::notice::Notice;
use crate::stats::NodeStats;

type NoticeCallback = Arc<dyn Fn(&Notice) + Send + Sync>;

/// Notices a receiver that does not keep up may fall behind by.
const NOTICE_CAPACITY: usize = 256;

/// State shared by the handles and the node's task.
pub(crate) struct Shared {
    pub(crate) listeners: Listeners,
    notices: broadcast::Sender<Notice>,
    notice_listeners: Mutex<Vec<(ListenerId, NoticeCallback)>>,
    stats: Mutex<NodeStats>,
    /// The running endpoint's keys, with their counts of datagrams sealed.
    keys: Mutex<Vec<KeyInfo>>,
    /// Bytes emitted and not yet sent once: the handle's view of the send
    /// queue, for back-pressure.
    queued: AtomicUsize,
    /// Woken when the queue shrinks.
    room: Notify,
}

impl Default for Shared {
    fn default() -> Self {
        let (notices, _) = broadcast::channel(NOTICE_CAPACITY);
        Self {
            listeners: Listeners::default(),
            notices,
            notice_listeners: Mutex::new(Vec::new()),
            stats: Mutex::new(NodeStats::default()),
            keys: Mutex::new(Vec::new()),
            queued: AtomicUsize::new(0),
            room: Notify::new(),
        }
    }
}

impl Shared {
    /// The driver sent `bytes` of queued events.
    pub(crate) fn release_queue(&self, bytes: usize) {
        let _ = self
            .queued
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |q| {
                Some(q.saturating_sub(bytes))
            });
        self.room.notify_waiters();
    }

    /// Reserves room for `bytes` in the send queue.
    pub(crate) fn reserve(&self, bytes: usize, max: usize) -> Result<(), EmitError> {
        self.queued
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |q| {
                (q == 0 || q + bytes <= max).then_some(q + bytes)
            })
            .map(|_| ())
            .map_err(|queued| EmitError::QueueFull { queued, max })
    }

    /// The node stopped: nothing is queued any more.
    pub(crate) fn clear_queue(&self) {
        self.queued.store(0, Ordering::Release);
        self.room.notify_waiters();
    }

    /// Woken when the send queue shrinks (create it, and `enable` it,
    /// before trying to reserve, so that no release is missed).
    pub(crate) fn room(&self) -> tokio::sync::futures::Notified<'_> {
        self.room.notified()
    }

    pub(crate) fn stats_mut(&self) -> MutexGuard<'_, NodeStats> {
        self.stats.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn keys_mut(&self) -> MutexGuard<'_, Vec<KeyInfo>> {
        self.keys.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A receiver of the notices from now on.
    pub(crate) fn subscribe_notices(&self) -> broadcast::Receiver<Notice> {
        self.notices.subscribe()
    }

    fn notice_listeners(&self) -> MutexGuard<'_, Vec<(ListenerId, NoticeCallback)>> {
        self.notice_listeners
            .lock()
            .unwrap_or_else(|e| e.into_inner())
    }

    /// Adds a notice listener.
    pub(crate) fn on_notice(&self, listener: NoticeCallback) -> ListenerId {
        let id = self.listeners.next_id();
        self.notice_listeners().push((id, listener));
        id
    }

    /// Removes a notice listener; returns whether it was there.
    pub(crate) fn off_notice(&self, listener: ListenerId) -> bool {
        let mut list = self.notice_listeners();
        let before = list.len();
        list.retain(|(id, _)| *id != listener);
        list.len() != before
    }

    /// Tells every notice receiver and listener (a listener that panics is
    /// caught and counted).
    pub(crate) fn notify(&self, notice: Notice) {
        let _ = self.notices.send(notice.clone());
        let callbacks: Vec<NoticeCallback> = self
            .notice_listeners()
            .iter()
            .map(|(_, c)| c.clone())
            .collect();
        for callback in callbacks {
            let call = std::panic::AssertUnwindSafe(|| callback(&notice));
            if std::panic::catch_unwind(call).is_err() {
                self.listeners.panics.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}
