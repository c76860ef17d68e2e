//! The listener registry: callbacks by event name, and stream subscribers.

use std::collections::HashMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};

use tokio::sync::mpsc;

use crate::event::Event;

/// Identifies one registered listener, for [`off`](crate::Eventcast::off).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ListenerId(u64);

type Callback = Arc<dyn Fn(&Event) + Send + Sync>;

struct Entry {
    id: ListenerId,
    once: bool,
    callback: Callback,
}

struct Subscriber {
    names: Option<Vec<String>>,
    tx: mpsc::Sender<Event>,
}

#[derive(Default)]
struct Registry {
    by_name: HashMap<String, Vec<Entry>, ahash::RandomState>,
    subscribers: Vec<Subscriber>,
    next_id: u64,
}

/// Listeners and subscribers, shared by the handles and the driver task.
#[derive(Default)]
pub(crate) struct Listeners {
    registry: Mutex<Registry>,
    /// Listener calls that panicked (caught; the node goes on).
    pub(crate) panics: AtomicU64,
    /// Events a full subscription had to drop.
    pub(crate) lagged: AtomicU64,
}

impl Listeners {
    fn lock(&self) -> MutexGuard<'_, Registry> {
        // A panicking listener never runs under the lock, so a poisoned lock
        // only means a panic elsewhere mid-update of plain collections.
        self.registry.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A fresh id, also used for notice listeners.
    pub(crate) fn next_id(&self) -> ListenerId {
        let mut r = self.lock();
        r.next_id += 1;
        ListenerId(r.next_id)
    }

    pub(crate) fn add(&self, name: &str, once: bool, callback: Callback) -> ListenerId {
        let id = self.next_id();
        let mut r = self.lock();
        r.by_name
            .entry(name.to_owned())
            .or_default()
            .push(Entry { id, once, callback });
        id
    }

    pub(crate) fn remove(&self, name: &str, id: ListenerId) -> bool {
        let mut r = self.lock();
        let Some(list) = r.by_name.get_mut(name) else {
            return false;
        };
        let before = list.len();
        list.retain(|e| e.id != id);
        let removed = list.len() != before;
        if list.is_empty() {
            r.by_name.remove(name);
        }
        removed
    }

    pub(crate) fn remove_all(&self, name: Option<&str>) {
        let mut r = self.lock();
        match name {
            Some(name) => {
                r.by_name.remove(name);
            }
            None => r.by_name.clear(),
        }
    }

    pub(crate) fn ids(&self, name: &str) -> Vec<ListenerId> {
        self.lock()
            .by_name
            .get(name)
            .map(|l| l.iter().map(|e| e.id).collect())
            .unwrap_or_default()
    }

    pub(crate) fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.lock().by_name.keys().cloned().collect();
        names.sort();
        names
    }

    pub(crate) fn subscribe(&self, names: Option<Vec<String>>, capacity: usize) -> Subscription {
        let (tx, rx) = mpsc::channel(capacity);
        self.lock().subscribers.push(Subscriber { names, tx });
        Subscription { rx }
    }

    /// Calls every listener of the event's name (removing `once` ones first)
    /// and hands the event to every matching subscriber. Listeners run
    /// outside the lock, so they may call back into the node.
    pub(crate) fn dispatch(&self, event: &Event) {
        let callbacks: Vec<Callback> = {
            let mut r = self.lock();
            let mut callbacks = Vec::new();
            if let Some(list) = r.by_name.get_mut(event.name()) {
                callbacks.extend(list.iter().map(|e| e.callback.clone()));
                list.retain(|e| !e.once);
                if list.is_empty() {
                    r.by_name.remove(event.name());
                }
            }
            r.subscribers.retain(|s| {
                let wanted = s
                    .names
                    .as_ref()
                    .is_none_or(|n| n.iter().any(|n| n == event.name()));
                if !wanted {
                    return !s.tx.is_closed();
                }
                match s.tx.try_send(event.clone()) {
                    Ok(()) => true,
                    Err(mpsc::error::TrySendError::Full(_)) => {
                        self.lagged.fetch_add(1, Ordering::Relaxed);
                        true
                    }
                    Err(mpsc::error::TrySendError::Closed(_)) => false,
                }
            });
            callbacks
        };
        for callback in callbacks {
            if catch_unwind(AssertUnwindSafe(|| callback(event))).is_err() {
                self.panics.fetch_add(1, Ordering::Relaxed);
                tracing::error!(target: "eventcast", event = event.name(), "a listener panicked");
            }
        }
    }
}

