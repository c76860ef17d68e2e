//! Reassembly: segments into messages, per sender, within the budgets;
//! the window of finished messages; expiry of partial messages that stop
//! making progress; senders tracked and forgotten.

use std::net::SocketAddr;
use std::time::Instant;

use tracing::{debug, trace};

use super::resume::Verdict;
use super::segments::{Hooks, Segments};
use super::state::{FirstHeard, Item, Ledger, Partial, Segment, SenderState};
use super::{Arrival, DropReason, Receiver};
use crate::config::{Config, SEGMENT_OVERHEAD};
use crate::ids::{MessageSeq, SenderId};
use crate::seqwindow::SeqStatus;
use crate::shared::LossReason;
use crate::stats::Stats;

impl Receiver {
    /// Feeds one segment to reassembly.
    pub(super) fn insert(
        &mut self,
        now: Instant,
        stats: &mut Stats,
        segment: &Segment,
        payload: &[u8],
    ) -> Arrival {
        let arrival = self.insert_segment(now, stats, segment, payload);
        if let Some(state) = self.senders.get_mut(&segment.sender) {
            state.settle_window(&mut self.ledger);
        }
        arrival
    }

    fn insert_segment(
        &mut self,
        now: Instant,
        stats: &mut Stats,
        segment: &Segment,
        payload: &[u8],
    ) -> Arrival {
        let (sender, seq) = (segment.sender, segment.seq);
        if let Err(reason) = self.admit(now, stats, segment) {
            return Arrival::Dropped(reason);
        }
        if segment.count == 1 {
            return match self.finish_whole(sender, seq) {
                Ok(()) => Arrival::Complete(self.out.spares.body(payload)),
                Err(reason) => Arrival::Dropped(reason),
            };
        }
        self.make_room(stats, segment, payload.len());
        let config = &self.config;
        let ledger = &mut self.ledger;
        let Some(state) = self.senders.get_mut(&sender) else {
            return Arrival::Dropped(DropReason::Stale);
        };
        // Room for the bit that will say it is finished.
        let chunk = state.window.charge_for(seq);

        let charge = payload.len() + SEGMENT_OVERHEAD;
        let need = charge + chunk;
        let over_budget = state.bytes + need > config.max_partial_bytes_per_sender
            || ledger.bytes + need > config.max_partial_bytes;
        // The body's buffer is reserved for all of it only for a sender
        // believed real with no other partial message, and only while the
        // budgets could hold all of it: a stranger's claimed length
        // reserves nothing, and a sender at most one message's worth.
        let whole = segment.message_len as usize;
        let fits = state.believed
            && state.partials.is_empty()
            && state.bytes + whole <= config.max_partial_bytes_per_sender
            && ledger.bytes + whole <= config.max_partial_bytes;
        let deadline = now + config.message_ttl;
        let partial = match state.partials.get_mut(&seq) {
            Some(p) => {
                if (p.count, p.segment_size, p.message_len)
                    != (segment.count, segment.segment_size, segment.message_len)
                {
                    return Arrival::Dropped(DropReason::Inconsistent);
                }
                if p.segments.contains(segment.index) {
                    return Arrival::Dropped(DropReason::Duplicate);
                }
                if over_budget {
                    return Arrival::Dropped(DropReason::OverBudget);
                }
                ledger
                    .expiry
                    .remove(&(p.deadline, sender, MessageSeq::new(seq)));
                p
            }
            None => {
                if over_budget || state.partials.len() >= config.max_partial_messages_per_sender {
                    return Arrival::Dropped(DropReason::OverBudget);
                }
                ledger.partials += 1;
                state.window.reserve(seq);
                state.partials.entry(seq).or_insert(Partial {
                    count: segment.count,
                    max_index: 0,
                    segment_size: segment.segment_size,
                    message_len: segment.message_len,
                    segments: Segments::default(),
                    deadline,
                    bytes: 0,
                    ask: None,
                })
            }
        };
        partial.segments.insert(
            segment.index,
            payload,
            fits.then_some(whole),
            Hooks {
                reserve: config.reserve_hook,
                source: config.buffer_source.as_ref(),
            },
        );
        partial.bytes += charge;
        partial.deadline = deadline;
        partial.max_index = partial.max_index.max(segment.index);
        state.bytes += charge;
        ledger.bytes += charge;

        if partial.segments.len() as u64 == u64::from(partial.count) {
            let Some(done) = state.partials.remove(&seq) else {
                return Arrival::Buffered;
            };
            state.window.finish(seq);
            state.bytes -= done.bytes;
            ledger.bytes -= done.bytes;
            ledger.partials -= 1;
            return match done.segments.into_body() {
                Some(body) => Arrival::Complete(body),
                None => Arrival::Dropped(DropReason::Inconsistent),
            };
        }
        ledger
            .expiry
            .insert((deadline, sender, MessageSeq::new(seq)));
        Arrival::Buffered
    }

