//! Delivery in order, and losses: complete messages are delivered or held
//! behind a missing earlier one; what is given up is reported once.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::Instant;

use tracing::{debug, trace};

use super::state::{Gap, Held, Segment, SenderState};
use super::{Deliveries, Receiver, GAP_CHARGE};
use crate::args::decode_received_as;
use crate::ids::{MessageSeq, SenderId};
use crate::seqwindow::SeqStatus;
use crate::shared::{EndpointEvent, Loss, LossReason};
use crate::stats::Stats;

/// Events a flush queues for the application while it has not taken
/// those before: a repair that fills a gap under a long run of held
/// messages (a receiver that fell behind under a burst) delivers them as
/// the application takes them, rather than all at once, decoded, beside
/// the held ones.
pub(crate) const DELIVER_AT_ONCE: usize = 1024;

impl Receiver {
    /// A complete message: deliver it, or hold it for order.
    pub(super) fn complete(
        &mut self,
        now: Instant,
        stats: &mut Stats,
        segment: &Segment,
        body: Vec<u8>,
    ) {
        let (sender, seq, from) = (segment.sender, segment.seq, segment.from);
        let ordered = self.config.ordered;
        self.catch_up(stats, sender);
        let Some(state) = self.senders.get_mut(&sender) else {
            return;
        };
        if !ordered || (seq == state.next && state.join.is_none()) {
            if ordered {
                state.next = seq + 1;
            }
            self.out.deliver(stats, state, seq, from, body);
            return;
        }
        if seq < state.next {
            // Behind the delivery point (only after a forced skip).
            self.out.deliver(stats, state, seq, from, body);
            return;
        }
        let held = Held { from, body };
        if self.ledger.bytes + held.charge() > self.config.max_partial_bytes {
            // Strangers' partial messages give way to a real sender's
            // messages held for order, as to its segments.
            self.room_for(stats, sender, held.charge());
        }
        let Some(state) = self.senders.get_mut(&sender) else {
            return;
        };
        if state.charge(&mut self.ledger, &self.config, held.charge()) {
            state.held.insert(seq, held);
            return;
        }
        // No room to hold it: give up whatever it waits for (and the
        // pending join: nothing earlier will be asked for).
        debug!(%sender, seq, "no room to hold a message for order: earlier gaps given up");
        self.decide(now, stats, sender, false, None);
        if self.senders.get(&sender).is_some_and(|s| seq < s.start) {
            // The join, settled just now as a late join, starts past it:
            // history this node is not owed, dropped as it is with room
            // (else it would be delivered below the start, the messages
            // between it and the start neither delivered nor reported).
            stats.dropped.before_start += 1;
            trace!(%sender, seq, "message from before this node's start dropped");
            return;
        }
        // Only as far as the sender vouched for: a message from elsewhere
        // (an impersonator's, perhaps) may lie past that, and what lies
        // between is not the sender's loss (see `vouched`). It stays
        // missing, and the message goes ahead of it.
        let cut = self
            .senders
            .get(&sender)
            .map_or(seq, |s| seq.min(s.vouched.max(s.next)));
        self.lose_below(stats, sender, cut, LossReason::Overrun);
        if let Some(state) = self.senders.get_mut(&sender) {
            if cut == seq {
                state.next = state.next.max(seq + 1);
            }
            self.out.deliver(stats, state, seq, held.from, held.body);
        }
    }

    /// Declares `first .. end` lost (gaps or partials among them).
    pub(super) fn lose(
        &mut self,
        stats: &mut Stats,
        sender: SenderId,
        first: u64,
        end: u64,
        reason: LossReason,
    ) {
        self.catch_up(stats, sender);
        let Some(state) = self.senders.get_mut(&sender) else {
            return;
        };
        let (ledger, config, events) = (&mut self.ledger, &self.config, &mut self.out.events);
        // Whole gaps inside the range go, partially covered ones shrink.
        let keys: Vec<u64> = state.gaps.range(..end).map(|(k, _)| *k).collect();
        for k in keys {
            let Some(gap) = state.gaps.remove(&k) else {
                continue;
            };
            if gap.end <= first {
                state.gaps.insert(k, gap);
                continue;
            }
            let lo = k.max(first);
            let hi = gap.end.min(end);
            // (A gap holds no partial message: counted if it did.)
            state.give_up_range(ledger, stats, lo, hi);
            report_loss(events, stats, state, lo, hi - lo, reason);
            let mut charges = 0;
            if k < lo {
                let item = gap.item;
                state.gaps.insert(k, Gap { end: lo, item });
                charges += 1;
            }
            if hi < gap.end {
                let item = gap.item;
                state.gaps.insert(hi, Gap { end: gap.end, item });
                charges += 1;
            }
            if charges == 0 {
                state.release(ledger, GAP_CHARGE);
            } else if charges == 2 && !state.charge(ledger, config, GAP_CHARGE) {
                // No room for the split: the upper part goes too.
                if let Some(upper) = state.gaps.remove(&hi) {
                    state.give_up_range(ledger, stats, hi, upper.end);
                    report_loss(events, stats, state, hi, upper.end - hi, reason);
                }
            }
        }
        // Partials owed to this node: those the window pushed out first
        // (they are all below the others; counted as they slid), and those
        // still held, counted here (`abandoned`, as every partial message
        // given up unfinished but by expiry).
        let (slid, kept): (Vec<u64>, Vec<u64>) = state
            .overrun
            .iter()
            .partition(|&&s| (first..end).contains(&s));
        state.overrun = kept;
        let owed: Vec<u64> = state
            .partials
            .range(first..end)
            .filter(|(_, p)| p.ask.is_some())
            .map(|(k, _)| *k)
            .collect();
        for seq in slid.into_iter().chain(owed) {
            state.give_up(ledger, stats, seq);
            report_loss(events, stats, state, seq, 1, reason);
        }
    }

