//! Where a receiver's share of a stream begins: streams are created at
//! their first message or heartbeat, and a stream first heard mid-way
//! waits (with ordering) until a heartbeat tells whether this node joined
//! before it began.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use tracing::{debug, trace};

use super::{Cx, Item, Recovery, Stream};
use crate::ids::SenderId;

impl Recovery {
    /// The stream of `sender`, created if needed at `first` (with a
    /// pending join decision when `probe`). False if the reassembler does
    /// not track the sender.
    pub(super) fn stream_for(
        &mut self,
        now: Instant,
        cx: &mut Cx<'_>,
        sender: SenderId,
        first: u64,
        probe: bool,
    ) -> bool {
        if !cx.reasm.knows(sender) {
            return false;
        }
        if self.streams.contains_key(&sender) {
            return true;
        }
        let join = if probe && first > 0 && cx.config.max_retransmit_attempts > 0 {
            Some(Item {
                asks: 0,
                state: self.backoff(now, cx.config),
                deadline: Some(now + cx.config.message_ttl),
            })
        } else {
            if probe && first > 0 {
                // Nobody asks: no way to tell, so a late joiner.
                cx.stats.late_joins += 1;
            }
            None
        };
        self.streams.insert(
            sender,
            Stream {
                start: first,
                next: first,
                known_end: first,
                trail: 0,
                held: BTreeMap::new(),
                held_bytes: 0,
                gaps: BTreeMap::new(),
                partials: BTreeMap::new(),
                last_heard: now,
                join,
                wake: None,
            },
        );
        if let Some(wake) = join.and_then(|j| j.wake()) {
            trace!(%sender, first, "first heard mid-stream: asking for a heartbeat");
            self.schedule(sender, Some(wake));
        }
        true
    }

    /// Whether this node joined before a stream that began `age` ago.
    pub(super) fn entitled(now: Instant, cx: &Cx<'_>, age: Duration) -> bool {
        let joined = cx.joined.unwrap_or(now);
        age <= now.saturating_duration_since(joined)
    }

    /// Settles a pending join decision: with `entitled`, the stream is
    /// this node's from seq 0 and everything missing below the provisional
    /// start becomes a gap; otherwise the start stays (a late joiner).
    pub(super) fn decide(
        &mut self,
        now: Instant,
        cx: &mut Cx<'_>,
        sender: SenderId,
        entitled: bool,
    ) {
        let Some(stream) = self.streams.get_mut(&sender) else {
            return;
        };
        if stream.join.take().is_none() {
            return;
        }
        if entitled {
            debug!(%sender, start = stream.start, "joined before the stream began: asking for its start");
            self.lower_start(now, cx, sender, 0, 0);
        } else {
            cx.stats.late_joins += 1;
            debug!(%sender, start = stream.start, "joined mid-stream: no history asked for");
        }
    }

    /// Moves the stream's start down to `first`; the seqs from `missing`
    /// up to the old start were never heard, and are gaps now.
    pub(super) fn lower_start(
        &mut self,
        now: Instant,
        cx: &mut Cx<'_>,
        sender: SenderId,
        first: u64,
        missing: u64,
    ) {
        let Some(stream) = self.streams.get_mut(&sender) else {
            return;
        };
        let old = stream.start;
        if first >= old {
            return;
        }
        stream.start = first;
        stream.next = stream.next.min(first);
        self.record_gap(now, cx, sender, missing, old);
    }
}
