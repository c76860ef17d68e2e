//! Where a receiver's share of a stream begins.
//!
//! A sender's state is created when it is first heard. Heard first through
//! a heartbeat, its stream is settled (once its data agrees, or at once if
//! young: see `plausible`): it is owed from message 0 if it began after
//! this node joined (the heartbeat's age is no more than this node's time
//! in the group), else from the heartbeat's lead. Heard first through
//! message 0 sent live, it starts there. Heard first any other way (a later
//! message, or a repair for another receiver) the decision is *pending*:
//! the receiver asks the sender for a heartbeat (a NACK without entries),
//! asks for nothing else and (with ordering) delivers nothing from it until
//! then. The heartbeat settles it: owed from 0, or a late joiner owed from
//! the first message it heard sent live (the heartbeat's lead if none). A
//! sender that never answers settles it as a late join too. History a late
//! joiner happened to hear is dropped. Only a heartbeat from the sender's
//! home (`SenderState::is_home`), or from where its latest data came,
//! settles a pending join: an impersonator's, from elsewhere, would make a
//! late joiner ask for history it is not owed (and report it lost), or one
//! owed the stream skip what it missed.

use std::time::{Duration, Instant};

use tracing::{debug, trace};

use super::state::State;
use super::{Receiver, GAP_CHARGE};
use crate::ids::SenderId;
use crate::stats::Stats;

impl Receiver {
    /// Whether this node joined before a stream that began `age` ago.
    pub(super) fn entitled(&self, now: Instant, age: Duration) -> bool {
        let joined = self.joined.unwrap_or(now);
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
        stats: &mut Stats,
        sender: SenderId,
        entitled: bool,
        lead: Option<u64>,
    ) {
        let Some(state) = self.senders.get_mut(&sender) else {
            return;
        };
        if state.join.take().is_none() {
            return;
        }
        if entitled {
            debug!(%sender, start = state.start, "joined before the stream began: owed all of it");
            // Enough for one NACK, what it missed, as a young stream first
            // heard through its heartbeat earns (`settle_hint`): one first
            // heard through a repair or mid-stream has earned a third of a
            // NACK per datagram since, and a quiet sender's gaps would
            // expire unasked.
            state.nacks.earn(1.0);
            self.lower_start(now, stats, sender, 0, 0);
        } else {
            stats.late_joins += 1;
            let start = state
                .first_live
                .or(lead)
                .unwrap_or(state.known_end)
                .max(state.start);
            debug!(%sender, start, "joined mid-stream: no history asked for");
            self.raise_start(stats, sender, start);
        }
        self.rearm(now, sender);
    }

    /// Moves the stream's start up to `first`: whatever is recorded below
    /// it is history this node is not owed, and is forgotten unreported
    /// (messages held for order are dropped, `before_start`; partial
    /// messages given up, `abandoned`).
    fn raise_start(&mut self, stats: &mut Stats, sender: SenderId, first: u64) {
        let Some(state) = self.senders.get_mut(&sender) else {
            return;
        };
        if first <= state.start {
            return;
        }
        let ledger = &mut self.ledger;
        state.start = first;
        state.next = state.next.max(first);
        let keep = state.gaps.split_off(&first);
        for (_, gap) in std::mem::replace(&mut state.gaps, keep) {
            if gap.end > first {
                state.gaps.insert(first, gap);
            } else {
                state.release(ledger, GAP_CHARGE);
            }
        }
        state.overrun.retain(|&s| s >= first);
        let owed: Vec<u64> = state
            .partials
            .range(..first)
            .filter(|(_, p)| p.ask.is_some())
            .map(|(s, _)| *s)
            .collect();
        for seq in owed {
            state.give_up(ledger, stats, seq);
        }
        let keep = state.held.split_off(&first);
        for (seq, held) in std::mem::replace(&mut state.held, keep) {
            state.release(ledger, held.charge());
            stats.dropped.before_start += 1;
            trace!(%sender, seq, "history held before a late join dropped");
        }
    }

    /// `sender` is believed real now: what waited for that is asked for.
    pub(super) fn believe(&mut self, now: Instant, stats: &mut Stats, sender: SenderId) {
        let Some(state) = self.senders.get_mut(&sender) else {
            return;
        };
        state.believe_at_home();
        trace!(%sender, "believed real");
        super::order::tell_waiting_losses(&mut self.out.events, stats, state);
        if state.join.is_none() && self.config.max_retransmit_attempts > 0 {
            self.rearm(now, sender);
        }
    }

    /// Arms the pending join's heartbeat request once the sender may be
    /// asked: believed real and heard more than once (an id that sent one
    /// datagram is never asked anything).
    pub(super) fn arm_join(&mut self, now: Instant, sender: SenderId) {
        let Some(state) = self.senders.get(&sender) else {
            return;
        };
        let idle = state.join.is_some_and(|j| j.state == State::Idle);
        if idle && state.believed && state.heard > 1 && self.config.max_retransmit_attempts > 0 {
            let next = self.backoff(now, sender);
            let wake = self.senders.get_mut(&sender).and_then(|s| {
                let join = s.join.as_mut()?;
                join.state = next;
                join.wake()
            });
            self.schedule(sender, wake);
        }
    }

    /// Gives every gap and partial message that waited for the join
    /// decision its turn: a back-off, or (a partial with no known hole)
    /// a watch for a stall.
    fn rearm(&mut self, now: Instant, sender: SenderId) {
        let Some(state) = self.senders.get(&sender) else {
            return;
        };
        let sent_below = state.sent_below;
        let gaps: Vec<u64> = state
            .gaps
            .iter()
            .filter(|(_, g)| g.item.state == State::Idle)
            .map(|(k, _)| *k)
            .collect();
        let partials: Vec<(u64, bool)> = state
            .partials
            .iter()
            .filter(|(_, p)| p.ask.is_some_and(|i| i.state == State::Idle))
            .map(|(&seq, p)| (seq, p.has_hole(seq < sent_below)))
            .collect();
        for first in gaps {
            let next = self.backoff(now, sender);
            self.set_gap(sender, first, next);
        }
        for (seq, hole) in partials {
            let next = if hole {
                self.backoff(now, sender)
            } else {
                State::Stall(now + self.config.repair_timeout)
            };
            self.set_partial(sender, seq, next);
        }
    }

    /// Moves the stream's start down to `first`; the seqs from `missing`
    /// up to the old start were never heard, and are gaps now.
    pub(super) fn lower_start(
        &mut self,
        now: Instant,
        stats: &mut Stats,
        sender: SenderId,
        first: u64,
        missing: u64,
    ) {
        let Some(state) = self.senders.get_mut(&sender) else {
            return;
        };
        // Never below the point it was forgotten with, if it started at
        // or above it: what lies below was delivered (or reported lost)
        // before. (A state started afresh far below the point drops only
        // what lies just below it, as stale: see `admit`.)
        let old = state.start;
        let floor = state.floor().filter(|f| f.seq <= old).map_or(0, |f| f.seq);
        let (first, missing) = (first.max(floor), missing.max(floor));
        if first >= old {
            return;
        }
        state.start = first;
        state.next = state.next.min(first);
        self.record_gap(now, stats, sender, missing, old);
    }
}
