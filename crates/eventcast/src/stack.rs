//! The node with the layers on top of it: the bare node of
//! [`node`](crate::node) plus the services its configuration asks for
//! (today the operator's REPL, with the `repl` feature). The node never
//! imports what is built on it; this module wires the two together.

use crate::config::Config;
use crate::error::Error;
use crate::node::Eventcast;
#[cfg(feature = "repl")]
use crate::repl::{Repl, ReplService};

impl Eventcast {
    /// Creates a stopped node. Fails if the configuration cannot work.
    ///
    /// With `repl.enabled` (and the `repl` feature, on by default), the
    /// node's first [`start`](Self::start) also opens the operator's REPL
    /// (see [`repl`](Self::repl)).
    pub fn new(config: Config) -> Result<Self, Error> {
        let node = Self::bare(config)?;
        #[cfg(feature = "repl")]
        if node.config().repl.enabled {
            node.repl();
        }
        Ok(node)
    }

    /// The node's operator's REPL: open or close it, and read where it
    /// listens and what it counted (see [`Repl`]). It opens at the node's
    /// start when `repl.enabled` is set, or at [`Repl::open`].
    #[cfg(feature = "repl")]
    pub fn repl(&self) -> Repl<'_> {
        Repl::new(self.service_or_add(|| ReplService::new(self)))
    }
}
