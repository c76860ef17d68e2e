//! Replays the inputs kept in `tests/fuzz-regressions/` (those that made a
//! fuzz target fail once, and a few seeds) through the same checks as the
//! targets in `fuzz/`: the decoder's round trip, and endpoints' gauges and
//! heap use under arbitrary datagrams. The heap is counted by this test
//! binary's allocator, so this file holds a single test.
#![allow(clippy::unwrap_used)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call is forwarded to the system allocator unchanged.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size(), Ordering::Relaxed);
        // SAFETY: forwarded as is.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
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
        eventcast_proto::__fuzz::endpoint(data, || LIVE.load(Ordering::Relaxed));
    }
}
