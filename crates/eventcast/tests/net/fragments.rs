//! A native node's datagrams carry IPv4's don't-fragment bit (its socket
//! for sending, on Linux: such datagrams need no IP id from the host's
//! shared table). A `max_payload_size` above the interface's MTU (1,500 on
//! the namespace's veth pair) gets the first datagram too large for it
//! refused; the node then lets the kernel fragment, as any socket does,
//! counts that once, and every event arrives whole. Within the MTU nothing
//! is refused.

use crate::common::*;

/// Two nodes on ve0 with `max_payload_size` of `payload`; the first emits
/// three events of `len` bytes of argument (one datagram each): the
/// second node's arguments, and the first node's `fragment_fallbacks`
/// and `send_errors`.
async fn send_on_ve0(payload: usize, len: usize) -> (Vec<String>, u64, u64) {
    let config = config(free_port())
        .multicast_interface("ve0")
        .max_payload_size(payload);
    let nodes = start_nodes(2, &config).await;
    let mut heard = nodes[1].subscribe_to(["big"]).expect("an exact name");
    for i in 0..3 {
        let text = format!("{i}{}", "x".repeat(len - 1));
        nodes[0].emit("big", &(text,)).expect("emit");
    }
    let events = guard("three events", collect_remote(&mut heard, 3)).await;
    let args = events
        .iter()
        .map(|e| e.arg::<String>(0).expect("a string"))
        .collect();
    // After the stop, every counter of the run is final.
    stop_all(&nodes).await;
    let stats = nodes[0].stats();
    (args, stats.fragment_fallbacks, stats.send_errors)
}

#[test]
fn a_datagram_above_the_mtu_is_fragmented_after_one_refusal() {
    netns_test::run(|| {
        block_on(async {
            let (args, fallbacks, errors) = send_on_ve0(4_000, 3_000).await;
            let expected: Vec<String> = (0..3)
                .map(|i| format!("{i}{}", "x".repeat(2_999)))
                .collect();
            assert_eq!(args, expected, "all three, whole, in order");
            assert_eq!((fallbacks, errors), (1, 0));
        })
    });
}

#[test]
fn within_the_mtu_nothing_is_refused() {
    netns_test::run(|| {
        block_on(async {
            let (args, fallbacks, errors) = send_on_ve0(1_024, 900).await;
            assert_eq!(args.len(), 3);
            assert_eq!((fallbacks, errors), (0, 0));
        })
    });
}
