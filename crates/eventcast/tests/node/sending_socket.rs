//! Where a node's datagrams come from. A native node sends on a socket of
//! its own rather than the one joined to the group (sends from a socket
//! that tokio's epoll watches call into epoll; see `socket::open_sender`):
//! its datagrams come from a port other than the group's, the same one for
//! all of them, which `source_addr` names, and a peer hears them as
//! before. A legacy node sends from
//! the group's port: 0.1.x peers answer a repair request to where it came
//! from.

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
/// source ports of the first three datagrams the group hears from it, with
/// the node's `source_addr` and `local_addr` ports.
async fn source_ports(config: eventcast::Config) -> (Vec<u16>, u16, u16) {
    let listener = group_listener(&config);
    let node = start_nodes(1, &config).await.remove(0);
    let source = node.source_addr().expect("running").port();
    let local = node.local_addr().expect("running").port();
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
    assert_eq!(node.source_addr(), None, "none once stopped");
    (ports, source, local)
}

#[test]
fn a_native_node_sends_from_a_port_of_its_own() {
    netns_test::run(|| {
        block_on(async {
            let port = free_port();
            let (ports, source, local) = source_ports(config(port)).await;
            assert_eq!(local, port, "bound to the group's port");
            assert_ne!(source, port, "sends from another");
            assert_eq!(ports, [source; 3], "every datagram from source_addr");

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
            let (ports, source, local) = source_ports(config).await;
            assert_eq!((source, local), (port, port));
            assert_eq!(ports, [port; 3]);
        })
    });
}
