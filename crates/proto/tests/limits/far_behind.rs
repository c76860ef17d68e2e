//! A receiver that fell far behind: while it was descheduled its kernel
//! dropped more than 2^16 messages of a sender it was reading, so it reads
//! the datagrams on either side of the drop microseconds apart. From the
//! sender's own address the later ones are taken, and the drop becomes a
//! gap that is repaired; from any other address they stay implausible.
#![allow(clippy::unwrap_used)]

use crate::common::*;
use eventcast_proto::wire::Frame;
use eventcast_proto::Endpoint;

/// Events the sender emits.
const N: u64 = 80_000;
/// Where the kernel's drop begins, and how many messages it takes: more
/// than the 2^16 a seq may run ahead of the last one heard.
const DROP_FROM: u64 = 2_000;
const DROPPED: u64 = 75_000;

/// Alice's data datagrams for `N` small events (batched).
fn burst(alice: &mut Endpoint) -> Vec<Vec<u8>> {
    for i in 0..N {
        alice
            .emit(t0(), "e", &[bson::Bson::Int64(i as i64)])
            .unwrap();
    }
    transmits(alice)
        .into_iter()
        .filter(|d| matches!(Frame::parse(d), Ok(Frame::Data(_) | Frame::Batch(_))))
        .collect()
}

/// The first seq a data datagram carries.
fn seq_of(d: &[u8]) -> u64 {
    match Frame::parse(d) {
        Ok(Frame::Data(data)) => data.header().seq.get(),
        Ok(Frame::Batch(batch)) => batch.first().get(),
        other => panic!("not data: {other:?}"),
    }
}

/// Bob hears the burst with the drop: everything before it at 0-100 ms
/// (so the stream is old enough here for what follows), the rest from
/// `late` at 100 ms, right after the last datagram before the drop.
/// Returns the seqs bob delivered.
fn fall_behind(alice: &mut Endpoint, bob: &mut Endpoint, late: std::net::SocketAddr) -> Vec<u64> {
    let data = burst(alice);
    let mut got = Vec::new();
    let before = data.iter().filter(|d| seq_of(d) < DROP_FROM).count();
    for (i, d) in data[..before].iter().enumerate() {
        let ms = (i as u64 * 100 / before as u64).min(99);
        bob.handle_datagram(at(ms), addr(1), d);
        got.extend(messages(bob).iter().map(|m| m.seq.get()));
    }
    bob.handle_datagram(at(100), addr(1), &data[before - 1]);
    for d in data.iter().filter(|d| seq_of(d) >= DROP_FROM + DROPPED) {
        bob.handle_datagram(at(100), late, d);
    }
    got.extend(messages(bob).iter().map(|m| m.seq.get()));
    got
}

/// What was delivered is everything before the drop, in order (with
/// ordering, nothing past the gap yet).
fn assert_before_the_drop(got: &[u64]) {
    let n = got.len() as u64;
    assert!(got.iter().copied().eq(0..n), "not in order");
    assert!((DROP_FROM..DROP_FROM + 64).contains(&n), "{n} delivered");
}

/// Room for repairing the whole drop: asked for a few hundred at a time
/// (a NACK round per `repair_timeout`), 75,000 messages take longer than
/// the default 3 s the sender keeps them, and the receiver waits for them.
fn patient() -> eventcast_proto::Config {
    let mut c = config(1024);
    c.retransmit_window = std::time::Duration::from_secs(60);
    c.message_ttl = std::time::Duration::from_secs(60);
    c
}

#[test]
fn from_the_senders_address_the_drop_is_repaired() {
    let mut alice = endpoint(patient(), 1);
    let mut bob = endpoint(patient(), 2);
    let mut got = fall_behind(&mut alice, &mut bob, addr(1));
    let s = bob.stats();
    assert_eq!(s.dropped.implausible, 0, "{s:?}");
    assert!(s.far_ahead_taken > 0, "{s:?}");
    assert_before_the_drop(&got);

    // Bob's NACKs reach Alice, her repairs reach Bob, until he has all.
    for ms in 101..60_000 {
        let now = at(ms);
        bob.handle_timeout(now);
        for d in transmits(&mut bob) {
            alice.handle_datagram(now, addr(2), &d);
        }
        alice.handle_timeout(now);
        for d in transmits(&mut alice) {
            bob.handle_datagram(now, addr(1), &d);
        }
        got.extend(messages(&mut bob).iter().map(|m| m.seq.get()));
        if got.len() as u64 == N {
            break;
        }
    }
    let first_wrong = got.iter().zip(0..).position(|(g, want)| *g != want);
    assert!(
        got.len() as u64 == N && first_wrong.is_none(),
        "all of it, once, in order: {} delivered, first out of place at {first_wrong:?} ({:?}); \
         bob: {:?}, alice: {:?}",
        got.len(),
        first_wrong.map(|i| &got[i..(i + 5).min(got.len())]),
        bob.stats(),
        alice.stats(),
    );
    let s = bob.stats();
    assert_eq!((s.messages_lost, s.dropped.implausible), (0, 0), "{s:?}");
}

#[test]
fn from_another_address_it_stays_implausible() {
    let mut alice = endpoint(config(1024), 1);
    let mut bob = endpoint(config(1024), 2);
    let got = fall_behind(&mut alice, &mut bob, addr(9));
    let s = bob.stats();
    assert!(s.dropped.implausible > 0, "{s:?}");
    assert_eq!(s.far_ahead_taken, 0, "{s:?}");
    assert_before_the_drop(&got);
    assert_eq!(s.messages_lost, 0, "no gap, no loss report: {s:?}");
}
