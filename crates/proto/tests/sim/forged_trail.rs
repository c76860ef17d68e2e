//! An impersonator's heartbeats, from its own address, under a real
//! sender's id, with the lead and the trail both at what the sender has
//! sent (both on the wire: it needs no more): "I can repair nothing
//! below here". Through 10% loss, the receiver must still ask for what it
//! misses and get it. Before a trail counted only from the sender's home,
//! every gap open when a forged heartbeat came was reported lost
//! (`NotRepairable`) though the sender still kept it.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use eventcast_proto::wire::Heartbeat;
use eventcast_proto::{MessageSeq, SenderId};

use crate::common::*;
use crate::world::*;

#[test]
fn a_forged_trail_from_elsewhere_makes_nothing_unrepairable() {
    for seed in 0..5 {
        let mut w = World::new(2, &config(1024), lossy(0.10), seed);
        let from = "192.0.2.66:1000".parse().unwrap();
        let n = 300;
        for i in 0..n {
            emit_stream(&mut w, 0, 1, Duration::ZERO, |_| 100);
            w.run_for(Duration::from_millis(2));
            if i > 10 {
                let at = w.nodes[0].stats().messages_sent;
                let hb = Heartbeat::new(
                    SenderId::new(1),
                    MessageSeq::new(at),
                    MessageSeq::new(at),
                    1000,
                )
                .unwrap();
                let mut bytes = Vec::new();
                hb.write(&mut bytes);
                w.nodes[1].handle_datagram(w.now, from, &bytes);
            }
            w.run_for(Duration::from_millis(3));
        }
        w.run_for(Duration::from_secs(2));
        let lost = assert_exactly_once_in_order(&w, 1, 1, 0, n);
        assert_eq!(lost, 0, "seed {seed}: {:?}", losses(&w, 1, 1));
    }
}
