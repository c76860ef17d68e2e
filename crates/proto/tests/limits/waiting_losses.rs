//! Losses of a sender not believed real wait for it to be believed
//! (docs/PROTOCOL.md §9.5): a heartbeat that makes it believed tells every
//! loss its trail declares at once, however scattered, with none left to
//! the cap on waiting runs.
#![allow(clippy::unwrap_used)]

use crate::common::*;
use eventcast_proto::wire::Heartbeat;
use eventcast_proto::{EndpointEvent, LossReason, MessageSeq, SenderId};

const A: u64 = 0xA;

fn heartbeat(sender: u64, lead: u64, trail: u64) -> Vec<u8> {
    let mut out = Vec::new();
    Heartbeat::new(
        SenderId::new(sender),
        MessageSeq::new(lead),
        MessageSeq::new(trail),
        0,
    )
    .unwrap()
    .write(&mut out);
    out
}

#[test]
fn a_heartbeat_that_believes_tells_its_trails_losses_at_once() {
    let mut rx = endpoint(config(1024), 0xFEED);
    // Partial messages 0, 2, 4 (one segment of three each); 1 and 3 never
    // heard: gaps. Nothing of A completes, so A is not believed.
    for seq in [0, 2, 4] {
        let first = &segments(A, seq, &body_of_len(40), 16)[0];
        rx.handle_datagram(at(0), addr(1), first);
    }
    assert!(events(&mut rx).is_empty());
    // A's heartbeat: lead 5 agrees with its data (believed), and its
    // trail says it can repair nothing below 5.
    rx.handle_datagram(at(1), addr(1), &heartbeat(A, 5, 5));
    let mut lost: Vec<u64> = events(&mut rx)
        .into_iter()
        .flat_map(|e| match e {
            EndpointEvent::Loss(l) => {
                assert_eq!(l.sender.get(), A);
                assert_eq!(l.reason, LossReason::NotRepairable, "{l:?}");
                l.first.get()..l.first.get() + l.count
            }
            other => panic!("expected a loss report, got {other:?}"),
        })
        .collect();
    lost.sort_unstable();
    assert_eq!(lost, [0, 1, 2, 3, 4]);
    let s = rx.stats();
    assert_eq!((s.messages_lost, s.losses_untold), (5, 0), "{s:?}");
}

#[test]
fn an_event_from_before_the_start_that_believes_tells_the_losses_waiting() {
    let mut c = config(1024);
    c.max_retransmit_attempts = 0;
    c.heartbeat_max = std::time::Duration::from_millis(500);
    let ttl = c.message_ttl.as_millis() as u64;
    let mut rx = endpoint(c, 0xFEED);
    // First heard mid-stream: a partial message 10, which expires.
    rx.handle_datagram(at(0), addr(1), &segments(A, 10, &body_of_len(40), 16)[0]);
    rx.handle_timeout(at(2 * ttl));
    assert!(events(&mut rx).is_empty());
    assert_eq!(rx.stats().losses_waiting, 1);
    // A whole event 5, from before this node's start: not delivered
    // (ordered), but A is believed now, and its loss is told.
    let whole = &segments(A, 5, &body_of_len(40), 64)[0];
    rx.handle_datagram(at(2 * ttl + 1), addr(1), whole);
    let queued = events(&mut rx);
    let [EndpointEvent::Loss(l)] = queued.as_slice() else {
        panic!("expected one loss report, got {queued:?}");
    };
    assert_eq!((l.sender.get(), l.first.get(), l.count), (A, 10, 1));
    let s = rx.stats();
    assert_eq!(s.dropped.before_start, 1, "{s:?}");
    assert_eq!((s.messages_lost, s.losses_untold), (1, 0), "{s:?}");
}
