//! How nodes use the network: interfaces by name or address, IPv6, the
//! multicast TTL, the group 224.0.0.1 shared with other software, and drops
//! in the kernel's receive buffer.
//!
//! One test binary for the family, one module per former test file, so that
//! the crate's tests build and link a few binaries rather than one per file.
//! Every test that opens a socket runs in a private network namespace of its
//! own (see `common`).

#[path = "../common/mod.rs"]
pub mod common;

mod fragments;
mod interfaces;
mod ipv6;
mod kernel_drops;
mod multicast_all;
mod ttl;
