//! `listeners [NAME]`: the node's listeners, counted by event name or
//! pattern (a name's count includes the patterns that match it, as
//! `Eventcast::listener_count` does).

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
                let here = cx.session.streams.get(name).map_or(0, Vec::len);
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
