//! A deterministic network simulation: a `World` of endpoints, one
//! emulated link per ordered pair (seeded random loss, burst loss,
//! duplication, delay with jitter, hence reordering), and a virtual clock
//! that jumps to the earliest deadline. Nothing here reads a clock or
//! touches a socket.
#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use eventcast_proto::{Config, Endpoint, EndpointEvent, SenderId};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// How one direction of a link misbehaves.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Link {
    /// Chance that a datagram is lost.
    pub(crate) loss: f64,
    /// Chance that a datagram starts a burst of consecutive losses.
    pub(crate) burst_start: f64,
    /// Datagrams a burst drops.
    pub(crate) burst_len: u32,
    /// Chance that a datagram is delivered twice.
    pub(crate) duplicate: f64,
    /// Fixed delay.
    pub(crate) delay: Duration,
    /// Extra delay drawn uniformly up to this (reorders datagrams).
    pub(crate) jitter: Duration,
}

struct LinkState {
    link: Link,
    burst_left: u32,
}

/// N endpoints and the datagrams in flight between them.
pub(crate) struct World {
    pub(crate) now: Instant,
    pub(crate) nodes: Vec<Endpoint>,
    /// Whether node i is connected (a late joiner is not, at first).
    pub(crate) joined: Vec<bool>,
    links: BTreeMap<(usize, usize), LinkState>,
    in_flight: BTreeSet<(Instant, u64, usize, Vec<u8>)>,
    counter: u64,
    rng: ChaCha8Rng,
    /// Everything each node delivered or reported lost.
    pub(crate) events: Vec<Vec<EndpointEvent>>,
}

impl World {
    /// `n` endpoints with `config`, ids 1..=n, every link `link`.
    pub(crate) fn new(n: usize, config: &Config, link: Link, seed: u64) -> Self {
        let start = Instant::now();
        let nodes = (0..n)
            .map(|i| {
                let mut e = Endpoint::with_seed(
                    config.clone(),
                    SenderId::new(i as u64 + 1),
                    seed * 1000 + i as u64,
                )
                .expect("valid config");
                e.handle_join(start);
                e
            })
            .collect();
        let mut links = BTreeMap::new();
        for a in 0..n {
            for b in 0..n {
                if a != b {
                    links.insert(
                        (a, b),
                        LinkState {
                            link,
                            burst_left: 0,
                        },
                    );
                }
            }
        }
        Self {
            now: start,
            nodes,
            joined: vec![true; n],
            links,
            in_flight: BTreeSet::new(),
            counter: 0,
            rng: ChaCha8Rng::seed_from_u64(seed),
            events: vec![Vec::new(); n],
        }
    }

    /// Sets the link from `a` to `b`.
    pub(crate) fn set_link(&mut self, a: usize, b: usize, link: Link) {
        self.links.insert(
            (a, b),
            LinkState {
                link,
                burst_left: 0,
            },
        );
    }

    /// Replaces node `i` (a restart: a new sender id), joined now.
    pub(crate) fn restart(&mut self, i: usize, config: &Config, id: u64) {
        let mut e =
            Endpoint::with_seed(config.clone(), SenderId::new(id), id).expect("valid config");
        e.handle_join(self.now);
        self.nodes[i] = e;
    }

    /// Replaces node `i` by a fresh endpoint (same id) that is not
    /// connected yet: it hears and sends nothing until [`join`](Self::join).
    pub(crate) fn unplug(&mut self, i: usize, config: &Config, seed: u64) {
        let id = self.nodes[i].id();
        self.nodes[i] = Endpoint::with_seed(config.clone(), id, seed).expect("valid config");
        self.joined[i] = false;
    }

    /// Connects node `i` now (a late joiner).
    pub(crate) fn join(&mut self, i: usize) {
        self.joined[i] = true;
        self.nodes[i].handle_join(self.now);
    }

    /// Moves every datagram node `i` may send now onto the links.
    fn collect(&mut self, i: usize) {
        while let Some(t) = self.nodes[i].poll_transmit(self.now) {
            if !self.joined[i] {
                continue;
            }
            for j in 0..self.nodes.len() {
                if j == i || !self.joined[j] {
                    continue;
                }
                let Some(state) = self.links.get_mut(&(i, j)) else {
                    continue;
                };
                let l = state.link;
                if state.burst_left > 0 {
                    state.burst_left -= 1;
                    continue;
                }
                if l.burst_len > 0 && self.rng.random_bool(l.burst_start) {
                    state.burst_left = l.burst_len - 1;
                    continue;
                }
                if self.rng.random_bool(l.loss) {
                    continue;
                }
                let copies = if self.rng.random_bool(l.duplicate) {
                    2
                } else {
                    1
                };
                for _ in 0..copies {
                    let jitter = if l.jitter.is_zero() {
                        Duration::ZERO
                    } else {
                        Duration::from_nanos(self.rng.random_range(0..l.jitter.as_nanos() as u64))
                    };
                    self.counter += 1;
                    self.in_flight.insert((
                        self.now + l.delay + jitter,
                        self.counter,
                        j,
                        t.contents.clone(),
                    ));
                }
            }
        }
        while let Some(e) = self.nodes[i].poll_event() {
            self.events[i].push(e);
        }
    }

