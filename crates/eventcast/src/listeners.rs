//! The listener registry: callbacks by event name or pattern, and stream
//! subscribers.
//!
//! Exact names are a hash lookup. Pattern listeners (see `pattern.rs`)
//! sit in a map of their own, scanned for each event only while it is not
//! empty, so exact names pay nothing for them. Listeners fire in the order
//! they were added, exact and pattern ones interleaved: ids grow with every
//! registration.

use std::borrow::Cow;
use std::cell::Cell;
use std::collections::HashMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use crate::event::Event;
use crate::pattern::{is_pattern, Pattern, PatternError};

/// Identifies one registered listener, for [`off`](crate::Eventcast::off).
///
/// Ids grow with every registration: comparing two tells which was added
/// first, and so which fires first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ListenerId(u64);

type Callback = Arc<dyn Fn(&Event) + Send + Sync>;

thread_local! {
    /// The callbacks an event fires, gathered under the lock: kept from
    /// one dispatch to the next (see `Listeners::dispatch_lazy`).
    static CALLBACKS: Cell<Vec<(ListenerId, Callback)>> = const { Cell::new(Vec::new()) };
}

struct Entry {
    id: ListenerId,
    once: bool,
    callback: Callback,
}

/// The listeners of one pattern.
struct Patterned {
    pattern: Pattern,
    entries: Vec<Entry>,
}

/// A set of event names and patterns (see [`Eventcast::on`]), checked once:
/// what [`Eventcast::subscribe_to`] delivers, and what tools built on the
/// API (recorders, bridges) select by.
///
/// [`Eventcast::on`]: crate::Eventcast::on
/// [`Eventcast::subscribe_to`]: crate::Eventcast::subscribe_to
///
/// ```
/// let filter = eventcast::EventFilter::new(vec!["greet".into(), "sensor.*".into()])?;
/// assert!(filter.matches("greet") && filter.matches("sensor.a"));
/// assert!(!filter.matches("sensor.a.b"));
/// # Ok::<(), eventcast::PatternError>(())
/// ```
#[derive(Clone, Debug)]
pub struct EventFilter {
    names: Vec<String>,
    patterns: Vec<Pattern>,
}

impl EventFilter {
    /// Sorts `names` into exact names and patterns; fails on the first bad
    /// pattern.
    pub fn new(names: Vec<String>) -> Result<Self, PatternError> {
        let (patterns, names): (Vec<String>, Vec<String>) =
            names.into_iter().partition(|n| is_pattern(n));
        let patterns = patterns
            .iter()
            .map(|p| Pattern::parse(p))
            .collect::<Result<_, _>>()?;
        Ok(Self { names, patterns })
    }

    /// Whether the event name `name` is one of the names or matches one
    /// of the patterns.
    pub fn matches(&self, name: &str) -> bool {
        self.names.iter().any(|n| n == name) || self.patterns.iter().any(|p| p.matches(name))
    }
}

#[derive(Clone)]
struct Subscriber {
    /// `None`: every event.
    filter: Option<EventFilter>,
    /// Each event with its [`Event::held_bytes`], counted once by the
    /// dispatcher and given back by the reader as it is.
    tx: mpsc::UnboundedSender<(Event, usize)>,
    /// What the subscription holds, in [`Event::held_bytes`], shared with
    /// its reader, who takes back what it reads.
    held: Arc<AtomicUsize>,
    /// `subscription_bytes`: the most it may hold.
    limit: usize,
}

impl Subscriber {
    /// Hands `event`, which holds `size` bytes, over unless that would
    /// take the subscription past its limit (an event alone bigger than
    /// the limit still goes to an empty one). `Err` when the reader is
    /// gone.
    fn offer(&self, event: &Event, size: usize, lagged: &AtomicU64) -> Result<(), ()> {
        let held = self.held.load(Ordering::Acquire);
        if held > 0 && held.saturating_add(size) > self.limit {
            lagged.fetch_add(1, Ordering::Relaxed);
            return if self.tx.is_closed() { Err(()) } else { Ok(()) };
        }
        self.held.fetch_add(size, Ordering::AcqRel);
        self.tx.send((event.clone(), size)).map_err(|_| ())
    }
}

