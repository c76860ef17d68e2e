//! A deterministic network simulation: a `World` of endpoints, one
//! emulated link per ordered pair (seeded random loss, burst loss,
//! duplication, delay with jitter, hence reordering), an optional uplink
//! per sender whose losses every receiver shares, an optional receive
//! capacity per node (a socket buffer that overflows), and a virtual clock
//! that jumps to the earliest deadline. Nothing here reads a clock or
//! touches a socket.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use eventcast_proto::{Config, Endpoint, EndpointEvent, SenderId};

use crate::attacker::Attacker;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Where node `i`'s datagrams come from: each node has its own address.
pub(crate) fn node_addr(i: usize) -> SocketAddr {
    let host = u8::try_from(i + 1).unwrap_or(u8::MAX);
    SocketAddr::from(([192, 0, 2, host], 1000))
}

/// Where the attacker's datagrams come from: its own address (it forges
/// sender ids, not source addresses).
pub(crate) const ATTACKER_ADDR: SocketAddr = SocketAddr::new(
    std::net::IpAddr::V4(std::net::Ipv4Addr::new(198, 51, 100, 66)),
    6666,
);

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

impl LinkState {
    fn new(link: Link) -> Self {
        Self {
            link,
            burst_left: 0,
        }
    }

    /// Whether the next datagram is lost (random or in a burst).
    fn drops(&mut self, rng: &mut ChaCha8Rng) -> bool {
        if self.burst_left > 0 {
            self.burst_left -= 1;
            return true;
        }
        let l = self.link;
        if l.burst_len > 0 && rng.random_bool(l.burst_start) {
            self.burst_left = l.burst_len - 1;
            return true;
        }
        rng.random_bool(l.loss)
    }
}

/// How fast a node takes datagrams in: one every `per_datagram`, with room
/// for `queue` waiting (its socket buffer); more are dropped, as a kernel
/// drops them when the buffer is full.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Capacity {
    /// Time to take one datagram in.
    pub(crate) per_datagram: Duration,
    /// Datagrams that may wait.
    pub(crate) queue: u32,
}

