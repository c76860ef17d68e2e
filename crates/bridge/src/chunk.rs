//! Events larger than the server's `max_payload`: cut into chunks on the
//! way out, put together again on the way in.
//!
//! Every chunk of an event carries the event's headers plus
//! `Eventcast-Chunk: INDEX/COUNT` (from 0) and `Eventcast-Size: BYTES` (the
//! whole payload's length), and the publishing bridge's id and sequence
//! number (`Eventcast-Bridge`, `Eventcast-Seq`), which name the event.
//! Reassembly is bounded: in memory by a byte budget for every partial
//! event at once (a partial reserves what it holds with its first chunk:
//! its declared size, a slot per chunk, its key and a fixed overhead; one
//! that does not fit is refused) and by a number of partial events
//! (4,096, refused ones included, at most 1,024 of them), in time by a
//! deadline per event from its first chunk, kept in the order they fall
//! due. Nothing here reads a clock or a socket.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};

/// The most chunks one event may be cut into.
pub const MAX_CHUNKS: u32 = 1 << 16;

/// Cuts `payload` into pieces of at most `size` bytes (at least one piece).
pub(crate) fn split(payload: Bytes, size: usize) -> Vec<Bytes> {
    let size = size.max(1);
    if payload.len() <= size {
        return vec![payload];
    }
    (0..payload.len())
        .step_by(size)
        .map(|start| payload.slice(start..(start + size).min(payload.len())))
        .collect()
}

/// Which event a chunk belongs to: its publishing bridge and sequence number.
pub(crate) type Key = (String, u64);

/// One chunk as its headers describe it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Chunk {
    pub(crate) index: u32,
    pub(crate) count: u32,
    pub(crate) total: usize,
}

impl Chunk {
    /// Reads `INDEX/COUNT` and the size header; `None` when malformed.
    pub(crate) fn parse(chunk: &str, size: &str) -> Option<Chunk> {
        let (index, count) = chunk.trim().split_once('/')?;
        let chunk = Chunk {
            index: index.parse().ok()?,
            count: count.parse().ok()?,
            total: size.trim().parse().ok()?,
        };
        let sane = chunk.count >= 2
            && chunk.count <= MAX_CHUNKS
            && chunk.index < chunk.count
            && chunk.total >= chunk.count as usize;
        sane.then_some(chunk)
    }
}

/// What one chunk did.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Arrival {
    /// Stored; the event is not complete yet.
    Pending,
    /// The event's last missing chunk: its whole payload.
    Complete(Bytes),
    /// A chunk seen before: ignored.
    Duplicate,
    /// The first chunk of an event that does not fit in the budget, or
    /// that finds `MAX_PARTIALS` reached (or one of a refused event):
    /// dropped. `first` on the first one.
    OverBudget { first: bool },
    /// Inconsistent with the event's other chunks: the event is dropped.
    Invalid,
}

#[derive(Debug)]
enum Partial {
    Open {
        parts: Vec<Option<Bytes>>,
        count: u32,
        total: usize,
        filled: usize,
        received: u32,
        /// What this partial is charged against the budget ([`cost`]).
        cost: usize,
        deadline: Instant,
    },
    /// Refused: later chunks are dropped without a word until the deadline.
    Refused { deadline: Instant },
}

impl Partial {
    fn deadline(&self) -> Instant {
        match self {
            Partial::Open { deadline, .. } | Partial::Refused { deadline } => *deadline,
        }
    }
}

/// The most partial events held at once, open or refused; chunks of a
/// new event beyond are refused (and the event not remembered).
pub(crate) const MAX_PARTIALS: usize = 4096;

/// The most refused events remembered at once (so that their later
/// chunks are dropped quietly); beyond, each chunk of a refused event is
/// refused again, as if it were the first.
pub(crate) const MAX_REFUSED: usize = 1024;

/// What an open partial costs beyond its payload, its slots and its key
/// (twice: in the map and in the deadline queue): the map entry, the
/// partial itself, the queue entry, and allocator slack, rounded up.
const PARTIAL_OVERHEAD: usize = 256;