#[derive(Default)]
struct Registry {
    by_name: HashMap<String, Vec<Entry>, ahash::RandomState>,
    /// By the pattern's text.
    by_pattern: HashMap<String, Patterned, ahash::RandomState>,
    /// Shared with the dispatchers, who offer each event outside the
    /// lock (a subscription's reader woken by it finds the lock free);
    /// changed copy-on-write.
    subscribers: Arc<Vec<Subscriber>>,
    next_id: u64,
}

impl Registry {
    fn next_id(&mut self) -> ListenerId {
        self.next_id += 1;
        ListenerId(self.next_id)
    }

    /// Calls `f` with every list of listeners an event called `name` fires:
    /// the name's own, then each matching pattern's (in no set order; the
    /// caller sorts by id). Drops the lists `f` leaves empty.
    fn each_list_for(&mut self, name: &str, mut f: impl FnMut(&mut Vec<Entry>)) {
        if let Some(list) = self.by_name.get_mut(name) {
            f(list);
            if list.is_empty() {
                self.by_name.remove(name);
            }
        }
        if !self.by_pattern.is_empty() {
            self.by_pattern.retain(|_, listed| {
                if listed.pattern.matches(name) {
                    f(&mut listed.entries);
                }
                !listed.entries.is_empty()
            });
        }
    }
}

/// Listeners and subscribers, shared by the handles and the driver task.
pub(crate) struct Listeners {
    registry: Mutex<Registry>,
    /// Listener calls that panicked (caught; the node goes on).
    pub(crate) panics: AtomicU64,
    /// Events a full subscription had to drop.
    pub(crate) lagged: AtomicU64,
    /// Whether any callback is registered now (kept under the lock).
    callbacks: AtomicBool,
    /// Subscriptions not dropped yet.
    open: Arc<AtomicUsize>,
    /// When somebody last began listening after nobody did, in
    /// nanoseconds after `base`.
    since: AtomicU64,
    base: Instant,
    /// Bumped (under the registry's lock) at every change of listeners
    /// or subscribers: what a [`Dispatcher`] gathered is good while it
    /// stays.
    version: AtomicU64,
}

impl Default for Listeners {
    fn default() -> Self {
        Self {
            registry: Mutex::default(),
            panics: AtomicU64::new(0),
            lagged: AtomicU64::new(0),
            callbacks: AtomicBool::new(false),
            open: Arc::default(),
            since: AtomicU64::new(0),
            base: Instant::now(),
            version: AtomicU64::new(0),
        }
    }
}

impl Listeners {
    fn lock(&self) -> MutexGuard<'_, Registry> {
        // A panicking listener never runs under the lock, so a poisoned lock
        // only means a panic elsewhere mid-update of plain collections.
        self.registry.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Since when somebody listens to events: a callback of any name or
    /// pattern, or a subscription not dropped; `None` if nobody does now.
    /// The node receives other nodes' events only then, and is owed what
    /// they send from that instant on.
    pub(crate) fn listening(&self) -> Option<Instant> {
        self.any()
            .then(|| self.base + Duration::from_nanos(self.since.load(Ordering::Acquire)))
    }

    /// Whether callbacks listen and no subscription is open (a
    /// subscription's reader is a task of its own): every event this node
    /// delivers is handled on its task.
    pub(crate) fn callbacks_only(&self) -> bool {
        self.callbacks.load(Ordering::Acquire) && self.open.load(Ordering::Acquire) == 0
    }

    fn any(&self) -> bool {
        self.callbacks.load(Ordering::Acquire) || self.open.load(Ordering::Acquire) > 0
    }

    /// Somebody listens now, and maybe nobody did before.
    fn began(&self, before: bool) {
        if !before {
            let nanos = u64::try_from(self.base.elapsed().as_nanos()).unwrap_or(u64::MAX);
            self.since.store(nanos, Ordering::Release);
        }
    }

