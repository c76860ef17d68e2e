//! Receivers' windows (status frames): a receiver that advertises one lets
//! a large event out at once instead of a blind slow start; a slow
//! receiver with a small socket buffer that says so gets every event
//! without overflowing it; a forged window is clamped to `max_window`, and
//! a forged receiver that never reads stalls the sender for
//! `repair_timeout` at most; through 10% and 30% loss (statuses lost too)
//! nothing is lost.
#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use eventcast_proto::wire::{Status, MAX_SEQ};
use eventcast_proto::{MessageSeq, SenderId, Stats};

use crate::common::*;
use crate::world::*;

/// Body bytes of node 0's data datagrams sent at `t`.
fn data_sent_at(w: &World, t: Instant) -> usize {
    w.sent[0]
        .iter()
        .zip(&w.sent_at[0])
        .filter(|(d, at)| **at == t && d[3] == 0x01)
        .map(|(d, _)| d.len() - 33)
        .sum()
}

/// Emits one event of `size` bytes from node 0 after a small one (which
/// lets the receivers' first statuses arrive); returns when it was emitted.
fn large_event_after_a_small_one(w: &mut World, size: usize) -> Instant {
    emit_stream(w, 0, 1, Duration::ZERO, |_| 10);
    w.run_for(Duration::from_millis(50));
    let t = w.now;
    let args = [bson::Bson::Binary(bson::Binary {
        subtype: bson::spec::BinarySubtype::Generic,
        bytes: vec![7; size],
    })];
    w.nodes[0].emit(t, "e", &args).unwrap();
    w.settle();
    t
}

#[test]
fn an_advertised_window_lets_a_large_event_out_at_once() {
    for seed in 0..5 {
        let mut blind = World::new(2, &config(1024), lossy(0.0), seed);
        let t = large_event_after_a_small_one(&mut blind, 512 * 1024);
        let blind_burst = data_sent_at(&blind, t);
        assert!(blind_burst <= 64 * 1024, "burst: {blind_burst}");

        let mut w = World::new(2, &config(1024), lossy(0.0), seed);
        w.nodes[1].set_receive_window(1024 * 1024);
        let t = large_event_after_a_small_one(&mut w, 512 * 1024);
        let at_once = data_sent_at(&w, t);
        assert!(at_once >= 512 * 1024, "seed {seed}: {at_once} at once");
        w.run_for(Duration::from_secs(1));
        let (got, lost) = w.outcome(1, 1);
        assert_eq!((got, lost), (vec![0, 1], vec![]));
        let (tx, rx) = (w.nodes[0].stats(), w.nodes[1].stats());
        assert!(rx.statuses_sent > 0 && tx.statuses_received > 0, "{rx:?}");
        assert_eq!((tx.window_receivers, tx.send_window), (1, 1024 * 1024));
        assert_eq!(tx.rate_decreases, 0, "{tx:?}");
    }
}

/// Node 0 sending (`burst` 8 KiB) to node 1, the receiver of `overrun.rs`
/// (100 µs a datagram, 32 waiting), with a window of 16 KiB.
fn slow_receiver(seed: u64) -> World {
    let mut c = config(1024);
    c.burst = 8 * 1024;
    let mut w = World::new(2, &c, lossy(0.0), seed);
    w.set_capacity(
        1,
        Capacity {
            per_datagram: Duration::from_micros(100),
            queue: 32,
        },
    );
    w.nodes[1].set_receive_window(16 * 1024);
    w
}

/// The receiver of `overrun.rs`, with a window its queue holds with room
/// to spare (17 datagrams of these events; the link's jitter reorders a
/// few, and a receiver reports the furthest it read): nothing overflows.
#[test]
fn a_slow_receiver_with_a_small_window_loses_nothing() {
    for seed in 0..5 {
        let mut w = slow_receiver(seed);
        let n = 2000;
        emit_stream(&mut w, 0, n, Duration::ZERO, |_| 900);
        w.run_for(Duration::from_secs(10));
        assert_eq!(w.overflows[1], 0, "seed {seed}: the queue overflowed");
        assert_eq!(assert_exactly_once_in_order(&w, 1, 1, 0, n), 0);
        let tx = w.nodes[0].stats();
        assert!(tx.window_waits > 0, "{tx:?}");
        assert_eq!(tx.window_lapses, 0, "{tx:?}");
    }
}