    /// Gives up everything missing below `seq`, and delivers what was held
    /// below it.
    pub(super) fn lose_below(
        &mut self,
        stats: &mut Stats,
        sender: SenderId,
        seq: u64,
        reason: LossReason,
    ) {
        let start = self.senders.get(&sender).map_or(seq, |s| s.start);
        if start < seq {
            self.lose(stats, sender, start, seq, reason);
        }
        self.flush_below(stats, sender, seq);
    }

    /// Delivers every held message below `seq` in order and moves the
    /// delivery point to at least `seq`.
    pub(super) fn flush_below(&mut self, stats: &mut Stats, sender: SenderId, seq: u64) {
        let Some(state) = self.senders.get_mut(&sender) else {
            return;
        };
        let keep = state.held.split_off(&seq);
        let below = std::mem::replace(&mut state.held, keep);
        for (s, held) in below {
            state.release(&mut self.ledger, held.charge());
            self.out.deliver(stats, state, s, held.from, held.body);
        }
        if self.config.ordered {
            state.next = state.next.max(seq);
        }
    }

    /// Losses for everything that slid below the sender's window.
    pub(super) fn below_window(&mut self, now: Instant, stats: &mut Stats, sender: SenderId) {
        let Some(state) = self.senders.get(&sender) else {
            return;
        };
        let base = state.window.base();
        let behind = !state.overrun.is_empty()
            || state.gaps.first_key_value().is_some_and(|(k, _)| *k < base)
            || state
                .partials
                .first_key_value()
                .is_some_and(|(k, _)| *k < base)
            || (self.config.ordered && state.next < base);
        if behind {
            self.decide(now, stats, sender, false, None);
            self.lose_below(stats, sender, base, LossReason::Overrun);
        }
    }

    /// Delivers held messages that are next in order, stepping over
    /// messages already given up; while the application has
    /// [`DELIVER_AT_ONCE`] events waiting, the rest wait for room (see
    /// [`deliver_waiting`](Receiver::deliver_waiting)).
    pub(super) fn flush(&mut self, stats: &mut Stats, sender: SenderId) {
        self.flush_up_to(stats, sender, DELIVER_AT_ONCE);
    }

    /// Delivers every held message of `sender` that waits for room, so
    /// that what is reported of it next comes after them.
    pub(super) fn catch_up(&mut self, stats: &mut Stats, sender: SenderId) {
        if self.senders.get(&sender).is_some_and(|s| s.waiting_room) {
            self.flush_up_to(stats, sender, usize::MAX);
        }
    }

    /// Delivers what waited for room, up to [`DELIVER_AT_ONCE`] events;
    /// returns whether there is any event now.
    pub(crate) fn deliver_waiting(&mut self, stats: &mut Stats) -> bool {
        self.outside = 0;
        while self.out.events.len() < DELIVER_AT_ONCE {
            let Some(sender) = self.waiting_room.pop_front() else {
                break;
            };
            self.flush(stats, sender);
        }
        !self.out.events.is_empty()
    }

    fn flush_up_to(&mut self, stats: &mut Stats, sender: SenderId, limit: usize) {
        if let Some(state) = self.senders.get_mut(&sender) {
            if std::mem::take(&mut state.waiting_room) {
                self.waiting_room.retain(|s| *s != sender);
            }
        }
        if !self.config.ordered {
            return;
        }
        let Some(state) = self.senders.get_mut(&sender) else {
            return;
        };
        if state.join.is_some() {
            return;
        }
        // The window moved past the delivery point (what lay between was
        // reported then): on from its base.
        let base = state.window.base();
        if state.next < base {
            self.lose_below(stats, sender, base, LossReason::Overrun);
        }
        let Some(state) = self.senders.get_mut(&sender) else {
            return;
        };
        loop {
            let next = state.next;
            let full = self.out.events.len().saturating_add(self.outside) >= limit;
            if full && state.held.contains_key(&next) {
                // The application has enough to take for now.
                state.waiting_room = true;
                self.waiting_room.push_back(sender);
                break;
            }
            if let Some(held) = state.held.remove(&next) {
                state.release(&mut self.ledger, held.charge());
                self.out.deliver(stats, state, next, held.from, held.body);
                state.next += 1;
                continue;
            }
            if next < state.known_end
                && !state.gaps.contains_key(&next)
                && !state.asks_for(next)
                && state.window.status(next) == SeqStatus::Finished
            {
                // Given up earlier (reported then), and so may be the ones
                // after it: step over them at once, up to the next message
                // held (held ones are finished too).
                let open = state.window.next_open(next);
                let held = state.held.keys().next().copied().unwrap_or(u64::MAX);
                state.next = open.min(held).min(state.known_end).max(next + 1);
                continue;
            }
            break;
        }
    }

