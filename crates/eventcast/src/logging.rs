//! Log levels per component, readable and settable while the node runs.
//!
//! The library logs through `tracing` and never installs a subscriber. Its
//! records belong to two components, each with its own `tracing` target:
//!
//! | component | target | what |
//! | --- | --- | --- |
//! | `eventcast` | `eventcast` | the node: start, stop, sends, receipts, drops, protocol errors |
//! | `repl` | `eventcast::repl` | the operator's REPL: listening, clients, commands |
//!
//! A node holds a [`LogLevels`] table (every component off, unless the
//! config says `log`), reached with
//! [`Eventcast::log_levels`](crate::node::Eventcast::log_levels) and changed
//! through it or the REPL's `log-level` command. The table takes effect
//! through [`LogFilter`], a per-layer filter the application adds to its
//! own subscriber (this is why the library depends on `tracing-subscriber`,
//! for its `Filter` trait only):
//!
//! ```no_run
//! use tracing_subscriber::prelude::*;
//!
//! let node = eventcast::Eventcast::new(eventcast::Config::default().log(true))?;
//! tracing_subscriber::registry()
//!     .with(tracing_subscriber::fmt::layer().with_filter(node.log_levels().filter()))
//!     .init();
//! node.log_levels().set_named(Some("repl"), "debug")?; // later, at any time
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! The filter decides by target, so it governs the records of every node
//! in the process: with several nodes, build it from the table of the one
//! whose levels should rule (or share one table: [`LogLevels`] is a handle).
//! A subscriber without this filter sees the library's records as its own
//! filter decides, whatever the table says.

use std::fmt;
use std::str::FromStr;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;

use tracing::level_filters::LevelFilter;
use tracing::subscriber::Interest;
use tracing::Metadata;
use tracing_subscriber::layer::{Context, Filter};

/// A part of the library whose records have their own level.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Component {
    /// The node: target `eventcast`.
    Eventcast,
    /// The operator's REPL: target `eventcast::repl`.
    Repl,
}

impl Component {
    /// Every component, in the order they are listed.
    pub const ALL: [Component; 2] = [Component::Eventcast, Component::Repl];

    /// Its name, as the REPL and [`LogLevels::set_named`] take it.
    pub fn name(self) -> &'static str {
        match self {
            Component::Eventcast => "eventcast",
            Component::Repl => "repl",
        }
    }

    /// The `tracing` target of its records.
    pub fn target(self) -> &'static str {
        match self {
            Component::Eventcast => "eventcast",
            Component::Repl => "eventcast::repl",
        }
    }

    /// The component a target belongs to: the one whose target is the
    /// longest that equals it or is a `::` prefix of it.
    pub fn of_target(target: &str) -> Option<Component> {
        Component::ALL
            .iter()
            .copied()
            .filter(|c| {
                target
                    .strip_prefix(c.target())
                    .is_some_and(|rest| rest.is_empty() || rest.starts_with("::"))
            })
            .max_by_key(|c| c.target().len())
    }

    fn index(self) -> usize {
        match self {
            Component::Eventcast => 0,
            Component::Repl => 1,
        }
    }
}

impl fmt::Display for Component {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Component {
    type Err = LogLevelError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Component::ALL
            .iter()
            .copied()
            .find(|c| c.name().eq_ignore_ascii_case(text.trim()))
            .ok_or_else(|| LogLevelError::UnknownComponent(text.to_owned()))
    }
}

/// A component or level name that does not exist.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LogLevelError {
    /// No component of that name.
    #[error("unknown component {0:?} (components: eventcast, repl)")]
    UnknownComponent(String),
    /// No level of that name.
    #[error("unknown level {0:?} (levels: off, error, warn, info, debug, trace)")]
    UnknownLevel(String),
    /// A component named in a list without a level (`repl=debug,eventcast`).
    #[error("{0:?} is a component: give its level as {0}=LEVEL")]
    NoLevel(String),
}

/// Parses a level name: `off`, `error`, `warn`, `info`, `debug` or `trace`
/// (any case).
pub fn parse_level(text: &str) -> Result<LevelFilter, LogLevelError> {
    match text.trim().to_ascii_lowercase().as_str() {
        "off" => Ok(LevelFilter::OFF),
        "error" => Ok(LevelFilter::ERROR),
        "warn" => Ok(LevelFilter::WARN),
        "info" => Ok(LevelFilter::INFO),
        "debug" => Ok(LevelFilter::DEBUG),
        "trace" => Ok(LevelFilter::TRACE),
        _ => Err(LogLevelError::UnknownLevel(text.to_owned())),
    }
}

/// The level of each [`Component`]: a handle to a shared table (clones see
/// and change the same levels), read by [`LogFilter`] on every record.
#[derive(Clone)]
pub struct LogLevels {
    levels: Arc<[AtomicU8; Component::ALL.len()]>,
}

