//! The load of issue 17's adversarial test, and what every hostile
//! scenario checks: node 0 (id 1) sends 2,000 small events and 20 of
//! 100 KiB, with a quiet spell in the middle (a quiet sender is the one
//! an attacker could push out), to nodes 1 and 2 while an attacker sends
//! its bursts to all of them. Links are clean (a fixed delay, no loss, no
//! reordering), so every NACK and every loss is the attacker's doing.

use std::time::Duration;

use eventcast_proto::{Config, EndpointEvent};

use crate::attacker::{Attack, Attacker};
use crate::common::config;
use crate::world::*;

/// Events the sender emits.
pub(crate) const EVENTS: u64 = 2020;

/// The events' sizes: every 101st one is 100 KiB.
pub(crate) fn sizes(i: u64) -> usize {
    if i % 101 == 50 {
        100 * 1024
    } else {
        40
    }
}

/// The config of every node: the defaults, with budgets small enough
/// for an attacker to fill.
pub(crate) fn hostile_config() -> Config {
    let mut c = config(1024);
    c.max_partial_bytes = 8 * 1024 * 1024;
    c.max_partial_bytes_per_sender = 2 * 1024 * 1024;
    c
}

/// What a hostile run measured.
pub(crate) struct Outcome {
    pub(crate) world: World,
    /// Per receiver: events of the sender lost (reported).
    pub(crate) lost: Vec<usize>,
    /// The most memory (partial, recovery and window bytes) any node held.
    pub(crate) peak_bytes: u64,
}

/// Runs the load under `attack` (`strength` datagrams every `every`,
/// from `start` after the beginning for `length`), with `seed`; node 2
/// joins after `late` if given (a late joiner).
pub(crate) fn run(
    attack: Attack,
    strength: u32,
    every: Duration,
    span: (Duration, Duration),
    seed: u64,
) -> Outcome {
    run_on(clean(), attack, strength, every, span, seed)
}

/// [`run`] with every link like `link` (its loss too: then NACKs and
/// repairs are the links' doing as well as the attacker's).
pub(crate) fn run_on(
    link: Link,
    attack: Attack,
    strength: u32,
    every: Duration,
    (start, length): (Duration, Duration),
    seed: u64,
) -> Outcome {
    let c = hostile_config();
    let mut w = World::new(3, &c, link, seed);
    let from = w.now + start;
    let attacker = Attacker::new(attack, strength, every, (from, from + length), seed);
    w.set_attacker(attacker, 0);
    let mut peak = 0;
    let half = EVENTS / 2;
    for part in [0..half, half..EVENTS] {
        for i in part {
            emit_stream_from(&mut w, i, sizes(i));
            w.run_for(Duration::from_millis(1));
            peak = peak.max(memory(&w));
        }
        // Quiet: only heartbeats.
        for _ in 0..40 {
            w.run_for(Duration::from_millis(50));
            peak = peak.max(memory(&w));
        }
    }
    w.run_for(Duration::from_secs(5));
    let lost = (1..3)
        .map(|r| assert_exactly_once_in_order(&w, r, 1, 0, EVENTS))
        .collect();
    Outcome {
        world: w,
        lost,
        peak_bytes: peak,
    }
}

/// A link with a fixed delay of 200 µs, and nothing else.
pub(crate) fn clean() -> Link {
    Link {
        delay: Duration::from_micros(200),
        ..Link::default()
    }
}

/// Node 0 emits event `i` of `size` bytes.
fn emit_stream_from(w: &mut World, i: u64, size: usize) {
    let args = [
        bson::Bson::Int64(i as i64),
        bson::Bson::Binary(bson::Binary {
            subtype: bson::spec::BinarySubtype::Generic,
            bytes: vec![i as u8; size],
        }),
    ];
    let seq = w.nodes[0].emit(w.now, "e", &args).expect("emit");
    assert_eq!(seq.get(), i);
}

/// The most any node holds now in partial messages, recovery state and
/// windows.
fn memory(w: &World) -> u64 {
    w.nodes
        .iter()
        .map(|n| {
            let s = n.stats();
            s.partial_bytes + s.recovery_bytes + s.window_bytes
        })
        .max()
        .unwrap_or(0)
}

impl Outcome {
    /// NACKs every node sent.
    pub(crate) fn nacks(&self) -> u64 {
        self.world.nodes.iter().map(|n| n.stats().nacks_sent).sum()
    }

    /// Asserts the bounds: at most `max_lost` of the sender's
    /// events lost per receiver, at most one NACK per 10 hostile
    /// datagrams, memory inside the budget.
    pub(crate) fn assert_bounded(&self, seed: u64, max_lost: usize) {
        let w = &self.world;
        for (r, &lost) in self.lost.iter().enumerate() {
            assert!(
                lost <= max_lost,
                "seed {seed}: receiver {} lost {lost}: {:?}",
                r + 1,
                losses(w, r + 1, 1)
            );
        }
        let hostile = w.hostile();
        assert!(hostile > 0, "seed {seed}: no attack");
        assert!(
            self.nacks() * 10 <= hostile,
            "seed {seed}: {} NACKs for {hostile} hostile datagrams",
            self.nacks()
        );
        let budget = hostile_config().max_partial_bytes as u64;
        assert!(
            self.peak_bytes <= budget,
            "seed {seed}: {} bytes held, budget {budget}",
            self.peak_bytes
        );
        for n in &w.nodes {
            crate::common::assert_accounting(&n.stats());
        }
    }

    /// The conflicts node `i` reported.
    pub(crate) fn conflicts(&self, i: usize) -> usize {
        self.world.events[i]
            .iter()
            .filter(|e| matches!(e, EndpointEvent::Conflict(_)))
            .count()
    }
}
