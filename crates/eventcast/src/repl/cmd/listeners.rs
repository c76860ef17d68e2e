//! `listeners [NAME]`: the node's listeners, counted by event name or
//! pattern (a name's count includes the patterns that match it, as
//! `Eventcast::listener_count` does).

use std::collections::BTreeMap;

use crate::listeners::ListenerId;
use crate::repl::cmd::context::{optional_name, Context, Spec};
use crate::repl::streams::Stream;
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
                let listeners = cx.node.listeners(name);
                let count = listeners.len();
                let here = streaming_here(&cx.session.streams, &listeners);
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

/// How many of this session's streams are among `listeners`, the
/// listeners the node counts for an event name or pattern
/// ([`Eventcast::listeners`](crate::Eventcast::listeners): a name's own and
/// those of the patterns that match it; a pattern's own only), so that the
/// two counts follow the node's one matching rule.
fn streaming_here(streams: &BTreeMap<String, Vec<Stream>>, listeners: &[ListenerId]) -> usize {
    streams
        .values()
        .flatten()
        .filter(|stream| listeners.contains(&stream.listener))
        .count()
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::repl::streams::Session;
    use crate::{Config, Eventcast};

    #[tokio::test]
    async fn a_names_streams_include_the_patterns_that_match_it() {
        let node = Eventcast::new(Config::default()).expect("valid config");
        let (mut session, _events) = Session::new(1, 16, Arc::default());
        // Trial: with `on greet` and `on **`, `listeners greet` said
        // "2 listeners (1 streaming here)": both were this session's.
        for name in ["greet", "**", "sensor.*", "sensor.*"] {
            session
                .add_stream(&node, name, false)
                .expect("a valid name");
        }
        // The application's own listeners are not streaming here.
        node.on("greet", |_| {}).expect("a valid name");
        node.on("sensor.**", |_| {}).expect("a valid pattern");
        let here = |name: &str| streaming_here(&session.streams, &node.listeners(name));
        assert_eq!(here("greet"), 2);
        assert_eq!(here("sensor.a"), 3);
        assert_eq!(here("other.a"), 1);
        // A pattern counts the streams added under it only.
        assert_eq!(here("**"), 1);
        assert_eq!(here("sensor.*"), 2);
        assert_eq!(here("sensor.**"), 0);
    }
}