    /// Whether `segment` (of a message of several) would be buffered if
    /// the budgets had room: its message is new and the sender may open
    /// another, or it is open, consistent, and lacks this segment.
    fn would_buffer(&self, segment: &Segment) -> bool {
        let Some(state) = self.senders.get(&segment.sender) else {
            return false;
        };
        match state.partials.get(&segment.seq) {
            Some(p) => {
                (p.count, p.segment_size, p.message_len)
                    == (segment.count, segment.segment_size, segment.message_len)
                    && !p.segments.contains(segment.index)
            }
            None => state.partials.len() < self.config.max_partial_messages_per_sender,
        }
    }

    /// For a believed sender's segment of `payload` bytes that would be
    /// buffered and fits its own budget but not the total: forgets senders
    /// not believed real that hold partial messages until it fits (see
    /// [`admission`](super::admission)), if together they hold enough to
    /// make it fit; otherwise nobody.
    fn make_room(&mut self, stats: &mut Stats, segment: &Segment, payload: usize) {
        let Some(state) = self.senders.get(&segment.sender) else {
            return;
        };
        let need = payload + SEGMENT_OVERHEAD + state.window.charge_for(segment.seq);
        if self.ledger.bytes + need > self.config.max_partial_bytes && self.would_buffer(segment) {
            self.room_for(stats, segment.sender, need);
        }
    }

    /// For `need` more bytes of a believed sender that fit its own budget
    /// but not the total (a segment, a message held for order, a gap
    /// record): forgets senders not believed real that hold partial
    /// messages until they fit (see [`admission`](super::admission)), if
    /// together they hold enough to make them fit; otherwise nobody.
    pub(super) fn room_for(&mut self, stats: &mut Stats, sender: SenderId, need: usize) {
        let Some(state) = self.senders.get(&sender).filter(|s| s.believed) else {
            return;
        };
        if state.bytes + need > self.config.max_partial_bytes_per_sender {
            // Over its own budget: refused whatever room there is.
            return;
        }
        let short = (self.ledger.bytes + need).saturating_sub(self.config.max_partial_bytes);
        if short == 0 || super::admission::budget_victims_hold(&self.senders, sender) < short {
            return;
        }
        while self.ledger.bytes + need > self.config.max_partial_bytes {
            let Some(victim) = super::admission::budget_victim(&self.senders, sender) else {
                break;
            };
            debug!(%victim, for_sender = %sender, "sender not believed forgotten to make room");
            stats.senders_forgotten_for_room += 1;
            self.evict(stats, victim);
        }
    }

    /// Creates (or refreshes) the state of `sender`, heard `now` from
    /// `from`, making room if needed (see [`admission`](super::admission)).
    /// Returns whether the sender is new, or `None` if it was refused.
    pub(super) fn touch(
        &mut self,
        now: Instant,
        stats: &mut Stats,
        sender: SenderId,
        from: SocketAddr,
        first: FirstHeard,
    ) -> Option<bool> {
        let lead = if first.data {
            first.seq.saturating_add(1)
        } else {
            first.seq
        };
        if let Some(state) = self.senders.get_mut(&sender) {
            state.last_heard = now;
            state.from = from;
            state.lead = state.lead.max(lead);
            state.heard = state.heard.saturating_add(1);
            super::budget::NackBudget::earned(&mut state.nacks);
            if first.data {
                state.data_end = state.data_end.max(lead);
                state.data_heard(from);
            }
            return Some(false);
        }
        if self.senders.len() >= self.config.max_senders {
            let Some(victim) = super::admission::victim(&self.senders, now, &self.config) else {
                stats.senders_refused += 1;
                debug!(%sender, %from, "sender table full of live senders: newcomer refused");
                return None;
            };
            self.evict(stats, victim);
        }
        let point = self
            .remembered
            .take(sender)
            .or_else(|| self.glimpsed.take(sender));
        // Data far from the point of a sender heard once before (a strong
        // point has dropped data far ahead already: see `plausible_data`)
        // starts it afresh, keeping the point: that one datagram before
        // may have been forged, or this one may be.
        let mut floor = None;
        if let Some(point) = point {
            match point.judge(first.seq, now, from) {
                Verdict::Ahead | Verdict::Below if !point.strong => {
                    debug!(%sender, seq = first.seq, resume = point.seq, "far from a forgotten sender's point: afresh, keeping it");
                    floor = Some(point);
                }
                _ => {
                    debug!(%sender, resume = point.seq, "forgotten sender heard again: resumes where it was");
                    stats.senders_resumed += 1;
                    let state = SenderState::resumed(sender, now, from, first, point);
                    self.senders.insert(sender, state);
                    return Some(true);
                }
            }
        }
        let join = self.first_join(now, stats, sender, first);
        let mut state = SenderState::new(sender, now, from, first, join);
        if let Some(point) = floor {
            state.rest_on(point);
        }
        self.senders.insert(sender, state);
        if let Some(wake) = join.and_then(|j| j.wake()) {
            trace!(%sender, first = first.seq, "first heard mid-stream: asking for a heartbeat");
            self.schedule(sender, Some(wake));
        }
        Some(true)
    }

