//! A stranger's forged segment must not make a legacy node an amplifier.
//!
//! A segment's meta names the `host:port` that a stalled message's
//! `__ec_retx` request goes to, and claims a `seqLen` (up to 65,536): the
//! request lists the indexes missing. Before requests were bounded, one
//! forged segment of about 190 bytes claiming 65,536 segments made the
//! node send a request of about 870 KB (some 700 datagrams) by unicast to
//! whatever address the segment named.

#![allow(clippy::unwrap_used)] // a test helper outside #[test] fns

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bson::DateTime;
use eventcast_proto::legacy::{
    Decoder, Incoming, LegacyDestination, LegacyEndpoint, LegacyEndpointConfig, LegacyId,
    LegacyIdentity, ReassemblyLimits, RetxRequest,
};

use super::endpoint_hostile::forged_segment;

fn identity(id: &str) -> LegacyIdentity {
    LegacyIdentity {
        id: LegacyId::new(id),
        host: "127.0.0.1".into(),
        port: 41500,
        hostname: "h".into(),
    }
}

/// Segment `seq` of a message that claims `seq_len` segments, naming
/// `127.0.0.9:41500` as its sender's host.
fn forged(message: u8, seq: u32, seq_len: u32) -> Vec<u8> {
    forged_segment(0, message, seq, seq_len, 1, true)
}

/// Bytes the node sends (all by unicast to the forged host), and the requests they make up.
fn drain(node: &mut LegacyEndpoint) -> (usize, Vec<RetxRequest>) {
    let mut reader = Decoder::new(
        LegacyId::new("00000000000000ff"),
        ReassemblyLimits::default(),
    );
    let t = Instant::now();
    let mut bytes = 0;
    let mut requests = Vec::new();
    while let Some(out) = node.poll_transmit() {
        let to: SocketAddr = "127.0.0.9:41500".parse().unwrap();
        assert_eq!(out.destination, LegacyDestination::Unicast(to));
        bytes += out.contents.len();
        if let Ok(Incoming::Retx { request, .. }) = reader.decode(t, &out.contents) {
            requests.push(request);
        }
    }
    (bytes, requests)
}

fn node() -> LegacyEndpoint {
    LegacyEndpoint::new(LegacyEndpointConfig::new(
        identity("00000000000000aa"),
        [5; 32],
    ))
}

#[test]
fn a_forged_segment_claiming_many_segments_draws_no_large_request() {
    let mut node = node();
    let from: SocketAddr = "10.0.0.66:41500".parse().unwrap();
    let t = Instant::now();
    let mut received = 0;
    for message in 0..4 {
        let d = forged(message, 0, 65_536);
        received += d.len();
        node.handle_datagram(t, from, &d);
    }
    assert_eq!(node.stats().partial_messages, 4);
    node.handle_timeout(t + Duration::from_secs(4), DateTime::now());
    let (sent, requests) = drain(&mut node);
    assert_eq!(node.stats().retx_requests_sent, 4);
    assert_eq!(requests.len(), 4, "{} bytes sent", sent);
    assert!(
        sent <= 4 * received,
        "received {received} bytes, sent {sent} by unicast to the address they named"
    );
}

#[test]
fn a_message_missing_a_few_segments_still_asks_for_each() {
    let mut node = node();
    let from: SocketAddr = "10.0.0.66:41500".parse().unwrap();
    let t = Instant::now();
    // 200 segments, all but 3 received
    for seq in (0..200).filter(|s| ![7, 100, 199].contains(s)) {
        node.handle_datagram(t, from, &forged(1, seq, 200));
    }
    node.handle_timeout(t + Duration::from_secs(4), DateTime::now());
    let (_, requests) = drain(&mut node);
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].missed_seq, [7, 100, 199]);
}
