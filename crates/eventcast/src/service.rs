//! Services: parts built on a node's public API that follow its lifecycle.
//! The node knows them only through this trait; the REPL is one.

use crate::error::Error;

/// A part that runs beside a node and follows its lifecycle, built on the
/// node's public API as any application would be (the operator's REPL is
/// one). Attach it with
/// [`Eventcast::add_service`](crate::node::Eventcast::add_service).
///
/// The node owns its services: they live as long as its handles and are
/// dropped with the last one, so a service that runs tasks should stop
/// them when it is dropped, and hold the node only weakly
/// ([`Eventcast::downgrade`](crate::node::Eventcast::downgrade)) so as not
/// to keep it alive.
///
/// The hooks run on the task that calls `start` or `stop`: they must not
/// block (spawn what takes time).
pub trait Service: Send + Sync + 'static {
    /// At every start of the node, before it binds its socket. An error
    /// fails the start: the node stays stopped.
    fn on_start(&self) -> Result<(), Error> {
        Ok(())
    }

    /// At every stop of the node, once it has left the group.
    fn on_stop(&self) {}
}