    /// Sends what every node has ready and drains its events.
    pub(crate) fn settle(&mut self) {
        for i in 0..self.nodes.len() {
            self.collect(i);
        }
    }

    /// Advances to the next deadline or arrival (at most `until`); false
    /// when there is nothing before `until`.
    pub(crate) fn step(&mut self, until: Instant) -> bool {
        self.settle();
        let arrival = self.in_flight.first().map(|(t, ..)| *t);
        let timer = self.nodes.iter().filter_map(|n| n.poll_timeout()).min();
        let Some(next) = [arrival, timer].into_iter().flatten().min() else {
            return false;
        };
        if next > until {
            return false;
        }
        self.now = self.now.max(next);
        while let Some((t, ..)) = self.in_flight.first() {
            if *t > self.now {
                break;
            }
            let Some((_, _, j, d)) = self.in_flight.pop_first() else {
                break;
            };
            let from = std::net::SocketAddr::from(([192, 0, 2, 1], 1000));
            self.nodes[j].handle_datagram(self.now, from, &d);
            self.collect(j);
        }
        for i in 0..self.nodes.len() {
            if self.nodes[i].poll_timeout().is_some_and(|t| t <= self.now) {
                self.nodes[i].handle_timeout(self.now);
            }
            self.collect(i);
            // Every deadline handled: nothing may be due any more (a
            // timer left due would spin a driver).
            if let Some(t) = self.nodes[i].poll_timeout() {
                assert!(t > self.now, "node {i}: a deadline stays due");
            }
        }
        true
    }

    /// Runs for `d` of virtual time.
    pub(crate) fn run_for(&mut self, d: Duration) {
        let until = self.now + d;
        let mut steps = 0u64;
        while self.step(until) {
            steps += 1;
            assert!(steps < 5_000_000, "simulation does not settle");
        }
        self.now = self.now.max(until);
        self.settle();
    }

    /// What node `i` delivered from `sender` (seqs in order) and reported
    /// lost (seqs).
    pub(crate) fn outcome(&self, i: usize, sender: u64) -> (Vec<u64>, Vec<u64>) {
        let mut got = Vec::new();
        let mut lost = Vec::new();
        for e in &self.events[i] {
            match e {
                EndpointEvent::Message(m) if m.sender.get() == sender => got.push(m.seq.get()),
                EndpointEvent::Loss(l) if l.sender.get() == sender => {
                    lost.extend(l.first.get()..l.first.get() + l.count)
                }
                _ => {}
            }
        }
        (got, lost)
    }
}

/// Asserts exactly-once, in-order delivery of `first..first + n` from
/// `sender` at node `i`, except messages reported lost (each exactly once,
/// never also delivered), and that nothing outside that range was
/// delivered or reported. Returns how many were lost.
pub(crate) fn assert_exactly_once_in_order(
    w: &World,
    i: usize,
    sender: u64,
    first: u64,
    n: u64,
) -> usize {
    let (got, lost) = w.outcome(i, sender);
    let got_set: BTreeSet<u64> = got.iter().copied().collect();
    assert_eq!(
        got_set.len(),
        got.len(),
        "node {i}: a message delivered twice: {got:?}"
    );
    assert!(
        got.windows(2).all(|p| p[0] < p[1]),
        "node {i}: out of order: {got:?}"
    );
    let lost_set: BTreeSet<u64> = lost.iter().copied().collect();
    assert_eq!(
        lost_set.len(),
        lost.len(),
        "node {i}: a loss reported twice"
    );
    assert!(
        got_set.is_disjoint(&lost_set),
        "node {i}: delivered and reported lost"
    );
    for seq in first..first + n {
        assert!(
            got_set.contains(&seq) || lost_set.contains(&seq),
            "node {i}: seq {seq} neither delivered nor reported lost (got {} of {n}, lost {lost:?})",
            got.len()
        );
    }
    let range = first..first + n;
    assert!(
        got.iter().chain(&lost).all(|s| range.contains(s)),
        "node {i}: delivered or reported outside {range:?}: got {got:?}, lost {lost:?}"
    );
    lost.len()
}
