//! Nodes on real sockets, as an application uses them: start and stop,
//! listeners and arguments, own emits, back-pressure, large events, many
//! nodes, peers, loss recovery, encryption and key rotation, and what hostile
//! or foreign datagrams do to a node.
//!
//! One test binary for the family, one module per former test file, so that
//! the crate's tests build and link a few binaries rather than one per file.
//! Every test that opens a socket runs in a private network namespace of its
//! own (see `common`).

#[path = "../common/mod.rs"]
pub mod common;

mod arguments;
mod back_pressure;
mod batched_io;
mod binary;
mod busy_poll;
mod drop_stops;
mod encrypted;
mod flood;
mod flood_memory;
mod flow;
mod garbage;
mod hostile;
mod inline_emit;
mod large_messages;
mod leaks;
mod lifecycle;
mod listeners;
mod loss_recovery;
mod many_nodes;
mod own_emits;
mod parts;
mod peers;
mod protocol_version;
mod receive_spare;
mod receiving;
mod replay_restart;
mod rotation;
mod sending_socket;
mod wildcards;