    /// Whether a sender first heard this way leaves the join decision
    /// pending (first heard mid-stream, or through a repair): the request
    /// for a heartbeat that will settle it.
    fn first_join(
        &mut self,
        now: Instant,
        stats: &mut Stats,
        sender: SenderId,
        first: FirstHeard,
    ) -> Option<Item> {
        let probe = first.data;
        if probe && !(first.seq == 0 && first.live) && self.config.max_retransmit_attempts > 0 {
            // Idle until the sender is believed and heard again (see
            // `arm_join`): an id that sent one datagram is asked nothing.
            let _ = sender;
            let mut item = Item::new(super::state::State::Idle);
            item.deadline = Some(now + self.config.message_ttl);
            return Some(item);
        }
        if probe && first.seq > 0 {
            // Nobody asks: no way to tell, so a late joiner from the
            // first message heard.
            stats.late_joins += 1;
        }
        None
    }

    /// The checks every segment passes first: its message's size, its
    /// sender (tracked from now on, its window moved on to cover the
    /// message, dropping the partial messages it leaves behind), and
    /// whether the message is still open.
    fn admit(
        &mut self,
        now: Instant,
        stats: &mut Stats,
        segment: &Segment,
    ) -> Result<(), DropReason> {
        let (sender, seq) = (segment.sender, segment.seq);
        if segment.message_len as usize > self.config.max_message_size {
            return Err(DropReason::TooLarge);
        }
        let first = FirstHeard {
            seq,
            data: true,
            live: !segment.retransmission,
        };
        if self
            .touch(now, stats, sender, segment.from, first)
            .is_none()
        {
            return Err(DropReason::Refused);
        }
        let ledger = &mut self.ledger;
        let Some(state) = self.senders.get_mut(&sender) else {
            return Err(DropReason::Stale);
        };
        if state.floor().is_some_and(|f| f.covers(seq)) {
            // Just below the point it was forgotten with: delivered (or
            // owed and lost) before, whatever its state now starts from.
            return Err(DropReason::Stale);
        }
        if state.window.cover(seq) {
            let base = state.window.base();
            let keep = state.partials.split_off(&base);
            let gone = std::mem::replace(&mut state.partials, keep);
            for (s, p) in gone {
                state.bytes -= p.bytes;
                ledger.bytes -= p.bytes;
                ledger.partials -= 1;
                ledger
                    .expiry
                    .remove(&(p.deadline, sender, MessageSeq::new(s)));
                stats.dropped.abandoned += 1;
                if p.ask.is_some() {
                    // Owed to this node: lost, reported with whatever
                    // else slid below the window.
                    state.overrun.push(s);
                }
            }
        }
        match state.window.status(seq) {
            SeqStatus::Stale => Err(DropReason::Stale),
            SeqStatus::Finished => Err(DropReason::Duplicate),
            SeqStatus::Open => Ok(()),
        }
    }

    /// Marks single-segment message `seq` finished, if no segment of it
    /// said it had several and the budgets have room for the bit that says
    /// so.
    fn finish_whole(&mut self, sender: SenderId, seq: u64) -> Result<(), DropReason> {
        let Some(state) = self.senders.get_mut(&sender) else {
            return Err(DropReason::Stale);
        };
        if state.partials.contains_key(&seq) {
            return Err(DropReason::Inconsistent);
        }
        let chunk = state.window.charge_for(seq);
        if state.bytes + chunk > self.config.max_partial_bytes_per_sender
            || self.ledger.bytes + chunk > self.config.max_partial_bytes
        {
            return Err(DropReason::OverBudget);
        }
        state.window.finish(seq);
        Ok(())
    }

