//! `multicast_interface` by name and by address, on loopback and on the
//! veth pair of the test namespace (ve0 = 10.200.0.1), and clear errors for
//! interfaces that do not exist.

use crate::common::*;
use eventcast::{Config, Eventcast};

/// Two nodes, one on each interface setting, exchange an event both ways.
async fn exchange(a: &str, b: &str) {
    let port = free_port();
    let on = |iface: &str| config(port).multicast_interface(iface);
    let first = start_nodes(1, &on(a)).await.remove(0);
    let second = start_nodes(1, &on(b)).await.remove(0);
    let mut first_heard = first.subscribe_to(["ping"]).expect("exact names");
    let mut second_heard = second.subscribe_to(["ping"]).expect("exact names");
    first.emit("ping", &(a,)).expect("emit");
    second.emit("ping", &(b,)).expect("emit");
    let at_second = next_remote(&mut second_heard).await;
    let at_first = next_remote(&mut first_heard).await;
    assert_eq!(
        at_second.arg::<String>(0).ok().as_deref(),
        Some(a),
        "{a} -> {b}"
    );
    assert_eq!(
        at_first.arg::<String>(0).ok().as_deref(),
        Some(b),
        "{b} -> {a}"
    );
    first.stop().await;
    second.stop().await;
}

#[test]
fn loopback_by_name_and_by_address() {
    netns_test::run(|| {
        block_on(async {
            exchange("lo", "lo").await;
            exchange("127.0.0.1", "127.0.0.1").await;
            exchange("lo", "127.0.0.1").await;
        })
    });
}

#[test]
fn veth_by_name_and_by_address() {
    netns_test::run(|| {
        block_on(async {
            exchange("ve0", "ve0").await;
            exchange("10.200.0.1", "10.200.0.1").await;
            exchange("ve0", "10.200.0.1").await;
        })
    });
}

#[test]
fn the_interface_is_the_one_used() {
    netns_test::run(|| {
        block_on(async {
            let port = free_port();
            let lo = start_nodes(2, &config(port).multicast_interface("lo")).await;
            let ve0 = start_nodes(2, &config(port).multicast_interface("ve0")).await;
            let mut heard = lo[0].subscribe();
            let mut ve0_heard = ve0[1].subscribe();

            // Sent on ve0 (the other ve0 node hears it there), not heard on lo.
            ve0[0].emit("on-ve0", &()).unwrap();
            assert_eq!(next_remote(&mut ve0_heard).await.name(), "on-ve0");
            let before = sync(&lo[1], &mut heard).await;
            assert!(before.is_empty(), "lo heard ve0: {before:?}");
            assert_eq!(data_received(&lo[0]), 1);

            // And the other way round: once lo[0] has "on-lo", ve0's sockets
            // would have it too; ve0[0]'s later datagram comes after it.
            lo[1].emit("on-lo", &()).unwrap();
            assert_eq!(next_remote(&mut heard).await.name(), "on-lo");
            ve0[0].emit("ve0-again", &()).unwrap();
            assert_eq!(next_remote(&mut ve0_heard).await.name(), "ve0-again");
            assert_eq!(ve0[1].stats().protocol.messages_received, 2, "ve0 heard lo");

            stop_all(&lo).await;
            stop_all(&ve0).await;
        })
    });
}

/// Starts a node with this interface setting and returns the error.
async fn start_error(config: Config) -> String {
    let node = Eventcast::new(config).expect("checked only at start");
    let error = node.start().await.expect_err("start must fail");
    assert!(!node.is_running());
    assert_eq!(node.local_addr(), None);
    error.to_string()
}

#[test]
fn unknown_interfaces_are_clear_errors() {
    netns_test::run(|| {
        block_on(async {
            let message = start_error(config(free_port()).multicast_interface("nope0")).await;
            assert!(message.contains("\"nope0\""), "{message}");
            assert!(
                message.contains("lo (127.0.0.1)"),
                "lists what exists: {message}"
            );

            // An address no interface has: refused when joining.
            let message = start_error(config(free_port()).multicast_interface("10.9.9.9")).await;
            assert!(message.contains("10.9.9.9"), "{message}");

            // An IPv6 address for an IPv4 group.
            let message = start_error(config(free_port()).multicast_interface("::1")).await;
            assert!(message.contains("::1"), "{message}");
        })
    });
}