impl LogLevels {
    /// A table with every component at `level`.
    pub fn new(level: LevelFilter) -> Self {
        let code = encode(level);
        Self {
            levels: Arc::new(std::array::from_fn(|_| AtomicU8::new(code))),
        }
    }

    /// The level of one component.
    pub fn get(&self, component: Component) -> LevelFilter {
        decode(self.levels[component.index()].load(Ordering::Relaxed))
    }

    /// Every component with its level.
    pub fn all(&self) -> Vec<(Component, LevelFilter)> {
        Component::ALL.iter().map(|&c| (c, self.get(c))).collect()
    }

    /// Sets the level of one component.
    pub fn set(&self, component: Component, level: LevelFilter) {
        self.levels[component.index()].store(encode(level), Ordering::Relaxed);
    }

    /// Sets every component to `level`.
    pub fn set_all(&self, level: LevelFilter) {
        for component in Component::ALL {
            self.set(component, level);
        }
    }

    /// Sets one component (`Some("repl")`) or every one (`None`) to a level
    /// given by name (`"debug"`). An unknown component or level is an
    /// error, and nothing changes.
    pub fn set_named(&self, component: Option<&str>, level: &str) -> Result<(), LogLevelError> {
        let component = component.map(Component::from_str).transpose()?;
        let level = parse_level(level)?;
        match component {
            Some(component) => self.set(component, level),
            None => self.set_all(level),
        }
        Ok(())
    }

    /// Applies a list like `debug` (every component),
    /// `eventcast=info,repl=debug` or `warn,repl=debug` (a component's own
    /// level wins over a bare one, wherever it stands), all or nothing.
    pub fn set_spec(&self, spec: &str) -> Result<(), LogLevelError> {
        let mut changes = Vec::new();
        for part in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            match part.split_once('=') {
                Some((component, level)) => {
                    changes.push((Some(component.parse::<Component>()?), parse_level(level)?));
                }
                None if part.parse::<Component>().is_ok() => {
                    return Err(LogLevelError::NoLevel(part.to_owned()));
                }
                None => changes.push((None, parse_level(part)?)),
            }
        }
        // Bare levels first, so that a component's own level wins.
        changes.sort_by_key(|(component, _)| component.is_some());
        for (component, level) in changes {
            match component {
                Some(component) => self.set(component, level),
                None => self.set_all(level),
            }
        }
        Ok(())
    }

    /// A filter for the application's subscriber that lets through the
    /// library's records at the levels of this table (and no other
    /// target's: see [`LogFilter::with_others`]).
    pub fn filter(&self) -> LogFilter {
        LogFilter {
            levels: self.clone(),
            others: LevelFilter::OFF,
        }
    }
}

impl Default for LogLevels {
    /// Every component off.
    fn default() -> Self {
        Self::new(LevelFilter::OFF)
    }
}

impl fmt::Debug for LogLevels {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(self.all().iter().map(|(c, l)| (c.name(), l.to_string())))
            .finish()
    }
}

impl fmt::Display for LogLevels {
    /// `eventcast=info,repl=off`, the form [`set_spec`](Self::set_spec)
    /// reads.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, (component, level)) in self.all().into_iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{component}={}", level_name(level))?;
        }
        Ok(())
    }
}

/// The lower-case name of a level, as [`parse_level`] reads it.
pub fn level_name(level: LevelFilter) -> &'static str {
    match level {
        LevelFilter::OFF => "off",
        LevelFilter::ERROR => "error",
        LevelFilter::WARN => "warn",
        LevelFilter::INFO => "info",
        LevelFilter::DEBUG => "debug",
        _ => "trace",
    }
}

fn encode(level: LevelFilter) -> u8 {
    match level {
        LevelFilter::OFF => 0,
        LevelFilter::ERROR => 1,
        LevelFilter::WARN => 2,
        LevelFilter::INFO => 3,
        LevelFilter::DEBUG => 4,
        _ => 5,
    }
}

fn decode(code: u8) -> LevelFilter {
    match code {
        0 => LevelFilter::OFF,
        1 => LevelFilter::ERROR,
        2 => LevelFilter::WARN,
        3 => LevelFilter::INFO,
        4 => LevelFilter::DEBUG,
        _ => LevelFilter::TRACE,
    }
}

/// A per-layer filter (`tracing_subscriber::Layer::with_filter`) that lets
/// the library's records through at the levels of a [`LogLevels`] table,
/// read on every record, so a change takes effect at once.
///
/// Records of other targets pass at the level set by
/// [`with_others`](Self::with_others) (default: none).
#[derive(Clone, Debug)]
pub struct LogFilter {
    levels: LogLevels,
    others: LevelFilter,
}

