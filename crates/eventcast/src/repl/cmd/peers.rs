//! `peers`: the other nodes of the group this node hears.

use std::time::Duration;

use eventcast_proto::PeerInfo;

use crate::repl::cmd::context::{Context, Spec};
use crate::wire_protocol::WireProtocol;

pub(super) const SPEC: Spec = Spec {
    name: "peers",
    usage: "peers",
    about: "the other nodes heard: id, address, last heard, lead seq (the next it will \
            use), events delivered and lost. A node appears once it has sent an event \
            or a heartbeat (it sends those once it has emitted); one that never emits \
            is invisible",
};

pub(super) async fn run(cx: &mut Context<'_>) -> String {
    if !cx.node.is_running() {
        return "no peers: the node is stopped (`start` starts it)".to_owned();
    }
    if cx.node.config().wire_protocol == WireProtocol::LegacyV3 {
        return "peers are not tracked with the legacy protocol (0.1.x nodes send no \
                heartbeats); `on NAME` shows who emits"
            .to_owned();
    }
    let peers = cx.node.peers().await;
    if peers.is_empty() {
        return "no peers heard yet (a node appears once it has sent an event or a \
                heartbeat)"
            .to_owned();
    }
    peers.iter().map(line).collect::<Vec<_>>().join("\n")
}

/// One peer: `ID  ADDRESS  heard 1.2 s ago  lead 5  delivered 5  lost 0`.
fn line(peer: &PeerInfo) -> String {
    format!(
        "{}  {}  heard {} ago  lead {}  delivered {}  lost {}",
        peer.id,
        peer.addr,
        age(peer.since_heard),
        peer.lead,
        peer.delivered,
        peer.lost
    )
}

/// `0.0 s`, `1.2 s`, `75.0 s`: tenths of a second, rounded.
fn age(d: Duration) -> String {
    format!("{:.1} s", d.as_secs_f64())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_in_tenths_of_a_second() {
        assert_eq!(age(Duration::ZERO), "0.0 s");
        assert_eq!(age(Duration::from_millis(1234)), "1.2 s");
        assert_eq!(age(Duration::from_secs(75)), "75.0 s");
    }
}
