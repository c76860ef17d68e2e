//! The sender's retransmit store: every message from the oldest still
//! repairable to the newest queued, by seq.
//!
//! Seqs are given out one after another and messages leave the store
//! oldest first, so the seqs held are always one run: a ring indexed by
//! `seq - first` does what an ordered map did, without a tree node per
//! message (inserting into and dropping the map was a twentieth of a
//! small event's sending).

use std::collections::VecDeque;
use std::ops::Range;
use std::sync::Arc;

use crate::arena::Arena;
use crate::datagram::Datagram;

/// The longest body kept in the store's [`Arena`]: a body this short is
/// copied into each datagram that carries it (as a batch does anyway); a
/// longer one is shared with the datagrams that carry its segments, not
/// copied.
pub(crate) const INLINE_MAX: usize = 2048;

/// A message's body in the store.
#[derive(Debug)]
pub(crate) enum Body {
    /// `len` bytes at `at` in the store's [`Arena`].
    Small {
        at: u64,
        len: u32,
    },
    Shared(Arc<Vec<u8>>),
    /// A body handed over in parts as its encoder writes it (see
    /// [`Parts`]), complete or not yet. Boxed: every message kept for
    /// repairs holds a `Body`, and most are small.
    Parts(Box<Parts>),
}

impl Body {
    /// Keeps `body`: copied into `arena` if it is short (its buffer given
    /// back, for the caller to use again or free), shared otherwise (kept
    /// until every receiver has it: not with room to spare).
    pub(crate) fn new(mut body: Vec<u8>, arena: &mut Arena) -> (Self, Option<Vec<u8>>) {
        if body.len() <= INLINE_MAX {
            let at = arena.push(&body);
            let len = body.len() as u32; // at most INLINE_MAX
            return (Self::Small { at, len }, Some(body));
        }
        if body.capacity() > 2 * body.len() {
            body.shrink_to_fit();
        }
        (Self::Shared(Arc::new(body)), None)
    }

    /// The whole body, if it is in one piece (a body in parts or pieces is
    /// more than a segment: never batched).
    pub(crate) fn whole<'a>(&'a self, arena: &'a Arena) -> Option<&'a [u8]> {
        match self {
            Self::Small { at, len } => Some(arena.get(*at, *len as usize)),
            Self::Shared(b) => Some(b),
            Self::Parts(_) => None,
        }
    }

    /// The body's length, whether or not all of it is here yet.
    pub(crate) fn len(&self) -> usize {
        match self {
            Self::Small { len, .. } => *len as usize,
            Self::Shared(b) => b.len(),
            Self::Parts(p) => p.len,
        }
    }

    /// How many of its bytes, from the start, are here.
    pub(crate) fn filled(&self) -> usize {
        match self {
            Self::Parts(p) => p.filled,
            _ => self.len(),
        }
    }

    /// Where in `arena` its bytes end, if they are there.
    pub(crate) fn arena_end(&self) -> Option<u64> {
        match self {
            Self::Small { at, len } => Some(at + u64::from(*len)),
            _ => None,
        }
    }

    /// Appends bytes `range` to `out`: copied after its head, or shared as
    /// its tail. A range of a body in parts lies within one part (parts
    /// are whole segments) and below [`filled`](Self::filled); one of a
    /// body in pieces may span several (see [`Parts::append_to`]).
    pub(crate) fn append_to(&self, arena: &Arena, out: &mut Datagram, range: Range<usize>) {
        match self {
            Self::Small { at, len } => out
                .head_mut()
                .extend_from_slice(arena.get(*at, *len as usize).get(range).unwrap_or_default()),
            Self::Shared(b) => out.set_tail(b.clone(), range),
            Self::Parts(p) => p.append_to(out, range),
        }
    }
}