    /// Counts what became of a segment.
    pub(super) fn count_arrival(stats: &mut Stats, segment: &Segment, arrival: &Arrival) {
        let drops = &mut stats.dropped;
        match arrival {
            Arrival::Buffered | Arrival::Complete(_) => stats.segments_received += 1,
            Arrival::Dropped(reason) => {
                match reason {
                    DropReason::Duplicate => drops.duplicate += 1,
                    DropReason::Stale => drops.stale += 1,
                    DropReason::TooLarge => drops.message_too_large += 1,
                    DropReason::OverBudget => drops.over_budget += 1,
                    DropReason::Inconsistent => drops.malformed += 1,
                    DropReason::Refused => drops.refused += 1,
                }
                let (from, sender, seq) = (segment.from, segment.sender, segment.seq);
                debug!(%from, %sender, seq, ?reason, "segment dropped");
            }
        }
    }

    /// Drops every partial message whose deadline is at or before `now`,
    /// marking it finished so its late segments are duplicates, and
    /// reports it lost if this node was owed it; but one past what its
    /// sender vouched for stays open (see [`expire_unvouched`]).
    ///
    /// [`expire_unvouched`]: Receiver::expire_unvouched
    pub(super) fn expire(&mut self, now: Instant, stats: &mut Stats) {
        while let Some(&(deadline, sender, seq)) = self.ledger.expiry.first() {
            if deadline > now {
                break;
            }
            self.ledger.expiry.pop_first();
            self.catch_up(stats, sender);
            let Some(state) = self.senders.get_mut(&sender) else {
                continue;
            };
            let Some(p) = state.partials.remove(&seq.get()) else {
                continue;
            };
            state.bytes -= p.bytes;
            self.ledger.bytes -= p.bytes;
            self.ledger.partials -= 1;
            stats.dropped.expired += 1;
            let (have, count) = (p.segments.len(), p.count);
            debug!(%sender, %seq, have, count, "partial message expired");
            if seq.get() >= state.start.max(state.vouched) {
                self.expire_unvouched(now, stats, sender, seq.get());
                continue;
            }
            state.window.finish(seq.get());
            state.settle_window(&mut self.ledger);
            if seq.get() >= state.start {
                super::order::report_loss(
                    &mut self.out.events,
                    stats,
                    state,
                    seq.get(),
                    1,
                    LossReason::Expired,
                );
            }
            self.flush(stats, sender);
            self.tidy_timer(sender);
        }
    }

    /// Partial `seq` of `sender`, just dropped as expired, lay past what
    /// the sender vouched for: only a datagram from elsewhere (an
    /// impersonator's, perhaps) pointed there, and the sender has not sent
    /// it yet. Not its loss, and not finished either (the sender's own
    /// message there would be dropped as a duplicate): the seq goes back
    /// to the gaps, where a seq never heard waits, asked for and reported
    /// only once the sender vouches for it (see `vouched`). The record
    /// costs less than the partial it replaces, and is charged, so a
    /// forger's partials leave nothing unbounded behind.
    fn expire_unvouched(&mut self, now: Instant, stats: &mut Stats, sender: SenderId, seq: u64) {
        trace!(%sender, seq, "expired past what the sender vouched for: left open");
        // (A gap never holds a partial message; should one cover the seq
        // all the same, it is missing there already.)
        let covered = self.senders.get(&sender).is_some_and(|s| {
            s.gaps
                .range(..=seq)
                .next_back()
                .is_some_and(|(_, g)| g.end > seq)
        });
        if !covered {
            // (Given up, and reported, only as far as it was vouched for,
            // if there is no room for the record: nothing, here.)
            self.record_gap(now, stats, sender, seq, seq + 1);
        }
        self.flush(stats, sender);
        self.tidy_timer(sender);
    }

    /// Forgets `victim` to make room for another: what it leaves behind is
    /// told once the datagram that pushed it out is handled, and where it
    /// resumes is remembered.
    fn evict(&mut self, stats: &mut Stats, victim: SenderId) {
        let Some(state) = self.remove_sender(stats, victim) else {
            return;
        };
        stats.senders_evicted += 1;
        self.remember(victim, &state, true);
        self.evicted.push(state);
    }

