//! `eventcast._core.Node`: one eventcast node, with the queue that carries
//! its events to the package's listener thread.
//!
//! The node's listeners (Rust closures, called on the node's task) only
//! push `(token, event)` into a bounded queue ([`Queue`]): no Python, no
//! GIL, no waiting. The Python layer's listener thread takes them out in batches
//! ([`Node::next_batch`], which waits without the GIL) and calls the
//! Python functions, one event at a time, in order.
//!
//! A node belongs to the process that made it: after a fork its methods
//! raise in the child ([`check_process`]), and the child never drops its
//! copy of the library's node (that would touch the parent's runtime).

use std::collections::HashMap;
use std::mem::ManuallyDrop;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use eventcast::{EmitError, Error, Event, Eventcast, ListenerId};
use pyo3::exceptions::PyTimeoutError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyTuple};

use crate::convert::{args_to_bson, event_tuple};
use crate::errors::error;
use crate::runtime::{check_process, run, runtime, timeout, wait_for};
use crate::subscription::Subscription;
use crate::{config, stats};

type Item = (u64, Event);

/// The sending end of the listener queue: a channel that grows only as
/// events wait in it, and holds at most `bound` of them (a `sync_channel`
/// allocates all its places up front: 8 MiB per node at the default
/// size). An event beyond the bound is dropped and counted.
struct Queue {
    tx: Sender<Item>,
    /// Events sent and not yet taken by [`Node::next_batch`].
    len: AtomicUsize,
    bound: usize,
    /// Events the queue had no room for.
    dropped: AtomicU64,
}

impl Queue {
    fn new(bound: usize) -> (Self, Receiver<Item>) {
        let (tx, rx) = mpsc::channel();
        let queue = Self {
            tx,
            len: AtomicUsize::new(0),
            bound,
            dropped: AtomicU64::new(0),
        };
        (queue, rx)
    }

    /// Queues `token`'s copy of `event` if there is room, else counts it
    /// as dropped; whether it was queued.
    fn push(&self, token: u64, event: &Event) -> bool {
        let room = self
            .len
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < self.bound).then_some(n + 1)
            })
            .is_ok();
        if !room {
            self.dropped.fetch_add(1, Ordering::Relaxed);
            return false;
        }
        if self.tx.send((token, event.clone())).is_err() {
            // The node is being dropped: nobody will take it.
            self.len.fetch_sub(1, Ordering::AcqRel);
            return false;
        }
        true
    }

    /// `n` events were taken out.
    fn taken(&self, n: usize) {
        self.len.fetch_sub(n, Ordering::AcqRel);
    }
}

/// A node of the group. The Python class `eventcast.Eventcast` wraps it.
#[pyclass(module = "eventcast._core", frozen)]
pub(crate) struct Node {
    /// Dropped only in the process that made it (see [`Drop for Node`]).
    node: ManuallyDrop<Eventcast>,
    /// The process that made it.
    pid: u32,
    queue: Arc<Queue>,
    rx: Mutex<Receiver<Item>>,
    /// The library's listener ids by the Python layer's tokens. A `once`
    /// listener's entry goes when it fires (the library forgets it then).
    listeners: Arc<Mutex<HashMap<u64, (String, ListenerId)>>>,
    /// The tokens of `once` listeners that fired while the queue was full:
    /// the Python layer forgets them too ([`Node::take_expired`]).
    expired: Arc<Mutex<Vec<u64>>>,
}

#[pymethods]
impl Node {
    #[new]
    #[pyo3(signature = (**options))]
    fn new(options: Option<&Bound<'_, PyDict>>) -> PyResult<Self> {
        let options = config::from_kwargs(options)?;
        let _entered = runtime()?.enter();
        let node = Eventcast::new(options.config).map_err(error)?;
        let (queue, rx) = Queue::new(options.listener_queue_size);
        Ok(Self {
            node: ManuallyDrop::new(node),
            pid: std::process::id(),
            queue: Arc::new(queue),
            rx: Mutex::new(rx),
            listeners: Arc::new(Mutex::new(HashMap::new())),
            expired: Arc::new(Mutex::new(Vec::new())),
        })
    }

    /// Binds, joins the group and starts receiving (nothing if running).
    fn start(&self, py: Python<'_>) -> PyResult<()> {
        self.check()?;
        let node = self.node.clone();
        run(py, async move { node.start().await })?.map_err(error)
    }

    /// Sends what is queued, leaves the group, closes the socket (nothing
    /// if stopped).
    fn stop(&self, py: Python<'_>) -> PyResult<()> {
        self.check()?;
        let node = self.node.clone();
        run(py, async move { node.stop().await })
    }

    #[getter]
    fn running(&self) -> bool {
        self.node.is_running()
    }

    #[getter]
    fn id(&self) -> String {
        self.node.id().to_string()
    }

    /// The port bound while running, else the configured one (or None).
    #[getter]
    fn port(&self) -> Option<u16> {
        self.node
            .local_addr()
            .map(|a| a.port())
            .or(self.node.config().port)
    }

    #[getter]
    fn group_addr(&self) -> Option<String> {
        self.node.group_addr().map(|a| a.to_string())
    }

