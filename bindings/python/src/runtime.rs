//! The package's tokio runtime (one per process, made at first use) and
//! waiting without the GIL in slices, so that Ctrl-C gets through.
//!
//! After `os.fork` (multiprocessing's "fork" start method) the child has
//! the parent's runtime in memory but not its worker threads: a node made
//! in the child gets a runtime of its own, and the parent's is left alone
//! (leaked: dropping it would touch the parent's epoll instance, which the
//! child shares). A node made before the fork refuses to work in the
//! child ([`check_process`]).

use std::future::Future;
use std::ptr;
use std::sync::atomic::{AtomicPtr, Ordering};
use std::time::{Duration, Instant};

use pyo3::exceptions::{PyRuntimeError, PyValueError};
use pyo3::prelude::*;

/// How long a blocking call waits without the GIL before it checks for
/// signals (Ctrl-C): well under the 100 ms a user notices.
pub(crate) const SLICE: Duration = Duration::from_millis(50);

/// A runtime and the process that made it.
struct Made {
    pid: u32,
    runtime: Result<tokio::runtime::Runtime, String>,
}

/// The current process's runtime: a leaked `Box<Made>` (never freed), or
/// null before the first use. Read without a lock, so that a fork while
/// another thread made one cannot leave the child waiting on a lock.
static RUNTIME: AtomicPtr<Made> = AtomicPtr::new(ptr::null_mut());

/// The runtime every node of this process runs on: two worker threads
/// (the nodes' tasks are light; listeners run on the package's own
/// thread, not here). Made at the first use in each process.
pub(crate) fn runtime() -> PyResult<&'static tokio::runtime::Runtime> {
    let pid = std::process::id();
    let mut current = RUNTIME.load(Ordering::Acquire);
    loop {
        // SAFETY: a non-null pointer in RUNTIME is a leaked Box, never
        // freed, so the reference lives for ever.
        if let Some(made) = unsafe { current.as_ref() } {
            if made.pid == pid {
                return made.runtime.as_ref().map_err(|e| {
                    PyRuntimeError::new_err(format!("cannot start the tokio runtime: {e}"))
                });
            }
        }
        // None yet, or the parent's (this is a forked child): a new one.
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("eventcast-runtime")
            .enable_all()
            .build()
            .map_err(|e| e.to_string());
        let made = Box::into_raw(Box::new(Made { pid, runtime }));
        match RUNTIME.compare_exchange(current, made, Ordering::AcqRel, Ordering::Acquire) {
            // The one before (the parent's, if any) is leaked.
            Ok(_) => current = made,
            Err(other) => {
                // Another thread made one first: ours goes (without
                // waiting, so it may go from anywhere).
                // SAFETY: `made` came from Box::into_raw above and was not
                // published.
                let lost = unsafe { Box::from_raw(made) };
                if let Ok(runtime) = lost.runtime {
                    runtime.shutdown_background();
                }
                current = other;
            }
        }
    }
}

/// An error unless this is the process that made the node (or
/// subscription) `what`, whose tasks ran on that process's runtime: after
/// a fork they do not run in the child.
pub(crate) fn check_process(made_in: u32, what: &str) -> PyResult<()> {
    let pid = std::process::id();
    if made_in == pid {
        return Ok(());
    }
    Err(PyRuntimeError::new_err(format!(
        "this {what} was made in process {made_in} and cannot be used in process {pid}, \
         forked from it (its tasks do not run here): make a new Eventcast in this process"
    )))
}

/// Runs `future` on the runtime to completion, waiting without the GIL in
/// slices of [`SLICE`] and checking for signals between them. On Ctrl-C
/// the call raises KeyboardInterrupt at once and the future still runs
/// to its end on the runtime (start, stop and peers are not cut midway).
pub(crate) fn run<F>(py: Python<'_>, future: F) -> PyResult<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let rt = runtime()?;
    let mut handle = rt.spawn(future);
    loop {
        let done =
            py.detach(|| rt.block_on(async { tokio::time::timeout(SLICE, &mut handle).await }));
        match done {
            Ok(Ok(output)) => return Ok(output),
            Ok(Err(e)) => {
                return Err(PyRuntimeError::new_err(format!(
                    "the node's call failed: {e}"
                )))
            }
            Err(_) => py.check_signals()?,
        }
    }
}

/// Polls `step` (a future made anew for each slice, so it must be
/// cancel-safe) without the GIL, in slices of [`SLICE`], checking for
/// signals between them, until it gives `Some` or `timeout` passes (then
/// `None`). A signal handler's exception (KeyboardInterrupt) is raised.
pub(crate) fn wait_for<T, F, Fut>(
    py: Python<'_>,
    timeout: Option<Duration>,
    mut step: F,
) -> PyResult<Option<T>>
where
    T: Send,
    F: FnMut() -> Fut + Send,
    Fut: Future<Output = T> + Send,
{
    let rt = runtime()?;
    // A timeout longer than the clock can count is for ever.
    let deadline = timeout.and_then(|t| Instant::now().checked_add(t));
    loop {
        let slice = match deadline {
            Some(deadline) => {
                let left = deadline.saturating_duration_since(Instant::now());
                SLICE.min(left)
            }
            None => SLICE,
        };
        let fut = step();
        // The timer is made inside the runtime, which it needs.
        let got = py.detach(|| rt.block_on(async { tokio::time::timeout(slice, fut).await }));
        if let Ok(value) = got {
            return Ok(Some(value));
        }
        py.check_signals()?;
        if deadline.is_some_and(|d| Instant::now() >= d) {
            return Ok(None);
        }
    }
}

/// A timeout in seconds from Python: `None` is forever, and so is one too
/// long for a `Duration` (infinity included), as one too long for the
/// clock already is. A negative or NaN one is refused (as
/// `queue.Queue.get` does).
pub(crate) fn timeout(seconds: Option<f64>) -> PyResult<Option<Duration>> {
    match seconds {
        Some(s) if s.is_nan() || s < 0.0 => Err(PyValueError::new_err(format!(
            "timeout: must be a non-negative number of seconds, got {s}"
        ))),
        Some(s) => Ok(Duration::try_from_secs_f64(s).ok()),
        None => Ok(None),
    }
}