    /// Records whether `r` has callbacks, after a change (under its lock).
    fn changed(&self, r: &Registry) {
        self.version.fetch_add(1, Ordering::AcqRel);
        let before = self.any();
        let any = !(r.by_name.is_empty() && r.by_pattern.is_empty());
        self.callbacks.store(any, Ordering::Release);
        if any {
            self.began(before);
        }
    }

    /// A fresh id, also used for notice listeners.
    pub(crate) fn next_id(&self) -> ListenerId {
        self.lock().next_id()
    }

    /// Adds a listener of the exact name `name`, or of the pattern `name`
    /// if it has a `*`; fails, adding nothing, on a bad pattern.
    pub(crate) fn add(
        &self,
        name: &str,
        once: bool,
        callback: Callback,
    ) -> Result<ListenerId, PatternError> {
        let pattern = is_pattern(name).then(|| Pattern::parse(name)).transpose()?;
        let mut r = self.lock();
        // Under the same lock as the push: lists stay in id order.
        let id = r.next_id();
        let entry = Entry { id, once, callback };
        match pattern {
            None => r.by_name.entry(name.to_owned()).or_default().push(entry),
            Some(pattern) => r
                .by_pattern
                .entry(name.to_owned())
                .or_insert_with(|| Patterned {
                    pattern,
                    entries: Vec::new(),
                })
                .entries
                .push(entry),
        }
        self.changed(&r);
        Ok(id)
    }

    /// Removes listener `id` of the name or pattern `name`.
    pub(crate) fn remove(&self, name: &str, id: ListenerId) -> bool {
        let mut r = self.lock();
        let r = &mut *r;
        let list = if is_pattern(name) {
            r.by_pattern.get_mut(name).map(|p| &mut p.entries)
        } else {
            r.by_name.get_mut(name)
        };
        let Some(list) = list else {
            return false;
        };
        let before = list.len();
        list.retain(|e| e.id != id);
        let removed = list.len() != before;
        if list.is_empty() {
            // It is in one of the two maps only.
            r.by_name.remove(name);
            r.by_pattern.remove(name);
        }
        self.changed(r);
        removed
    }

    /// Removes the listeners of the name or pattern `name`, or all.
    pub(crate) fn remove_all(&self, name: Option<&str>) {
        let mut r = self.lock();
        match name {
            Some(name) => {
                r.by_name.remove(name);
                r.by_pattern.remove(name);
            }
            None => {
                r.by_name.clear();
                r.by_pattern.clear();
            }
        }
        self.changed(&r);
    }

    /// For a pattern, its listeners; for a name, every listener an event of
    /// that name fires. In the order they fire.
    pub(crate) fn ids(&self, name: &str) -> Vec<ListenerId> {
        let mut r = self.lock();
        let mut ids = Vec::new();
        if is_pattern(name) {
            if let Some(listed) = r.by_pattern.get(name) {
                ids.extend(listed.entries.iter().map(|e| e.id));
            }
        } else {
            r.each_list_for(name, |list| ids.extend(list.iter().map(|e| e.id)));
            ids.sort_unstable();
        }
        ids
    }

    /// The names and patterns that have listeners, sorted.
    pub(crate) fn names(&self) -> Vec<String> {
        let r = self.lock();
        let mut names: Vec<String> = r
            .by_name
            .keys()
            .chain(r.by_pattern.keys())
            .cloned()
            .collect();
        names.sort();
        names
    }

    /// A subscription to the events `filter` wants, or to all with `None`,
    /// holding at most `limit` bytes of events its reader has not taken.
    pub(crate) fn subscribe(&self, filter: Option<EventFilter>, limit: usize) -> Subscription {
        let (tx, rx) = mpsc::unbounded_channel();
        let held = Arc::new(AtomicUsize::new(0));
        let mut r = self.lock();
        self.version.fetch_add(1, Ordering::AcqRel);
        Arc::make_mut(&mut r.subscribers).push(Subscriber {
            filter,
            tx,
            held: held.clone(),
            limit,
        });
        drop(r);
        let before = self.any();
        self.open.fetch_add(1, Ordering::AcqRel);
        self.began(before);
        Subscription {
            rx,
            held,
            open: self.open.clone(),
        }
    }

