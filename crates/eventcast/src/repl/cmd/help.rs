//! `help [COMMAND]`: every command with its usage, or one.

use crate::repl::cmd::context::{find, Spec};
use crate::repl::tokens::Token;

pub(super) const SPEC: Spec = Spec {
    name: "help",
    usage: "help [COMMAND]",
    about: "this list, or one command's usage",
};

/// A parsed `help`.
#[derive(Debug)]
pub(crate) struct Help {
    command: Option<String>,
}

impl Help {
    pub(super) fn parse(words: &[Token]) -> Option<Self> {
        match words {
            [] => Some(Self { command: None }),
            [one] => Some(Self {
                command: Some(one.as_str().to_ascii_lowercase()),
            }),
            _ => None,
        }
    }

    /// Answers from `specs`, every command in the order `help` lists them.
    pub(super) fn run(self, specs: &[Spec]) -> String {
        if let Some(name) = self.command {
            return match find(specs, &name) {
                Some(spec) => format!("{}\n  {}", spec.usage, spec.about),
                None => format!("no command `{name}`; `help` lists them"),
            };
        }
        let width = specs.iter().map(|s| s.usage.len()).max().unwrap_or(0);
        let mut lines: Vec<String> = specs
            .iter()
            .map(|s| format!("{:width$}  {}", s.usage, s.about))
            .collect();
        lines.push(
            "Lines end with LF or CRLF; paste several at once if you like. \
             `help COMMAND` shows one."
                .to_owned(),
        );
        lines.join("\n")
    }
}
