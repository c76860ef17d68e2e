//! Conflicts: a second, different copy of a message already finished.
//!
//! Without a key an impersonator can send a message under a sender's id
//! and seq before the sender does: the first copy is delivered and the
//! real one is a duplicate. That cannot be prevented, but it leaves a
//! trace: each sender's latest [`RECENT`] finished messages are kept as a
//! digest (length, segment count, a hash of the body), and a copy that
//! disagrees (another body for a single-datagram message, another shape
//! for a segmented one) is counted in `conflicts` and reported once per
//! sender ([`EndpointEvent::Conflict`]). Only a single-datagram body is
//! hashed: a segmented one is compared by shape, and hashing it cost a
//! tenth of a large event's receiving.

use std::sync::OnceLock;

use tracing::debug;

use super::state::{Digest, Segment, SenderState};
use super::Receiver;
use crate::ids::MessageSeq;
use crate::shared::{Conflict, EndpointEvent};
use crate::stats::Stats;

/// Finished messages remembered per sender.
pub(crate) const RECENT: usize = 64;

/// A body's hash: aHash, keyed at random once per process (as the
/// receive path's maps are, see `fastmap.rs`), several times cheaper than
/// std's SipHash on a small event's body.
fn hash(bytes: &[u8]) -> u64 {
    static KEYS: OnceLock<ahash::RandomState> = OnceLock::new();
    KEYS.get_or_init(ahash::RandomState::new).hash_one(bytes)
}

impl SenderState {
    /// Remembers what message `seq` (complete, with `body`) looked like.
    pub(crate) fn remember_digest(&mut self, seq: u64, count: u32, body: &[u8]) {
        if self.recent.len() >= RECENT {
            self.recent.pop_front();
        }
        self.recent.push_back(Digest {
            seq,
            len: u32::try_from(body.len()).unwrap_or(u32::MAX),
            count,
            hash: if count == 1 { hash(body) } else { 0 },
        });
    }

    /// Whether `segment` (with `payload`), a duplicate, disagrees with the
    /// message finished under its seq.
    fn disagrees(&self, segment: &Segment, payload: &[u8]) -> bool {
        let Some(d) = self.recent.iter().rev().find(|d| d.seq == segment.seq) else {
            return false;
        };
        if (d.len, d.count) != (segment.message_len, segment.count) {
            return true;
        }
        segment.count == 1 && d.hash != hash(payload)
    }
}

impl Receiver {
    /// A duplicate segment: a conflict if it disagrees with what was
    /// finished under its seq.
    pub(super) fn check_conflict(&mut self, stats: &mut Stats, segment: &Segment, payload: &[u8]) {
        let Some(state) = self.senders.get_mut(&segment.sender) else {
            return;
        };
        if !state.disagrees(segment, payload) {
            return;
        }
        stats.conflicts += 1;
        let (sender, seq, from) = (segment.sender, segment.seq, segment.from);
        debug!(%sender, seq, %from, "a different copy of a message already finished");
        if !state.conflict_told {
            state.conflict_told = true;
            self.out.events.push_back(EndpointEvent::Conflict(Conflict {
                sender,
                seq: MessageSeq::new(seq),
                from,
            }));
        }
    }
}
