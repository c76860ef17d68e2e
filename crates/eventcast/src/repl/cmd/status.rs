//! `status` and `id`: what the node is doing, and who it is.

use crate::repl::cmd::context::{Context, Spec};

pub(super) const STATUS: Spec = Spec {
    name: "status",
    usage: "status",
    about: "running or stopped, sender id, group, bound address, REPL clients",
};

pub(super) const ID: Spec = Spec {
    name: "id",
    usage: "id",
    about: "this node's sender id (16 hex digits; a new one at each start)",
};

pub(super) fn status(cx: &mut Context<'_>) -> String {
    let node = cx.node;
    let clients = cx.server.count();
    let repl = format!(
        "REPL on {} with {clients} client{} (at most {})",
        cx.server.addr,
        if clients == 1 { "" } else { "s" },
        cx.server.config.max_clients
    );
    match (node.group_addr(), node.local_addr()) {
        (Some(group), Some(local)) if node.is_running() => format!(
            "running as {} on {group} (bound to {local})\n{repl}",
            node.id()
        ),
        _ => format!("stopped (id {}; `start` starts it)\n{repl}", node.id()),
    }
}

pub(super) fn id(cx: &mut Context<'_>) -> String {
    cx.node.id().to_string()
}
