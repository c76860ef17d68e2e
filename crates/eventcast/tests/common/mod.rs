//! Helpers shared by the socket tests.
//!
//! Every test that opens a socket wraps its body in `netns_test::run`, which
//! runs it inside a private network namespace (see crates/netns-test); the
//! tokio runtime is built inside that body by [`block_on`].
//!
//! Nothing here waits for a fixed time: [`TIMEOUT`] only turns a hang into
//! a failure. To show that something did *not* arrive, a test waits until
//! the receiver has handled everything sent before (a counter moved, or a
//! sentinel event sent afterwards arrived) and then looks.

use std::future::Future;
use std::net::{Ipv4Addr, SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use eventcast::{Config, Event, Eventcast, Subscription, WireProtocol};
use eventcast_proto::wire::{DataHeader, Flags};
use eventcast_proto::{MessageSeq, SegmentIndex, SenderId};

/// How long any one wait may take before the test fails: a guard against
/// hangs, never a measure of speed.
pub const TIMEOUT: Duration = Duration::from_secs(10);

/// Builds a multi-threaded tokio runtime (here, inside the namespace) and
/// runs a future on it.
pub use netns_test::block_on;

/// A UDP port that nothing in this namespace uses now (the kernel's pick).
pub fn free_port() -> u16 {
    UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0))
        .expect("bind an ephemeral port")
        .local_addr()
        .expect("local_addr")
        .port()
}

/// The default configuration on `port`, this host only (TTL 0), loopback on.
pub fn config(port: u16) -> Config {
    Config::default().port(port).multicast_ttl(0)
}

/// A legacy-mode node on `port`, this host only, quick to ask for missing
/// segments and patient before giving up: the message_ttl only paces the
/// test, and a slow machine that answers late gets asked again rather than
/// failing it.
pub fn legacy_config(port: u16) -> Config {
    let mut config = Config::default()
        .port(port)
        .multicast_ttl(0)
        .wire_protocol(WireProtocol::LegacyV3)
        .message_ttl(Duration::from_millis(200));
    config.legacy.max_retransmit_attempts = 20;
    config
}

/// Creates and starts `n` nodes with `config`.
pub async fn start_nodes(n: usize, config: &Config) -> Vec<Eventcast> {
    let mut nodes = Vec::with_capacity(n);
    for _ in 0..n {
        let node = Eventcast::new(config.clone()).expect("valid config");
        node.start().await.expect("start");
        nodes.push(node);
    }
    nodes
}

/// Stops every node.
pub async fn stop_all(nodes: &[Eventcast]) {
    for node in nodes {
        node.stop().await;
    }
}

/// Awaits `fut`, failing the test if it takes longer than [`TIMEOUT`].
pub async fn guard<F: Future>(what: &str, fut: F) -> F::Output {
    match tokio::time::timeout(TIMEOUT, fut).await {
        Ok(out) => out,
        Err(_) => panic!("timed out after {TIMEOUT:?} waiting for {what}"),
    }
}

/// The next event of `sub`, local or received.
pub async fn next_event(sub: &mut Subscription) -> Event {
    guard("an event", sub.recv())
        .await
        .expect("subscription closed")
}

/// The next event of `sub` that came from another node (this node's own
/// emits are skipped).
pub async fn next_remote(sub: &mut Subscription) -> Event {
    loop {
        let event = next_event(sub).await;
        if !event.is_local() {
            return event;
        }
    }
}

/// The next `n` events of `sub` that came from other nodes.
pub async fn collect_remote(sub: &mut Subscription, n: usize) -> Vec<Event> {
    let mut events = Vec::with_capacity(n);
    while events.len() < n {
        events.push(next_remote(sub).await);
    }
    events
}

/// Waits until `cond` holds, checking every few milliseconds; fails the test
/// after [`TIMEOUT`].
pub async fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
    guard(what, async {
        while !cond() {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    })
    .await;
}

/// The name of the sentinel events [`sync`] sends.
pub const SENTINEL: &str = "__sentinel";

