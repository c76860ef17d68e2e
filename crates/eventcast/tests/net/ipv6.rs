//! IPv6: nodes bound to `::` on a link-local group, joined and sending on
//! ve0 (IPv6 multicast does not work on lo), chosen by name or by its
//! link-local address, exchange events.

use std::net::{IpAddr, Ipv6Addr, SocketAddr};

use crate::common::*;

fn ve0_index() -> u32 {
    std::fs::read_to_string("/sys/class/net/ve0/ifindex")
        .expect("ve0 ifindex")
        .trim()
        .parse()
        .expect("ifindex is a number")
}

/// ve0's link-local address, from /proc/net/if_inet6.
fn ve0_link_local() -> Ipv6Addr {
    let table = std::fs::read_to_string("/proc/net/if_inet6").expect("/proc/net/if_inet6");
    table
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .find(|f| f.len() == 6 && f[5] == "ve0" && f[0].starts_with("fe80"))
        .map(|f| Ipv6Addr::from(u128::from_str_radix(f[0], 16).expect("hex address")))
        .expect("ve0 has a link-local address")
}

#[test]
fn two_nodes_exchange_events_over_ipv6() {
    netns_test::run(|| {
        block_on(async {
            let by_address = ve0_link_local().to_string();
            for (group, interface) in [
                ("ff02::4242", "ve0"),
                ("ff02::1:3", "ve0"),
                ("ff02::4242", by_address.as_str()),
            ] {
                let group: Ipv6Addr = group.parse().unwrap();
                let config = config(free_port())
                    .address(IpAddr::V6(Ipv6Addr::UNSPECIFIED))
                    .multicast_membership(IpAddr::V6(group))
                    .multicast_interface(interface);
                let nodes = start_nodes(2, &config).await;
                let (a, b) = (&nodes[0], &nodes[1]);
                let Some(SocketAddr::V6(to)) = a.group_addr() else {
                    panic!("IPv6 group expected: {:?}", a.group_addr());
                };
                assert_eq!(
                    (*to.ip(), to.scope_id()),
                    (group, ve0_index()),
                    "sent to the group on ve0"
                );

                let mut a_heard = a.subscribe_to(["v6"]).expect("exact names");
                let mut b_heard = b.subscribe_to(["v6"]).expect("exact names");
                a.emit("v6", &("from a", "x".repeat(5_000))).unwrap();
                b.emit("v6", &("from b", "")).unwrap();
                let at_b = next_remote(&mut b_heard).await;
                let at_a = next_remote(&mut a_heard).await;
                assert_eq!(
                    at_b.args::<(String, String)>().unwrap(),
                    ("from a".into(), "x".repeat(5_000))
                );
                assert_eq!(at_a.arg::<String>(0).unwrap(), "from b");
                let Some(SocketAddr::V6(from)) = at_b.from() else {
                    panic!("IPv6 source expected: {:?}", at_b.from());
                };
                assert_eq!(*from.ip(), ve0_link_local(), "from ve0's address");
                assert_eq!(from.port(), a.local_addr().unwrap().port());
                stop_all(&nodes).await;
            }
        })
    });
}
