//! Legacy mode (eventcast 0.1.x's protocol) on real sockets: nodes talking
//! to each other and to datagrams built as the original builds them.
//!
//! One test binary for the family, one module per former test file, so that
//! the crate's tests build and link a few binaries rather than one per file.
//! Every test that opens a socket runs in a private network namespace of its
//! own (see `common`).

#[path = "../common/mod.rs"]
pub mod common;
mod support;

mod nodes;
mod send_only;
mod vectors;
