//! What each datagram tells loss recovery: messages and segments that are
//! missing (gaps, partial messages with holes), what a heartbeat says of
//! the stream, and senders forgotten.

use std::time::{Duration, Instant};

use tracing::trace;

use super::order::report_loss;
use super::state::{Gap, Item, Segment, SenderState, State};
use super::{Arrival, Receiver, GAP_CHARGE};
use crate::ids::SenderId;
use crate::seqwindow::WINDOW;
use crate::shared::LossReason;
use crate::stats::Stats;

impl Receiver {
    /// A segment or batch entry went through reassembly with this result.
    pub(super) fn on_data(
        &mut self,
        now: Instant,
        stats: &mut Stats,
        segment: &Segment,
        arrival: Arrival,
    ) {
        let (sender, seq) = (segment.sender, segment.seq);
        let retransmission = segment.retransmission;
        let accepted = !matches!(arrival, Arrival::Dropped(_));
        let Some(state) = self.senders.get_mut(&sender) else {
            return;
        };
        state.last_alive = now;
        state.vouch(segment.from, seq.saturating_add(1), now);
        // A complete message that is a valid event makes its sender
        // believed real (checked once: until then).
        let believe = match &arrival {
            Arrival::Complete(body) if !state.believed => crate::args::is_event(body),
            _ => false,
        };
        // Resumed on a datagram from elsewhere: its own data, from home,
        // makes it believed again (and it may be established).
        let home_again = state.home_unheard && state.home == Some(segment.from);
        if home_again {
            state.home_unheard = false;
        }
        let believe = believe || (home_again && !state.believed);
        if let Arrival::Complete(body) = &arrival {
            state.believed |= believe;
            state.remember_digest(seq, segment.count, body);
        }
        if believe {
            // Its losses from before come first, whatever becomes of this
            // message (delivered, held, or from before this node's start).
            super::order::tell_waiting_losses(&mut self.out.events, stats, state);
        }
        if accepted && retransmission {
            stats.repairs_received += 1;
        }
        if state.join.is_some() && !retransmission {
            state.first_live = Some(state.first_live.map_or(seq, |f| f.min(seq)));
        }
        if seq < state.start {
            if state.join.is_some() {
                // Heard before the join is settled: the stream reaches
                // back at least this far (and what lies between is
                // missing; so is this one, if it could not be taken).
                let missing = if accepted { seq + 1 } else { seq };
                self.lower_start(now, stats, sender, seq, missing);
            } else {
                // From before this node's start of the stream (a late
                // joiner's history, or a repair for others): no recovery.
                if let Arrival::Complete(body) = arrival {
                    if self.config.ordered {
                        stats.dropped.before_start += 1;
                        trace!(%sender, seq, "message from before this node's start dropped");
                    } else {
                        self.out.deliver(stats, state, seq, segment.from, body);
                    }
                }
                if believe {
                    // Its home, and what waited for its belief, as on
                    // every other path.
                    self.believe(now, stats, sender);
                }
                return;
            }
        }
        // A message reassembly could not take is still missing. Every
        // message below this one was sent in full.
        self.extend_known(now, sender, seq + 1, !accepted, seq, stats);
        // A seq inside a gap is no longer missing whole (unless reassembly
        // could not take it: then it is still missing).
        if accepted {
            self.split_gap(stats, sender, seq);
        }
        match arrival {
            Arrival::Dropped(_) => {}
            Arrival::Buffered => self.watch_partial(now, sender, seq),
            Arrival::Complete(body) => self.complete(now, stats, segment, body),
        }
        if believe {
            self.believe(now, stats, sender);
        }
        self.arm_join(now, sender);
        self.below_window(now, stats, sender);
        self.flush(stats, sender);
        self.tidy_timer(sender);
    }

    /// A new segment of partial `seq`: ask for it after a back-off if it
    /// is known to lack one, or else watch for a stall. A back-off whose
    /// hole was filled (a segment merely reordered) ends: a hole noticed
    /// later gets a back-off of its own, rather than the old one's round,
    /// which may come before a segment sent just now could arrive.
    fn watch_partial(&mut self, now: Instant, sender: SenderId, seq: u64) {
        let Some(state) = self.senders.get_mut(&sender) else {
            return;
        };
        let all_sent = seq < state.sent_below;
        let Some(partial) = state.partials.get_mut(&seq) else {
            return;
        };
        let hole = partial.has_hole(all_sent);
        let item = partial.ask.get_or_insert(Item::new(State::Idle));
        item.asks = 0;
        let next = match item.state {
            State::Idle | State::Stall(_) if hole => Some(self.backoff(now, sender)),
            State::Idle | State::Stall(_) | State::Backoff(_)
                if self.config.max_retransmit_attempts > 0 && !hole =>
            {
                Some(State::Stall(now + self.config.repair_timeout))
            }
            _ => None,
        };
        if let Some(next) = next {
            self.set_partial(sender, seq, next);
        }
    }

