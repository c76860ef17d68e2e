//! `quit` (or `exit`): closes this session. The node goes on.

use crate::repl::cmd::context::{Context, Spec};

pub(super) const SPEC: Spec = Spec {
    name: "quit",
    usage: "quit",
    about: "close this session (also `exit`); the node goes on",
};

pub(super) fn run(cx: &mut Context<'_>) -> String {
    cx.session.quit = true;
    "bye".to_owned()
}
