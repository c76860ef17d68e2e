//! `Endpoint::peers`: the senders tracked now, each with the address and
//! instant it was last heard, its lead, and its messages delivered and
//! lost; never more than `max_senders` of them, the least recently heard
//! forgotten first.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use crate::common::*;
use eventcast_proto::wire::Nack;
use eventcast_proto::{Endpoint, EndpointEvent, MessageSeq, PeerInfo, SenderId};
use proptest::prelude::*;

const ME: u64 = 0xFEED;

/// Message `seq` of `sender`, in one datagram.
fn message(sender: u64, seq: u64) -> Vec<u8> {
    segments(sender, seq, &body_of_len(60), 1024).remove(0)
}

fn find(peers: &[PeerInfo], id: u64) -> PeerInfo {
    *peers
        .iter()
        .find(|p| p.id == SenderId::new(id))
        .unwrap_or_else(|| panic!("sender {id} not in {peers:?}"))
}

#[test]
fn nobody_is_listed_before_anything_is_heard() {
    let rx = endpoint(config(1024), ME);
    assert!(rx.peers(at(0)).is_empty());
}

#[test]
fn two_senders_with_address_lead_and_counts() {
    let mut rx = endpoint(config(1024), ME);
    for seq in 0..3 {
        rx.handle_datagram(at(10), addr(1), &message(1, seq));
    }
    rx.handle_datagram(at(20), addr(2), &message(2, 0));
    // Sender 2 says it sent up to message 6 and keeps none of 1..7 for
    // repairs: 6 messages lost for good. Then it is heard from another
    // address (which alone could not have declared them lost: a trail
    // from elsewhere may be forged).
    rx.handle_datagram(at(24), addr(2), &heartbeat_frame(2, 7, 7, u32::MAX));
    rx.handle_datagram(at(25), addr(3), &heartbeat_frame(2, 7, 7, u32::MAX));
    let events = events(&mut rx);
    let delivered = events
        .iter()
        .filter(|e| matches!(e, EndpointEvent::Message(_)))
        .count();
    assert_eq!(delivered, 4, "{events:?}");

    let peers = rx.peers(at(1000));
    assert_eq!(peers.len(), 2);
    assert_eq!(
        peers.iter().map(|p| p.id.get()).collect::<Vec<_>>(),
        [1, 2],
        "sorted by id"
    );
    let one = find(&peers, 1);
    assert_eq!(one.addr, addr(1));
    assert_eq!(one.last_heard, at(10));
    assert_eq!(one.since_heard, Duration::from_millis(990));
    assert_eq!(one.lead, MessageSeq::new(3));
    assert_eq!((one.delivered, one.lost), (3, 0));
    let two = find(&peers, 2);
    assert_eq!(two.addr, addr(3), "the latest datagram's address");
    assert_eq!(two.last_heard, at(25));
    assert_eq!(two.lead, MessageSeq::new(7), "from the heartbeat");
    assert_eq!((two.delivered, two.lost), (1, 6));

    let stats = rx.stats();
    assert_eq!(stats.senders, 2);
    assert_eq!(stats.messages_received, 4);
    assert_eq!(stats.messages_lost, 6);
    // A `now` before the last datagram gives an age of zero, not a panic.
    assert_eq!(rx.peers(at(0))[0].since_heard, Duration::ZERO);
}

#[test]
fn a_lower_lead_never_moves_it_back() {
    let mut rx = endpoint(reassembly_only(1024), ME);
    rx.handle_datagram(at(0), addr(1), &message(1, 9));
    rx.handle_datagram(at(1), addr(1), &message(1, 4));
    rx.handle_datagram(at(2), addr(1), &heartbeat_frame(1, 5, 0, 0));
    assert_eq!(rx.peers(at(2))[0].lead, MessageSeq::new(10));
    rx.handle_datagram(at(3), addr(1), &heartbeat_frame(1, 12, 0, 0));
    assert_eq!(rx.peers(at(3))[0].lead, MessageSeq::new(12));
}

