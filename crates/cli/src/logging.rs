//! The binary's logging: one subscriber on stderr, human or JSON lines.
//! (The library never installs one; this is the only place that does.)

use std::io::IsTerminal as _;

use tracing_subscriber::layer::{Filter, Layer as _, SubscriberExt as _};
use tracing_subscriber::registry::Registry;
use tracing_subscriber::util::SubscriberInitExt as _;

/// How log records are written to stderr.
#[derive(clap::ValueEnum, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) enum LogFormat {
    /// One line per record for people (colours on a terminal)
    #[default]
    Human,
    /// One JSON object per line, for machines
    Json,
}

/// Installs the process's subscriber: records that pass `filter`, written
/// to stderr in `format`.
pub(crate) fn install<F>(filter: F, format: LogFormat)
where
    F: Filter<Registry> + Send + Sync + 'static,
{
    let layer = match format {
        LogFormat::Human => tracing_subscriber::fmt::layer()
            .with_writer(std::io::stderr)
            .with_ansi(std::io::stderr().is_terminal())
            .boxed(),
        LogFormat::Json => tracing_subscriber::fmt::layer()
            .json()
            .with_writer(std::io::stderr)
            .boxed(),
    };
    let _ = tracing_subscriber::registry()
        .with(layer.with_filter(filter))
        .try_init();
}
