//! The native part of the `eventcast` Python package (`eventcast._core`):
//! a node, its listener queue and subscriptions, and the conversion of
//! Python values to BSON and back. The Python layer
//! (`python/eventcast/`) builds the public API on it: the listener
//! thread, decorators, iterators, `Event`.
//!
//! Built by maturin (`pip install ./bindings/python`); see the README's
//! Python section.

mod config;
mod convert;
mod node;
mod runtime;
mod stats;
mod subscription;

use pyo3::prelude::*;

pyo3::create_exception!(
    eventcast,
    QueueFull,
    pyo3::exceptions::PyException,
    "The send queue is full (emit_nowait): max_send_queue_bytes of earlier events are not sent yet."
);

/// The module `eventcast._core`.
#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<node::Node>()?;
    m.add_class::<subscription::Subscription>()?;
    m.add("QueueFull", m.py().get_type::<QueueFull>())?;
    m.add("LISTENER_QUEUE_SIZE", config::LISTENER_QUEUE_SIZE)?;
    Ok(())
}
