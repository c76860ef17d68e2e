//! `config`: the configuration in force, one `key = value` per line.
//!
//! Fields are listed one by one rather than through `Debug`, so that a
//! secret added to the configuration later is never shown by accident: a
//! new field appears here only when it is added here.

use std::fmt::Write as _;

use crate::repl::cmd::context::{Context, Spec};

pub(super) const SPEC: Spec = Spec {
    name: "config",
    usage: "config",
    about: "the configuration in force, one `key = value` per line",
};

pub(super) fn run(cx: &mut Context<'_>) -> String {
    let node = cx.node;
    let c = node.config();
    let p = &c.protocol;
    let port = match (c.port, node.group_addr()) {
        (Some(port), _) => port.to_string(),
        (None, Some(group)) => format!("{} (random)", group.port()),
        (None, None) => "random at each start".to_owned(),
    };
    let repl_port = match c.repl.port {
        Some(port) => port.to_string(),
        None => format!("{} (picked by the system)", cx.server.addr.port()),
    };
    let mut out = String::new();
    let mut line = |key: &str, value: &dyn std::fmt::Display| {
        let _ = writeln!(out, "{key} = {value}");
    };
    line("address", &c.address);
    line("port", &port);
    line("multicast_membership", &c.multicast_membership);
    line(
        "multicast_interface",
        &c.multicast_interface
            .as_deref()
            .unwrap_or("(the system's choice)"),
    );
    line("multicast_loopback", &c.multicast_loopback);
    line("multicast_ttl", &c.multicast_ttl);
    line("recv_buffer_size", &c.recv_buffer_size);
    line("subscription_bytes", &c.subscription_bytes);
    line("protocol.max_payload_size", &p.max_payload_size);
    line(
        "protocol.message_ttl",
        &format!("{} ms", p.message_ttl.as_millis()),
    );
    line("protocol.max_message_size", &p.max_message_size);
    line("protocol.max_partial_bytes", &p.max_partial_bytes);
    line(
        "protocol.max_partial_bytes_per_sender",
        &p.max_partial_bytes_per_sender,
    );
    line(
        "protocol.max_partial_messages_per_sender",
        &p.max_partial_messages_per_sender,
    );
    line("protocol.max_senders", &p.max_senders);
    line("wire_protocol", &c.wire_protocol);
    let e = &c.encryption;
    line(
        "encryption.key",
        &if e.key.is_some() {
            "(set, not shown; `keys` shows the ring as it is now)"
        } else {
            "(none; `keys` shows the ring as it is now)"
        },
    );
    line(
        "encryption.decrypt_keys",
        &format!("{} (not shown)", e.decrypt_keys.len()),
    );
    line(
        "encryption.danger_accept_plaintext",
        &e.danger_accept_plaintext,
    );
    line("encryption.danger_skip_handshake", &e.danger_skip_handshake);
    line(
        "legacy.insecure_legacy_key",
        &if c.legacy.insecure_legacy_key.is_some() {
            "(set, not shown)"
        } else {
            "(none)"
        },
    );
    line(
        "legacy.max_retransmit_attempts",
        &c.legacy.max_retransmit_attempts,
    );
    line("log", &c.log);
    line("log levels", &node.log_levels());
    line("repl.host", &c.repl.host);
    line("repl.port", &repl_port);
    line("repl.danger_any_host", &c.repl.danger_any_host);
    line("repl.max_clients", &c.repl.max_clients);
    line("repl.max_line_length", &c.repl.max_line_length);
    line("repl.output_queue", &c.repl.output_queue);
    out.truncate(out.trim_end().len());
    out
}
