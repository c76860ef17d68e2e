//! `eventcast._core.Subscription`: a stream of events, read by blocking
//! calls (in slices, so Ctrl-C gets through) or by asyncio.
//!
//! For asyncio no thread waits: [`Subscription::arm`] spawns one task on
//! the package's runtime that awaits the next event, puts it in `ready`
//! and signals an eventfd; the event loop watches that fd
//! (`loop.add_reader`) and takes the event with [`Subscription::take`].
//! Nothing on the runtime touches Python.
//!
//! Like its node, a subscription belongs to the process that made it:
//! after a fork it raises in the child, and the child never drops the
//! stream (see `node.rs`).

use std::collections::VecDeque;
use std::mem::ManuallyDrop;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use pyo3::exceptions::PyOSError;
use pyo3::prelude::*;
use pyo3::types::PyTuple;
use tokio::sync::Notify;

use crate::convert::event_tuple;
use crate::runtime::{check_process, runtime, timeout, wait_for};

struct Inner {
    /// The stream; `None` once closed (dropping it unsubscribes).
    sub: tokio::sync::Mutex<Option<eventcast::Subscription>>,
    /// Events an armed task received, not yet taken.
    ready: Mutex<VecDeque<eventcast::Event>>,
    /// A task is waiting for the next event.
    armed: AtomicBool,
    /// The stream ended (the node is gone) or was closed.
    closed: AtomicBool,
    /// Wakes an armed task when the subscription is closed.
    closing: Notify,
    /// Signalled (made readable) when an armed task is done. Created at
    /// the first `fileno()`.
    efd: Mutex<Option<OwnedFd>>,
}

/// A subscription. `eventcast.Subscription` wraps it.
#[pyclass(module = "eventcast._core", frozen)]
pub(crate) struct Subscription {
    /// Dropped only in the process that made it.
    inner: ManuallyDrop<Arc<Inner>>,
    /// The process that made it.
    pid: u32,
}

impl Subscription {
    pub(crate) fn new(sub: eventcast::Subscription, pid: u32) -> Self {
        Self {
            pid,
            inner: ManuallyDrop::new(Arc::new(Inner {
                sub: tokio::sync::Mutex::new(Some(sub)),
                ready: Mutex::new(VecDeque::new()),
                armed: AtomicBool::new(false),
                closed: AtomicBool::new(false),
                closing: Notify::new(),
                efd: Mutex::new(None),
            })),
        }
    }
}

#[pymethods]
impl Subscription {
    /// The next event, waiting up to `timeout_secs` (None: forever); None
    /// on timeout or once closed. Ctrl-C raises KeyboardInterrupt within
    /// 50 ms.
    #[pyo3(signature = (timeout_secs=None))]
    fn recv<'py>(
        &self,
        py: Python<'py>,
        timeout_secs: Option<f64>,
    ) -> PyResult<Option<Bound<'py, PyTuple>>> {
        check_process(self.pid, "subscription")?;
        let limit = timeout(timeout_secs)?;
        if let Some(event) = self.take(py)? {
            return Ok(Some(event));
        }
        if self.closed() {
            return Ok(None);
        }
        let inner = &self.inner;
        let got = wait_for(py, limit, || async {
            // A task armed by asyncio may hold the stream: its event
            // lands in `ready`.
            let mut sub = inner.sub.lock().await;
            if let Some(event) = lock(&inner.ready).pop_front() {
                return Some(event);
            }
            let event = match sub.as_mut() {
                Some(sub) => sub.recv().await,
                None => None,
            };
            if event.is_none() {
                inner.closed.store(true, Ordering::Release);
            }
            event
        })?;
        match got.flatten() {
            Some(event) => Ok(Some(event_tuple(py, 0, &event)?)),
            None => Ok(None),
        }
    }

    /// An event already received, if any (never waits).
    fn take<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyTuple>>> {
        check_process(self.pid, "subscription")?;
        let event = lock(&self.inner.ready).pop_front().or_else(|| {
            let mut sub = self.inner.sub.try_lock().ok()?;
            sub.as_mut()?.try_recv()
        });
        event.map(|e| event_tuple(py, 0, &e)).transpose()
    }

    /// Starts one task that waits for the next event (nothing if one
    /// waits already); when it has one, or the stream ends, the fd of
    /// `fileno()` becomes readable.
    fn arm(&self) -> PyResult<()> {
        check_process(self.pid, "subscription")?;
        let efd = self.efd()?;
        if self.inner.armed.swap(true, Ordering::AcqRel) {
            return Ok(());
        }
        let inner = Arc::clone(&self.inner);
        runtime()?.spawn(async move {
            let closing = inner.closing.notified();
            let event = tokio::select! {
                event = async {
                    match inner.sub.lock().await.as_mut() {
                        Some(sub) => sub.recv().await,
                        None => None,
                    }
                } => event,
                () = closing => None,
            };
            match event {
                Some(event) => lock(&inner.ready).push_back(event),
                None => inner.closed.store(true, Ordering::Release),
            }
            inner.armed.store(false, Ordering::Release);
            signal(efd);
        });
        Ok(())
    }

    /// The eventfd that `arm`'s task makes readable; read 8 bytes to clear.
    fn fileno(&self) -> PyResult<RawFd> {
        self.efd()
    }

    /// Whether the stream ended.
    #[getter]
    fn closed(&self) -> bool {
        self.inner.closed.load(Ordering::Acquire) && lock(&self.inner.ready).is_empty()
    }

    /// Ends the stream: an armed task stops waiting, and the node stops
    /// queueing events for it.
    fn close(&self) {
        self.inner.closed.store(true, Ordering::Release);
        if self.pid != std::process::id() {
            return; // forked: the stream is the parent's
        }
        self.inner.closing.notify_one();
        let inner = Arc::clone(&self.inner);
        // The stream is dropped once no armed task holds it.
        if let Ok(rt) = runtime() {
            rt.spawn(async move { inner.sub.lock().await.take() });
        }
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        self.close();
        if self.pid == std::process::id() {
            // SAFETY: dropped once, here, and never used again.
            unsafe { ManuallyDrop::drop(&mut self.inner) };
        }
    }
}

impl Subscription {
    fn efd(&self) -> PyResult<RawFd> {
        let mut efd = lock(&self.inner.efd);
        if let Some(fd) = efd.as_ref() {
            return Ok(fd.as_raw_fd());
        }
        // SAFETY: eventfd has no preconditions; a non-negative result is
        // a new descriptor that we own from here on.
        let raw = unsafe { libc::eventfd(0, libc::EFD_NONBLOCK | libc::EFD_CLOEXEC) };
        if raw < 0 {
            return Err(PyOSError::new_err(format!(
                "cannot create an eventfd: {}",
                std::io::Error::last_os_error()
            )));
        }
        // SAFETY: `raw` is a valid descriptor nobody else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        let raw = fd.as_raw_fd();
        *efd = Some(fd);
        Ok(raw)
    }
}

/// Adds one to the eventfd (it stays open while `Inner` lives, and the
/// task holds `Inner`). A full counter (EAGAIN) is readable anyway.
fn signal(fd: RawFd) {
    let one: u64 = 1;
    // SAFETY: writes 8 bytes from a live u64 to a descriptor we own.
    unsafe {
        libc::write(fd, (&one as *const u64).cast(), 8);
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
