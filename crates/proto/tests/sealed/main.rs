//! Encryption: sealing, opening, keys, replay, tampering.
//!
//! One test binary for the family (one module per file), so that the
//! crate's tests build and link a few binaries rather than one per file.

#[path = "../common/mod.rs"]
mod common;
mod sealing;

mod decoder;
mod exchange;
mod handshake;
mod key_limit;
mod nonces;
mod replay;
mod rotation;
mod tamper;
mod vector;
mod wrong_key;
