//! With a key, a node that does not receive other senders' events
//! (`set_receiving(false)`: the CLI's `emit`, an application with no
//! listener) challenges nobody, holds nothing and reassembles nothing of
//! the senders it hears, yet answers the challenges addressed to it and
//! repairs its own stream, so the others get its events exactly once.
//! Turned on later, it challenges then, and is owed only what is sent from
//! then on, with no loss reported for what came before.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use crate::common::*;
use crate::world::*;

#[test]
fn a_sealed_node_that_only_sends_challenges_nobody_and_answers() {
    for seed in 0..8 {
        let c = config(1024);
        let mut w = World::sealed(3, &c, lossy(0.02), seed);
        w.nodes[1].set_receiving(false);
        for i in 0..40 {
            emit_stream(&mut w, 0, 1, Duration::ZERO, |_| mixed(i));
            emit_stream(&mut w, 1, 1, Duration::from_millis(1), |_| mixed(i + 5));
        }
        w.run_for(Duration::from_secs(5));
        // Node 0 (id 1) and node 2 (id 3) get node 1's (id 2) events.
        for r in [0, 2] {
            assert_eq!(
                assert_exactly_once_in_order(&w, r, 2, 0, 40),
                0,
                "seed {seed}"
            );
        }
        assert_eq!(assert_exactly_once_in_order(&w, 2, 1, 0, 40), 0);
        let s = w.nodes[1].stats();
        assert!(w.outcome(1, 1).0.is_empty(), "seed {seed}: delivered");
        assert_eq!(
            (s.challenges_sent, s.handshake_held, s.senders_verified),
            (0, 0, 0),
            "seed {seed}: {s:?}"
        );
        assert_eq!((s.nacks_sent, s.statuses_sent), (0, 0), "{s:?}");
        assert_eq!((s.partial_messages, s.senders), (0, 0), "{s:?}");
        assert!(s.dropped.not_receiving > 0, "{s:?}");
        assert!(
            s.challenges_received >= 2 && s.answers_sent >= 1,
            "seed {seed}: it answers the two others: {s:?}"
        );
        assert_accounting(&s);

        // Turned on: it challenges node 0 now, and is owed what follows.
        w.nodes[1].set_receiving(true);
        let now = w.now;
        w.nodes[1].handle_join(now);
        w.run_for(Duration::from_millis(100));
        emit_stream(&mut w, 0, 40, Duration::from_millis(1), mixed);
        w.run_for(Duration::from_secs(5));
        assert_eq!(
            assert_exactly_once_in_order(&w, 1, 1, 40, 40),
            0,
            "seed {seed}"
        );
        let s = w.nodes[1].stats();
        assert!(s.challenges_sent >= 1 && s.senders_verified >= 1, "{s:?}");
        assert!(losses(&w, 1, 1).is_empty(), "seed {seed}");
    }
}
