//! `start` and `stop`: the node's run. The REPL stays open across both.

use crate::repl::cmd::context::{Context, Spec};

pub(super) const START: Spec = Spec {
    name: "start",
    usage: "start",
    about: "start the node: bind, join the group (a new sender id each start)",
};

pub(super) const STOP: Spec = Spec {
    name: "stop",
    usage: "stop",
    about: "stop the node: send what is queued, leave the group; this REPL stays \
            open, `start` starts it again",
};

pub(super) async fn start(cx: &mut Context<'_>) -> Result<String, String> {
    if cx.node.is_running() {
        return Ok(format!("ok: already running as {}", cx.node.id()));
    }
    cx.node.start().await.map_err(|e| {
        let mut text = e.to_string();
        let mut source = std::error::Error::source(&e);
        while let Some(cause) = source {
            text.push_str(": ");
            text.push_str(&cause.to_string());
            source = cause.source();
        }
        text
    })?;
    let addr = |a: Option<std::net::SocketAddr>| a.map_or("?".to_owned(), |a| a.to_string());
    Ok(format!(
        "ok: started as {} on {} (bound to {})",
        cx.node.id(),
        addr(cx.node.group_addr()),
        addr(cx.node.local_addr())
    ))
}

pub(super) async fn stop(cx: &mut Context<'_>) -> String {
    if !cx.node.is_running() {
        return "ok: already stopped".to_owned();
    }
    cx.node.stop().await;
    "ok: stopped (this REPL stays open; `start` starts the node again)".to_owned()
}
