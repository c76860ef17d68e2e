//! Messages handed back with `give_back` once the application is done
//! with them make the next messages received: their allocation, and a
//! short body's buffer. One still held elsewhere is left as it is.
#![allow(clippy::unwrap_used)]

use std::collections::HashSet;
use std::sync::Arc;

use crate::common::*;
use eventcast_proto::{encode_body, EndpointEvent, ReceivedMessage};

/// Sends events "e" with the string arguments `texts` from `tx` to `rx`,
/// and returns what `rx` delivered, as it delivered them.
fn carry(
    tx: &mut eventcast_proto::Endpoint,
    rx: &mut eventcast_proto::Endpoint,
    texts: &[&str],
) -> Vec<Arc<ReceivedMessage>> {
    for text in texts {
        tx.emit_body(encode_body("e", &[bson::Bson::String((*text).to_owned())]).unwrap())
            .unwrap();
    }
    for d in transmits(tx) {
        rx.handle_datagram(at(0), addr(1), &d);
    }
    events(rx)
        .into_iter()
        .filter_map(|ev| match ev {
            EndpointEvent::Message(m) => Some(m),
            _ => None,
        })
        .collect()
}

fn at_of(m: &Arc<ReceivedMessage>) -> (usize, usize) {
    let body = m
        .args
        .raw_body()
        .expect("a flat body is kept as it arrived");
    (Arc::as_ptr(m) as usize, body.as_bytes().as_ptr() as usize)
}

#[test]
fn messages_given_back_make_the_next_ones_and_a_held_one_is_left_alone() {
    let mut tx = endpoint(config(1024), 1);
    let mut rx = endpoint(config(1024), 2);
    rx.handle_join(at(0));
    let first = carry(&mut tx, &mut rx, &["a", "b", "c"]);
    assert_eq!(first.len(), 3);
    let given: HashSet<(usize, usize)> = first[..2].iter().map(at_of).collect();
    let held = first[2].clone();
    let held_at = at_of(&held);
    for m in first {
        rx.give_back(m);
    }
    // Were they freed instead, the allocator would hand their memory to
    // the next allocations of their sizes: these take it (an Arc of a
    // message's size, buffers of every small size), so that the next
    // messages can only be in the given-back ones if the endpoint kept
    // them.
    let arcs: Vec<Arc<ReceivedMessage>> = (0..32).map(|_| Arc::new((*held).clone())).collect();
    let bufs: Vec<Vec<u8>> = (0..8)
        .flat_map(|_| (16..=1024).step_by(16).map(Vec::<u8>::with_capacity))
        .collect();

    let next = carry(&mut tx, &mut rx, &["dd", "ee", "ff"]);
    let texts: Vec<&str> = next.iter().map(|m| m.args.str_at(0).unwrap()).collect();
    assert_eq!(texts, ["dd", "ee", "ff"]);
    assert!(next.iter().all(|m| &*m.name == "e"));
    // Each body one byte longer than before: its buffer has the room.
    let made: HashSet<(usize, usize)> = next.iter().map(at_of).collect();
    assert_eq!(
        made.intersection(&given).count(),
        2,
        "the two given back came back, allocation and body: {made:?} {given:?}"
    );
    assert!(!made.contains(&held_at), "the held one was not reused");
    assert_eq!(held.args.str_at(0), Some("c"));
    assert_eq!(at_of(&held), held_at);
    drop((arcs, bufs));
}
