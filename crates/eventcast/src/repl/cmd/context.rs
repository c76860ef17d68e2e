//! What every command is given and described by: the context it runs in,
//! its [`Spec`], and the helpers that read event names.

use crate::node::Eventcast;
use crate::repl::state::State;
use crate::repl::streams::Session;
use crate::repl::tokens::Token;

/// What a command may reach.
pub(crate) struct Context<'a> {
    pub(crate) node: &'a Eventcast,
    pub(crate) session: &'a mut Session,
    pub(crate) server: &'a State,
}

/// A command's name, usage and one-line description, for `help` and for
/// errors.
pub(crate) struct Spec {
    pub(crate) name: &'static str,
    pub(crate) usage: &'static str,
    pub(crate) about: &'static str,
}

/// The command of that name (or alias) in `specs`, if there is one.
pub(crate) fn find<'a>(specs: &'a [Spec], name: &str) -> Option<&'a Spec> {
    let name = match name {
        "exit" => "quit",
        "?" => "help",
        other => other,
    };
    specs.iter().find(|spec| spec.name == name)
}

/// One word as an event name; the name must not be empty.
pub(crate) fn name_of(token: &Token) -> Option<String> {
    Some(token.to_name()).filter(|name| !name.is_empty())
}

/// `[NAME]`: no word, or one that is a name; `None` for anything else.
pub(crate) fn optional_name(words: &[Token]) -> Option<Option<String>> {
    match words {
        [] => Some(None),
        [name] => name_of(name).map(Some),
        _ => None,
    }
}
