//! A group of three rotates from one key to another while events flow, in
//! the documented three steps (add the new key everywhere, make it primary
//! everywhere, remove the old one everywhere), each step reaching the nodes
//! one at a time with traffic in between: nothing is lost, nothing is
//! reported, and afterwards the old key opens nothing.
#![allow(clippy::unwrap_used)]

use crate::common::*;
use crate::sealing::*;
use eventcast_proto::crypto::Keyring;
use eventcast_proto::Endpoint;

/// Every node emits one event; every datagram reaches every other node.
/// Returns how many events were sent.
fn round(nodes: &mut [Endpoint], tag: &str) -> usize {
    for (i, n) in nodes.iter_mut().enumerate() {
        n.emit_body(body_of_len(100 + i)).unwrap();
        let _ = tag;
    }
    let outgoing: Vec<Vec<Vec<u8>>> = nodes.iter_mut().map(transmits).collect();
    for (from, datagrams) in outgoing.iter().enumerate() {
        for (to, node) in nodes.iter_mut().enumerate() {
            if to != from {
                for d in datagrams {
                    node.handle_datagram(t0(), addr(from as u16), d);
                }
            }
        }
    }
    nodes.len()
}

#[test]
fn rotation_loses_nothing() {
    let (old, new) = (key(1), key(2));
    let mut nodes: Vec<Endpoint> = (1..=3)
        .map(|id| sealed(config(48), id, std::slice::from_ref(&old)))
        .collect();
    let mut sent = round(&mut nodes, "before");
    let steps: [&dyn Fn(&mut Keyring); 3] = [
        &|r| assert!(r.add(new.clone()).unwrap()),
        &|r| r.use_key(new.fingerprint()).unwrap(),
        &|r| r.remove(old.fingerprint()).unwrap(),
    ];
    for step in steps {
        for i in 0..nodes.len() {
            step(nodes[i].keyring_mut().unwrap());
            sent += round(&mut nodes, "during");
        }
    }
    sent += round(&mut nodes, "after");
    for n in &mut nodes {
        let evs = events(n);
        assert!(unreadable(&evs).is_empty(), "{evs:?}");
        assert_eq!(evs.len(), sent - sent / 3, "each node hears the others");
        let s = n.stats();
        assert_eq!(s.dropped.total(), 0, "{s:#?}");
        let keys = n.keyring().unwrap().keys();
        assert_eq!(keys.len(), 1);
        assert_eq!(keys[0].fingerprint, new.fingerprint());
    }
    // A straggler still on the old key is now unreadable.
    let mut straggler = sealed(config(48), 9, &[old]);
    straggler.emit(t0(), "late", &[]).unwrap();
    for d in transmits(&mut straggler) {
        nodes[0].handle_datagram(t0(), addr(9), &d);
    }
    assert_eq!(nodes[0].stats().dropped.no_key, 1);
}
