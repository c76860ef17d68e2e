//! An endpoint hears its own datagrams through multicast loopback: it
//! counts them as `own_datagrams`, buffers nothing and delivers nothing,
//! while a peer fed the same datagrams delivers them.
#![allow(clippy::unwrap_used)]

use crate::common::*;

#[test]
fn own_datagrams_are_counted_and_ignored() {
    let mut me = endpoint(reassembly_only(64), 0x5E1F);
    let mut peer = endpoint(reassembly_only(64), 0x9EE2);
    me.emit(t0(), "small", &[]).unwrap();
    me.emit(t0(), "large", &[binary(vec![7; 1000])]).unwrap();
    let datagrams = transmits(&mut me);
    assert!(datagrams.len() > 2);
    for d in datagrams.iter().chain(&datagrams) {
        me.handle_datagram(at(0), addr(1), d);
        peer.handle_datagram(at(0), addr(2), d);
    }
    let s = me.stats();
    assert_eq!(s.own_datagrams, 2 * datagrams.len() as u64);
    assert_eq!(s.datagrams_received, 2 * datagrams.len() as u64);
    assert_eq!(s.segments_received, 0);
    assert_eq!(s.messages_received, 0);
    assert_eq!(s.dropped.total(), 0);
    assert_eq!(s.partial_messages, 0);
    assert_eq!(s.senders, 0);
    // its only timer is its own first heartbeat, after its last send
    let heartbeat_min = me.config().heartbeat_min;
    assert_eq!(me.poll_timeout(), Some(t0() + heartbeat_min));
    assert!(events(&mut me).is_empty());
    assert_accounting(&s);

    let names: Vec<_> = messages(&mut peer)
        .into_iter()
        .map(|m| m.name.to_string())
        .collect();
    assert_eq!(names, ["small", "large"]);
    assert_eq!(peer.stats().own_datagrams, 0);
    assert_eq!(peer.stats().dropped.duplicate, datagrams.len() as u64);
}

#[test]
fn the_filter_is_by_sender_id_not_address() {
    // whoever sends a datagram carrying our id, from wherever, is ignored
    let mut me = endpoint(reassembly_only(1024), 0x5E1F);
    let body = body_of_len(100);
    for (i, d) in segments(0x5E1F, 9, &body, 16).iter().enumerate() {
        me.handle_datagram(at(0), addr(1000 + i as u16), d);
    }
    assert_eq!(me.stats().own_datagrams, 7);
    assert!(events(&mut me).is_empty());
}