/// What an open partial of `chunk` under `key` really holds: the declared
/// payload, one slot per chunk, its key twice and a fixed overhead.
fn cost(key: &Key, chunk: &Chunk) -> usize {
    let slots = (chunk.count as usize).saturating_mul(std::mem::size_of::<Option<Bytes>>());
    chunk
        .total
        .saturating_add(slots)
        .saturating_add(key.0.len().saturating_mul(2))
        .saturating_add(PARTIAL_OVERHEAD)
}

/// Partial events, within a byte budget and a deadline each.
#[derive(Debug)]
pub(crate) struct Reassembler {
    partials: HashMap<Key, Partial>,
    /// Every partial's deadline in the order they were made (the timeout
    /// is constant, so that is the order they fall due), with entries of
    /// partials removed early left behind until they fall due or the
    /// queue is compacted.
    deadlines: VecDeque<(Instant, Key)>,
    refused: usize,
    reserved: usize,
    budget: usize,
    timeout: Duration,
}

impl Reassembler {
    pub(crate) fn new(budget: usize, timeout: Duration) -> Self {
        Reassembler {
            partials: HashMap::new(),
            deadlines: VecDeque::new(),
            refused: 0,
            reserved: 0,
            budget,
            timeout,
        }
    }

    /// Bytes reserved by partial events.
    pub(crate) fn reserved(&self) -> usize {
        self.reserved
    }

    /// Takes one chunk of event `key`.
    pub(crate) fn insert(&mut self, now: Instant, key: Key, chunk: &Chunk, data: Bytes) -> Arrival {
        if !self.partials.contains_key(&key) {
            let deadline = now + self.timeout;
            let cost = cost(&key, chunk);
            if self.partials.len() >= MAX_PARTIALS
                || self.reserved.saturating_add(cost) > self.budget
            {
                if self.partials.len() < MAX_PARTIALS && self.refused < MAX_REFUSED {
                    self.refused += 1;
                    self.track(deadline, key.clone());
                    self.partials.insert(key, Partial::Refused { deadline });
                }
                return Arrival::OverBudget { first: true };
            }
            self.reserved += cost;
            let parts = vec![None; chunk.count as usize];
            self.track(deadline, key.clone());
            self.partials.insert(
                key.clone(),
                Partial::Open {
                    parts,
                    count: chunk.count,
                    total: chunk.total,
                    filled: 0,
                    received: 0,
                    cost,
                    deadline,
                },
            );
        }
        let Some(partial) = self.partials.get_mut(&key) else {
            return Arrival::Invalid;
        };
        let Partial::Open {
            parts,
            count,
            total,
            filled,
            received,
            ..
        } = partial
        else {
            return Arrival::OverBudget { first: false };
        };
        if *count != chunk.count || *total != chunk.total || *filled + data.len() > *total {
            self.remove(&key);
            return Arrival::Invalid;
        }
        let Some(slot) = parts.get_mut(chunk.index as usize) else {
            self.remove(&key);
            return Arrival::Invalid;
        };
        if slot.is_some() {
            return Arrival::Duplicate;
        }
        *filled += data.len();
        *received += 1;
        // A copy: a received payload is a slice of the client's read
        // buffer, and holding it would hold the whole buffer (64 KiB for
        // a 1-byte chunk), far beyond what the partial is charged.
        *slot = Some(Bytes::copy_from_slice(&data));
        if *received < *count {
            return Arrival::Pending;
        }
        let complete = *filled == *total;
        let mut whole = BytesMut::with_capacity(*total);
        for part in parts.iter().flatten() {
            whole.extend_from_slice(part);
        }
        self.remove(&key);
        if complete {
            Arrival::Complete(whole.freeze())
        } else {
            Arrival::Invalid
        }
    }

