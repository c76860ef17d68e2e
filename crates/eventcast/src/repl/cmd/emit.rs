//! `emit NAME [ARG...]`: sends an event to the group and fires this node's
//! own listeners, as `Eventcast::emit` does.

use bson::Bson;

use crate::repl::cmd::context::{name_of, Context, Spec};
use crate::repl::tokens::Token;

pub(super) const SPEC: Spec = Spec {
    name: "emit",
    usage: "emit NAME [ARG...]",
    about: "send an event to the group and to this node's listeners; each ARG is \
            Extended JSON when it is JSON (5, \"5\", [1,2], {\"a\": 1}, \
            {\"$date\": \"2013-10-28T22:40:00Z\"}), else a string; 'single quotes' \
            group words",
};

/// A parsed `emit`.
#[derive(Debug)]
pub(crate) struct Emit {
    name: String,
    args: Vec<Bson>,
}

impl Emit {
    /// Parses the words after `emit`; an argument that is JSON but not
    /// valid Extended JSON is an error, so that nothing wrong is sent.
    /// `Err(None)`: no name (the caller shows the usage); `Err(Some(_))`:
    /// what is wrong with an argument (the caller adds the usage).
    pub(super) fn parse(words: &[Token]) -> Result<Self, Option<String>> {
        let (name, args) = words.split_first().ok_or(None)?;
        let name = name_of(name).ok_or(None)?;
        let args = args
            .iter()
            .enumerate()
            .map(|(i, word)| {
                word.to_arg()
                    .map_err(|e| Some(format!("argument {}: {e}", i + 1)))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self { name, args })
    }

    pub(super) fn run(self, cx: &mut Context<'_>) -> Result<String, String> {
        cx.node
            .emit(&self.name, &self.args)
            .map_err(|e| e.to_string())?;
        let count = match self.args.len() {
            1 => "1 argument".to_owned(),
            n => format!("{n} arguments"),
        };
        Ok(if cx.node.is_running() {
            format!("ok: emitted {} with {count}", self.name)
        } else {
            format!(
                "ok: the node is stopped: {} with {count} went to this node's listeners only",
                self.name
            )
        })
    }
}
