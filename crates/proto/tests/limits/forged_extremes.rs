//! Forged sequence numbers and heartbeat fields at the ends of their range:
//! dropped or handled, never a panic (found by the `endpoint` fuzz target:
//! `seq + 1` overflowed for a data frame with seq u64::MAX).
#![allow(clippy::unwrap_used)]

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use eventcast_proto::wire::{DataHeader, Flags, MAX_SEQ};
use eventcast_proto::{encode_body, Config, Endpoint, MessageSeq, SegmentIndex, SenderId};

fn datagram(sender: u64, seq: u64, index: u32, count: u32, body: &[u8]) -> Vec<u8> {
    let size = body.len().div_ceil(count as usize);
    let chunk = &body[index as usize * size..((index as usize + 1) * size).min(body.len())];
    let header = DataHeader {
        flags: Flags::empty(),
        sender: SenderId::new(sender),
        seq: MessageSeq::new(seq),
        index: SegmentIndex::new(index),
        count,
        message_len: body.len() as u32,
    };
    // Raw bytes: `DataFrame::new` would refuse a seq past MAX_SEQ.
    let mut out = Vec::new();
    header.write(&mut out);
    out.extend_from_slice(chunk);
    out
}

#[test]
fn sequence_numbers_at_the_end_of_their_range() {
    let from: SocketAddr = "192.0.2.1:4000".parse().unwrap();
    let body = encode_body("edge", &["x".repeat(100).into()]).unwrap();
    for ordered in [true, false] {
        let mut config = Config::default();
        config.ordered = ordered;
        let mut rx = Endpoint::new(config, SenderId::new(1)).unwrap();
        let t0 = Instant::now();
        let mut now = t0;
        for seq in [
            0,
            u64::MAX,
            u64::MAX - 1,
            1,
            MAX_SEQ,
            MAX_SEQ + 1,
            u64::MAX / 2,
            u64::MAX,
        ] {
            // A whole message, and the first of two segments of another.
            rx.handle_datagram(now, from, &datagram(7, seq, 0, 1, &body));
            rx.handle_datagram(now, from, &datagram(8, seq, 0, 2, &body));
            now += Duration::from_millis(5);
            rx.handle_timeout(now);
            while rx.poll_event().is_some() {}
            while rx.poll_transmit(now, &mut Vec::new()).is_some() {}
        }
        // Sequence numbers past MAX_SEQ are malformed; the others were taken.
        assert!(
            rx.stats().dropped.malformed >= 6,
            "{:?}",
            rx.stats().dropped
        );
        // Time runs out for everything, still without a panic.
        rx.handle_timeout(t0 + Duration::from_secs(3600));
        while rx.poll_event().is_some() {}
    }
}
