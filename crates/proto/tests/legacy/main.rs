//! Legacy mode (the original eventcast 0.1.x protocol): vectors, properties, hostile input.
//!
//! One test binary for the family (one module per file), so that the
//! crate's tests build and link a few binaries rather than one per file.

#[path = "../common/mod.rs"]
mod common;
mod endpoint_hostile;
mod long_durations;
mod props;
mod retx_amplification;
mod vectors;
