//! With a key, sealed traffic recorded during one run and replayed to a
//! node that starts later is never delivered again (PROTOCOL.md §16.8):
//! the new node challenges the recorded sender, which is gone, and drops
//! and counts what it held. Over real sockets, in a private namespace; the
//! recorder is a plain UDP socket joined to the group.
#![allow(clippy::unwrap_used)]

use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4, UdpSocket};
use std::time::Duration;

use crate::common::*;
use eventcast::Eventcast;
use socket2::{Domain, Protocol, Socket, Type};

const PASSPHRASE: &str = "replayed run";
const GROUP: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 1);

/// A plain socket that hears the group on `port` (SO_REUSEADDR, bound to
/// the group address), non-blocking.
fn recorder(port: u16) -> UdpSocket {
    let socket = Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::UDP)).expect("socket");
    socket.set_reuse_address(true).expect("SO_REUSEADDR");
    let addr = SocketAddr::V4(SocketAddrV4::new(GROUP, port));
    socket.bind(&addr.into()).expect("bind the group address");
    socket.set_recv_buffer_size(8 << 20).expect("SO_RCVBUF");
    let socket: UdpSocket = socket.into();
    socket
        .join_multicast_v4(&GROUP, &Ipv4Addr::UNSPECIFIED)
        .expect("join the group");
    socket.set_nonblocking(true).expect("non-blocking");
    socket
}

/// Every datagram waiting on `socket`.
fn drain(socket: &UdpSocket) -> Vec<Vec<u8>> {
    let mut buf = vec![0u8; 65_536];
    std::iter::from_fn(|| socket.recv(&mut buf).ok().map(|n| buf[..n].to_vec())).collect()
}

#[test]
fn a_recorded_run_replayed_to_a_new_node_delivers_nothing() {
    netns_test::run(|| {
        block_on(async {
            let port = free_port();
            let group = SocketAddr::V4(SocketAddrV4::new(GROUP, port));
            let rec = recorder(port);

            // The earlier run: one node sends 30 events, small and
            // segmented, to another, which gets them all.
            let a = Eventcast::new(config(port).key(PASSPHRASE)).unwrap();
            let b = Eventcast::new(config(port).key(PASSPHRASE)).unwrap();
            a.start().await.unwrap();
            b.start().await.unwrap();
            let mut at_b = b.subscribe_to(["old"]).unwrap();
            let big = "x".repeat(5_000);
            for i in 0..30i64 {
                let arg = if i % 5 == 0 {
                    big.clone()
                } else {
                    i.to_string()
                };
                a.emit("old", &(i, arg)).unwrap();
            }
            assert_eq!(collect_remote(&mut at_b, 30).await.len(), 30);
            a.stop().await;
            b.stop().await;
            tokio::time::sleep(Duration::from_millis(100)).await;
            let recorded = drain(&rec);
            assert!(
                recorded.len() >= 30,
                "{} datagrams recorded",
                recorded.len()
            );

            // A node that starts later hears the recording.
            let c = Eventcast::new(config(port).key(PASSPHRASE)).unwrap();
            c.start().await.unwrap();
            let mut at_c = c.subscribe();
            let refs: Vec<&[u8]> = recorded.iter().map(Vec::as_slice).collect();
            send_raw(group, &refs);
            // The recorded sender never answers: given up after its
            // round of challenges (4.7 s), its datagrams dropped.
            wait_until("the recorded senders are given up", || {
                c.stats().protocol.senders_unanswered >= 1
            })
            .await;
            let s = c.stats().protocol;
            assert_eq!(s.messages_received, 0, "{s:#?}");
            assert!(at_c.try_recv().is_none());
            assert!(s.dropped.unverified > 0, "{s:#?}");
            assert!(s.challenges_sent >= 1);
            assert_eq!(s.senders_verified, 0);

            // A live sender is heard as usual, through the handshake.
            let d = Eventcast::new(config(port).key(PASSPHRASE)).unwrap();
            d.start().await.unwrap();
            d.emit("new", &("live",)).unwrap();
            let got = next_remote(&mut at_c).await;
            assert_eq!(got.name(), "new");
            assert_eq!(c.stats().protocol.senders_verified, 1);
            assert!(at_c.try_recv().is_none(), "nothing of the recording");
            c.stop().await;
            d.stop().await;
        })
    });
}
