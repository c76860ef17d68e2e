//! Events larger than the server's `max_payload`: cut into chunks on the
//! way out, put together again on the way in.
//!
//! Every chunk of an event carries the event's headers plus
//! `Eventcast-Chunk: INDEX/COUNT` (from 0) and `Eventcast-Size: BYTES` (the
//! whole payload's length), and the publishing bridge's id and sequence
//! number (`Eventcast-Bridge`, `Eventcast-Seq`), which name the event.
//! Reassembly is bounded: in memory by a byte budget for every partial
//! event at once (a partial reserves its declared size with its first
//! chunk, and one that does not fit is refused), in time by a deadline per
//! event from its first chunk. Nothing here reads a clock or a socket.

use std::collections::HashMap;
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
    /// The first chunk of an event that does not fit in the budget (or
    /// one of a refused event): dropped. `first` on the first one.
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

/// Partial events, within a byte budget and a deadline each.
#[derive(Debug)]
pub(crate) struct Reassembler {
    partials: HashMap<Key, Partial>,
    reserved: usize,
    budget: usize,
    timeout: Duration,
}

impl Reassembler {
    pub(crate) fn new(budget: usize, timeout: Duration) -> Self {
        Reassembler {
            partials: HashMap::new(),
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
            if self.reserved.saturating_add(chunk.total) > self.budget {
                self.partials.insert(key, Partial::Refused { deadline });
                return Arrival::OverBudget { first: true };
            }
            self.reserved += chunk.total;
            let parts = vec![None; chunk.count as usize];
            self.partials.insert(
                key.clone(),
                Partial::Open {
                    parts,
                    count: chunk.count,
                    total: chunk.total,
                    filled: 0,
                    received: 0,
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
        *slot = Some(data);
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

    /// Drops the events whose deadline passed; how many were incomplete.
    pub(crate) fn expire(&mut self, now: Instant) -> u64 {
        let expired: Vec<Key> = self
            .partials
            .iter()
            .filter(|(_, p)| p.deadline() <= now)
            .map(|(k, _)| k.clone())
            .collect();
        let mut incomplete = 0;
        for key in expired {
            if matches!(self.remove(&key), Some(Partial::Open { .. })) {
                incomplete += 1;
            }
        }
        incomplete
    }

    /// The earliest deadline, if any event is partial.
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        self.partials.values().map(Partial::deadline).min()
    }

    fn remove(&mut self, key: &Key) -> Option<Partial> {
        let partial = self.partials.remove(key)?;
        if let Partial::Open { total, .. } = &partial {
            self.reserved -= total;
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
        assert_eq!(r.reserved(), 1000);
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
}
