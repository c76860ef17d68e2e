//! The endpoint as a whole: peers, protocol versions, its own datagrams, the fuzz corpus.
//!
//! One test binary for the family (one module per file), so that the
//! crate's tests build and link a few binaries rather than one per file.

#[path = "../common/mod.rs"]
mod common;

mod fuzz_regressions;
mod given_back;
mod not_receiving;
mod parts;
mod peers;
mod protocol_version;
mod receiving;
mod self_filter;
mod spent;
mod timers;
