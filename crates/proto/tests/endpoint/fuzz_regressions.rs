//! Replays the inputs kept in `tests/fuzz-regressions/` (those that made a
//! fuzz target fail once, and a few seeds) through the same checks as the
//! targets in `fuzz/`: the decoder's round trip, and endpoints' gauges and
//! heap use under arbitrary datagrams. The heap is counted by this test
//! binary's allocator for each thread apart, so the other tests of the
//! binary, running beside it on threads of their own, do not count in
//! it.
#![allow(clippy::unwrap_used)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::path::Path;

struct Counting;

thread_local! {
    /// Bytes this thread allocated less those it freed (a block freed on
    /// another thread than the one that allocated it lowers that one's).
    /// Const-initialized, without a destructor: using it never allocates.
    static LIVE: Cell<isize> = const { Cell::new(0) };
}

/// Adds `delta` to this thread's count (none while the thread is torn down).
fn count(delta: isize) {
    let _ = LIVE.try_with(|live| live.set(live.get().wrapping_add(delta)));
}

/// This thread's count, as heap bytes in use (never below zero).
fn live() -> usize {
    usize::try_from(LIVE.with(Cell::get)).unwrap_or(0)
}

// SAFETY: every call is forwarded to the system allocator unchanged.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count(layout.size() as isize);
        // SAFETY: forwarded as is.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        count(-(layout.size() as isize));
        // SAFETY: forwarded as is.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

fn inputs(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fuzz-regressions")
        .join(target);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|p| (p.display().to_string(), std::fs::read(&p).unwrap()))
        .collect()
}

#[test]
fn every_kept_input_passes_its_target() {
    let packets = inputs("packet");
    let endpoints = inputs("endpoint");
    assert!(!packets.is_empty() && !endpoints.is_empty());
    for (name, data) in &packets {
        eprintln!("packet {name}");
        eventcast_proto::__fuzz::packet(data);
    }
    for (name, data) in &endpoints {
        eprintln!("endpoint {name}");
        eventcast_proto::__fuzz::endpoint(data, live);
    }
}
