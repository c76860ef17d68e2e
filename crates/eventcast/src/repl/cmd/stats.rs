//! `stats`: the node's counters and the REPL's.

use crate::repl::cmd::context::{Context, Spec};

pub(super) const SPEC: Spec = Spec {
    name: "stats",
    usage: "stats",
    about: "counters: sent, received, dropped by reason; the REPL's own",
};

pub(super) fn run(cx: &mut Context<'_>) -> String {
    // Debug lists every counter, those added later included; none is secret.
    format!("{:#?}\n{:#?}", cx.node.stats(), cx.server.stats())
}