    /// Dispatches one event (see [`Dispatcher::dispatch`]).
    #[cfg(test)]
    pub(crate) fn dispatch(&self, event: &Event) {
        self.dispatcher().dispatch(event);
    }

    /// Dispatches the event `make` makes, named `name`, as
    /// [`Dispatcher::dispatch`] does; makes it only if a listener or a
    /// subscription may want it.
    pub(crate) fn dispatch_with(&self, name: &str, make: impl FnOnce() -> Event) {
        // Nobody listens (a sender alone): not even the lock.
        if self.any() {
            self.dispatch_lazy(name, || Cow::Owned(make()));
        }
    }

    fn dispatch_lazy<'e>(&self, name: &str, make: impl FnOnce() -> Cow<'e, Event>) {
        // The list of callbacks is reused from one event to the next (one
        // allocation per event otherwise); a listener that dispatches
        // meanwhile finds it taken and uses a fresh one.
        let mut callbacks = CALLBACKS.take();
        let gathered = self.gather(name, &mut callbacks);
        if !callbacks.is_empty() || gathered.subscribers.is_some() {
            self.fire(
                &make(),
                &callbacks,
                gathered.subscribers.as_deref().map(Vec::as_slice),
            );
        }
        callbacks.clear();
        CALLBACKS.set(callbacks);
    }

    /// Puts into `callbacks` (empty) what an event called `name` fires, in
    /// order, and removes the `once` ones among them from the registry;
    /// returns the subscribers and the version this holds for.
    fn gather(&self, name: &str, callbacks: &mut Vec<(ListenerId, Callback)>) -> Gathered {
        let mut r = self.lock();
        let patterns = !r.by_pattern.is_empty();
        let mut once = false;
        r.each_list_for(name, |list| {
            callbacks.extend(list.iter().map(|e| (e.id, e.callback.clone())));
            once |= list.iter().any(|e| e.once);
            list.retain(|e| !e.once);
        });
        if once {
            self.changed(&r);
        }
        if patterns {
            callbacks.sort_unstable_by_key(|(id, _)| *id);
        }
        Gathered {
            // Read under the lock: every change bumps it under the lock too.
            version: self.version.load(Ordering::Acquire),
            once,
            subscribers: (!r.subscribers.is_empty()).then(|| r.subscribers.clone()),
        }
    }

    /// Offers `event` to the subscribers, then calls the callbacks.
    fn fire(
        &self,
        event: &Event,
        callbacks: &[(ListenerId, Callback)],
        subscribers: Option<&[Subscriber]>,
    ) {
        if let Some(subscribers) = subscribers {
            self.offer(event, subscribers);
        }
        for (_, callback) in callbacks {
            if catch_unwind(AssertUnwindSafe(|| callback(event))).is_err() {
                self.panics.fetch_add(1, Ordering::Relaxed);
                tracing::error!(target: "eventcast", event = event.name(), "a listener panicked");
            }
        }
    }

    /// A dispatcher for a run of events, as the node's task hands them
    /// over (see [`Dispatcher`]).
    pub(crate) fn dispatcher(&self) -> Dispatcher<'_> {
        Dispatcher {
            listeners: self,
            name: String::new(),
            callbacks: Vec::new(),
            gathered: None,
        }
    }

    /// Hands `event` to every subscriber that wants it, then forgets the
    /// subscribers whose readers are gone.
    fn offer(&self, event: &Event, subscribers: &[Subscriber]) {
        // Sized once, for every subscriber, and only if one wants it.
        let mut size = None;
        let mut gone = false;
        for s in subscribers {
            let wanted = s.filter.as_ref().is_none_or(|f| f.matches(event.name()));
            gone |= if wanted {
                let size = *size.get_or_insert_with(|| event.held_bytes());
                s.offer(event, size, &self.lagged).is_err()
            } else {
                s.tx.is_closed()
            };
        }
        if gone {
            let mut r = self.lock();
            self.version.fetch_add(1, Ordering::AcqRel);
            Arc::make_mut(&mut r.subscribers).retain(|s| !s.tx.is_closed());
        }
    }
}

