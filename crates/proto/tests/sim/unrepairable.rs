//! What cannot be repaired is reported, exactly once, never delivered and
//! never silent: messages older than the sender's retransmit window when
//! the receiver asks (`NotRepairable`), and messages missing when their
//! sender goes away (`Unrecoverable`, once it has been silent for
//! `heartbeat_max` with NACKs unanswered). Everything else still arrives
//! in order.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use crate::common::*;
use crate::world::*;
use eventcast_proto::LossReason;

fn cut() -> Link {
    Link {
        loss: 1.0,
        ..Link::default()
    }
}

#[test]
fn older_than_the_retransmit_window() {
    for seed in 0..5 {
        let mut c = config(1024);
        c.retransmit_window = Duration::from_millis(500);
        let mut w = World::new(3, &c, lossy(0.01), seed);
        emit_stream(&mut w, 0, 20, Duration::from_millis(10), mixed);
        // Node 2 hears nothing for 1.5 s while the stream goes on; then
        // it hears the rest.
        w.set_link(0, 2, cut());
        emit_stream(&mut w, 0, 150, Duration::from_millis(10), mixed);
        w.set_link(0, 2, lossy(0.01));
        emit_stream(&mut w, 0, 30, Duration::from_millis(10), mixed);
        w.run_for(Duration::from_secs(5));

        assert_eq!(assert_exactly_once_in_order(&w, 1, 1, 0, 200), 0);
        let lost = assert_exactly_once_in_order(&w, 2, 1, 0, 200);
        let reports = losses(&w, 2, 1);
        assert!(lost > 50, "seed {seed}: {reports:?}");
        assert!(
            reports
                .iter()
                .all(|l| l.reason == LossReason::NotRepairable),
            "seed {seed}: {reports:?}"
        );
        // What was lost lies inside the cut, and starts with it.
        let (got, lost_seqs) = w.outcome(2, 1);
        assert!(
            lost_seqs.iter().all(|s| (20..170).contains(s)),
            "{lost_seqs:?}"
        );
        assert!(got.contains(&169) || lost_seqs.contains(&169));
        let s = w.nodes[2].stats();
        assert_eq!(s.messages_lost, lost as u64);
        assert!(s.repairs_received > 0, "the recent part is repaired: {s:?}");
    }
}

#[test]
fn the_sender_goes_away_with_repairs_outstanding() {
    for seed in 0..10 {
        let c = config(1024);
        let mut w = World::new(3, &c, lossy(0.01), seed);
        emit_stream(&mut w, 0, 30, Duration::from_millis(1), mixed);
        // The next 10 events are lost to node 2, and the sender vanishes
        // (its process ends: its store with it) right after sending them.
        w.set_link(0, 2, cut());
        emit_stream(&mut w, 0, 10, Duration::ZERO, |_| 40);
        w.run_for(Duration::from_micros(100));
        w.unplug(0, &c, 99);
        w.set_link(0, 2, lossy(0.01));
        w.run_for(Duration::from_secs(5));

        // Node 2 heard nothing after 29 (not even a heartbeat) and cannot
        // know more was sent: it got 0..30, and nothing is reported. Node
        // 1 may have missed some of the last ten (1% loss): those are
        // reported, once the sender has been silent for heartbeat_max.
        assert_eq!(assert_exactly_once_in_order(&w, 2, 1, 0, 30), 0);
        let (got, lost_seqs) = w.outcome(1, 1);
        let heard = (got.len() + lost_seqs.len()) as u64;
        assert!(heard >= 30, "seed {seed}");
        let lost = assert_exactly_once_in_order(&w, 1, 1, 0, heard);
        for l in losses(&w, 1, 1) {
            assert_eq!(l.reason, LossReason::Unrecoverable, "seed {seed}: {l:?}");
        }
        assert_eq!(w.nodes[1].stats().messages_lost, lost as u64);
    }
}

#[test]
fn a_gap_left_when_the_sender_goes_away() {
    for seed in 0..10 {
        let c = config(1024);
        let mut w = World::new(2, &c, lossy(0.0), seed);
        emit_stream(&mut w, 0, 10, Duration::from_millis(1), |_| 40);
        // Events 10..15 are lost; 15 and 16 arrive, and the sender dies.
        w.set_link(0, 1, cut());
        emit_stream(&mut w, 0, 5, Duration::from_millis(1), |_| 40);
        w.set_link(0, 1, lossy(0.0));
        emit_stream(&mut w, 0, 2, Duration::ZERO, |_| 40);
        w.run_for(Duration::from_micros(300));
        w.unplug(0, &c, 99);
        w.run_for(Duration::from_secs(5));

        let lost = assert_exactly_once_in_order(&w, 1, 1, 0, 17);
        assert_eq!(lost, 5, "seed {seed}");
        let reports = losses(&w, 1, 1);
        assert_eq!(reports.len(), 1, "{reports:?}");
        assert_eq!(reports[0].first.get(), 10);
        assert_eq!(reports[0].count, 5);
        assert_eq!(reports[0].reason, LossReason::Unrecoverable);
        let s = w.nodes[1].stats();
        assert!(s.nacks_sent >= 3, "{s:?}");
        assert_eq!((s.messages_lost, s.loss_reports), (5, 1));
        // Held for order behind the gap, then delivered after the report.
        assert_eq!(w.outcome(1, 1).0, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 15, 16]);
    }
}
