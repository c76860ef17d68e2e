//! `listeners [NAME]`: the node's listeners, counted by event name or
//! pattern (a name's count includes the patterns that match it, as
//! `Eventcast::listener_count` does).

use std::collections::BTreeMap;

use crate::pattern::{is_pattern, Pattern};
use crate::repl::cmd::context::{optional_name, Context, Spec};
use crate::repl::tokens::Token;

pub(super) const SPEC: Spec = Spec {
    name: "listeners",
    usage: "listeners [NAME]",
    about: "how many listeners each event name or pattern has (the application's \
            and the REPL sessions'; a name's count includes the patterns matching it), \
            or NAME only",
};

/// A parsed `listeners`.
#[derive(Debug)]
pub(crate) struct Listeners {
    name: Option<String>,
}

impl Listeners {
    pub(super) fn parse(words: &[Token]) -> Option<Self> {
        optional_name(words).map(|name| Self { name })
    }

    pub(super) fn run(self, cx: &mut Context<'_>) -> String {
        let names = match self.name {
            Some(name) => vec![name],
            None => cx.node.event_names(),
        };
        if names.is_empty() {
            return "no listeners".to_owned();
        }
        names
            .iter()
            .map(|name| {
                let count = cx.node.listener_count(name);
                let here = streaming_here(&cx.session.streams, name);
                let plural = if count == 1 { "" } else { "s" };
                if here > 0 {
                    format!("{name}: {count} listener{plural} ({here} streaming here)")
                } else {
                    format!("{name}: {count} listener{plural}")
                }
            })
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// How many of this session's streams an event `name` would fire, counted
/// as the node counts listeners: a name's own and those of the patterns
/// that match it; a pattern's own only.
fn streaming_here<T>(streams: &BTreeMap<String, Vec<T>>, name: &str) -> usize {
    let fires = |key: &str| {
        key == name
            || (!is_pattern(name)
                && is_pattern(key)
                && Pattern::parse(key).is_ok_and(|p| p.matches(name)))
    };
    streams
        .iter()
        .filter(|(key, _)| fires(key))
        .map(|(_, streams)| streams.len())
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_names_streams_include_the_patterns_that_match_it() {
        // Trial: with `on greet` and `on **`, `listeners greet` said
        // "2 listeners (1 streaming here)": both were this session's.
        let streams: BTreeMap<String, Vec<()>> = [
            ("greet".to_owned(), vec![()]),
            ("**".to_owned(), vec![()]),
            ("sensor.*".to_owned(), vec![(), ()]),
        ]
        .into();
        assert_eq!(streaming_here(&streams, "greet"), 2);
        assert_eq!(streaming_here(&streams, "sensor.a"), 3);
        assert_eq!(streaming_here(&streams, "other.a"), 1);
        // A pattern counts the streams added under it only.
        assert_eq!(streaming_here(&streams, "**"), 1);
        assert_eq!(streaming_here(&streams, "sensor.*"), 2);
        assert_eq!(streaming_here(&streams, "sensor.**"), 0);
    }
}
