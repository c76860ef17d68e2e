//! The `eventcast` binary driven as a user would: one test binary, one
//! module per command or concern, all sharing `support`. Tests that open a
//! socket run in a private network namespace of their own.

mod bench;
mod bridge;
mod demo;
mod keys;
mod legacy;
mod listen_emit;
mod node;
mod node_keys;
mod record;
mod stdin;
mod support;
mod top;
mod usage;
