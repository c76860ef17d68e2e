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
mod errors;
mod node;
mod runtime;
mod stats;
mod subscription;

use pyo3::prelude::*;

/// The module `eventcast._core`.
#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<node::Node>()?;
    m.add_class::<subscription::Subscription>()?;
    m.add("QueueFull", m.py().get_type::<errors::QueueFull>())?;
    m.add("LISTENER_QUEUE_SIZE", config::LISTENER_QUEUE_SIZE)?;
    Ok(())
}