    /// Sets the ask state of partial `seq` of `sender`, and wakes up for it.
    pub(super) fn set_partial(&mut self, sender: SenderId, seq: u64, state: State) {
        let wake = self
            .senders
            .get_mut(&sender)
            .and_then(|s| s.partials.get_mut(&seq))
            .and_then(|p| p.ask.as_mut())
            .and_then(|item| {
                item.state = state;
                item.wake()
            });
        self.schedule(sender, wake);
    }

    /// Sets the state of the gap starting at `first`, and wakes up for it.
    pub(super) fn set_gap(&mut self, sender: SenderId, first: u64, state: State) {
        let wake = self
            .senders
            .get_mut(&sender)
            .and_then(|s| s.gaps.get_mut(&first))
            .and_then(|gap| {
                gap.item.state = state;
                gap.item.wake()
            });
        self.schedule(sender, wake);
    }

    /// Everything up to `end` (exclusive) exists, and everything below
    /// `sent` was sent in full: records new gaps (up to `end - 1`, or `end`
    /// with `last_missing`), and partials below `sent` ask for whatever
    /// segment they lack.
    pub(super) fn extend_known(
        &mut self,
        now: Instant,
        sender: SenderId,
        end: u64,
        last_missing: bool,
        sent: u64,
        stats: &mut Stats,
    ) {
        let Some(state) = self.senders.get_mut(&sender) else {
            return;
        };
        // Nothing beyond the window can be tracked: only a heartbeat's lead
        // can point there (an honest one never does); what lies there is
        // learnt when data from there slides the window.
        let limit = state.window.base().saturating_add(WINDOW);
        let (end, sent) = (end.min(limit), sent.min(limit));
        if sent > state.sent_below {
            let from = state.sent_below;
            state.sent_below = sent;
            let waiting: Vec<u64> = state
                .partials
                .range(from..sent)
                .filter(|(_, p)| {
                    p.ask
                        .is_some_and(|i| matches!(i.state, State::Idle | State::Stall(_)))
                })
                .map(|(s, _)| *s)
                .collect();
            for seq in waiting {
                let next = self.backoff(now, sender);
                self.set_partial(sender, seq, next);
            }
        }
        let Some(state) = self.senders.get_mut(&sender) else {
            return;
        };
        if end <= state.known_end {
            return;
        }
        let old = state.known_end.max(state.start);
        state.known_end = end;
        let gap_end = if last_missing { end } else { end - 1 };
        self.record_gap(now, stats, sender, old, gap_end);
    }

    /// Records `first .. end`, never heard, as a gap to ask for (or, below
    /// the window or without memory for the record, as lost).
    pub(super) fn record_gap(
        &mut self,
        now: Instant,
        stats: &mut Stats,
        sender: SenderId,
        first: u64,
        end: u64,
    ) {
        if first >= end {
            return;
        }
        if self.config.max_retransmit_attempts == 0 && !self.config.ordered {
            // Nobody asks for them and nothing waits for them: without
            // recovery and order, messages never heard go unrecorded.
            return;
        }
        self.catch_up(stats, sender);
        let Some(state) = self.senders.get_mut(&sender) else {
            return;
        };
        let base = state.window.base();
        if first < base {
            let lost_end = base.min(end);
            report_loss(
                &mut self.out.events,
                stats,
                state,
                first,
                lost_end - first,
                LossReason::Overrun,
            );
        }
        let first = first.max(base);
        // Nothing beyond the window can be tracked (only a heartbeat's lead
        // can point there, and an honest one never does).
        let end = end.min(base.saturating_add(WINDOW));
        if first >= end {
            return;
        }
        if self.ledger.bytes + GAP_CHARGE > self.config.max_partial_bytes {
            self.room_for(stats, sender, GAP_CHARGE);
        }
        let Some(state) = self.senders.get_mut(&sender) else {
            return;
        };
        if !state.charge(&mut self.ledger, &self.config, GAP_CHARGE) {
            if !state.believed {
                // Nothing is asked of a sender not believed real: its gap
                // goes unrecorded (giving it up would take window memory
                // the budgets no longer have). What lies there waits, and
                // is reported only if something later gives it up.
                stats.gaps_unrecorded += 1;
                trace!(%sender, first, end, "no room to record a gap of a sender not believed");
                return;
            }
            // Only what the sender vouched for is given up and reported;
            // the rest stays open, unrecorded (see `vouched`).
            let vouched_end = end.min(state.vouched).max(first);
            if vouched_end < end {
                stats.gaps_unrecorded += 1;
                trace!(%sender, first = vouched_end, end, "no room to record a gap past what the sender vouched for");
            }
            let end = vouched_end; // what is given up and reported
            state.give_up_range(&mut self.ledger, stats, first, end);
            report_loss(
                &mut self.out.events,
                stats,
                state,
                first,
                end - first,
                LossReason::Overrun,
            );
            return;
        }
        let mut item = Item::new(self.backoff(now, sender));
        item.deadline = Some(now + self.config.message_ttl);
        if let Some(state) = self.senders.get_mut(&sender) {
            state.gaps.insert(first, Gap { end, item });
        }
        trace!(%sender, first, end, "gap");
        self.schedule(sender, item.wake());
    }

