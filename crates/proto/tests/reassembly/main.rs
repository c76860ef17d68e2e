//! Reassembly: any body, any order, a model, large messages, expiry, and
//! where a large message's buffer comes from.
//!
//! One test binary for the family (one module per file), so that the
//! crate's tests build and link a few binaries rather than one per file.

#[path = "../common/mod.rs"]
mod common;

mod any_body;
mod any_order;
mod buffer_source;
mod expiry;
mod large_message;
mod long_durations;
mod model;