/// A large body handed over in parts: each part but the last a whole
/// number of segments, so that no segment spans two; or, whole from the
/// start, in pieces of any length laid end to end (a large argument's
/// bytes shared as they are, the encoding around them apart), where a
/// segment that spans pieces has all but its last piece's bytes copied.
#[derive(Debug)]
pub(crate) struct Parts {
    parts: Vec<Arc<Vec<u8>>>,
    /// Where each part starts in the body.
    starts: Vec<usize>,
    filled: usize,
    len: usize,
}

impl Parts {
    /// A body of `len` bytes whose first part is `first`.
    pub(crate) fn new(len: usize, first: Vec<u8>) -> Self {
        let mut parts = Self {
            parts: Vec::new(),
            starts: Vec::new(),
            filled: 0,
            len,
        };
        parts.push(first);
        parts
    }

    /// A whole body of `pieces` laid end to end (empty ones left out).
    pub(crate) fn pieces(pieces: Vec<Arc<Vec<u8>>>) -> Self {
        let mut parts = Self {
            parts: Vec::with_capacity(pieces.len()),
            starts: Vec::with_capacity(pieces.len()),
            filled: 0,
            len: 0,
        };
        for piece in pieces.into_iter().filter(|p| !p.is_empty()) {
            parts.push_shared(piece);
        }
        parts.len = parts.filled;
        parts
    }

    /// Adds the next part.
    pub(crate) fn push(&mut self, part: Vec<u8>) {
        self.push_shared(Arc::new(part));
    }

    fn push_shared(&mut self, part: Arc<Vec<u8>>) {
        self.starts.push(self.filled);
        self.filled += part.len();
        self.parts.push(part);
    }

    /// The body's length.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// How many of its bytes, from the start, are here.
    pub(crate) fn filled(&self) -> usize {
        self.filled
    }

    /// Whether every byte is here.
    pub(crate) fn is_complete(&self) -> bool {
        self.filled >= self.len
    }

    /// The body's last byte, once it is here.
    pub(crate) fn last_byte(&self) -> Option<u8> {
        self.parts.last().and_then(|p| p.last().copied())
    }

    /// Appends bytes `range`: the last part it reaches shared as the
    /// datagram's tail, any part before that copied after its head.
    fn append_to(&self, out: &mut Datagram, range: Range<usize>) {
        // The part that holds the range's start (the first part starts at 0).
        let first = self
            .starts
            .partition_point(|&s| s <= range.start)
            .saturating_sub(1);
        for (i, (part, &start)) in self.parts.iter().zip(&self.starts).enumerate().skip(first) {
            let from = range.start.saturating_sub(start).min(part.len());
            let end = range.end.saturating_sub(start).min(part.len());
            if start + part.len() >= range.end || i + 1 == self.parts.len() {
                out.set_tail(part.clone(), from..end);
                return;
            }
            out.head_mut()
                .extend_from_slice(part.get(from..end).unwrap_or_default());
        }
    }
}

/// Entries a ring keeps room for however few it holds.
const KEPT_ROOM: usize = 1024;

/// Values for one run of consecutive seqs, `first..first + len`.
#[derive(Debug)]
pub(crate) struct SeqRing<T> {
    first: u64,
    items: VecDeque<T>,
}

impl<T> SeqRing<T> {
    /// An empty ring whose next seq is `first`.
    pub(crate) fn new(first: u64) -> Self {
        Self {
            first,
            items: VecDeque::new(),
        }
    }

    /// The seq the next [`push`](Self::push) takes.
    pub(crate) fn end(&self) -> u64 {
        self.first + self.items.len() as u64
    }

    /// Adds the value of seq [`end`](Self::end).
    pub(crate) fn push(&mut self, value: T) {
        self.items.push_back(value);
    }

    fn index(&self, seq: u64) -> Option<usize> {
        usize::try_from(seq.checked_sub(self.first)?).ok()
    }

    pub(crate) fn get(&self, seq: u64) -> Option<&T> {
        self.items.get(self.index(seq)?)
    }

