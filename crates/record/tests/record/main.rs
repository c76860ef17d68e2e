//! The recorder, reader and player through their public API: files checked
//! with the `mcap` crate's own reader, files cut short, other programs'
//! files; and, in a private network namespace, a recording of real nodes
//! and its replay.

mod edges;
mod files;
mod foreign;
mod net;
mod support;
