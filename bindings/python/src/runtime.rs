//! The package's tokio runtime (one per process, made at first use) and
//! waiting without the GIL in slices, so that Ctrl-C gets through.

use std::future::Future;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;

/// How long a blocking call waits without the GIL before it checks for
/// signals (Ctrl-C): well under the 100 ms a user notices.
pub(crate) const SLICE: Duration = Duration::from_millis(50);

static RUNTIME: OnceLock<Result<tokio::runtime::Runtime, String>> = OnceLock::new();

/// The runtime every node of this process runs on: two worker threads
/// (the nodes' tasks are light; listeners run on the package's own
/// thread, not here).
pub(crate) fn runtime() -> PyResult<&'static tokio::runtime::Runtime> {
    RUNTIME
        .get_or_init(|| {
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .thread_name("eventcast-runtime")
                .enable_all()
                .build()
                .map_err(|e| e.to_string())
        })
        .as_ref()
        .map_err(|e| PyRuntimeError::new_err(format!("cannot start the tokio runtime: {e}")))
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

/// A timeout in seconds from Python: `None` is forever.
pub(crate) fn timeout(seconds: Option<f64>) -> PyResult<Option<Duration>> {
    seconds
        .map(|s| {
            Duration::try_from_secs_f64(s.max(0.0)).map_err(|_| {
                pyo3::exceptions::PyValueError::new_err(format!(
                    "timeout: must be a finite number of seconds, got {s}"
                ))
            })
        })
        .transpose()
}
