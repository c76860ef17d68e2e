//! The operator's REPL over real TCP: its commands, its input handling,
//! its limits, that it leaks nothing, and the log levels it changes.
//!
//! One test binary for the family, one module per former test file, so that
//! the crate's tests build and link a few binaries rather than one per file.
//! Every test that opens a socket runs in a private network namespace of its
//! own (see `common`).

mod client;
#[path = "../common/mod.rs"]
pub mod common;

mod commands;
mod input;
mod leaks;
mod limits;
mod log_levels;
