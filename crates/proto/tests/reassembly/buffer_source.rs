//! `Config::buffer_source`: a large message from a sender believed real is
//! put together in the buffer the source gives when it has the room, and
//! in a buffer of the endpoint's own otherwise; the message arrives whole
//! either way, and `reserve_hook` is shown the room of whichever buffer
//! it is. The source is asked once per message, with its body's length,
//! and never for a sender's first message (nothing is reserved before a
//! sender is believed).
#![allow(clippy::unwrap_used)]

use std::mem::MaybeUninit;
use std::sync::{Arc, Mutex};

use crate::common::*;
use bson::Bson;
use eventcast_proto::{encode_body, BufferSource, ReserveHook};

/// The rooms the hook was shown (one static per test binary: only this
/// test sets the hook).
static ROOMS: Mutex<Vec<usize>> = Mutex::new(Vec::new());

fn record_room(room: &mut [MaybeUninit<u8>]) {
    ROOMS.lock().unwrap().push(room.len());
}

#[test]
fn a_large_message_is_put_together_in_the_buffer_the_source_gives() {
    // The rooms the source hands out, in turn, and the lengths asked.
    let given = Arc::new(Mutex::new(vec![64, 400_000, 300_000]));
    let asked = Arc::new(Mutex::new(Vec::new()));
    let mut config = config(1024);
    config.reserve_hook = Some(ReserveHook(record_room));
    let (r, a) = (Arc::clone(&given), Arc::clone(&asked));
    config.buffer_source = Some(BufferSource(Arc::new(move |len| {
        a.lock().unwrap().push(len);
        let room = r.lock().unwrap().pop()?;
        let mut buf = Vec::with_capacity(room);
        // What it held is not part of the message.
        buf.extend_from_slice(b"left over");
        Some(buf)
    })));
    let mut tx = endpoint(config.clone(), 0xA);
    let mut rx = endpoint(config, 0xB);
    let frame = |seed: u8| binary((0..250_000).map(|i| (i as u8) ^ seed).collect());
    let mut sent = Vec::new();
    // The first message makes the sender believed; then the source gives
    // room for 300,000 bytes (it fits), 400,000 (it fits too), and 64 (it
    // does not: the endpoint reserves the body's own length).
    for seed in 0u8..4 {
        let args = [frame(seed), Bson::Int32(seed.into())];
        tx.emit(t0(), "frame", &args).unwrap();
        for d in transmits(&mut tx) {
            rx.handle_datagram(at(0), addr(1), &d);
        }
        let got = messages(&mut rx);
        assert_eq!(got.len(), 1, "message {seed}");
        assert!(got[0].args[..] == args[..], "message {seed} whole");
        sent.push(encode_body("frame", &args).unwrap().len());
    }
    let rooms = ROOMS.lock().unwrap().clone();
    assert_eq!(rooms[..2], [300_000, 400_000], "the lent buffers' rooms");
    assert_eq!(rooms.len(), 3, "{rooms:?}");
    assert!((sent[3]..300_000).contains(&rooms[2]), "its own: {rooms:?}");
    assert_eq!(*asked.lock().unwrap(), sent[1..], "once per later message");
    assert!(given.lock().unwrap().is_empty());
    assert_eq!(rx.stats().dropped.total(), 0);
}
