//! Logging: the library logs through `tracing`; the addon installs one
//! subscriber for the process that writes to stderr what the log levels
//! of any live node let through.

use std::io::IsTerminal;
use std::sync::{Mutex, MutexGuard, OnceLock};

use eventcast::logging::{Component, LogLevels};
use tracing::subscriber::Interest;
use tracing::Metadata;
use tracing_subscriber::layer::{Context, Filter, SubscriberExt};
use tracing_subscriber::Layer;

/// The levels of every live node, by a key of the node's own.
static TABLES: Mutex<Vec<(usize, LogLevels)>> = Mutex::new(Vec::new());
static INSTALLED: OnceLock<()> = OnceLock::new();

fn tables() -> MutexGuard<'static, Vec<(usize, LogLevels)>> {
    TABLES.lock().unwrap_or_else(|e| e.into_inner())
}

/// Lets a record through if some node's table lets it through.
struct AnyNode;

impl<S> Filter<S> for AnyNode {
    fn enabled(&self, meta: &Metadata<'_>, _: &Context<'_, S>) -> bool {
        let Some(component) = Component::of_target(meta.target()) else {
            return false;
        };
        tables()
            .iter()
            .any(|(_, levels)| levels.get(component) >= *meta.level())
    }

    fn callsite_enabled(&self, meta: &'static Metadata<'static>) -> Interest {
        if Component::of_target(meta.target()).is_some() {
            Interest::sometimes()
        } else {
            Interest::never()
        }
    }
}

/// Registers a node's levels (under `key`) and installs the process's
/// subscriber on first use.
pub(crate) fn register(key: usize, levels: LogLevels) {
    tables().push((key, levels));
    INSTALLED.get_or_init(|| {
        let layer = tracing_subscriber::fmt::layer()
            .with_writer(std::io::stderr)
            .with_ansi(std::io::stderr().is_terminal())
            .with_filter(AnyNode);
        // Another subscriber may already be set (another addon): keep it.
        let _ = tracing::subscriber::set_global_default(tracing_subscriber::registry().with(layer));
    });
}

/// Forgets a node's levels.
pub(crate) fn unregister(key: usize) {
    tables().retain(|(k, _)| *k != key);
}
