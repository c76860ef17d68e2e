//! Deterministic network simulations: one scenario per module, each run over many seeds.
//!
//! One test binary for the family (one module per file), so that the
//! crate's tests build and link a few binaries rather than one per file.

mod attacker;
#[path = "../common/mod.rs"]
mod common;
mod hostile;
mod keyed;
mod world;

mod budget_fill;
mod burst_loss;
mod far_heartbeat;
mod far_seq;
mod first_message_lost;
mod forged_copies;
mod forged_gaps;
mod forged_trail;
mod late_joiner;
mod long_hole;
mod many_receivers;
mod near_seq;
mod overrun;
mod partials;
mod random_loss;
mod reorder_duplicate;
mod restarted_sender;
mod sealed_handshake_loss;
mod sealed_many_receivers;
mod sealed_replay_dead_run;
mod sealed_replay_live_sender;
mod sealed_send_only;
mod store_chunks;
mod strangers;
mod tail_loss;
mod unrepairable;
mod window;
