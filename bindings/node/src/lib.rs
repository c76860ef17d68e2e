//! The native part of the npm package `eventcast`: the eventcast library
//! for Node.js, through Node-API (napi-rs).
//!
//! JavaScript sees one class, `NativeNode` ([`native`]), wrapped by the
//! package's `index.js` in an `EventEmitter`. Arguments are converted
//! between JS values and BSON here (`to_bson`, `to_js`), directly.
//! Received events and notices reach JavaScript through a thread-safe
//! function, in order (`delivery`).
//!
//! Layers, each importing only those above it in this list: `raw` (the
//! Node-API calls), `to_bson`/`to_js`/`notice`/`stats`/`logs`/`options`,
//! `delivery`, `native`.

#![deny(clippy::undocumented_unsafe_blocks)]

mod delivery;
mod logs;
pub mod native;
mod notice;
pub mod options;
mod raw;
mod stats;
mod to_bson;
mod to_js;

use napi_derive::napi;

/// The version of the wire protocol a node speaks by default (the native
/// protocol's; the original 0.1.x's was 3, spoken with
/// `protocol: 'legacy-v3'`).
#[napi]
pub const PROTOCOL_VERSION: u32 = 1;