    /// Emits; `wait` waits (up to `timeout` seconds) for room in a full
    /// send queue, else a full queue raises `QueueFull`.
    #[pyo3(signature = (name, args, wait, timeout_secs=None))]
    fn emit(
        &self,
        py: Python<'_>,
        name: &str,
        args: &Bound<'_, PyTuple>,
        wait: bool,
        timeout_secs: Option<f64>,
    ) -> PyResult<()> {
        self.check()?;
        // A lone large bytes argument (a frame): sent without a copy.
        let args = eventcast::lone_binary(args_to_bson(args)?);
        let limit = timeout(timeout_secs)?;
        let node = &self.node;
        let first = py.detach(|| match &args {
            Ok(bytes) => node.emit_binary(name, bytes.clone()),
            Err(list) => node.emit(name, list),
        });
        match first {
            Err(Error::Emit(EmitError::QueueFull { .. })) if wait => {}
            other => return other.map_err(error),
        }
        let args = &args;
        let again = || async move {
            match args {
                Ok(bytes) => node.emit_binary_wait(name, bytes.clone()).await,
                Err(list) => node.emit_wait(name, list).await,
            }
        };
        match wait_for(py, limit, again)? {
            Some(result) => result.map_err(error),
            None => Err(PyTimeoutError::new_err(format!(
                "emit {name:?}: the send queue had no room within the timeout"
            ))),
        }
    }

    /// Adds a listener for `name` (a name or pattern) whose events go to
    /// the listener queue tagged with `token`.
    fn on(&self, name: &str, token: u64, once: bool) -> PyResult<()> {
        self.check()?;
        let queue = Arc::clone(&self.queue);
        // Held until the entry is in: a once listener that fires at once
        // (an emit on another thread) waits for it, then removes it. The
        // library calls listeners without its own lock held, so this
        // cannot deadlock.
        let mut listeners = lock(&self.listeners);
        let id = if once {
            let entries = Arc::clone(&self.listeners);
            let expired = Arc::clone(&self.expired);
            self.node.once(name, move |event: &Event| {
                lock(&entries).remove(&token);
                if !queue.push(token, event) {
                    lock(&expired).push(token);
                }
            })
        } else {
            self.node.on(name, move |event: &Event| {
                queue.push(token, event);
            })
        }
        .map_err(error)?;
        listeners.insert(token, (name.to_owned(), id));
        Ok(())
    }

    /// Removes the listener of `token`; whether it was there.
    fn off(&self, token: u64) -> PyResult<bool> {
        self.check()?;
        Ok(match lock(&self.listeners).remove(&token) {
            Some((name, id)) => self.node.off(&name, id),
            None => false,
        })
    }

    /// The tokens of `once` listeners that fired, but whose event the
    /// full queue dropped, since the last call: the Python layer, which
    /// forgets a `once` listener when it calls it, forgets these.
    fn take_expired(&self) -> PyResult<Vec<u64>> {
        self.check()?;
        Ok(std::mem::take(&mut *lock(&self.expired)))
    }

    /// How many listeners an event of this name fires (or, for a pattern,
    /// how many were added under it).
    fn listener_count(&self, name: &str) -> PyResult<usize> {
        self.check()?;
        Ok(self.node.listener_count(name))
    }

    /// Waits up to `timeout_secs` (without the GIL) for the listener queue,
    /// then takes up to `max` items: `(token, name, args, sender, source,
    /// seq)` each. An empty list if none came.
    fn next_batch<'py>(
        &self,
        py: Python<'py>,
        timeout_secs: f64,
        max: usize,
    ) -> PyResult<Bound<'py, PyList>> {
        self.check()?;
        let wait = timeout(Some(timeout_secs))?.unwrap_or(Duration::ZERO);
        let rx = &self.rx;
        let items = py.detach(|| {
            let rx = lock(rx);
            let mut items = Vec::new();
            match rx.recv_timeout(wait) {
                Ok(item) => items.push(item),
                Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => return items,
            }
            while items.len() < max {
                match rx.try_recv() {
                    Ok(item) => items.push(item),
                    Err(_) => break,
                }
            }
            items
        });
        self.queue.taken(items.len());
        let list = PyList::empty(py);
        for (token, event) in &items {
            list.append(event_tuple(py, *token, event)?)?;
        }
        Ok(list)
    }

    /// A subscription to these names and patterns (every event if none).
    fn subscribe(&self, names: Vec<String>) -> PyResult<Subscription> {
        self.check()?;
        let sub = if names.is_empty() {
            self.node.subscribe()
        } else {
            self.node.subscribe_to(names).map_err(error)?
        };
        Ok(Subscription::new(sub, self.pid))
    }

    /// Every counter of the node, as nested dicts.
    fn stats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        self.check()?;
        let dict = stats::to_dict(py, &self.node.stats())?;
        dict.set_item(
            "listener_dropped",
            self.queue.dropped.load(Ordering::Relaxed),
        )?;
        Ok(dict)
    }

    /// The nodes heard: a dict per node.
    fn peers<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        self.check()?;
        let node = self.node.clone();
        let peers = run(py, async move { node.peers().await })?;
        let list = PyList::empty(py);
        for peer in peers {
            let dict = PyDict::new(py);
            dict.set_item("id", peer.id.to_string())?;
            dict.set_item("address", peer.addr.to_string())?;
            dict.set_item("since_heard", peer.since_heard.as_secs_f64())?;
            dict.set_item("lead", peer.lead.get())?;
            dict.set_item("delivered", peer.delivered)?;
            dict.set_item("lost", peer.lost)?;
            list.append(dict)?;
        }
        Ok(list)
    }
}

impl Node {
    /// An error in a process forked from the one that made the node.
    fn check(&self) -> PyResult<()> {
        check_process(self.pid, "node")
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        // In a forked child the node's tasks and runtime are the parent's:
        // it is left as it is.
        if self.pid == std::process::id() {
            // SAFETY: dropped once, here, and never used again.
            unsafe { ManuallyDrop::drop(&mut self.node) };
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
