//! Helpers of the legacy-mode socket tests: the captures of eventcast 0.1.2
//! and raw sockets that play a 0.1.x node.

use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4, UdpSocket};
use std::time::Duration;

use bson::Bson;
use serde::Deserialize;
use socket2::{Domain, Protocol, Socket, Type};

/// The captures of the original (the proto crate's test vectors).
const DIR: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../proto/tests/vectors/eventcast-0.1.2"
);

/// The group the captures were sent to, and the port their metas name.
pub(crate) const GROUP: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 1);
pub(crate) const CAPTURE_PORT: u16 = 41500;

/// One capture file.
#[derive(Deserialize)]
pub(crate) struct Vector {
    pub(crate) key: Option<String>,
    // Read by no test today; kept so that the struct states the capture
    // format in full.
    #[allow(dead_code)]
    pub(crate) max_payload_size: usize,
    events: Vec<JsonEvent>,
    #[allow(dead_code)]
    pub(crate) sender_id: String,
    pub(crate) port: u16,
    packets: Vec<String>,
}

#[derive(Deserialize)]
struct JsonEvent {
    name: String,
    args: serde_json::Value,
}

impl Vector {
    /// Loads `NAME.json`.
    pub(crate) fn load(name: &str) -> Self {
        let path = format!("{DIR}/{name}.json");
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    /// The captured datagrams, in send order.
    pub(crate) fn packets(&self) -> Vec<Vec<u8>> {
        self.packets.iter().map(|p| unhex(p)).collect()
    }

    /// The listed events: name and argument list (or, for `__ec_retx`, the
    /// payload document), Extended JSON read as BSON.
    pub(crate) fn events(&self) -> Vec<(String, Bson)> {
        self.events
            .iter()
            .map(|e| {
                let args = Bson::try_from(e.args.clone()).expect("Extended JSON");
                (e.name.clone(), args)
            })
            .collect()
    }
}

fn unhex(text: &str) -> Vec<u8> {
    assert!(text.len() % 2 == 0, "odd hex length");
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).expect("hex digits"))
        .collect()
}

/// A plain UDP socket bound to `addr` with SO_REUSEADDR, so that it can
/// share a port with nodes; TTL 0, loopback on. A socket bound to a unicast
/// address never receives the group's datagrams, and one bound to the
/// group address receives nothing else: so a test can take the unicast
/// traffic of an address away from the nodes bound to 0.0.0.0.
pub(crate) fn raw_socket(addr: SocketAddrV4) -> UdpSocket {
    let socket = Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::UDP)).expect("socket");
    socket.set_reuse_address(true).expect("SO_REUSEADDR");
    socket
        .bind(&SocketAddr::V4(addr).into())
        .unwrap_or_else(|e| panic!("bind {addr}: {e}"));
    socket.set_multicast_ttl_v4(0).expect("multicast ttl");
    socket.set_multicast_loop_v4(true).expect("multicast loop");
    let socket: UdpSocket = socket.into();
    socket
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("read timeout");
    socket
}

/// A raw socket that hears the group on `port` (bound to the group address,
/// so no unicast reaches it).
pub(crate) fn group_listener(port: u16) -> UdpSocket {
    let socket = raw_socket(SocketAddrV4::new(GROUP, port));
    socket
        .join_multicast_v4(&GROUP, &Ipv4Addr::UNSPECIFIED)
        .expect("join the group");
    socket
}

/// Receives one datagram (failing after the socket's read timeout).
pub(crate) fn recv(socket: &UdpSocket) -> (Vec<u8>, SocketAddr) {
    let mut buf = vec![0u8; 65_536];
    let (len, from) = socket
        .recv_from(&mut buf)
        .unwrap_or_else(|e| panic!("no datagram on {:?}: {e}", socket.local_addr()));
    buf.truncate(len);
    (buf, from)
}

/// A new event as the captures' sender (id 0123456789abcdef, at
/// 127.0.0.1:41500) would send it: one datagram, never sent before.
pub(crate) fn fresh_event(name: &str, args: &[Bson]) -> Vec<u8> {
    use eventcast_proto::legacy::{Encoder, LegacyId, LegacyIdentity};
    use std::sync::atomic::{AtomicU8, Ordering};
    static SEED: AtomicU8 = AtomicU8::new(1);
    let identity = LegacyIdentity {
        id: LegacyId::new("0123456789abcdef"),
        host: "127.0.0.1".into(),
        port: CAPTURE_PORT,
        hostname: "vm".into(),
    };
    let size = std::num::NonZeroUsize::new(65_000).expect("non-zero");
    let mut encoder = Encoder::new(identity, size, [SEED.fetch_add(1, Ordering::Relaxed); 32]);
    let encoded = encoder
        .encode_event(bson::DateTime::now(), name, args)
        .expect("encodable");
    assert_eq!(encoded.datagrams.len(), 1);
    encoded.datagrams.into_iter().next().expect("one datagram")
}

/// A node made from `config`, started.
pub(crate) async fn start(config: eventcast::Config) -> eventcast::Eventcast {
    let node = eventcast::Eventcast::new(config).expect("valid config");
    node.start().await.expect("start");
    node
}