    /// Remembers where sender `id`, just forgotten with `state`, resumes,
    /// if it has a resume point (`SenderState::resume_point`): a strong
    /// point with the established, a weak one with the others (see
    /// [`admission`](super::admission)).
    /// `held_delivered`: what it held for order is delivered as it goes.
    pub(super) fn remember(&mut self, id: SenderId, state: &SenderState, held_delivered: bool) {
        let Some(point) = state.resume_point(held_delivered) else {
            return;
        };
        if point.strong {
            let cap = self.config.max_senders * super::admission::REMEMBERED_PER_SENDER;
            self.remembered.remember(id, point, cap);
        } else {
            self.glimpsed.remember(id, point, self.config.max_senders);
        }
    }

    /// Takes `id`'s state out of the table, with its charges, partial
    /// messages (abandoned), deadlines and timer.
    pub(super) fn remove_sender(&mut self, stats: &mut Stats, id: SenderId) -> Option<SenderState> {
        self.catch_up(stats, id);
        let mut state = self.senders.remove(&id)?;
        let ledger = &mut self.ledger;
        ledger.bytes -= state.extra + state.window_bytes;
        ledger.extra -= state.extra;
        ledger.window_bytes -= state.window_bytes;
        for (seq, p) in &state.partials {
            ledger.bytes -= p.bytes;
            ledger.partials -= 1;
            ledger
                .expiry
                .remove(&(p.deadline, id, MessageSeq::new(*seq)));
            stats.dropped.abandoned += 1;
        }
        if let Some(w) = state.wake {
            self.wakes.remove(&(w, id));
        }
        let untold = state.waiting_count();
        state.waiting_losses.clear();
        if untold > 0 {
            stats.losses_untold = stats.losses_untold.saturating_add(untold);
            debug!(sender = %id, untold, "sender forgotten before it was believed real: its losses are not told");
        }
        Some(state)
    }
}

impl SenderState {
    /// Gives message `seq` up: marks it finished and drops its segments,
    /// a partial message dropped so counted (`dropped.abandoned`, as every
    /// partial given up unfinished but by expiry, which counts its own).
    pub(super) fn give_up(&mut self, ledger: &mut Ledger, stats: &mut Stats, seq: u64) {
        self.window.finish(seq);
        if let Some(p) = self.partials.remove(&seq) {
            self.bytes -= p.bytes;
            ledger.bytes -= p.bytes;
            ledger.partials -= 1;
            ledger
                .expiry
                .remove(&(p.deadline, self.id, MessageSeq::new(seq)));
            stats.dropped.abandoned += 1;
        }
        self.settle_window(ledger);
    }

    /// Gives up every message in `lo..hi`, as [`give_up`](Self::give_up)
    /// does one.
    pub(super) fn give_up_range(
        &mut self,
        ledger: &mut Ledger,
        stats: &mut Stats,
        lo: u64,
        hi: u64,
    ) {
        self.window.finish_range(lo, hi);
        let seqs: Vec<u64> = self.partials.range(lo..hi).map(|(s, _)| *s).collect();
        for seq in seqs {
            self.give_up(ledger, stats, seq);
        }
        self.settle_window(ledger);
    }

    /// Charges `bytes` of recovery state to the budgets; `false` (nothing
    /// charged) if a budget would be exceeded.
    pub(super) fn charge(&mut self, ledger: &mut Ledger, config: &Config, bytes: usize) -> bool {
        if self.bytes + bytes > config.max_partial_bytes_per_sender
            || ledger.bytes + bytes > config.max_partial_bytes
        {
            return false;
        }
        self.bytes += bytes;
        self.extra += bytes;
        ledger.bytes += bytes;
        ledger.extra += bytes;
        true
    }

    /// Releases what [`charge`](Self::charge) took.
    pub(super) fn release(&mut self, ledger: &mut Ledger, bytes: usize) {
        let bytes = bytes.min(self.extra);
        self.extra -= bytes;
        self.bytes -= bytes;
        ledger.bytes -= bytes;
        ledger.extra -= bytes;
    }

    /// Charges (or releases) the change in the window's memory.
    pub(super) fn settle_window(&mut self, ledger: &mut Ledger) {
        let now = self.window.bytes();
        let was = self.window_bytes;
        self.window_bytes = now;
        self.bytes = self.bytes + now - was;
        ledger.bytes = ledger.bytes + now - was;
        ledger.window_bytes = ledger.window_bytes + now - was;
    }
}

#[cfg(test)]
mod tests;
