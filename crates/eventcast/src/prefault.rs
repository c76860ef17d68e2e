//! Faulting in a large buffer's fresh pages in one system call, before
//! they are written.
//!
//! A large event's body (the sender's encoded body, the receiver's
//! reassembly buffer) is written into memory that, in a process that has
//! not sent or received one yet, the allocator has just mapped: every
//! 4 KiB page then costs a page fault as the copy reaches it, 0.65-2 us
//! each on the VMs measured (docs/BENCHMARKS.md). `MADV_POPULATE_WRITE`
//! maps the same pages in one call, for less than half of that. On pages
//! already present (a warm process, where the allocator hands back memory
//! a freed body used) it would still walk them, 8-30 us per MiB, so it is
//! asked only when the buffer's first page is not present.
//!
//! The sender populates its whole body: it is written at once, before any
//! datagram leaves. The receiver populates at most [`RECEIVE_MAX`] of its
//! reassembly buffer when the first segment comes, and then, each time
//! the copies pass a MiB, the [`RECEIVE_MAX`] from the next MiB on if its
//! first page is not there yet (eventcast-proto shows the hook that room;
//! so 2 MiB at a time, 1 MiB ahead of the copies). A larger message's
//! segments arrive paced: populating all of its buffer up front stalled
//! the receiver (one 16 MiB event at 65,000 B took 27.4 ms one-way
//! instead of 24.2, medians of 5), and leaving the rest to fault in page
//! by page cost the receiver 4,440 page faults and 17-20 ms of CPU for
//! that event, against 863 and 15-17 ms populated step by step.

use std::mem::MaybeUninit;

/// The least spare capacity worth a look: below it, the allocator's memory
/// is mostly reused and the faults are few.
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
pub(crate) const MIN_SPARE: usize = 256 * 1024;

/// The most of a reassembly buffer [`receive`] populates.
pub(crate) const RECEIVE_MAX: usize = 2 * 1024 * 1024;

/// Faults in the pages of `buf`'s spare capacity (past its length) if
/// there are at least [`MIN_SPARE`] bytes of it and its first whole page
/// is not present yet. Its contents and length do not change; on any
/// error (an older kernel without `MADV_POPULATE_WRITE`, say) nothing
/// happens, and the pages fault in as they are written.
pub(crate) fn spare(buf: &mut Vec<u8>) {
    populate_spare(buf.spare_capacity_mut(), usize::MAX);
}

/// [`spare`] for a reassembly buffer's spare capacity, as
/// `Config::reserve_hook` hands it over: at most its first
/// [`RECEIVE_MAX`] bytes.
pub(crate) fn receive(spare: &mut [MaybeUninit<u8>]) {
    populate_spare(spare, RECEIVE_MAX);
}

/// Populates at most the first `max` bytes of `spare` (unwritten room
/// past a buffer's length), in whole pages; whether it did.
#[cfg(target_os = "linux")]
fn populate_spare(spare: &mut [MaybeUninit<u8>], max: usize) -> bool {
    if spare.len() < MIN_SPARE {
        return false;
    }
    let page = page_size();
    let start = spare.as_mut_ptr() as usize;
    // Whole pages only: from the first page boundary in the room to the
    // last one within `max`.
    let skip = start.next_multiple_of(page) - start;
    let len = (spare.len().min(max).saturating_sub(skip)) / page * page;
    if len == 0 {
        return false;
    }
    // Derived from the slice's pointer (and inside it): its provenance is
    // the buffer's.
    let first = spare.as_mut_ptr().wrapping_add(skip).cast::<libc::c_void>();
    if present(first, page) != Some(false) {
        return false;
    }
    // SAFETY: `first..first + len` lies inside `spare`, which nothing else
    // references while it is borrowed mutably. Populating maps pages
    // without changing what they hold (zeroes, for fresh anonymous memory;
    // the bytes already there otherwise).
    let rc = unsafe { libc::madvise(first, len, libc::MADV_POPULATE_WRITE) };
    rc == 0
}

