//! Where a receiver's share of a stream begins.
//!
//! A stream is created when its sender is first heard. Heard first through
//! a heartbeat, it is settled at once: it is owed from message 0 if it
//! began after this node joined (the heartbeat's age is no more than this
//! node's time in the group), else from the heartbeat's lead. Heard first
//! through message 0 sent live, it starts there. Heard first any other
//! way (a later message, or a repair for another receiver) the decision
//! is *pending*: the receiver asks the sender for a heartbeat (a NACK
//! without entries), asks for nothing else and (with ordering) delivers
//! nothing from it until then. The heartbeat settles it: owed from 0, or
//! a late joiner owed from the first message it heard sent live (the
//! heartbeat's lead if none). A sender that never answers settles it as a
//! late join too. History a late joiner happened to hear is dropped.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use tracing::{debug, trace};

use super::{Cx, Item, Recovery, State, Stream, GAP_CHARGE};
use crate::config::SEGMENT_OVERHEAD;
use crate::ids::SenderId;

impl Recovery {
    /// The stream of `sender`, created if needed at `first` (heard in a
    /// data frame when `probe`, sent `live` rather than as a repair). False
    /// if the reassembler does not track the sender.
    pub(super) fn stream_for(
        &mut self,
        now: Instant,
        cx: &mut Cx<'_>,
        sender: SenderId,
        first: u64,
        probe: bool,
        live: bool,
    ) -> bool {
        if !cx.reasm.knows(sender) {
            return false;
        }
        if self.streams.contains_key(&sender) {
            return true;
        }
        let join = if probe && !(first == 0 && live) && cx.config.max_retransmit_attempts > 0 {
            Some(Item {
                asks: 0,
                state: self.backoff(now, cx.config, sender),
                deadline: Some(now + cx.config.message_ttl),
            })
        } else {
            if probe && first > 0 {
                // Nobody asks: no way to tell, so a late joiner from the
                // first message heard.
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
                sent_below: 0,
                trail: 0,
                held: BTreeMap::new(),
                held_bytes: 0,
                gaps: BTreeMap::new(),
                partials: BTreeMap::new(),
                last_heard: now,
                join,
                first_live: (probe && live).then_some(first),
                round: None,
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
    /// start becomes a gap; otherwise (a late joiner) it starts at the
    /// first message heard live, else at `lead` (the heartbeat's), else
    /// past everything heard. Then what waited is asked for.
    pub(super) fn decide(
        &mut self,
        now: Instant,
        cx: &mut Cx<'_>,
        sender: SenderId,
        entitled: bool,
        lead: Option<u64>,
    ) {
        let Some(stream) = self.streams.get_mut(&sender) else {
            return;
        };
        if stream.join.take().is_none() {
            return;
        }
        if entitled {
            debug!(%sender, start = stream.start, "joined before the stream began: owed all of it");
            self.lower_start(now, cx, sender, 0, 0);
        } else {
            cx.stats.late_joins += 1;
            let start = stream
                .first_live
                .or(lead)
                .unwrap_or(stream.known_end)
                .max(stream.start);
            debug!(%sender, start, "joined mid-stream: no history asked for");
            self.raise_start(cx, sender, start);
        }
        self.rearm(now, cx, sender);
    }

    /// Moves the stream's start up to `first`: whatever is recorded below
    /// it is history this node is not owed, and is forgotten unreported
    /// (messages held for order are dropped).
    fn raise_start(&mut self, cx: &mut Cx<'_>, sender: SenderId, first: u64) {
        let Some(stream) = self.streams.get_mut(&sender) else {
            return;
        };
        if first <= stream.start {
            return;
        }
        stream.start = first;
        stream.next = stream.next.max(first);
        let keep = stream.gaps.split_off(&first);
        for (_, gap) in std::mem::replace(&mut stream.gaps, keep) {
            if gap.end > first {
                stream.gaps.insert(first, gap);
            } else {
                cx.reasm.release(sender, GAP_CHARGE);
            }
        }
        let keep = stream.partials.split_off(&first);
        for (seq, _) in std::mem::replace(&mut stream.partials, keep) {
            cx.reasm.give_up(sender, seq);
        }
        let keep = stream.held.split_off(&first);
        for (seq, held) in std::mem::replace(&mut stream.held, keep) {
            let charge = held.body.len() + SEGMENT_OVERHEAD;
            stream.held_bytes -= charge;
            cx.reasm.release(sender, charge);
            cx.stats.dropped.before_start += 1;
            trace!(%sender, seq, "history held before a late join dropped");
        }
    }

    /// Gives every gap and partial message that waited for the join
    /// decision its turn: a back-off, or (a partial with no known hole)
    /// a watch for a stall.
    fn rearm(&mut self, now: Instant, cx: &mut Cx<'_>, sender: SenderId) {
        let Some(stream) = self.streams.get(&sender) else {
            return;
        };
        let sent_below = stream.sent_below;
        let gaps: Vec<u64> = stream
            .gaps
            .iter()
            .filter(|(_, g)| g.item.state == State::Idle)
            .map(|(k, _)| *k)
            .collect();
        let partials: Vec<(u64, bool)> = stream
            .partials
            .iter()
            .filter(|(_, i)| i.state == State::Idle)
            .map(|(&seq, _)| {
                let hole = cx.reasm.partial(sender, seq).is_some_and(|p| {
                    p.held < p.max_index + 1 || (seq < sent_below && p.held < p.count)
                });
                (seq, hole)
            })
            .collect();
        for first in gaps {
            let state = self.backoff(now, cx.config, sender);
            self.set_gap(sender, first, state);
        }
        for (seq, hole) in partials {
            let state = if hole {
                self.backoff(now, cx.config, sender)
            } else {
                State::Stall(now + cx.config.repair_timeout)
            };
            self.set_partial(sender, seq, state);
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
