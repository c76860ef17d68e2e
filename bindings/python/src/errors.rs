//! The exceptions of the package, and the library's errors as Python
//! exceptions.

use eventcast::{EmitError, Error};
use pyo3::exceptions::{PyOSError, PyRuntimeError, PyValueError};
use pyo3::prelude::*;

pyo3::create_exception!(
    eventcast,
    QueueFull,
    pyo3::exceptions::PyException,
    "The send queue is full (emit_nowait): max_send_queue_bytes of earlier events are not sent yet."
);

/// The library's errors as the Python exceptions a caller expects.
pub(crate) fn error(e: Error) -> PyErr {
    match e {
        Error::Emit(EmitError::QueueFull { .. }) => QueueFull::new_err(e.to_string()),
        Error::Config(_) | Error::Pattern(_) | Error::Emit(_) | Error::Kdf(_) => {
            PyValueError::new_err(e.to_string())
        }
        Error::Legacy(_) | Error::Keyring(_) | Error::Args(_) => {
            PyValueError::new_err(e.to_string())
        }
        Error::Io { .. } => {
            let source = std::error::Error::source(&e).map(|s| format!(": {s}"));
            PyOSError::new_err(format!("{e}{}", source.unwrap_or_default()))
        }
        other => PyRuntimeError::new_err(other.to_string()),
    }
}