    /// Queues `key`'s deadline; compacts the queue first when entries of
    /// partials already gone outnumber the live ones (amortised O(1)).
    fn track(&mut self, deadline: Instant, key: Key) {
        if self.deadlines.len() >= 2 * self.partials.len() + 64 {
            let partials = &self.partials;
            self.deadlines
                .retain(|(at, key)| partials.get(key).is_some_and(|p| p.deadline() == *at));
        }
        self.deadlines.push_back((deadline, key));
    }

    /// Drops the events whose deadline passed; how many were incomplete.
    /// Takes only what fell due from the front of the queue.
    pub(crate) fn expire(&mut self, now: Instant) -> u64 {
        let mut incomplete = 0;
        while let Some((deadline, _)) = self.deadlines.front() {
            if *deadline > now {
                break;
            }
            let Some((deadline, key)) = self.deadlines.pop_front() else {
                break;
            };
            // A queue entry left behind by a partial removed early (whose
            // key may have been used again since) is skipped.
            let current = self
                .partials
                .get(&key)
                .is_some_and(|p| p.deadline() == deadline);
            if current && matches!(self.remove(&key), Some(Partial::Open { .. })) {
                incomplete += 1;
            }
        }
        incomplete
    }

    /// The earliest deadline, if any event is partial (possibly that of
    /// one already gone: waking then only clears it).
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        self.deadlines.front().map(|(deadline, _)| *deadline)
    }

    fn remove(&mut self, key: &Key) -> Option<Partial> {
        let partial = self.partials.remove(key)?;
        match &partial {
            Partial::Open { cost, .. } => self.reserved -= cost,
            Partial::Refused { .. } => self.refused -= 1,
        }
        Some(partial)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(seq: u64) -> Key {
        ("b1".to_owned(), seq)
    }

    fn chunks_of(payload: &[u8], size: usize) -> Vec<(Chunk, Bytes)> {
        let parts = split(Bytes::copy_from_slice(payload), size);
        let count = parts.len() as u32;
        parts
            .into_iter()
            .enumerate()
            .map(|(i, data)| {
                let chunk = Chunk {
                    index: i as u32,
                    count,
                    total: payload.len(),
                };
                (chunk, data)
            })
            .collect()
    }

    #[test]
    fn split_covers_the_payload() {
        let payload: Vec<u8> = (0..=255).cycle().take(1000).collect();
        let parts = split(Bytes::from(payload.clone()), 300);
        assert_eq!(
            parts.iter().map(Bytes::len).collect::<Vec<_>>(),
            [300, 300, 300, 100]
        );
        assert_eq!(parts.concat(), payload);
        assert_eq!(split(Bytes::from_static(b"ab"), 300).len(), 1);
    }

    #[test]
    fn any_order_with_duplicates_reassembles_once() {
        let payload: Vec<u8> = (0..=255).cycle().take(1000).collect();
        let mut chunks = chunks_of(&payload, 128);
        chunks.reverse();
        let dup = chunks[3].clone();
        chunks.insert(5, dup);
        let now = Instant::now();
        let mut r = Reassembler::new(10_000, Duration::from_secs(5));
        let mut done = Vec::new();
        for (chunk, data) in chunks {
            match r.insert(now, key(1), &chunk, data) {
                Arrival::Complete(whole) => done.push(whole),
                Arrival::Pending | Arrival::Duplicate => {}
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(done, vec![Bytes::from(payload)]);
        assert_eq!(r.reserved(), 0);
    }

    #[test]
    fn the_budget_refuses_what_does_not_fit() {
        let now = Instant::now();
        let mut r = Reassembler::new(1500, Duration::from_secs(5));
        let a = chunks_of(&[1; 1000], 400);
        let b = chunks_of(&[2; 1000], 400);
        assert_eq!(
            r.insert(now, key(1), &a[0].0, a[0].1.clone()),
            Arrival::Pending
        );
        assert_eq!(
            r.insert(now, key(2), &b[0].0, b[0].1.clone()),
            Arrival::OverBudget { first: true }
        );
        assert_eq!(
            r.insert(now, key(2), &b[1].0, b[1].1.clone()),
            Arrival::OverBudget { first: false }
        );
        assert_eq!(r.reserved(), cost(&key(1), &a[0].0));
    }

    #[test]
    fn slots_keys_and_overhead_are_charged() {
        // 4,096 chunks of 1 byte declared: 4 KiB of payload, 128 KiB of slots.
        let budget = 1 << 20;
        let mut r = Reassembler::new(budget, Duration::from_secs(5));
        let chunk = Chunk::parse("0/4096", "4096").expect("parses");
        let now = Instant::now();
        let mut held = 0;
        for seq in 0..256 {
            if r.insert(now, key(seq), &chunk, Bytes::from_static(b"x")) == Arrival::Pending {
                held += 4096 + 4096 * std::mem::size_of::<Option<Bytes>>();
            }
        }
        assert!(held <= budget, "{held} bytes held for a budget of {budget}");
        assert!(r.reserved() <= budget);
        // a long key costs what it holds
        let long = ("b".repeat(4000), 1);
        let small = Chunk::parse("0/2", "2").expect("parses");
        let mut r = Reassembler::new(10_000, Duration::from_secs(5));
        r.insert(now, long.clone(), &small, Bytes::from_static(b"x"));
        assert!(r.reserved() >= 8000, "{}", r.reserved());
        let last = Chunk::parse("1/2", "2").expect("parses");
        r.insert(now, long, &last, Bytes::from_static(b"y"));
        assert_eq!(r.reserved(), 0);
    }

    #[test]
    fn partial_and_refused_events_are_capped() {
        let now = Instant::now();
        let two = Chunk::parse("0/2", "2").expect("parses");
        let mut r = Reassembler::new(usize::MAX, Duration::from_secs(5));
        for seq in 0..(MAX_PARTIALS as u64 + 100) {
            r.insert(now, key(seq), &two, Bytes::from_static(b"x"));
        }
        assert_eq!(r.partials.len(), MAX_PARTIALS);
        assert_eq!(
            r.insert(now, key(u64::MAX), &two, Bytes::from_static(b"x")),
            Arrival::OverBudget { first: true }
        );
        // a full budget: refusals are remembered, within their own cap
        let mut r = Reassembler::new(0, Duration::from_secs(5));
        for seq in 0..(MAX_PARTIALS as u64 * 4) {
            assert_eq!(
                r.insert(now, key(seq), &two, Bytes::from_static(b"x")),
                Arrival::OverBudget { first: true }
            );
        }
        assert!(r.partials.len() <= MAX_REFUSED, "{}", r.partials.len());
        assert_eq!(
            r.insert(now, key(0), &two, Bytes::from_static(b"y")),
            Arrival::OverBudget { first: false },
            "the first refusals are remembered"
        );
        assert_eq!(r.expire(now + Duration::from_secs(5)), 0);
        assert!(r.partials.is_empty());
        assert_eq!(r.refused, 0);
    }

    #[test]
    fn deadlines_fall_due_in_order_and_stale_ones_are_skipped() {
        let t0 = Instant::now();
        let second = Duration::from_secs(1);
        let timeout = Duration::from_secs(5);
        let mut r = Reassembler::new(1 << 20, timeout);
        let two = Chunk::parse("0/2", "2").expect("parses");
        let last = Chunk::parse("1/2", "2").expect("parses");
        r.insert(t0, key(1), &two, Bytes::from_static(b"a"));
        r.insert(t0 + second, key(2), &two, Bytes::from_static(b"a"));
        // key 1 completes, then is used again later (a forged repeat)
        let done = r.insert(t0 + second, key(1), &last, Bytes::from_static(b"b"));
        assert_eq!(done, Arrival::Complete(Bytes::from_static(b"ab")));
        r.insert(t0 + 2 * second, key(1), &two, Bytes::from_static(b"a"));
        assert_eq!(r.next_deadline(), Some(t0 + timeout), "a stale entry");
        assert_eq!(r.expire(t0 + timeout), 0, "key 1's new partial stays");
        assert_eq!(r.next_deadline(), Some(t0 + second + timeout));
        assert_eq!(r.expire(t0 + second + timeout), 1);
        assert_eq!(r.expire(t0 + 2 * second + timeout), 1);
        assert_eq!(r.next_deadline(), None);
        assert_eq!(r.reserved(), 0);
        // completed events do not pile up in the queue
        for seq in 10..10_000 {
            r.insert(t0, key(seq), &two, Bytes::from_static(b"a"));
            r.insert(t0, key(seq), &last, Bytes::from_static(b"b"));
        }
        assert!(r.deadlines.len() <= 64, "{}", r.deadlines.len());
    }

    #[test]
    fn a_huge_declared_size_is_refused_without_overflow() {
        let now = Instant::now();
        let mut r = Reassembler::new(1000, Duration::from_secs(5));
        let a = chunks_of(&[1; 100], 40);
        assert_eq!(
            r.insert(now, key(1), &a[0].0, a[0].1.clone()),
            Arrival::Pending
        );
        let huge = Chunk::parse("0/2", &usize::MAX.to_string()).expect("parses");
        assert_eq!(
            r.insert(now, key(2), &huge, Bytes::from_static(b"x")),
            Arrival::OverBudget { first: true }
        );
    }

    #[test]
    fn partial_events_expire() {
        let now = Instant::now();
        let mut r = Reassembler::new(10_000, Duration::from_secs(5));
        let a = chunks_of(&[1; 1000], 400);
        r.insert(now, key(1), &a[0].0, a[0].1.clone());
        assert_eq!(r.next_deadline(), Some(now + Duration::from_secs(5)));
        assert_eq!(r.expire(now + Duration::from_secs(4)), 0);
        assert_eq!(r.expire(now + Duration::from_secs(5)), 1);
        assert_eq!(r.reserved(), 0);
        assert_eq!(r.next_deadline(), None);
    }

    #[test]
    fn lies_are_caught() {
        let now = Instant::now();
        let mut r = Reassembler::new(10_000, Duration::from_secs(5));
        let a = chunks_of(&[1; 1000], 400);
        r.insert(now, key(1), &a[0].0, a[0].1.clone());
        let mut other = a[1].0.clone();
        other.count = 7;
        assert_eq!(
            r.insert(now, key(1), &other, a[1].1.clone()),
            Arrival::Invalid
        );
        assert_eq!(r.reserved(), 0);
        // more bytes than declared
        let big = Bytes::from(vec![0; 900]);
        r.insert(now, key(2), &a[0].0, big.clone());
        assert_eq!(r.insert(now, key(2), &a[1].0, big), Arrival::Invalid);
        assert_eq!(r.reserved(), 0);
    }

    #[test]
    fn chunk_headers_parse() {
        assert_eq!(
            Chunk::parse("1/3", "3000"),
            Some(Chunk {
                index: 1,
                count: 3,
                total: 3000
            })
        );
        for (c, s) in [
            ("3/3", "10"),
            ("0/1", "10"),
            ("x/3", "10"),
            ("1/3", "2"),
            ("1", "9"),
            ("0/70000", "99999999"),
        ] {
            assert_eq!(Chunk::parse(c, s), None, "{c} {s}");
        }
    }

    #[test]
    fn a_chunk_does_not_hold_the_buffer_it_arrived_in() {
        let now = Instant::now();
        let mut r = Reassembler::new(1 << 20, Duration::from_secs(5));
        let buffer = Bytes::from(vec![7; 64 * 1024]);
        let two = Chunk::parse("0/2", "2").expect("parses");
        assert_eq!(
            r.insert(now, key(1), &two, buffer.slice(100..101)),
            Arrival::Pending
        );
        let Some(Partial::Open { parts, .. }) = r.partials.get(&key(1)) else {
            panic!("an open partial");
        };
        let held = parts[0].as_ref().expect("the chunk");
        assert_eq!(held.as_ref(), [7]);
        let within = buffer.as_ptr_range().contains(&held.as_ptr());
        assert!(!within, "a slice of the read buffer is held");
    }
}