    pub(crate) fn get_mut(&mut self, seq: u64) -> Option<&mut T> {
        let index = self.index(seq)?;
        self.items.get_mut(index)
    }

    pub(crate) fn contains(&self, seq: u64) -> bool {
        self.get(seq).is_some()
    }

    /// The oldest seq held and its value.
    pub(crate) fn first(&self) -> Option<(u64, &T)> {
        self.items.front().map(|v| (self.first, v))
    }

    /// Takes the oldest value out. A ring a quarter full gives half its
    /// room back: a burst's store is not kept for the node's lifetime.
    pub(crate) fn pop_first(&mut self) -> Option<(u64, T)> {
        let value = self.items.pop_front()?;
        let seq = self.first;
        self.first += 1;
        let (len, room) = (self.items.len(), self.items.capacity());
        if room > KEPT_ROOM && len < room / 4 {
            self.items.shrink_to((2 * len).max(KEPT_ROOM));
        }
        Some((seq, value))
    }

    /// The seqs of `range` held, with their values, in order.
    pub(crate) fn range(&self, range: Range<u64>) -> impl Iterator<Item = (u64, &T)> {
        let start = range.start.max(self.first);
        let end = range.end.min(self.end());
        (start..end).filter_map(move |s| self.get(s).map(|v| (s, v)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_bodies_are_copied_long_ones_shared() {
        let mut arena = Arena::default();
        for len in [1, INLINE_MAX, INLINE_MAX + 1] {
            let bytes: Vec<u8> = (0..len).map(|i| i as u8).collect();
            let (body, back) = Body::new(bytes.clone(), &mut arena);
            assert_eq!(back, (len <= INLINE_MAX).then(|| bytes.clone()));
            assert_eq!(body.len(), len);
            assert_eq!(matches!(body, Body::Shared(_)), len > INLINE_MAX);
            assert_eq!(body.arena_end().is_some(), len <= INLINE_MAX);
            assert_eq!(body.whole(&arena), Some(&bytes[..]));
            let mut out = Datagram::new();
            out.head_mut().push(0xff);
            body.append_to(&arena, &mut out, 1..len);
            assert_eq!(out.len(), len);
            assert_eq!(&out.to_vec()[1..], &bytes[1..]);
        }
    }

    #[test]
    fn holds_one_run_of_seqs() {
        let mut ring = SeqRing::new(0);
        assert!(ring.first().is_none() && ring.get(0).is_none());
        for v in 0..5u64 {
            ring.push(v * 10);
        }
        assert_eq!(ring.end(), 5);
        assert_eq!(ring.pop_first(), Some((0, 0)));
        assert_eq!(ring.first(), Some((1, &10)));
        assert!(!ring.contains(0) && ring.contains(4) && !ring.contains(5));
        if let Some(v) = ring.get_mut(2) {
            *v = 7;
        }
        let seen: Vec<_> = ring.range(0..3).map(|(s, v)| (s, *v)).collect();
        assert_eq!(seen, vec![(1, 10), (2, 7)]);
        assert_eq!(ring.range(3..100).count(), 2);
        assert_eq!(ring.range(9..100).count(), 0);
        while ring.pop_first().is_some() {}
        assert_eq!((ring.end(), ring.first().map(|f| f.0)), (5, None));
        ring.push(1);
        assert_eq!(ring.first(), Some((5, &1)));
    }

    #[test]
    fn a_ring_emptied_after_a_burst_gives_its_room_back() {
        let mut ring = SeqRing::new(0);
        for v in 0..100_000u64 {
            ring.push(v);
        }
        while ring.end() - ring.first().map_or(ring.end(), |f| f.0) > 10 {
            ring.pop_first();
        }
        assert!(
            ring.items.capacity() <= 4 * KEPT_ROOM,
            "{}",
            ring.items.capacity()
        );
        assert_eq!(ring.first(), Some((99_990, &99_990)));
        assert_eq!(ring.get(99_999), Some(&99_999));
    }
}
