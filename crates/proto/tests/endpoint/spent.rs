//! The buffers of short bodies handed to `emit_body` come back through
//! `take_spent_bodies` once asked for (the store keeps a copy of their
//! bytes), and a long body's never does.
#![allow(clippy::unwrap_used)]

use crate::common::*;

/// The addresses of `bodies`' buffers, to tell them when they come back.
fn addrs(bodies: &[Vec<u8>]) -> Vec<usize> {
    bodies.iter().map(|b| b.as_ptr() as usize).collect()
}

#[test]
fn short_bodies_buffers_come_back_once_asked_for() {
    let mut e = endpoint(config(1024), 1);
    let mut spent = Vec::new();
    // Before the first call, nothing is kept for it.
    e.emit_body(body_of_len(100)).unwrap();
    e.take_spent_bodies(&mut spent);
    assert!(spent.is_empty());

    let bodies: Vec<Vec<u8>> = (0..20).map(|i| body_of_len(100 + i)).collect();
    let expected = addrs(&bodies);
    let copies = bodies.clone();
    for body in bodies {
        e.emit_body(body).unwrap();
    }
    e.take_spent_bodies(&mut spent);
    assert_eq!(addrs(&spent), expected);
    // The caller writes its next bodies into them.
    for buf in &mut spent {
        buf.fill(0xff);
    }
    spent.clear();
    e.take_spent_bodies(&mut spent);
    assert!(spent.is_empty(), "a buffer came back twice");

    // What the buffers held went out as it was: the store has its copy.
    let mut rx = endpoint(config(1024), 2);
    rx.handle_join(at(0));
    for d in transmits(&mut e) {
        rx.handle_datagram(at(0), addr(1), &d);
    }
    let got: Vec<String> = messages(&mut rx)
        .into_iter()
        .map(|m| format!("{} {:?}", m.name, m.args))
        .collect();
    let sent: Vec<String> = copies
        .into_iter()
        .map(|b| {
            let (name, args) = eventcast_proto::decode_received(b).unwrap();
            format!("{name} {args:?}")
        })
        .collect();
    assert!(got.ends_with(&sent), "{} messages", got.len());

    // A long body is shared with its datagrams, not given back.
    e.emit_body(body_of_len(5000)).unwrap();
    e.take_spent_bodies(&mut spent);
    assert!(spent.is_empty());
}

#[test]
fn at_most_4096_buffers_are_kept_and_none_too_roomy() {
    let mut e = endpoint(config(1024), 1);
    let mut spent = Vec::new();
    e.take_spent_bodies(&mut spent);
    let mut roomy = body_of_len(100);
    roomy.reserve_exact(10_000);
    e.emit_body(roomy).unwrap();
    e.take_spent_bodies(&mut spent);
    assert!(spent.is_empty(), "a buffer of 10 KB came back");
    for _ in 0..5000 {
        e.emit_body(body_of_len(100)).unwrap();
    }
    e.take_spent_bodies(&mut spent);
    assert_eq!(spent.len(), 4096);
    spent.clear();
    e.emit_body(body_of_len(100)).unwrap();
    e.take_spent_bodies(&mut spent);
    assert_eq!(spent.len(), 1, "the cap holds between two calls only");
}