/// Emits a sentinel event from `from` and waits until `sub` (a subscription
/// of another node) receives it; returns the remote events `sub` received
/// before it. A node handles datagrams in order, so once the sentinel is
/// there, everything that reached the receiver's socket before it was sent
/// has been handled and dispatched.
pub async fn sync(from: &Eventcast, sub: &mut Subscription) -> Vec<Event> {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let token = NEXT.fetch_add(1, Ordering::Relaxed) as i64;
    from.emit(SENTINEL, &(token,)).expect("emit sentinel");
    let mut before = Vec::new();
    loop {
        let event = next_remote(sub).await;
        if event.name() == SENTINEL && event.arg::<i64>(0).ok() == Some(token) {
            return before;
        }
        before.push(event);
    }
}

/// Asserts that a node's protocol dropped nothing, but for duplicates of
/// segments it asked to be repaired. On a loaded machine a sender starved
/// for longer than `repair_timeout` looks stalled in the middle of an
/// event; the receiver asks for the rest, and what the sender sent in the
/// meantime arrives twice (dropped, delivered once). Every other reason
/// stays at zero.
pub fn assert_nothing_dropped(s: &eventcast::ProtocolStats) {
    assert_eq!(s.dropped.total() - s.dropped.duplicate, 0, "{s:#?}");
    assert!(s.dropped.duplicate == 0 || s.nacks_sent > 0, "{s:#?}");
}

/// Datagrams received from elsewhere that were not control frames (NACKs,
/// heartbeats): data, batches and garbage.
pub fn data_received(node: &Eventcast) -> u64 {
    let s = node.stats().protocol;
    s.datagrams_received - s.own_datagrams - s.control_received
}

/// A listener that counts its calls and keeps the events it saw.
#[derive(Clone, Default)]
pub struct Recorder {
    calls: Arc<AtomicUsize>,
    events: Arc<Mutex<Vec<Event>>>,
}

impl Recorder {
    /// A new, empty recorder.
    pub fn new() -> Self {
        Self::default()
    }

    /// A listener for `on`/`once` that records into this recorder.
    pub fn listener(&self) -> impl Fn(&Event) + Send + Sync + 'static {
        let me = self.clone();
        move |event| {
            me.events.lock().expect("recorder lock").push(event.clone());
            me.calls.fetch_add(1, Ordering::SeqCst);
        }
    }

    /// How many times the listener was called.
    pub fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }

    /// The events it saw, in order.
    pub fn events(&self) -> Vec<Event> {
        self.events.lock().expect("recorder lock").clone()
    }
}

/// A plain data frame of `sender`: segment `index` of `count` of message
/// `seq`, of `message_len` body bytes, carrying `payload`. The fields are
/// written as given, not checked against each other.
pub fn data_frame(
    sender: SenderId,
    seq: u64,
    index: u32,
    count: u32,
    message_len: u32,
    payload: &[u8],
) -> Vec<u8> {
    let mut bytes = Vec::new();
    DataHeader {
        flags: Flags::empty(),
        sender,
        seq: MessageSeq::new(seq),
        index: SegmentIndex::new(index),
        count,
        message_len,
    }
    .write(&mut bytes);
    bytes.extend_from_slice(payload);
    bytes
}

/// Sends `datagrams` to `group` from a fresh plain socket (TTL 0, loopback
/// on, the default interface) and returns that socket's address.
pub fn send_raw(group: SocketAddr, datagrams: &[&[u8]]) -> SocketAddr {
    let sock = UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0)).expect("bind raw sender");
    sock.set_multicast_ttl_v4(0).expect("multicast ttl");
    sock.set_multicast_loop_v4(true).expect("multicast loop");
    for datagram in datagrams {
        sock.send_to(datagram, group).expect("send raw datagram");
    }
    sock.local_addr().expect("local_addr")
}

/// Open file descriptors of this process.
pub fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd")
        .expect("read /proc/self/fd")
        .count()
}

/// Resident set size of this process, in KiB (VmRSS in /proc/self/status).
pub fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("read /proc/self/status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS in /proc/self/status")
}

/// Tasks alive on the current tokio runtime.
pub fn alive_tasks() -> usize {
    tokio::runtime::Handle::current()
        .metrics()
        .num_alive_tasks()
}
