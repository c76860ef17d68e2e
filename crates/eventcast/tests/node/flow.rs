//! Flow control through real sockets: a node that reads a long run of
//! segments tells their sender how far it has read while it still reads
//! (a status owed goes out before the next read), so that a sender held
//! back by the node's window sends on meanwhile rather than once the
//! node's socket is empty.

use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4, UdpSocket};
use std::sync::{mpsc, Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use bson::{spec::BinarySubtype, Binary, Bson};
use eventcast_proto::wire::Status;
use eventcast_proto::{encode_body, SenderId};
use socket2::{Domain, Protocol, Socket, Type};

use crate::common::*;

/// Payload of each segment of the long message: large, so that the whole
/// message is one run of reads (a node reads at most 160 datagrams in one
/// turn before it sends what is owed anyway).
const SEGMENT: usize = 32 * 1024;

/// The made-up sender of the test's datagrams.
const SENDER: SenderId = SenderId::new(0x5e5e_0001);

/// How long the listener of the long message waits for a status of it
/// before it says none came: it runs on the node's task, so a node that
/// sends statuses only after its listeners never sends one meanwhile.
const PATIENCE: Duration = Duration::from_secs(2);

/// Message `seq` of [`SENDER`]: `body` as data frames of [`SEGMENT`] bytes.
fn segments(seq: u64, body: &[u8]) -> Vec<Vec<u8>> {
    let count = body.len().div_ceil(SEGMENT) as u32;
    body.chunks(SEGMENT)
        .enumerate()
        .map(|(i, payload)| data_frame(SENDER, seq, i as u32, count, body.len() as u32, payload))
        .collect()
}

/// The statuses to [`SENDER`] heard on the node's group, read on a
/// thread of their own as they come (so that the test's own data frames,
/// which that socket hears too, never fill its queue).
#[derive(Default)]
struct Heard {
    statuses: Mutex<Vec<Status>>,
    news: Condvar,
}

impl Heard {
    /// Starts hearing on `group`.
    fn start(group: SocketAddr) -> Arc<Self> {
        let SocketAddr::V4(group) = group else {
            panic!("IPv4 group expected, got {group}");
        };
        let socket = Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::UDP)).expect("socket");
        socket.set_reuse_address(true).expect("SO_REUSEADDR");
        // As large as the namespace allows; the thread keeps it empty.
        let _ = socket.set_recv_buffer_size(8 << 20);
        socket
            .bind(&SocketAddr::V4(SocketAddrV4::new(*group.ip(), group.port())).into())
            .expect("bind the group address");
        socket
            .join_multicast_v4(group.ip(), &Ipv4Addr::UNSPECIFIED)
            .expect("join the group");
        let socket = UdpSocket::from(socket);
        socket
            .set_read_timeout(Some(Duration::from_millis(20)))
            .expect("read timeout");
        let heard = Arc::new(Self::default());
        let hearing = heard.clone();
        std::thread::spawn(move || {
            let mut buf = vec![0u8; 64 * 1024];
            // Until the test lets go of it.
            while Arc::strong_count(&hearing) > 1 {
                let Ok(n) = socket.recv(&mut buf) else {
                    continue;
                };
                if let Ok(status) = Status::parse(&buf[..n]) {
                    if status.target() == SENDER {
                        hearing.statuses.lock().expect("lock").push(status);
                        hearing.news.notify_all();
                    }
                }
            }
        });
        heard
    }

    /// The first status about message `seq` heard, waiting up to
    /// `patience` for one.
    fn status_of(&self, seq: u64, patience: Duration) -> Option<Status> {
        let deadline = Instant::now() + patience;
        let mut statuses = self.statuses.lock().expect("lock");
        loop {
            if let Some(status) = statuses.iter().find(|s| s.seq().get() == seq) {
                return Some(*status);
            }
            let left = deadline.checked_duration_since(Instant::now())?;
            statuses = self.news.wait_timeout(statuses, left).expect("lock").0;
        }
    }
}