impl LogFilter {
    /// Also lets records of other targets through, up to `level`.
    pub fn with_others(mut self, level: LevelFilter) -> Self {
        self.others = level;
        self
    }

    /// Whether a record of `target` at `level` passes now.
    pub fn would_enable(&self, target: &str, level: &tracing::Level) -> bool {
        let max = match Component::of_target(target) {
            Some(component) => self.levels.get(component),
            None => self.others,
        };
        max >= *level
    }
}

impl<S> Filter<S> for LogFilter {
    fn enabled(&self, meta: &Metadata<'_>, _cx: &Context<'_, S>) -> bool {
        self.would_enable(meta.target(), meta.level())
    }

    fn callsite_enabled(&self, meta: &'static Metadata<'static>) -> Interest {
        if Component::of_target(meta.target()).is_some() {
            // The levels change at run time: ask on every record.
            Interest::sometimes()
        } else if self.others >= *meta.level() {
            Interest::always()
        } else {
            Interest::never()
        }
    }

    fn max_level_hint(&self) -> Option<LevelFilter> {
        // No hint: a hint would be cached, and the levels may rise later.
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracing::Level;

    #[test]
    fn targets_map_to_components() {
        assert_eq!(
            Component::of_target("eventcast"),
            Some(Component::Eventcast)
        );
        assert_eq!(
            Component::of_target("eventcast::driver"),
            Some(Component::Eventcast)
        );
        assert_eq!(
            Component::of_target("eventcast::repl"),
            Some(Component::Repl)
        );
        assert_eq!(
            Component::of_target("eventcast::repl::session"),
            Some(Component::Repl)
        );
        assert_eq!(Component::of_target("eventcast_cli"), None);
        assert_eq!(Component::of_target("eventcastle"), None);
        assert_eq!(Component::of_target("tokio"), None);
    }

    #[test]
    fn read_and_set() {
        let levels = LogLevels::default();
        assert_eq!(
            levels.all(),
            vec![
                (Component::Eventcast, LevelFilter::OFF),
                (Component::Repl, LevelFilter::OFF)
            ]
        );
        levels.set_named(None, "INFO").unwrap();
        assert_eq!(levels.to_string(), "eventcast=info,repl=info");
        levels.set_named(Some("repl"), "debug").unwrap();
        assert_eq!(levels.to_string(), "eventcast=info,repl=debug");
        let shared = levels.clone();
        shared.set(Component::Eventcast, LevelFilter::TRACE);
        assert_eq!(levels.get(Component::Eventcast), LevelFilter::TRACE);
    }

    #[test]
    fn bad_input_changes_nothing() {
        let levels = LogLevels::new(LevelFilter::WARN);
        assert_eq!(
            levels.set_named(Some("nope"), "debug"),
            Err(LogLevelError::UnknownComponent("nope".into()))
        );
        assert_eq!(
            levels.set_named(Some("repl"), "loud"),
            Err(LogLevelError::UnknownLevel("loud".into()))
        );
        assert_eq!(
            levels.set_named(None, "5"),
            Err(LogLevelError::UnknownLevel("5".into()))
        );
        assert!(levels.set_spec("repl=debug,eventcast=loud").is_err());
        assert!(levels.set_spec("debug,x=info").is_err());
        // A component without its level is said to be one, not taken for
        // an unknown level.
        assert_eq!(
            levels.set_spec("repl=debug,Eventcast"),
            Err(LogLevelError::NoLevel("Eventcast".into()))
        );
        assert_eq!(
            LogLevelError::NoLevel("eventcast".into()).to_string(),
            "\"eventcast\" is a component: give its level as eventcast=LEVEL"
        );
        assert_eq!(levels.to_string(), "eventcast=warn,repl=warn");
        levels.set_spec(" eventcast=error , repl=trace").unwrap();
        assert_eq!(levels.to_string(), "eventcast=error,repl=trace");
        levels.set_spec("info").unwrap();
        assert_eq!(levels.to_string(), "eventcast=info,repl=info");
        levels.set_spec("repl=debug,warn").unwrap();
        assert_eq!(levels.to_string(), "eventcast=warn,repl=debug");
    }

    #[test]
    fn the_filter_follows_the_table() {
        let levels = LogLevels::default();
        let filter = levels.filter();
        assert!(!filter.would_enable("eventcast", &Level::ERROR));
        levels.set(Component::Eventcast, LevelFilter::INFO);
        assert!(filter.would_enable("eventcast", &Level::INFO));
        assert!(!filter.would_enable("eventcast", &Level::DEBUG));
        assert!(!filter.would_enable("eventcast::repl", &Level::ERROR));
        assert!(!filter.would_enable("my_app", &Level::ERROR));
        let filter = filter.with_others(LevelFilter::WARN);
        assert!(filter.would_enable("my_app", &Level::WARN));
        assert!(!filter.would_enable("my_app", &Level::INFO));
    }
}
