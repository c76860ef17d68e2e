//! The binary's logging: one subscriber on stderr, human or JSON lines.
//! (The library never installs one; this is the only place that does.)

use std::io::IsTerminal as _;
use std::sync::OnceLock;

use eventcast::logging::{Component, LogFilter};
use tracing::Level;
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

/// Whether the installed subscriber writes the library's warnings, asked
/// anew each time (`node`'s levels change while it runs).
type ShowsWarnings = Box<dyn Fn() -> bool + Send + Sync>;

/// Set by [`install`]; unset, nothing is logged.
static SHOWS_WARNINGS: OnceLock<ShowsWarnings> = OnceLock::new();

/// Installs the process's subscriber: records that pass `filter`, written
/// to stderr in `format`. `shows_warnings` says whether `filter` lets the
/// library's warnings (level WARN, target `eventcast`) through, for
/// [`library_warnings_shown`].
fn install<F>(
    filter: F,
    format: LogFormat,
    shows_warnings: impl Fn() -> bool + Send + Sync + 'static,
) where
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
    let installed = tracing_subscriber::registry()
        .with(layer.with_filter(filter))
        .try_init();
    if installed.is_ok() {
        let _ = SHOWS_WARNINGS.set(Box::new(shows_warnings));
    }
}

/// Whether the library's warnings reach stderr now. It logs each problem
/// it also reports as a [`Notice`](eventcast::Notice) (a loss, a datagram
/// it cannot read) as a warning: a command saying the notice as well would
/// say it twice.
pub(crate) fn library_warnings_shown() -> bool {
    SHOWS_WARNINGS.get().is_some_and(|shows| shows())
}

/// Installs the subscriber of every command but `node`: records that
/// pass the `tracing` filter `spec` (checked when the options were parsed).
pub(crate) fn install_env_filter(spec: &str, format: LogFormat) {
    let filter = || tracing_subscriber::EnvFilter::builder().parse_lossy(spec);
    // Asked of a subscriber of its own: a per-layer filter cannot be asked
    // directly, nor through the installed subscriber (there
    // `tracing::enabled!` answers `true` even when the filter refuses, as
    // for `node` with every level off). Directives for spans or field
    // values are not considered.
    let probe = tracing_subscriber::registry().with(filter());
    let shown = tracing::subscriber::with_default(probe, || {
        // The library's target, as it logs its warnings.
        tracing::enabled!(target: "eventcast", Level::WARN)
    });
    install(filter(), format, move || shown);
}

/// Installs `node`'s subscriber: the library's records at the levels of
/// `filter`'s table, which its REPL changes while it runs.
pub(crate) fn install_node(filter: LogFilter, format: LogFormat) {
    let target = Component::Eventcast.target();
    let probe = filter.clone();
    install(filter, format, move || {
        probe.would_enable(target, &Level::WARN)
    });
}