/// A stranger's status with the largest window, far ahead of the stream:
/// the sender believes `max_window` at most, from what it sent; and since
/// the stranger never reads, it lapses and the real receiver gets all.
#[test]
fn a_forged_huge_window_is_clamped() {
    for seed in 0..5 {
        let mut c = config(1024);
        c.max_window = 128 * 1024;
        let mut w = World::new(2, &c, lossy(0.0), seed);
        let forged = Status::new(
            SenderId::new(99),
            SenderId::new(1),
            MessageSeq::new(MAX_SEQ),
            u32::MAX,
            u32::MAX,
        )
        .unwrap();
        let mut bytes = Vec::new();
        forged.write(&mut bytes);
        let from = "192.0.2.66:1000".parse().unwrap();
        w.nodes[0].handle_datagram(w.now, from, &bytes);
        let tx = w.nodes[0].stats();
        assert_eq!((tx.window_receivers, tx.send_window), (1, 128 * 1024));
        let t = w.now;
        let args = [bson::Bson::Binary(bson::Binary {
            subtype: bson::spec::BinarySubtype::Generic,
            bytes: vec![7; 900 * 1024],
        })];
        w.nodes[0].emit(t, "e", &args).unwrap();
        w.settle();
        let at_once = data_sent_at(&w, t);
        assert!(
            at_once <= 128 * 1024 + 1024,
            "seed {seed}: {at_once} at once"
        );
        w.run_for(Duration::from_secs(2));
        assert_eq!(w.outcome(1, 1), (vec![0], vec![]));
        let tx = w.nodes[0].stats();
        assert_eq!(tx.window_lapses, 1, "{tx:?}");
        assert_eq!(tx.window_receivers, 0, "{tx:?}");
    }
}

/// `random_loss.rs`'s stream (mixed sizes, two receivers, jitter and
/// duplicates) through 10% and 30% loss, with both receivers advertising a
/// window smaller than the large events: statuses are lost too, and
/// nothing is.
#[test]
fn windows_through_random_loss() {
    for loss in [0.10, 0.30] {
        for seed in 0..20 {
            let link = Link {
                loss,
                duplicate: 0.01,
                ..lossy(loss)
            };
            let mut c = config(1024);
            c.burst = 8 * 1024;
            let mut w = World::new(3, &c, link, seed);
            for r in 1..3 {
                w.nodes[r].set_receive_window(16 * 1024);
            }
            let n = 100;
            emit_stream(&mut w, 0, n, Duration::from_millis(1), mixed);
            w.run_for(Duration::from_secs(20));
            for r in 1..3 {
                let lost = assert_exactly_once_in_order(&w, r, 1, 0, n);
                assert_eq!(lost, 0, "loss {loss}, seed {seed}, receiver {r}");
            }
            let tx = w.nodes[0].stats();
            assert!(tx.statuses_received > 0 && tx.window_waits > 0, "{tx:?}");
        }
    }
}

/// Node 1 advertises a window of 1 MiB, and node 0 (whose `max_window`
/// is 128 KiB, an eighth of it) sends it a 512 KiB event: delivered
/// within `within`, the sender never lapsing the receiver, nothing asked
/// for. The sender's and receiver's stats.
fn a_window_above_four_times_max_window(
    w: &mut World,
    within: Duration,
    seed: u64,
) -> (Stats, Stats) {
    w.nodes[1].set_receive_window(1024 * 1024);
    large_event_after_a_small_one(w, 512 * 1024);
    w.run_for(within);
    assert_eq!(w.outcome(1, 1), (vec![0, 1], vec![]), "seed {seed}");
    let (tx, rx) = (w.nodes[0].stats(), w.nodes[1].stats());
    assert_eq!(tx.window_lapses, 0, "seed {seed}: {tx:?}");
    assert_eq!(tx.send_window, 128 * 1024, "seed {seed}");
    assert_eq!(rx.advertised_window, 1024 * 1024, "seed {seed}");
    assert!(tx.window_waits >= 3, "seed {seed}: {tx:?}");
    assert_eq!(rx.nacks_sent, 0, "seed {seed}: {rx:?}");
    (tx, rx)
}

/// A receiver whose window is larger than the sender believes (its
/// socket buffer is large, `max_window` small): it reports often enough
/// for the window the sender keeps to, rather than every quarter of its
/// own, so the sender is never left waiting on a status that would come
/// only after more than it may send.
#[test]
fn a_window_larger_than_max_window_is_reported_often_enough() {
    for seed in 0..20 {
        let mut c = config(8192);
        c.max_window = 128 * 1024;
        let mut w = World::new(2, &c, lossy(0.0), seed);
        // 512 KiB at 128 KiB a round trip of at most 1 ms: well within.
        let within = Duration::from_millis(20);
        let (_, rx) = a_window_above_four_times_max_window(&mut w, within, seed);
        // A status every 32 KiB read, a quarter of the 128 KiB believed.
        assert!(rx.statuses_sent >= 16, "seed {seed}: {rx:?}");
    }
}

