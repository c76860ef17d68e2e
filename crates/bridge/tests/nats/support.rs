//! Helpers of the bridge tests: runtimes, LANs, waiting with a limit.
//!
//! Nothing waits for a fixed time: [`TIMEOUT`] only turns a hang into a
//! failure. To show that something did *not* arrive, a test sends a
//! sentinel after it and looks once the sentinel is in.

use std::future::Future;
use std::net::{Ipv4Addr, UdpSocket};
use std::time::Duration;

use eventcast::{Config, Event, Eventcast, Subscription};
use eventcast_bridge::{Bridge, BridgeConfig, BridgeStats};

/// How long any one wait may take before the test fails.
pub(crate) const TIMEOUT: Duration = Duration::from_secs(30);

pub(crate) use netns_test::block_on;

/// A UDP port nothing uses now: one LAN.
pub(crate) fn lan_port() -> u16 {
    UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0))
        .and_then(|s| s.local_addr())
        .expect("a free port")
        .port()
}

/// A started node on LAN `port` (this host only).
pub(crate) async fn node(port: u16) -> Eventcast {
    let node = Eventcast::new(Config::default().port(port).multicast_ttl(0)).expect("config");
    node.start().await.expect("start node");
    node
}

/// A bridge of LAN `port` to `url` as `site`, connected.
pub(crate) async fn bridge(port: u16, url: &str, site: &str) -> (Eventcast, Bridge) {
    bridge_with(port, BridgeConfig::new([url]).site(site)).await
}

/// A bridge of LAN `port` with `config`, connected.
pub(crate) async fn bridge_with(port: u16, config: BridgeConfig) -> (Eventcast, Bridge) {
    let node = node(port).await;
    let bridge = Bridge::start(&node, config).await.expect("start bridge");
    within(bridge.connected(), "the bridge to connect").await;
    (node, bridge)
}

/// One LAN with a bridge to `url` (site `lab`), an application node
/// subscribed to every event there, and a plain NATS client.
pub(crate) struct OneLan {
    pub(crate) bridge: Bridge,
    pub(crate) at_app: Subscription,
    pub(crate) client: async_nats::Client,
    /// The bridge's node and the application's, kept running.
    _nodes: (Eventcast, Eventcast),
}

impl OneLan {
    pub(crate) async fn start(url: &str) -> OneLan {
        let lan = lan_port();
        let (bridge_node, bridge) = bridge(lan, url, "lab").await;
        let app = node(lan).await;
        let at_app = app.subscribe();
        let client = async_nats::connect(url).await.expect("connect");
        OneLan {
            bridge,
            at_app,
            client,
            _nodes: (bridge_node, app),
        }
    }
}

/// Awaits `f`, failing the test after [`TIMEOUT`].
pub(crate) async fn within<F: Future>(f: F, what: &str) -> F::Output {
    tokio::time::timeout(TIMEOUT, f)
        .await
        .unwrap_or_else(|_| panic!("timed out waiting for {what}"))
}

/// The next event of `sub`.
pub(crate) async fn next(sub: &mut Subscription) -> Event {
    within(sub.recv(), "an event")
        .await
        .expect("subscription open")
}

/// The next event of `sub` heard from another node (skipping own emits).
pub(crate) async fn next_remote(sub: &mut Subscription) -> Event {
    loop {
        let event = next(sub).await;
        if !event.is_local() {
            return event;
        }
    }
}

/// Polls `bridge`'s counters until `test` holds.
pub(crate) async fn until_stats(bridge: &Bridge, what: &str, test: impl Fn(&BridgeStats) -> bool) {
    within(
        async {
            while !test(&bridge.stats()) {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        },
        what,
    )
    .await;
}

/// A round trip through the server, so that the subscriptions `client`
/// made are in place (its `flush` only writes them out).
pub(crate) async fn round_trip(client: &async_nats::Client) {
    // No one answers: the server's "no responders" is the round trip.
    let _ = within(
        client.request("_TEST.round-trip", "".into()),
        "a round trip",
    )
    .await;
}
