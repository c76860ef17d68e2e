//! Where a node's datagrams come from. A native node sends on a socket of
//! its own (sends from a socket that tokio's epoll watches call into
//! epoll; see `socket::open_sender`), bound as its joined socket is: its
//! datagrams come from the group's port, as a legacy node's do, and a peer
//! hears them.

use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::time::Duration;

use socket2::{Domain, Protocol, Socket, Type};

use crate::common::*;

/// A plain socket that hears the group of `config` on its port (bound to
/// the group's address, beside the node's socket).
fn group_listener(config: &eventcast::Config) -> UdpSocket {
    let IpAddr::V4(group) = config.multicast_membership else {
        panic!("an IPv4 group");
    };
    let port = config.port.expect("a port");
    let socket = Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::UDP)).expect("socket");
    socket.set_reuse_address(true).expect("SO_REUSEADDR");
    socket
        .bind(&SocketAddr::from((group, port)).into())
        .expect("bind the group's address");
    socket
        .join_multicast_v4(&group, &std::net::Ipv4Addr::UNSPECIFIED)
        .expect("join the group");
    let socket: UdpSocket = socket.into();
    socket
        .set_read_timeout(Some(TIMEOUT))
        .expect("read timeout");
    socket
}

/// Starts a node of `config`, has it emit three events, and returns the
/// source ports of the first three datagrams the group hears from it.
async fn source_ports(config: eventcast::Config) -> Vec<u16> {
    let listener = group_listener(&config);
    let node = start_nodes(1, &config).await.remove(0);
    for i in 0..3 {
        node.emit("sent", &(i,)).expect("emit");
    }
    let ports = guard(
        "three datagrams",
        tokio::task::spawn_blocking(move || {
            let mut buf = vec![0u8; 65_536];
            (0..3)
                .map(|_| {
                    let (_, from) = listener.recv_from(&mut buf).expect("a datagram");
                    from.port()
                })
                .collect::<Vec<_>>()
        }),
    )
    .await
    .expect("join");
    node.stop().await;
    ports
}

#[test]
fn a_native_node_sends_from_the_group_port() {
    netns_test::run(|| {
        block_on(async {
            let port = free_port();
            assert_eq!(source_ports(config(port)).await, [port; 3]);

            // A peer hears it.
            let config = config(free_port());
            let nodes = start_nodes(2, &config).await;
            let mut heard = nodes[1].subscribe_to(["hello"]).expect("an exact name");
            nodes[0].emit("hello", &("there",)).expect("emit");
            let event = guard("the event", next_remote(&mut heard)).await;
            assert_eq!(event.arg::<String>(0).expect("a string"), "there");
            stop_all(&nodes).await;
        })
    });
}

#[test]
fn a_legacy_node_sends_from_the_group_port() {
    netns_test::run(|| {
        block_on(async {
            let port = free_port();
            let config = legacy_config(port).message_ttl(Duration::from_secs(5));
            assert_eq!(source_ports(config).await, [port; 3]);
        })
    });
}