/// A sender whose `max_window` is smaller than a quarter of what its
/// receiver advertises and believes (the receiver's own `max_window` is
/// the default): the receiver's quarter would come only after more than
/// the sender may send. The sender asks for a heartbeat `heartbeat_min`
/// (4 ms) after each wait began, which the receiver, in the middle of the
/// message, answers with what it read: a wait lasts that long, not until
/// the receiver lapses. Whatever the segment size: the trickle of a
/// sender held back sends a segment of 512 bytes every 2 ms, which would
/// push the quiet cycle's heartbeats back for good.
#[test]
fn a_sender_with_a_smaller_max_window_hears_at_its_heartbeats() {
    for payload in [8192, 1024, 512] {
        for seed in 0..10 {
            let c = config(payload);
            let mut w = World::new(2, &c, lossy(0.0), seed);
            let mut small = c.clone();
            small.max_window = 128 * 1024;
            let mut sender =
                eventcast_proto::Endpoint::with_seed(small, SenderId::new(1), seed * 1000).unwrap();
            sender.handle_join(w.now);
            w.nodes[0] = sender;
            // Four waits of a heartbeat each (held back to `min_rate` and
            // then lapsed, the sender would take over 40 ms).
            let within = Duration::from_millis(30);
            let (tx, _) = a_window_above_four_times_max_window(&mut w, within, seed);
            assert_eq!(tx.repairs_sent, 0, "payload {payload}, seed {seed}: {tx:?}");
        }
    }
}

/// Sparse small events to four receivers that advertise windows: a
/// heartbeat after each event (the sender goes quiet between them) is not
/// answered, since every message it covers was sent in full; each
/// receiver sends one status, for its first read.
#[test]
fn heartbeats_between_sparse_events_draw_no_statuses() {
    for seed in 0..3 {
        let mut w = World::new(5, &config(1024), lossy(0.0), seed);
        for r in 1..5 {
            w.nodes[r].set_receive_window(1024 * 1024);
        }
        let n = 50;
        emit_stream(&mut w, 0, n, Duration::from_millis(10), |_| 10);
        w.run_for(Duration::from_secs(1));
        let tx = w.nodes[0].stats();
        assert!(tx.heartbeats_sent >= n, "a heartbeat after each: {tx:?}");
        for r in 1..5 {
            assert_eq!(assert_exactly_once_in_order(&w, r, 1, 0, n), 0);
            let rx = w.nodes[r].stats();
            assert_eq!(rx.statuses_sent, 1, "seed {seed}, receiver {r}: {rx:?}");
        }
    }
}

/// The slow receiver, and a stranger's status from a receiver that never reads (at the
/// stream's start, no window), sent once before the stream and again every
/// 20 ms from new ids. The first lapses after `repair_timeout` though the
/// real receiver keeps reading, and the later ones, a window behind when
/// first heard, never count: the stream is delivered within its second,
/// and nothing overflows or is lost. Before, the real receiver's progress
/// restarted every receiver's lapse clock, and each new forged one held
/// the sender back anew: at `min_rate` (256 KiB/s, 7 s for these 1.8 MB)
/// for as long as the statuses came (270 of 2,001 events in that second).
#[test]
fn forged_receivers_that_never_read_lapse_while_a_real_one_reads() {
    for seed in 0..5 {
        let mut w = slow_receiver(seed);
        let from = "192.0.2.66:1000".parse().unwrap();
        let forge = |w: &mut World, id: u64| {
            let forged = Status::new(
                SenderId::new(id),
                SenderId::new(1),
                MessageSeq::new(0),
                0,
                0,
            )
            .unwrap();
            let mut bytes = Vec::new();
            forged.write(&mut bytes);
            w.nodes[0].handle_datagram(w.now, from, &bytes);
        };
        emit_stream(&mut w, 0, 1, Duration::ZERO, |_| 900);
        w.run_for(Duration::from_millis(50));
        forge(&mut w, 1000);
        let n = 2000;
        emit_stream(&mut w, 0, n, Duration::ZERO, |_| 900);
        for i in 1..50 {
            w.run_for(Duration::from_millis(20));
            forge(&mut w, 1000 + i);
        }
        let tx = w.nodes[0].stats();
        assert_eq!(w.overflows[1], 0, "seed {seed}: the queue overflowed");
        assert_eq!(
            assert_exactly_once_in_order(&w, 1, 1, 0, n + 1),
            0,
            "seed {seed}: not all delivered within 1 s: {tx:?}"
        );
        // the first one lapsed; the later ones, first heard a window behind,
        // never counted
        assert_eq!(
            (tx.window_lapses, tx.window_receivers),
            (1, 1),
            "seed {seed}"
        );
    }
}