/// N endpoints and the datagrams in flight between them.
pub(crate) struct World {
    pub(crate) now: Instant,
    pub(crate) nodes: Vec<Endpoint>,
    /// Whether node i is connected (a late joiner is not, at first).
    pub(crate) joined: Vec<bool>,
    links: BTreeMap<(usize, usize), LinkState>,
    /// Per sender: losses before the datagram fans out (every receiver
    /// misses it).
    uplinks: Vec<LinkState>,
    /// Per receiver: its capacity, and when it is done with what waits.
    capacity: Vec<Option<(Capacity, Instant)>>,
    /// Arrivals: (when, order, to, already through the receiver's queue,
    /// datagram).
    in_flight: BTreeSet<(Instant, u64, usize, bool, SocketAddr, Vec<u8>)>,
    counter: u64,
    rng: ChaCha8Rng,
    /// Everything each node delivered or reported lost.
    pub(crate) events: Vec<Vec<EndpointEvent>>,
    /// Every datagram each node sent while connected.
    pub(crate) sent: Vec<Vec<Vec<u8>>>,
    /// When each datagram of `sent` was sent.
    pub(crate) sent_at: Vec<Vec<Instant>>,
    /// Datagrams of each sender lost on its uplink.
    pub(crate) uplink_losses: Vec<u64>,
    /// Which of `sent` those were (indexes).
    pub(crate) uplink_lost: Vec<Vec<usize>>,
    /// Datagrams each receiver's full queue dropped.
    pub(crate) overflows: Vec<u64>,
    /// A hostile node, and the node whose stream it targets.
    pub(crate) attacker: Option<(Attacker, usize)>,
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
                    links.insert((a, b), LinkState::new(link));
                }
            }
        }
        Self {
            now: start,
            nodes,
            joined: vec![true; n],
            links,
            uplinks: (0..n).map(|_| LinkState::new(Link::default())).collect(),
            capacity: vec![None; n],
            in_flight: BTreeSet::new(),
            counter: 0,
            rng: ChaCha8Rng::seed_from_u64(seed),
            events: vec![Vec::new(); n],
            sent: vec![Vec::new(); n],
            sent_at: vec![Vec::new(); n],
            uplink_losses: vec![0; n],
            uplink_lost: vec![Vec::new(); n],
            overflows: vec![0; n],
            attacker: None,
        }
    }

    /// Puts a hostile node on the LAN; impersonations target node
    /// `victim`'s stream. Its bursts reach every connected node.
    pub(crate) fn set_attacker(&mut self, attacker: Attacker, victim: usize) {
        self.attacker = Some((attacker, victim));
    }

    /// Hostile datagrams sent so far (each reached every connected node).
    pub(crate) fn hostile(&self) -> u64 {
        self.attacker.as_ref().map_or(0, |(a, _)| a.sent)
    }

    /// Queues the attacker's burst due now, if any.
    fn attack(&mut self) {
        let Some((attacker, victim)) = self.attacker.as_mut() else {
            return;
        };
        let next = self.nodes[*victim].stats().messages_sent;
        for d in attacker.burst(self.now, next) {
            for j in 0..self.nodes.len() {
                if self.joined[j] {
                    self.counter += 1;
                    self.in_flight.insert((
                        self.now,
                        self.counter,
                        j,
                        false,
                        ATTACKER_ADDR,
                        d.clone(),
                    ));
                }
            }
        }
    }

    /// Sets the link from `a` to `b`.
    pub(crate) fn set_link(&mut self, a: usize, b: usize, link: Link) {
        self.links.insert((a, b), LinkState::new(link));
    }

    /// Sets the uplink of sender `a`: its `loss` and bursts hit a datagram
    /// before it fans out, so every receiver misses it (the other fields
    /// are not used).
    pub(crate) fn set_uplink(&mut self, a: usize, link: Link) {
        self.uplinks[a] = LinkState::new(link);
    }

    /// Limits how fast node `b` takes datagrams in.
    pub(crate) fn set_capacity(&mut self, b: usize, capacity: Capacity) {
        self.capacity[b] = Some((capacity, self.now));
    }

    /// The NACKs node `i` sent.
    pub(crate) fn nacks_sent_by(&self, i: usize) -> Vec<eventcast_proto::wire::Nack> {
        self.sent[i]
            .iter()
            .filter_map(|d| match eventcast_proto::wire::Frame::parse(d) {
                Ok(eventcast_proto::wire::Frame::Nack(n)) => Some(n),
                _ => None,
            })
            .collect()
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
        let mut buf = Vec::new();
        while self.nodes[i].poll_transmit(self.now, &mut buf).is_some() {
            if !self.joined[i] {
                continue;
            }
            self.sent[i].push(buf.clone());
            self.sent_at[i].push(self.now);
            if self.uplinks[i].drops(&mut self.rng) {
                self.uplink_losses[i] += 1;
                self.uplink_lost[i].push(self.sent[i].len() - 1);
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
                if state.drops(&mut self.rng) {
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
                        false,
                        node_addr(i),
                        buf.clone(),
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
        let burst = self.attacker.as_ref().and_then(|(a, _)| a.due());
        let Some(next) = [arrival, timer, burst].into_iter().flatten().min() else {
            return false;
        };
        if next > until {
            return false;
        }
        self.now = self.now.max(next);
        self.attack();
        while let Some((t, ..)) = self.in_flight.first() {
            if *t > self.now {
                break;
            }
            let Some((_, _, j, queued, from, d)) = self.in_flight.pop_first() else {
                break;
            };
            if let (false, Some((cap, busy_until))) = (queued, self.capacity[j].as_mut()) {
                // Into the receiver's queue: taken in when those before it
                // are, or dropped if the queue is full.
                let start = (*busy_until).max(self.now);
                let waiting = start.saturating_duration_since(self.now).as_nanos()
                    / cap.per_datagram.as_nanos().max(1);
                if waiting >= u128::from(cap.queue) {
                    self.overflows[j] += 1;
                    continue;
                }
                *busy_until = start + cap.per_datagram;
                self.counter += 1;
                self.in_flight
                    .insert((*busy_until, self.counter, j, true, from, d));
                continue;
            }
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

/// Node `from` emits `n` events `"e"` (argument 0: the index, argument 1:
/// `size(i)` bytes), one every `every` of virtual time; returns their
/// seqs.
pub(crate) fn emit_stream(
    w: &mut World,
    from: usize,
    n: u64,
    every: Duration,
    size: impl Fn(u64) -> usize,
) -> Vec<u64> {
    let mut seqs = Vec::with_capacity(n as usize);
    for i in 0..n {
        let args = [
            bson::Bson::Int64(i as i64),
            bson::Bson::Binary(bson::Binary {
                subtype: bson::spec::BinarySubtype::Generic,
                bytes: vec![i as u8; size(i)],
            }),
        ];
        let seq = w.nodes[from].emit(w.now, "e", &args).expect("emit");
        seqs.push(seq.get());
        if !every.is_zero() {
            w.run_for(every);
        }
    }
    seqs
}

/// Mixed sizes: mostly small events, every tenth one of 20 segments.
pub(crate) fn mixed(i: u64) -> usize {
    if i % 10 == 3 {
        20_000
    } else {
        40
    }
}

/// The loss reports node `i` got about `sender`.
pub(crate) fn losses(w: &World, i: usize, sender: u64) -> Vec<eventcast_proto::Loss> {
    w.events[i]
        .iter()
        .filter_map(|e| match e {
            EndpointEvent::Loss(l) if l.sender.get() == sender => Some(*l),
            _ => None,
        })
        .collect()
}

/// A link with this loss, 200 µs of delay and up to 300 µs of jitter.
pub(crate) fn lossy(loss: f64) -> Link {
    Link {
        loss,
        delay: Duration::from_micros(200),
        jitter: Duration::from_micros(300),
        ..Link::default()
    }
}