#[test]
fn a_status_goes_out_before_the_rest_of_a_run_is_read() {
    netns_test::run(|| {
        block_on(async {
            let port = free_port();
            let node = &start_nodes(1, &config(port)).await[0];
            let group = node.group_addr().expect("group");
            let heard = Heard::start(group);

            // Message 0: a small event. Its status (the sender's first data
            // read) says the node's window. (A node reads other nodes'
            // events only while somebody listens.)
            let mut sub = node.subscribe_to(["first"]).expect("names");
            let first = encode_body("first", &[]).expect("encodes");
            send_raw(group, &[segments(0, &first)[0].as_slice()]);
            let window = heard
                .status_of(0, TIMEOUT)
                .expect("a status for the first event")
                .window() as usize;
            assert!(window >= 8 * SEGMENT, "window {window}");
            assert_eq!(next_remote(&mut sub).await.name(), "first");

            // Message 1: a small event whose listener holds the node's task
            // until the whole long message waits in the node's socket.
            let (held_tx, held_rx) = mpsc::channel::<()>();
            let (release_tx, release_rx) = mpsc::channel::<()>();
            let release_rx = Mutex::new(release_rx);
            node.once("hold", move |_| {
                held_tx.send(()).expect("test waits");
                let _ = release_rx.lock().expect("lock").recv_timeout(TIMEOUT);
            })
            .expect("listener");
            let hold = encode_body("hold", &[]).expect("encodes");
            send_raw(group, &[segments(1, &hold)[0].as_slice()]);
            held_rx
                .recv_timeout(TIMEOUT)
                .expect("the hold event arrives");

            // Message 2: as long as the window (statuses are owed after
            // each quarter of it), at most 2 MiB so that it fits in the
            // socket's buffer while the node is held.
            let len = window.min(2 * 1024 * 1024) - 64;
            let body = encode_body(
                "long",
                &[Bson::Binary(Binary {
                    subtype: BinarySubtype::Generic,
                    bytes: vec![7; len],
                })],
            )
            .expect("encodes");
            let body_len = body.len() as u32;
            let (mid_tx, mid_rx) = mpsc::channel::<Option<Status>>();
            let mid_tx = Mutex::new(mid_tx);
            // Runs on the node's task once the last segment is read: a
            // status of the message sent while it was read is already out.
            node.once("long", move |_| {
                let status = heard.status_of(2, PATIENCE);
                mid_tx
                    .lock()
                    .expect("lock")
                    .send(status)
                    .expect("test waits");
            })
            .expect("listener");
            let long = segments(2, &body);
            let refs: Vec<&[u8]> = long.iter().map(Vec::as_slice).collect();
            send_raw(group, &refs);
            release_tx.send(()).expect("listener waits");

            let mid = tokio::task::spawn_blocking(move || mid_rx.recv_timeout(TIMEOUT))
                .await
                .expect("joins")
                .expect("the long event arrives");
            let status = mid.expect("a status of the long message before its delivery");
            assert!(
                status.offset() < body_len,
                "the first status read to {} of {body_len}: sent after the whole run",
                status.offset()
            );
            assert_nothing_dropped(&node.stats().protocol);
        })
    });
}

/// A receive window more than four times `max_window` (a large socket
/// buffer, or a small `max_window`): the receiver reports each quarter of
/// the window its senders believe, not of its own, so a large event never
/// leaves its sender waiting for a status until the receiver lapses. (It
/// did: a node with a 32 MiB buffer took 137-326 ms, not about 22 ms, for
/// a 16 MiB event at 65,000 B.)
#[test]
fn a_window_above_max_window_never_leaves_the_sender_waiting() {
    netns_test::run(|| {
        block_on(async {
            let port = free_port();
            let mut c = config(port);
            c.protocol.max_window = 256 * 1024;
            let nodes = start_nodes(2, &c).await;
            let (tx, rx) = (&nodes[0], &nodes[1]);
            let window = rx.stats().recv_buffer_size / 4;
            assert!(
                window > 4 * c.protocol.max_window,
                "the namespace granted too small a buffer for the case: window {window}"
            );
            let mut sub = rx.subscribe_to(["first", "large"]).expect("names");
            tx.emit("first", &()).expect("emit");
            assert_eq!(next_remote(&mut sub).await.name(), "first");
            wait_until("the receiver's first status", || {
                tx.stats().protocol.window_receivers == 1
            })
            .await;

            let len = 2 * 1024 * 1024;
            let large = Bson::Binary(Binary {
                subtype: BinarySubtype::Generic,
                bytes: vec![7; len],
            });
            tx.emit("large", &(large,)).expect("emit");
            let event = next_remote(&mut sub).await;
            assert_eq!(event.name(), "large");
            let sent = tx.stats().protocol;
            assert!(sent.window_waits > 0, "held back by the window: {sent:#?}");
            assert_eq!(sent.window_lapses, 0, "{sent:#?}");
            let read = rx.stats().protocol;
            // A status for each quarter of the 256 KiB believed, at least.
            let quarters = (len / (c.protocol.max_window / 4)) as u64;
            assert!(read.statuses_sent >= quarters, "{read:#?}");
            assert_nothing_dropped(&read);
            stop_all(&nodes).await;
        })
    });
}
