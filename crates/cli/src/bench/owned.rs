//! `--owned`: raw UDP that owns each large event, a floor for a protocol
//! that hands its receivers an event in memory of its own.
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
//!   header and a slice of the body, before it writes the next; it frees
//!   the body once sent (a sender that repairs keeps it a while, so its
//!   next body may not reuse that memory);
//! - the receiver copies each datagram's payload into a fresh buffer of
//!   the event's length, whose pages it faults in a step ahead of the
//!   copies, and frees it when the event is whole.
//!
//! No encoding, no check of what arrived, no repair, no runtime, one
//! thread a side: what is left of raw UDP's speed here is what owning the
//! event, done simply, costs on this machine (see docs/BENCHMARKS.md,
//! "The floor of an owned event").

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

/// Appends `bytes` to `body` (whose capacity is the whole event's),
/// faulting in its room a [`STEP`] ahead of the copies, as eventcast's
/// receiver does: the first two steps when it starts, then the step after
/// the one each append enters. Each page is populated once.
fn append(body: &mut Vec<u8>, bytes: &[u8]) {
    let before = body.len();
    let after = before + bytes.len();
    let (from, len) = if before == 0 {
        (0, 2 * STEP)
    } else if before / STEP != after / STEP {
        ((after / STEP + 1) * STEP - before, STEP)
    } else {
        (0, 0)
    };
    if len > 0 {
        if let Some(room) = body.spare_capacity_mut().get_mut(from..) {
            let len = room.len().min(len);
            populate(&mut room[..len]);
        }
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

/// Events a receiver keeps putting together behind the newest it heard
/// of: an older one that is still not whole lost a datagram for good (raw
/// UDP never repairs), and its buffer is dropped.
const KEEP: u64 = 4;

/// A receiver's events being put together, each in a fresh buffer.
#[derive(Default)]
pub(crate) struct OwnedBodies {
    partial: HashMap<u64, Vec<u8>>,
    /// The newest event heard of.
    newest: u64,
    /// Events put together whole, and bytes copied in all.
    done: Owned,
}

impl OwnedBodies {
    /// Copies `payload`, the datagram `index` of `event` (whose body is
    /// `len` bytes, cut in chunks of `chunk`), into the event's buffer.
    /// A datagram that starts past the body's end, or of an event [`KEEP`]
    /// or more behind the newest, is left out; a payload that runs past
    /// the end is cut to it.
    pub(crate) fn put(&mut self, event: u64, index: u32, chunk: usize, len: usize, payload: &[u8]) {
        let Some(at) = usize::try_from(index)
            .ok()
            .and_then(|i| i.checked_mul(chunk))
            .filter(|&at| at < len)
        else {
            return;
        };
        if event.saturating_add(KEEP) <= self.newest {
            return;
        }
        if event > self.newest {
            self.newest = event;
            self.partial.retain(|&e, _| e.saturating_add(KEEP) > event);
        }
        let body = self
            .partial
            .entry(event)
            .or_insert_with(|| Vec::with_capacity(len));
        let end = at.saturating_add(payload.len()).min(len);
        let payload = &payload[..end - at];
        if at == body.len() {
            // In order: the common case, one copy.
            append(body, payload);
        } else {
            // After a loss or out of order: zeroes stand for what is
            // missing (raw UDP never repairs it).
            if body.len() < end {
                body.resize(end, 0);
            }
            if let Some(place) = body.get_mut(at..end) {
                place.copy_from_slice(payload);
            }
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

    #[test]
    fn a_datagram_past_the_end_or_of_an_old_event_is_left_out() {
        let mut bodies = OwnedBodies::default();
        // Index 3 of a 10-byte body in chunks of 4 starts at 12.
        bodies.put(1, 3, 4, 10, b"zz");
        bodies.put(1, u32::MAX, usize::MAX / 2, 10, b"zz");
        assert!(bodies.partial.is_empty());
        assert_eq!(bodies.done().bytes, 0);
        // Event 1 loses a datagram for good; event 5 drops its buffer.
        bodies.put(1, 0, 4, 10, b"abcd");
        bodies.put(5, 0, 4, 10, b"abcd");
        assert_eq!(bodies.partial.keys().collect::<Vec<_>>(), [&5]);
        // A late datagram of event 1 does not bring it back.
        bodies.put(1, 1, 4, 10, b"efgh");
        assert_eq!(bodies.partial.len(), 1);
        assert_eq!(bodies.done().bytes, 8);
    }

    #[test]
    fn a_body_appended_in_datagrams_comes_out_whole() {
        let len = 5 * STEP + 7;
        let mut body = Vec::with_capacity(len);
        let chunk: Vec<u8> = (0..65_000u32).map(|i| i as u8).collect();
        while body.len() < len {
            let n = chunk.len().min(len - body.len());
            append(&mut body, &chunk[..n]);
        }
        assert_eq!(body.len(), len);
        assert!(body.chunks(65_000).all(|c| c == &chunk[..c.len()]));
    }
}
