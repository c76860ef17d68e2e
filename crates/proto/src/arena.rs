//! The retransmit store's short bodies, laid end to end in chunks.
//!
//! A burst of small events keeps hundreds of thousands of bodies for
//! repairs (3 s or 64 MiB of them). Each in an allocation of its own cost
//! a `malloc` when it was encoded, a `free` when it left the store, and
//! the allocator's header and rounding on top of its bytes, in fresh pages
//! the kernel zeroes. Bodies leave the store in the order they came, so
//! they can share chunks instead: a body is copied to the end of the
//! newest chunk (the encoder's buffer goes back to the caller, to encode a
//! later body into, or is freed), and a chunk goes when every body in it
//! has; once the store is empty, the last chunk and the spare go too.

use std::collections::VecDeque;

/// Bytes a chunk holds: a body longer than this is never put here.
pub(crate) const CHUNK: usize = 64 * 1024;

/// Short bodies in the order they were pushed, each at a position that
/// counts every byte of every chunk ever made.
#[derive(Debug, Default)]
pub(crate) struct Arena {
    chunks: VecDeque<Vec<u8>>,
    /// The position of the first chunk's first byte.
    base: u64,
    /// A released chunk kept for the next one needed: a steady stream
    /// reuses it rather than asking for fresh memory.
    spare: Option<Vec<u8>>,
}

impl Arena {
    /// Copies `bytes` (at most [`CHUNK`]) after the bytes pushed before,
    /// and returns their position.
    pub(crate) fn push(&mut self, bytes: &[u8]) -> u64 {
        debug_assert!(bytes.len() <= CHUNK);
        let chunk = match self.chunks.back_mut() {
            Some(c) if c.len() + bytes.len() <= CHUNK => c,
            _ => {
                let mut fresh = self
                    .spare
                    .take()
                    .unwrap_or_else(|| Vec::with_capacity(CHUNK));
                fresh.clear();
                self.chunks.push_back(fresh);
                // Just pushed.
                let last = self.chunks.len() - 1;
                &mut self.chunks[last]
            }
        };
        let at = chunk.len() as u64;
        chunk.extend_from_slice(bytes);
        self.base + ((self.chunks.len() - 1) * CHUNK) as u64 + at
    }

    /// The `len` bytes pushed at `at` (empty if they were released: never
    /// for a body still in the store).
    pub(crate) fn get(&self, at: u64, len: usize) -> &[u8] {
        debug_assert!(at >= self.base, "a body released was read");
        let Some(offset) = at.checked_sub(self.base) else {
            return &[];
        };
        let chunk = (offset / CHUNK as u64) as usize;
        let from = (offset % CHUNK as u64) as usize;
        self.chunks
            .get(chunk)
            .and_then(|c| c.get(from..from + len))
            .unwrap_or_default()
    }

    /// Every body that ends at or before `end` is gone: gives back the
    /// chunks that held only such bodies (the newest chunk stays, for the
    /// next push).
    pub(crate) fn release_to(&mut self, end: u64) {
        while self.chunks.len() > 1 && self.base + CHUNK as u64 <= end {
            if let Some(chunk) = self.chunks.pop_front() {
                self.spare.get_or_insert(chunk);
            }
            self.base += CHUNK as u64;
        }
    }

    /// Every body is gone: gives back all the memory (an idle sender keeps
    /// none).
    pub(crate) fn release_all(&mut self) {
        self.base += (self.chunks.len() * CHUNK) as u64;
        self.chunks.clear();
        self.spare = None;
    }

    /// Bytes of memory the chunks take, the spare's included.
    #[cfg(test)]
    fn room(&self) -> usize {
        self.chunks
            .iter()
            .chain(&self.spare)
            .map(Vec::capacity)
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_come_back_as_pushed_and_none_spans_two_chunks() {
        let mut arena = Arena::default();
        let mut held = Vec::new();
        for i in 0..5_000usize {
            let body: Vec<u8> = (0..(i * 7) % 2_000 + 1).map(|b| (b + i) as u8).collect();
            held.push((arena.push(&body), body));
        }
        for (at, body) in &held {
            assert_eq!(arena.get(*at, body.len()), body.as_slice());
            let offset = at % CHUNK as u64;
            assert!(offset as usize + body.len() <= CHUNK, "{at} spans chunks");
        }
    }

    #[test]
    fn chunks_go_once_their_bodies_have_and_one_is_kept_spare() {
        let mut arena = Arena::default();
        let body = [7u8; 1000];
        let ats: Vec<u64> = (0..1_000).map(|_| arena.push(&body)).collect();
        assert!(arena.room() >= 1_000 * 1000, "{}", arena.room());
        // Released oldest first, all but the last 10 bodies.
        for at in &ats[..990] {
            arena.release_to(at + 1000);
        }
        assert!(arena.room() <= 3 * CHUNK, "{}", arena.room());
        for at in &ats[990..] {
            assert_eq!(arena.get(*at, 1000), &body[..]);
        }
        // The next chunk is the spare: no more room than before.
        let room = arena.room();
        let newer: Vec<u64> = (0..100).map(|_| arena.push(&body)).collect();
        assert!(arena.room() <= room + CHUNK, "{} {room}", arena.room());
        for at in &ats[990..] {
            arena.release_to(at + 1000);
        }
        for at in &newer {
            assert_eq!(arena.get(*at, 1000), &body[..]);
        }
        assert!(arena.room() <= 4 * CHUNK, "{}", arena.room());
    }

    #[test]
    fn chunks_released_in_the_middle_keep_the_bodies_after_them() {
        let mut arena = Arena::default();
        // Bodies of 3,000 bytes: 21 to a chunk, 2,536 bytes of it unused.
        let bodies: Vec<Vec<u8>> = (0..100u8).map(|i| vec![i; 3000]).collect();
        let ats: Vec<u64> = bodies.iter().map(|b| arena.push(b)).collect();
        for (i, at) in ats.iter().enumerate() {
            arena.release_to(at + 3000);
            for (later, body) in ats.iter().zip(&bodies).skip(i + 1) {
                assert_eq!(arena.get(*later, 3000), &body[..], "after {i}");
            }
            assert!(arena.room() <= ((99 - i) / 21 + 3) * CHUNK, "after {i}");
        }
    }

    #[test]
    fn an_arena_emptied_holds_nothing_and_goes_on() {
        let mut arena = Arena::default();
        let first = arena.push(&[1; 100]);
        arena.push(&[2; CHUNK - 50]);
        arena.release_all();
        assert_eq!(arena.room(), 0);
        let next = arena.push(&[3; 10]);
        assert!(next > first);
        assert_eq!(arena.get(next, 10), &[3; 10]);
    }
}