    /// A heartbeat of `sender`, just touched (`new`: first heard through
    /// it): its lead and trail (checked for plausibility), and the `age`
    /// of its stream, if the heartbeat may settle the join (it came from
    /// the sender's home, or from where its latest data came: an
    /// impersonator's age from elsewhere would make a late joiner ask for
    /// history, or one owed the stream skip it).
    pub(super) fn on_stream_heartbeat(
        &mut self,
        now: Instant,
        stats: &mut Stats,
        sender: SenderId,
        (lead, trail): (u64, u64),
        age: Option<Duration>,
        new: bool,
    ) {
        let entitled = age.is_some_and(|age| self.entitled(now, age));
        if new {
            // First heard through a heartbeat: the stream starts at its
            // lead, or at 0 if it began after this node joined.
            if let Some(s) = self.senders.get_mut(&sender) {
                s.trail = trail;
            }
            if lead > 0 {
                if entitled {
                    self.lower_start(now, stats, sender, 0, 0);
                    self.lose_below(stats, sender, trail, LossReason::NotRepairable);
                } else {
                    stats.late_joins += 1;
                }
            }
            self.flush(stats, sender);
            self.tidy_timer(sender);
            return;
        }
        if age.is_some() {
            self.decide(now, stats, sender, entitled, Some(lead));
        }
        self.extend_known(now, sender, lead, true, lead, stats);
        let Some(state) = self.senders.get_mut(&sender) else {
            return;
        };
        // Only what the sender vouched for can be beyond its repair: a
        // trail from elsewhere may be forged.
        let trail = trail.min(state.vouched);
        if trail > state.trail {
            state.trail = trail;
            self.lose_below(stats, sender, trail, LossReason::NotRepairable);
        }
        self.flush(stats, sender);
        self.tidy_timer(sender);
    }

    /// Tells what the senders forgotten to make room leave behind: what is
    /// missing is lost, what is held is delivered, in order.
    pub(super) fn forget_evicted(&mut self, stats: &mut Stats) {
        for mut state in std::mem::take(&mut self.evicted) {
            // Nothing is reported of a sender not established (ids made up
            // by strangers send a datagram or two): what it left unfinished
            // is counted (`abandoned`), so that strangers cannot flood the
            // application with loss reports.
            if state.established() {
                self.report_evicted(stats, &mut state);
            }
            for (seq, held) in std::mem::take(&mut state.held) {
                self.out
                    .deliver(stats, &mut state, seq, held.from, held.body);
            }
        }
    }

    /// The losses an established sender forgotten leaves: its gaps, and
    /// the partial messages it owed this node, as far as it vouched for
    /// them.
    fn report_evicted(&mut self, stats: &mut Stats, state: &mut SenderState) {
        // What the sender never vouched for is not its loss.
        let vouched = state.vouched;
        let gaps: Vec<(u64, u64)> = state
            .gaps
            .iter()
            .map(|(f, g)| (*f, g.end.min(vouched)))
            .filter(|(f, end)| f < end)
            .collect();
        for (first, end) in gaps {
            let events = &mut self.out.events;
            report_loss(
                events,
                stats,
                state,
                first,
                end - first,
                LossReason::Evicted,
            );
        }
        let owed: Vec<u64> = state
            .overrun
            .iter()
            .copied()
            .chain(
                state
                    .partials
                    .range(..vouched)
                    .filter(|(_, p)| p.ask.is_some())
                    .map(|(s, _)| *s),
            )
            .collect();
        for seq in owed {
            report_loss(
                &mut self.out.events,
                stats,
                state,
                seq,
                1,
                LossReason::Evicted,
            );
        }
    }
}
