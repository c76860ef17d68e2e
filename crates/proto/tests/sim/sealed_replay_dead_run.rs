//! With a key, sealed traffic captured from a run that has ended, replayed
//! to a node that starts later, delivers nothing: the node challenges the
//! sender, nobody answers (no live node has that run's sender id), and what
//! it held is discarded and counted. The live group around it is not
//! disturbed.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use crate::common::*;
use crate::world::*;

#[test]
fn a_dead_runs_traffic_delivers_nothing() {
    for seed in 0..20 {
        let c = config(1024);
        // The earlier run: node 0 (id 1) sends 60 events to node 1; the
        // attacker captures everything node 0 sent.
        let mut w = World::sealed(2, &c, lossy(0.05), seed);
        emit_stream(&mut w, 0, 60, Duration::from_millis(1), mixed);
        w.run_for(Duration::from_secs(3));
        assert_eq!(assert_exactly_once_in_order(&w, 1, 1, 0, 60), 0);
        let captured = w.sent[0].clone();
        // Of those, the answers and challenges it sent (the replayed
        // ones are handled, not held: they carry no events).
        let dead = w.nodes[0].stats();
        let handshake = dead.answers_sent + dead.challenges_sent;

        // Later: a new group (fresh ids), one of them sending live, while
        // the captured datagrams are replayed to the receiver in bursts.
        w.restart_sealed(0, &c, 500);
        w.restart_sealed(1, &c, 501);
        for (i, chunk) in captured.chunks(captured.len().div_ceil(10)).enumerate() {
            w.inject(1, chunk);
            emit_stream(&mut w, 0, 3, Duration::from_millis(5), mixed);
            assert!(w.nodes[1].stats().handshake_held <= 256, "round {i}");
        }
        w.run_for(Duration::from_secs(5));

        // Nothing of the earlier run, not even a loss report.
        assert_eq!(w.outcome(1, 1), (vec![], vec![]), "seed {seed}");
        // The live sender, all of it.
        assert_eq!(
            assert_exactly_once_in_order(&w, 1, 500, 0, 30),
            0,
            "seed {seed}"
        );
        let s = w.nodes[1].stats();
        assert_eq!(s.senders_unanswered, 1, "seed {seed}: {s:?}");
        assert_eq!(s.senders_verified, 1, "only the live sender: {s:?}");
        assert_eq!(
            s.dropped.unverified + s.dropped.replayed,
            captured.len() as u64 - handshake,
            "seed {seed}: every captured datagram dropped and counted: {s:?}"
        );
        assert_eq!((s.handshake_held, s.handshake_held_bytes), (0, 0));
        // The dead sender was asked a bounded number of times.
        assert!(s.challenges_sent <= 8 + 8, "{s:?}");
    }
}
