//! A hole that stays open while a fast stream goes on: the first message
//! is lost to the receiver and its NACKs cannot reach the sender for a
//! while, during which more than 65,536 small events follow. The window
//! of finished messages spans 2^20 of them, so the hole is repaired when
//! the NACKs get through, and everything is delivered in order; the
//! window's memory goes back once the hole is filled.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use crate::common::*;
use crate::world::*;

#[test]
fn seventy_thousand_events_behind_a_hole() {
    let n = 70_000;
    let mut w = World::new(2, &config(1024), lossy(0.0), 1);
    let cut = Link {
        loss: 1.0,
        ..Link::default()
    };
    // The first datagram is lost; the receiver's NACKs too, for a while.
    w.set_link(0, 1, cut);
    emit_stream(&mut w, 0, 1, Duration::ZERO, |_| 20);
    w.run_for(Duration::from_micros(10));
    w.set_link(0, 1, lossy(0.0));
    w.set_link(1, 0, cut);
    emit_stream(&mut w, 0, n - 1, Duration::ZERO, |_| 20);
    w.run_for(Duration::from_millis(500));
    let held = w.nodes[1].stats();
    assert!(held.held_messages > 65_536, "{held:?}");
    assert!(held.window_bytes > 0, "{held:?}");
    w.set_link(1, 0, lossy(0.0));
    w.run_for(Duration::from_secs(3));
    assert_eq!(assert_exactly_once_in_order(&w, 1, 1, 0, n), 0);
    let s = w.nodes[1].stats();
    assert_eq!(
        (s.held_messages, s.recovery_bytes, s.window_bytes),
        (0, 0, 0),
        "{s:?}"
    );
    assert_eq!(s.messages_lost, 0);
}
