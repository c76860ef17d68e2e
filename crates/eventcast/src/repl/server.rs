//! The REPL's listening task: admits clients up to the limit, runs one task
//! per client, and knows who is connected.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{debug, warn};

use crate::node::WeakEventcast;
use crate::notice::Notice;
use crate::repl::session;
use crate::repl::state::State;
use crate::repl::stats::Counters;

/// How long to wait after a failed accept (out of file descriptors, most
/// likely) before trying again, so the loop does not spin.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// Accepts clients until cancelled.
pub(super) async fn serve(
    listener: TcpListener,
    node: WeakEventcast,
    state: Arc<State>,
    cancel: CancellationToken,
    tracker: TaskTracker,
) {
    loop {
        let accepted = tokio::select! {
            _ = cancel.cancelled() => break,
            accepted = listener.accept() => accepted,
        };
        match accepted {
            Ok((stream, addr)) => admit(stream, addr, &node, &state, &cancel, &tracker),
            Err(e) => {
                Counters::add(&state.counters.accept_errors);
                warn!(target: "eventcast::repl", error = %e, "cannot accept a REPL client");
                tokio::select! {
                    _ = cancel.cancelled() => break,
                    _ = tokio::time::sleep(ACCEPT_BACKOFF) => {}
                }
            }
        }
    }
    debug!(target: "eventcast::repl", addr = %state.addr, "REPL listener ends");
}

fn admit(
    stream: TcpStream,
    addr: SocketAddr,
    node: &WeakEventcast,
    state: &Arc<State>,
    cancel: &CancellationToken,
    tracker: &TaskTracker,
) {
    let Some((id, clients)) = state.admit(addr) else {
        Counters::add(&state.counters.rejected);
        debug!(target: "eventcast::repl", %addr, "REPL client turned away: too many clients");
        let text = format!(
            "error: too many clients ({} connected, the limit); try again later\r\n",
            state.config.max_clients
        );
        // Best effort, never waiting: the connection closes right after.
        let _ = stream.try_write(text.as_bytes());
        return;
    };
    Counters::add(&state.counters.accepted);
    debug!(target: "eventcast::repl", %addr, client = id, clients, "REPL client connected");
    if let Some(node) = node.upgrade() {
        node.notify(Notice::ReplClientConnected { addr, clients });
    }
    tracker.spawn(session::run(
        stream,
        session::Peer {
            id,
            addr,
            node: node.clone(),
            state: state.clone(),
        },
        cancel.child_token(),
    ));
}
