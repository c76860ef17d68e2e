//! `--owned`: raw UDP that owns each large event, the floor of any
//! protocol that hands its receivers an event in memory of its own.
//!
//! Raw UDP sends one prebuilt buffer again and again and reads every
//! datagram into one buffer it reuses: no memory is ever fresh and no byte
//! is copied in user space. A protocol that delivers events cannot do
//! that. Its sender writes each event into a body of its own (an encoder
//! must, and a sender that repairs losses keeps it), and its receiver puts
//! the datagrams together in a buffer the event then owns. With `--owned`
//! the raw roles do that much and nothing more, for events larger than one
//! datagram:
//!
//! - the sender copies the event from a warm source into a fresh body, a
//!   [`STEP`] at a time, each step's pages faulted in at once first (as
//!   eventcast's are), and sends the datagrams of each step, as the
//!   header and a slice of the body, before it writes the next;
//! - the receiver copies each datagram's payload into a fresh buffer of
//!   the event's length, whose pages it faults in a step ahead of the
//!   copies, and frees it when the event is whole.
//!
//! No encoding, no check of what arrived, no repair, no runtime: what is
//! left of raw UDP's speed here is what owning the event costs on this
//! machine (see docs/BENCHMARKS.md, "The floor of an owned event").

use std::collections::HashMap;
use std::io::IoSlice;
use std::mem::MaybeUninit;

use super::proto::Owned;

/// How much of a body is written (sender) or faulted in ahead of the
/// copies (receiver) at a time: as eventcast's first part of a body.
const STEP: usize = 256 * 1024;

/// A sender's event: a warm source to copy from.
pub(crate) struct OwnedSender {
    source: Vec<u8>,
}

impl OwnedSender {
    /// A source of `len` bytes, written once (warm).
    pub(crate) fn new(len: usize) -> Self {
        OwnedSender {
            source: vec![0x78; len],
        }
    }

    /// A fresh body for the event, nothing written yet.
    pub(crate) fn body(&self) -> Vec<u8> {
        Vec::with_capacity(self.source.len())
    }

    /// Writes the event into `body` a [`STEP`] at a time until it holds at
    /// least its first `upto` bytes (or all of it), as an encoder would.
    pub(crate) fn fill(&self, body: &mut Vec<u8>, upto: usize) {
        while body.len() < upto.min(self.source.len()) {
            let end = (body.len() + STEP).min(self.source.len());
            append(body, &self.source[body.len()..end]);
        }
    }
}

/// Appends `bytes` to `body` (whose capacity is the whole event's), first
/// faulting in the next two [`STEP`]s of its room when it starts or
/// crosses into a new step.
fn append(body: &mut Vec<u8>, bytes: &[u8]) {
    let before = body.len();
    if before == 0 || before / STEP != (before + bytes.len()) / STEP {
        let room = body.spare_capacity_mut();
        let ahead = room.len().min(2 * STEP);
        populate(&mut room[..ahead]);
    }
    body.extend_from_slice(bytes);
}

/// The header and the body's `range`, as one datagram's two parts.
pub(crate) fn parts<'a>(
    header: &'a [u8],
    body: &'a [u8],
    start: usize,
    len: usize,
) -> [IoSlice<'a>; 2] {
    let end = (start + len).min(body.len());
    let start = start.min(end);
    [IoSlice::new(header), IoSlice::new(&body[start..end])]
}

/// A receiver's events being put together, each in a fresh buffer.
#[derive(Default)]
pub(crate) struct OwnedBodies {
    partial: HashMap<u64, Vec<u8>>,
    /// Events put together whole, and bytes copied in all.
    done: Owned,
}

impl OwnedBodies {
    /// Copies `payload`, the datagram `index` of `event` (whose body is
    /// `len` bytes, cut in chunks of `chunk`), into the event's buffer.
    pub(crate) fn put(&mut self, event: u64, index: u32, chunk: usize, len: usize, payload: &[u8]) {
        let body = self
            .partial
            .entry(event)
            .or_insert_with(|| Vec::with_capacity(len));
        let at = index as usize * chunk;
        let end = (at + payload.len()).min(len);
        let Some(payload) = payload.get(..end.saturating_sub(at)) else {
            return;
        };
        if at == body.len() {
            // In order: the common case, one copy.
            append(body, payload);
        } else {
            // After a loss or out of order: zeroes stand for what is
            // missing (raw UDP never repairs it).
            if body.len() < end {
                body.resize(end, 0);
            }
            body[at..end].copy_from_slice(payload);
        }
        self.done.bytes += payload.len() as u64;
    }

    /// `event` is whole (its buffer is handed on, here: freed).
    pub(crate) fn finish(&mut self, event: u64) {
        if self.partial.remove(&event).is_some() {
            self.done.events += 1;
        }
    }

    /// What was put together.
    pub(crate) fn done(&self) -> Owned {
        self.done
    }
}

/// Faults in the pages of `spare` in one system call, as eventcast does
/// for a large body (`MADV_POPULATE_WRITE`); on any error the pages fault
/// in as they are written.
#[cfg(target_os = "linux")]
fn populate(spare: &mut [MaybeUninit<u8>]) {
    const PAGE: usize = 4096;
    let start = spare.as_mut_ptr() as usize;
    let skip = start.next_multiple_of(PAGE) - start;
    let len = spare.len().saturating_sub(skip) / PAGE * PAGE;
    if len == 0 {
        return;
    }
    let first = spare.as_mut_ptr().wrapping_add(skip).cast::<libc::c_void>();
    // SAFETY: `first..first + len` lies inside `spare`, borrowed mutably;
    // populating maps pages without changing what they hold.
    let _ = unsafe { libc::madvise(first, len, libc::MADV_POPULATE_WRITE) };
}

#[cfg(not(target_os = "linux"))]
fn populate(_: &mut [MaybeUninit<u8>]) {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_body_is_a_copy_of_the_source_written_a_step_at_a_time() {
        let sender = OwnedSender::new(300_000);
        let mut body = sender.body();
        sender.fill(&mut body, 1);
        assert_eq!(body.len(), STEP);
        sender.fill(&mut body, STEP);
        assert_eq!(body.len(), STEP);
        sender.fill(&mut body, usize::MAX);
        assert_eq!(body.len(), 300_000);
        assert!(body.iter().all(|&b| b == 0x78));
        let [head, slice] = parts(b"hdr", &body, 299_990, 64);
        assert_eq!((head.len(), slice.len()), (3, 10));
    }

    #[test]
    fn payloads_land_where_they_belong_in_any_order() {
        let mut bodies = OwnedBodies::default();
        // A body of 10 bytes in chunks of 4: 4 + 4 + 2.
        bodies.put(7, 2, 4, 10, b"ij");
        bodies.put(7, 0, 4, 10, b"abcd");
        assert_eq!(bodies.partial[&7], b"abcd\0\0\0\0ij");
        bodies.put(7, 1, 4, 10, b"efgh");
        assert_eq!(bodies.partial[&7], b"abcdefghij");
        // A payload past the body's end is cut to it.
        bodies.put(8, 2, 4, 10, b"xyz");
        assert_eq!(bodies.partial[&8].len(), 10);
        bodies.finish(7);
        bodies.finish(7);
        assert_eq!(
            bodies.done(),
            Owned {
                events: 1,
                bytes: 12
            }
        );
    }
}
