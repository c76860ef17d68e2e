//! `log-level [COMPONENT] [LEVEL]`: reads or sets the node's log levels,
//! also in the form `--log` takes and `log-level` prints
//! (`repl=debug`, `warn,repl=debug`).

use crate::logging::{level_name, parse_level, Component};
use crate::repl::cmd::context::{Context, Spec};
use crate::repl::tokens::Token;

pub(super) const SPEC: Spec = Spec {
    name: "log-level",
    usage: "log-level [COMPONENT] [LEVEL]",
    about: "show every level; `log-level LEVEL` sets every component, \
            `log-level COMPONENT` shows one, `log-level COMPONENT LEVEL` sets one, \
            `log-level repl=debug` or `log-level warn,repl=debug` sets them as --log \
            does, all or nothing (components: eventcast, repl; levels: off, error, \
            warn, info, debug, trace)",
};

/// A parsed `log-level`: one of its four forms.
#[derive(Debug)]
pub(crate) enum LogLevel {
    /// `log-level`: shows every component's level.
    ShowAll,
    /// `log-level COMPONENT`: shows that component's level.
    Show {
        /// The component named.
        component: String,
    },
    /// `log-level LEVEL` (every component) or `log-level COMPONENT LEVEL`.
    Set {
        /// The component named; `None`: every one.
        component: Option<String>,
        /// The level to set.
        level: String,
    },
    /// `COMPONENT=LEVEL,...`, as `--log` takes it and this command prints
    /// it: every word with a `=` or a `,`, joined by commas.
    Spec(String),
}

impl LogLevel {
    pub(super) fn parse(words: &[Token]) -> Option<Self> {
        let word = |t: &Token| t.as_str().to_owned();
        if words.iter().any(|w| w.as_str().contains(['=', ','])) {
            let spec = words.iter().map(Token::as_str).collect::<Vec<_>>();
            return Some(Self::Spec(spec.join(",")));
        }
        match words {
            [] => Some(Self::ShowAll),
            // One word: a level sets every component, a component shows it.
            [one] if parse_level(one.as_str()).is_ok() => Some(Self::Set {
                component: None,
                level: word(one),
            }),
            [one] => Some(Self::Show {
                component: word(one),
            }),
            [component, level] => Some(Self::Set {
                component: Some(word(component)),
                level: word(level),
            }),
            _ => None,
        }
    }

    pub(super) fn run(self, cx: &mut Context<'_>) -> Result<String, String> {
        let levels = cx.node.log_levels();
        match self {
            Self::Spec(spec) => levels.set_spec(&spec).map_err(|e| e.to_string())?,
            Self::Set { component, level } => levels
                .set_named(component.as_deref(), &level)
                .map_err(|e| e.to_string())?,
            Self::Show { component } => {
                let component: Component = component.parse().map_err(|e| format!("{e}"))?;
                return Ok(format!("{component}={}", level_name(levels.get(component))));
            }
            Self::ShowAll => {}
        }
        Ok(levels.to_string().replace(',', " "))
    }
}