    /// Takes message `seq` out of the gap that holds it, if any.
    pub(super) fn split_gap(&mut self, stats: &mut Stats, sender: SenderId, seq: u64) {
        self.catch_up(stats, sender);
        let Some(state) = self.senders.get_mut(&sender) else {
            return;
        };
        let Some((&first, gap)) = state.gaps.range(..=seq).next_back() else {
            return;
        };
        if gap.end <= seq {
            return;
        }
        let (end, item) = (gap.end, gap.item);
        state.gaps.remove(&first);
        let mut parts = 0;
        if first < seq {
            state.gaps.insert(first, Gap { end: seq, item });
            parts += 1;
        }
        if seq + 1 < end {
            state.gaps.insert(seq + 1, Gap { end, item });
            parts += 1;
        }
        let ledger = &mut self.ledger;
        match parts {
            0 => state.release(ledger, GAP_CHARGE),
            2 if !state.charge(ledger, &self.config, GAP_CHARGE) => {
                // No room for another record: the upper part is given up,
                // as far as the sender vouched for it (the rest stays
                // open, unrecorded).
                state.gaps.remove(&(seq + 1));
                let end = end.min(state.vouched).max(seq + 1);
                state.give_up_range(ledger, stats, seq + 1, end);
                let (events, count) = (&mut self.out.events, end - seq - 1);
                report_loss(events, stats, state, seq + 1, count, LossReason::Overrun);
            }
            _ => {}
        }
    }
}

/// Reports `count` messages of `state`'s sender from `first` on as lost.
/// (Consecutive reports are merged as the endpoint queues them.)
///
/// The report of a sender not believed real waits until it is (see
/// [`tell_waiting_losses`]): an id a stranger makes up and sends only
/// partial messages under is never believed, and those are nobody's
/// loss. A real sender's first messages lost before anything of it
/// completed are told with its first event.
pub(super) fn report_loss(
    events: &mut VecDeque<EndpointEvent>,
    stats: &mut Stats,
    state: &mut SenderState,
    first: u64,
    count: u64,
    reason: LossReason,
) {
    if count == 0 {
        return;
    }
    let sender = state.id;
    if !state.believed {
        stats.losses_waiting = stats.losses_waiting.saturating_add(count);
        if state.wait_loss(first, count, reason) {
            debug!(%sender, first, count, ?reason, "messages lost: told once the sender is believed real");
        } else {
            stats.losses_untold = stats.losses_untold.saturating_add(count);
            debug!(%sender, first, count, ?reason, "messages lost: not told (a sender not believed real, too many waiting)");
        }
        return;
    }

    stats.messages_lost = stats.messages_lost.saturating_add(count);
    state.lost = state.lost.saturating_add(count);
    debug!(%sender, first, count, ?reason, "messages lost");
    events.push_back(EndpointEvent::Loss(Loss {
        sender,
        first: MessageSeq::new(first),
        count,
        reason,
    }));
}

/// Tells the losses that waited for `state`'s sender to be believed real,
/// once it is.
pub(super) fn tell_waiting_losses(
    events: &mut VecDeque<EndpointEvent>,
    stats: &mut Stats,
    state: &mut SenderState,
) {
    if !state.believed {
        return;
    }
    for loss in std::mem::take(&mut state.waiting_losses) {
        report_loss(events, stats, state, loss.first, loss.count, loss.reason);
    }
}

impl Deliveries {
    /// Decodes a complete body of `state`'s sender and queues it for the
    /// application, its name shared with the messages delivered before.
    pub(super) fn deliver(
        &mut self,
        stats: &mut Stats,
        state: &mut SenderState,
        seq: u64,
        from: SocketAddr,
        body: Vec<u8>,
    ) {
        if !state.waiting_losses.is_empty() {
            // Its losses before it was believed come before its events.
            tell_waiting_losses(&mut self.events, stats, state);
        }
        let (sender, seq) = (state.id, MessageSeq::new(seq));
        let (names, spares) = (&mut self.names, &mut self.spares);
        // Made once, where it is complete (in a spare if there is one):
        // every queue after this moves a pointer, and the application's
        // event is this.
        let make = |name, args| spares.message(sender, seq, from, name, args);
        let last = Some(&mut self.last_flat);
        match decode_received_as(body, last, |name| names.share(name), make) {
            Ok(message) => {
                stats.messages_received += 1;
                state.delivered = state.delivered.saturating_add(1);
                trace!(%sender, %seq, %from, name = &*message.name, "message delivered");
                self.events.push_back(EndpointEvent::Message(message));
            }
            Err(e) => {
                stats.dropped.bad_body += 1;
                debug!(%sender, %seq, %from, error = %e, "message body dropped");
            }
        }
    }
}