/// Elsewhere (no `MADV_POPULATE_WRITE`) the pages fault in as they are
/// written.
#[cfg(not(target_os = "linux"))]
fn populate_spare(_spare: &mut [MaybeUninit<u8>], _max: usize) -> bool {
    false
}

/// Whether the page at `addr` (page-aligned, inside an allocation the
/// caller holds) is present; `None` if the system does not say.
#[cfg(target_os = "linux")]
fn present(addr: *mut libc::c_void, page: usize) -> Option<bool> {
    let mut vec = [0u8; 1];
    // SAFETY: `addr..addr + page` lies inside an allocation the caller
    // keeps alive; mincore only reads the page tables, and writes one
    // byte into `vec`.
    let rc = unsafe { libc::mincore(addr, page, vec.as_mut_ptr()) };
    (rc == 0).then_some(vec[0] & 1 != 0)
}

/// The size of a page (4 KiB if the system does not say).
#[cfg(target_os = "linux")]
fn page_size() -> usize {
    // SAFETY: sysconf has no preconditions.
    let size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    usize::try_from(size)
        .ok()
        .filter(|s| s.is_power_of_two())
        .unwrap_or(4096)
}

#[cfg(test)]
#[cfg(target_os = "linux")]
mod tests {
    use super::*;

    /// Whether the page holding `buf`'s spare byte `offset` is present.
    fn spare_present(buf: &mut Vec<u8>, offset: usize) -> Option<bool> {
        let page = page_size();
        let spare = buf.spare_capacity_mut();
        let addr = spare[offset..].as_mut_ptr() as usize;
        let back = addr - addr / page * page;
        present(spare[offset..].as_mut_ptr().wrapping_sub(back).cast(), page)
    }

    #[test]
    fn a_fresh_large_buffer_keeps_its_contents_and_length() {
        let mut buf = Vec::with_capacity(4 << 20);
        buf.extend_from_slice(b"head");
        spare(&mut buf);
        assert_eq!(buf, b"head");
        assert!(buf.capacity() >= 4 << 20);
        buf.resize(4 << 20, 7);
        assert!(buf[4..].iter().all(|&b| b == 7));
        assert_eq!(&buf[..4], b"head");
    }

    #[test]
    fn fresh_pages_are_populated_once() {
        let mut buf: Vec<u8> = Vec::with_capacity(8 << 20);
        // A kernel without MADV_POPULATE_WRITE (before 5.14) says no, and
        // the buffer works as before.
        if !populate_spare(buf.spare_capacity_mut(), usize::MAX) {
            return;
        }
        assert_eq!(spare_present(&mut buf, (8 << 20) - 1), Some(true));
        assert!(
            !populate_spare(buf.spare_capacity_mut(), usize::MAX),
            "present now"
        );
        buf.resize(8 << 20, 5);
        assert!(buf.iter().all(|&b| b == 5));
    }

    #[test]
    fn a_receiver_populates_only_the_head() {
        let mut buf: Vec<u8> = Vec::with_capacity(4 * RECEIVE_MAX);
        if !populate_spare(buf.spare_capacity_mut(), RECEIVE_MAX) {
            return;
        }
        let page = page_size();
        assert_eq!(spare_present(&mut buf, page), Some(true));
        assert_eq!(spare_present(&mut buf, RECEIVE_MAX + page), Some(false));
    }

    #[test]
    fn a_small_or_full_buffer_is_left_alone() {
        let mut small = Vec::with_capacity(1024);
        assert!(!populate_spare(small.spare_capacity_mut(), usize::MAX));
        assert!(small.is_empty());
        let mut full = vec![3u8; MIN_SPARE];
        assert!(!populate_spare(full.spare_capacity_mut(), usize::MAX));
        assert!(full.iter().all(|&b| b == 3));
    }

    #[test]
    fn a_warm_buffer_is_left_alone() {
        let mut buf = vec![9u8; 2 << 20];
        buf.truncate(16);
        assert!(
            !populate_spare(buf.spare_capacity_mut(), usize::MAX),
            "its pages are present"
        );
        assert_eq!(buf.len(), 16);
        assert!(buf.iter().all(|&b| b == 9));
    }
}
