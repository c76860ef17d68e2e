//! Limits and hostile input: budgets, message size, senders, floods, forged and garbage datagrams.
//!
//! One test binary for the family (one module per file), so that the
//! crate's tests build and link a few binaries rather than one per file.

#[path = "../common/mod.rs"]
mod common;

mod budgets;
mod far_behind;
mod flood;
mod forged_climb;
mod forged_extremes;
mod forged_heartbeats;
mod forged_partials;
mod garbage;
mod given_up;
mod held_burst;
mod hostile_recovery;
mod joined_through_repair;
mod message_size;
mod nack_work;
mod no_room_to_hold;
mod overheard_nacks;
mod remembered;
mod resume_points;
mod senders;
mod waiting_losses;