/// A stream of events, from [`Eventcast::subscribe`](crate::Eventcast::subscribe).
///
/// It holds up to `subscription_capacity` events; while it is full, new
/// events for it are dropped and counted in
/// [`NodeStats::subscription_lagged`](crate::NodeStats). Dropping it
/// unsubscribes.
#[derive(Debug)]
pub struct Subscription {
    rx: mpsc::Receiver<Event>,
}

impl Subscription {
    /// The next event; `None` once the node is dropped.
    pub async fn recv(&mut self) -> Option<Event> {
        self.rx.recv().await
    }

    /// The next event if one is waiting.
    pub fn try_recv(&mut self) -> Option<Event> {
        self.rx.try_recv().ok()
    }
}

impl futures_core::Stream for Subscription {
    type Item = Event;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Event>> {
        self.rx.poll_recv(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use eventcast_proto::SenderId;
    use std::sync::atomic::AtomicUsize;

    fn event(name: &str) -> Event {
        Event::new(name.into(), vec![], SenderId::new(1), None, None)
    }

    #[test]
    fn on_once_off() {
        let l = Listeners::default();
        let hits = Arc::new(AtomicUsize::new(0));
        let h = hits.clone();
        let a = l.add(
            "a",
            false,
            Arc::new(move |_| {
                h.fetch_add(1, Ordering::SeqCst);
            }),
        );
        let h = hits.clone();
        l.add(
            "a",
            true,
            Arc::new(move |_| {
                h.fetch_add(10, Ordering::SeqCst);
            }),
        );
        assert_eq!(l.ids("a").len(), 2);
        l.dispatch(&event("a"));
        assert_eq!(hits.load(Ordering::SeqCst), 11);
        assert_eq!(l.ids("a"), vec![a]);
        l.dispatch(&event("a"));
        l.dispatch(&event("b"));
        assert_eq!(hits.load(Ordering::SeqCst), 12);
        assert!(l.remove("a", a));
        assert!(!l.remove("a", a));
        assert!(l.names().is_empty());
    }

    #[test]
    fn panicking_listener_is_counted() {
        let l = Listeners::default();
        l.add("p", false, Arc::new(|_| panic!("boom")));
        l.dispatch(&event("p"));
        assert_eq!(l.panics.load(Ordering::Relaxed), 1);
    }

    #[test]
    fn listener_may_reenter() {
        let l = Arc::new(Listeners::default());
        let inner = l.clone();
        l.add(
            "outer",
            false,
            Arc::new(move |_| {
                inner.add("late", false, Arc::new(|_| {}));
            }),
        );
        l.dispatch(&event("outer"));
        assert_eq!(l.names(), vec!["late".to_owned(), "outer".to_owned()]);
    }

    #[test]
    fn subscriptions_filter_and_lag() {
        let l = Listeners::default();
        let mut all = l.subscribe(None, 2);
        let mut only_b = l.subscribe(Some(vec!["b".into()]), 8);
        for name in ["a", "b", "c"] {
            l.dispatch(&event(name));
        }
        assert_eq!(all.try_recv().unwrap().name(), "a");
        assert_eq!(all.try_recv().unwrap().name(), "b");
        assert!(all.try_recv().is_none());
        assert_eq!(l.lagged.load(Ordering::Relaxed), 1);
        assert_eq!(only_b.try_recv().unwrap().name(), "b");
        assert!(only_b.try_recv().is_none());
        drop(all);
        l.dispatch(&event("a"));
        assert_eq!(l.lock().subscribers.len(), 1);
    }
}