/// What an event fires, as [`Listeners::gather`] found it.
struct Gathered {
    version: u64,
    /// `once` listeners were among them (and removed): not for another
    /// event.
    once: bool,
    subscribers: Option<Arc<Vec<Subscriber>>>,
}

/// Dispatches a run of events, one by one, but gathers what an event fires only when the name changes or the
/// listeners did (a version, read without the lock): a burst of events of
/// one name takes the registry's lock once, not once per event, and no
/// reference count per listener and event. What it gathered is let go
/// when it is dropped, at the end of the run, so a listener removed
/// meanwhile is not kept alive past it (nor called after its removal is
/// seen).
pub(crate) struct Dispatcher<'a> {
    listeners: &'a Listeners,
    /// The name `callbacks` and `gathered` are for.
    name: String,
    callbacks: Vec<(ListenerId, Callback)>,
    gathered: Option<Gathered>,
}

impl Dispatcher<'_> {
    /// Calls every listener of the event's name and of every pattern that
    /// matches it, in the order they were added (removing `once` ones
    /// first), and hands the event to every matching subscriber. Listeners
    /// run, and subscribers are offered the event, outside the lock, so
    /// that listeners may call back into the node and a subscription's
    /// reader, woken, does not wait for the lock.
    pub(crate) fn dispatch(&mut self, event: &Event) {
        let listeners = self.listeners;
        let version = listeners.version.load(Ordering::Acquire);
        let fresh = self
            .gathered
            .as_ref()
            .is_some_and(|g| g.version == version && !g.once && self.name == event.name());
        if !fresh {
            self.callbacks.clear();
            self.gathered = Some(listeners.gather(event.name(), &mut self.callbacks));
            self.name.clear();
            self.name.push_str(event.name());
        }
        let subscribers = self
            .gathered
            .as_ref()
            .and_then(|g| g.subscribers.as_deref())
            .map(Vec::as_slice);
        if !self.callbacks.is_empty() || subscribers.is_some() {
            listeners.fire(event, &self.callbacks, subscribers);
        }
    }
}

/// A stream of events, from [`Eventcast::subscribe`](crate::Eventcast::subscribe).
///
/// It holds the events its reader has not taken yet, up to the node's
/// `subscription_bytes` (a burst of small events fits whole); while it is
/// full, new events for it are dropped and counted in
/// [`NodeStats::subscription_lagged`](crate::NodeStats). Dropping it
/// unsubscribes.
#[derive(Debug)]
pub struct Subscription {
    rx: mpsc::UnboundedReceiver<(Event, usize)>,
    held: Arc<AtomicUsize>,
    /// The node's count of open subscriptions, which this one leaves when
    /// dropped.
    open: Arc<AtomicUsize>,
}

impl Drop for Subscription {
    fn drop(&mut self) {
        self.open.fetch_sub(1, Ordering::AcqRel);
    }
}

impl Subscription {
    /// The next event; `None` once the node is dropped.
    pub async fn recv(&mut self) -> Option<Event> {
        let event = self.rx.recv().await;
        self.taken(event)
    }

    /// The next event if one is waiting.
    pub fn try_recv(&mut self) -> Option<Event> {
        let event = self.rx.try_recv().ok();
        self.taken(event)
    }

    /// Gives back the room `event` held, as the dispatcher counted it.
    fn taken(&self, event: Option<(Event, usize)>) -> Option<Event> {
        let (event, size) = event?;
        self.held.fetch_sub(size, Ordering::AcqRel);
        Some(event)
    }
}

impl futures_core::Stream for Subscription {
    type Item = Event;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Event>> {
        let event = std::task::ready!(self.rx.poll_recv(cx));
        Poll::Ready(self.taken(event))
    }
}

#[cfg(test)]
mod tests;