#[test]
fn a_heartbeat_alone_makes_a_peer_but_a_nack_or_our_own_echo_does_not() {
    let mut rx = endpoint(config(1024), ME);
    rx.handle_datagram(at(0), addr(1), &heartbeat_frame(1, 0, 0, 0));
    // A NACK from 9 to 1, overheard: 9 sends no data, so it stays unknown.
    let mut nack = Vec::new();
    Nack::new(SenderId::new(9), SenderId::new(1), Vec::new())
        .unwrap()
        .write(&mut nack);
    rx.handle_datagram(at(1), addr(9), &nack);
    // This node's own message, heard back through loopback.
    rx.handle_datagram(at(2), addr(5), &message(ME, 0));
    let peers = rx.peers(at(3));
    assert_eq!(peers.len(), 1, "{peers:?}");
    assert_eq!(peers[0].id, SenderId::new(1));
    assert_eq!(peers[0].lead, MessageSeq::new(0));
    assert_eq!((peers[0].delivered, peers[0].lost), (0, 0));
}

#[test]
fn eviction_keeps_the_most_recently_heard() {
    let mut c = reassembly_only(1024);
    c.max_senders = 4;
    let mut rx = endpoint(c, ME);
    for s in 1..=50 {
        rx.handle_datagram(at(s), addr(s as u16), &message(s, 0));
        let peers = rx.peers(at(s));
        assert!(peers.len() <= 4);
        assert_eq!(peers.len() as u64, rx.stats().senders);
    }
    let ids: Vec<u64> = rx.peers(at(60)).iter().map(|p| p.id.get()).collect();
    assert_eq!(ids, [47, 48, 49, 50]);
    // A forgotten sender heard again starts afresh.
    rx.handle_datagram(at(70), addr(1), &message(1, 1));
    let one = find(&rx.peers(at(70)), 1);
    assert_eq!((one.delivered, one.lead), (1, MessageSeq::new(2)));
    assert_eq!(rx.peers(at(70)).len(), 4);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Whatever senders are heard, in whatever order: the snapshot is
    /// sorted by id, lists exactly the senders tracked (no more than
    /// `max_senders`), and their counts add up to the endpoint's.
    #[test]
    fn snapshot_agrees_with_the_stats(
        arrivals in prop::collection::vec((1u64..=10, 0u64..20, 0u64..50), 1..120),
        max_senders in 1usize..=6,
    ) {
        let mut c = config(1024);
        c.max_senders = max_senders;
        let mut rx: Endpoint = endpoint(c, ME);
        let mut now = 0;
        for (sender, seq, advance) in arrivals {
            now += advance;
            rx.handle_datagram(at(now), addr(sender as u16), &message(sender, seq));
            while rx.poll_event().is_some() {}
            let refused = rx.stats().senders_refused;
            let peers = rx.peers(at(now));
            let stats = rx.stats();
            prop_assert_eq!(peers.len() as u64, stats.senders);
            prop_assert!(peers.len() <= max_senders);
            prop_assert!(peers.windows(2).all(|w| w[0].id < w[1].id));
            let this = peers.iter().find(|p| p.id == SenderId::new(sender));
            // (A newcomer is refused while every sender tracked is believed
            // real and heard: issue 17.)
            let Some(this) = this else {
                prop_assert!(refused > 0, "the sender just heard is tracked, or refused");
                continue;
            };
            prop_assert_eq!(this.addr, addr(sender as u16));
            prop_assert_eq!(this.since_heard, Duration::ZERO);
            prop_assert!(this.lead.get() > seq);
            prop_assert!(peers.iter().map(|p| p.delivered).sum::<u64>() <= stats.messages_received);
            prop_assert!(peers.iter().map(|p| p.lost).sum::<u64>() <= stats.messages_lost);
        }
    }
}
