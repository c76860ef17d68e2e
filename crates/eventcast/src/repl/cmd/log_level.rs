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

/// A parsed `log-level`.
#[derive(Debug)]
pub(crate) struct LogLevel {
    component: Option<String>,
    level: Option<String>,
    /// `COMPONENT=LEVEL,...`, as `--log` takes it and this command prints
    /// it: every word with a `=` or a `,`, joined by commas.
    spec: Option<String>,
}

impl LogLevel {
    pub(super) fn parse(words: &[Token]) -> Option<Self> {
        let word = |t: &Token| t.as_str().to_owned();
        if words.iter().any(|w| w.as_str().contains(['=', ','])) {
            let spec = words.iter().map(Token::as_str).collect::<Vec<_>>();
            return Some(Self {
                component: None,
                level: None,
                spec: Some(spec.join(",")),
            });
        }
        match words {
            [] => Some(Self {
                component: None,
                level: None,
                spec: None,
            }),
            // One word: a level sets every component, a component shows it.
            [one] if parse_level(one.as_str()).is_ok() => Some(Self {
                component: None,
                level: Some(word(one)),
                spec: None,
            }),
            [one] => Some(Self {
                component: Some(word(one)),
                level: None,
                spec: None,
            }),
            [component, level] => Some(Self {
                component: Some(word(component)),
                level: Some(word(level)),
                spec: None,
            }),
            _ => None,
        }
    }

    pub(super) fn run(self, cx: &mut Context<'_>) -> Result<String, String> {
        let levels = cx.node.log_levels();
        if let Some(spec) = self.spec {
            levels.set_spec(&spec).map_err(|e| e.to_string())?;
            return Ok(levels.to_string().replace(',', " "));
        }
        match (self.component, self.level) {
            (component, Some(level)) => {
                levels
                    .set_named(component.as_deref(), &level)
                    .map_err(|e| e.to_string())?;
            }
            (Some(component), None) => {
                let component: Component = component.parse().map_err(|e| format!("{e}"))?;
                return Ok(format!("{component}={}", level_name(levels.get(component))));
            }
            (None, None) => {}
        }
        Ok(levels.to_string().replace(',', " "))
    }
}
