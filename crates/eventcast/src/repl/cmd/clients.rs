//! `clients`: who is connected to this REPL.

use crate::repl::cmd::context::{Context, Spec};

pub(super) const SPEC: Spec = Spec {
    name: "clients",
    usage: "clients",
    about: "the REPL clients connected now, with what they stream",
};

pub(super) fn run(cx: &mut Context<'_>) -> String {
    let clients = cx.server.clients();
    let mut lines = vec![format!(
        "{} client{} connected (at most {})",
        clients.len(),
        if clients.len() == 1 { "" } else { "s" },
        cx.server.config.max_clients
    )];
    for (id, client) in clients {
        let mut line = format!(
            "#{id} {} for {}s",
            client.addr,
            client.since.elapsed().as_secs()
        );
        if !client.streams.is_empty() {
            line.push_str(", streaming ");
            line.push_str(&client.streams.join(", "));
        }
        if id == cx.session.id {
            line.push_str(" (you)");
        }
        lines.push(line);
    }
    lines.join("\n")
}
