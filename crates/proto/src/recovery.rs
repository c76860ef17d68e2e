//! The receiving side of loss recovery: per sender, which messages and
//! segments are missing, when to ask for them (NACK back-off, suppression,
//! repair timeout, attempts), when a loss is final, and in-order delivery.
//!
//! The [`Reassembler`] holds segments and the finished-message window; this
//! module holds, per sender, a *stream*: the first seq this node tracks
//! (`start`: a late joiner never asks for anything before it), the end of
//! what is known to exist (`known_end`: one past the highest seq heard, or a
//! heartbeat's lead), the gaps (seqs never heard, as ranges), a recovery
//! state for every partial message, and the complete messages held back
//! for order. Memory for held messages and gap records is charged to the
//! reassembler's per-sender and total budgets.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::net::SocketAddr;
use std::time::Instant;

use rand::Rng;
use rand_chacha::ChaCha8Rng;
use tracing::{debug, trace};

use crate::body::decode_body;
use crate::config::{Config, SEGMENT_OVERHEAD};
use crate::endpoint::{EndpointEvent, Loss, LossReason, ReceivedMessage};
use crate::ids::{MessageSeq, SenderId};
use crate::reassembly::Reassembler;
use crate::seqwindow::SeqStatus;
use crate::stats::Stats;
use crate::wire::{Nack, NackEntry, MAX_NACK_ENTRIES};

/// Bytes charged to the budgets for one gap record.
const GAP_CHARGE: usize = 64;

/// The most segment indexes of one partial message named in one round of
/// NACKs.
const MAX_MISSING_PER_ROUND: usize = 64 * 32;

/// What the endpoint lends to recovery for one call.
pub(crate) struct Cx<'a> {
    pub(crate) config: &'a Config,
    pub(crate) reasm: &'a mut Reassembler,
    pub(crate) stats: &'a mut Stats,
    pub(crate) events: &'a mut VecDeque<EndpointEvent>,
    pub(crate) control: &'a mut VecDeque<Vec<u8>>,
    pub(crate) me: SenderId,
}

/// A datagram's part accepted (or not) by the reassembler.
pub(crate) enum Arrival {
    /// A new segment; the message is not complete.
    Buffered,
    /// The message is complete: its body.
    Complete(Vec<u8>),
    /// Dropped by the reassembler (duplicate, stale, over budget, ...).
    Dropped,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// Nothing to ask for now.
    Idle,
    /// A gap was noticed: ask at this instant unless suppressed.
    Backoff(Instant),
    /// Asked (or heard another ask) at `at`; wait for the repair until
    /// `until`.
    Asked { at: Instant, until: Instant },
}

#[derive(Clone, Copy, Debug)]
struct Item {
    /// NACKs sent without progress since.
    asks: u32,
    state: State,
    /// Final loss at this instant (whole-message gaps only; partials
    /// expire in the reassembler).
    deadline: Option<Instant>,
}

impl Item {
    fn wake(&self) -> Option<Instant> {
        let state = match self.state {
            State::Idle => None,
            State::Backoff(t) => Some(t),
            State::Asked { until, .. } => Some(until),
        };
        [state, self.deadline].into_iter().flatten().min()
    }
}

struct Gap {
    end: u64,
    item: Item,
}

struct Held {
    from: SocketAddr,
    body: Vec<u8>,
}

struct Stream {
    start: u64,
    next: u64,
    known_end: u64,
    trail: u64,
    held: BTreeMap<u64, Held>,
    held_bytes: usize,
    gaps: BTreeMap<u64, Gap>,
    partials: BTreeMap<u64, Item>,
    repair_progress: Option<Instant>,
    wake: Option<Instant>,
}

/// Every sender's recovery state.
pub(crate) struct Recovery {
    streams: HashMap<SenderId, Stream>,
    timers: BTreeSet<(Instant, SenderId)>,
    rng: ChaCha8Rng,
}

impl Recovery {
    pub(crate) fn new(rng: ChaCha8Rng) -> Self {
        Self {
            streams: HashMap::new(),
            timers: BTreeSet::new(),
            rng,
        }
    }

    /// The earliest instant some stream wants attention.
    pub(crate) fn next_timeout(&self) -> Option<Instant> {
        self.timers.first().map(|(t, _)| *t)
    }

    /// Messages held back for order now.
    pub(crate) fn held(&self) -> usize {
        self.streams.values().map(|s| s.held.len()).sum()
    }

    fn backoff(&mut self, now: Instant, config: &Config) -> State {
        if config.max_retransmit_attempts == 0 {
            return State::Idle;
        }
        let (lo, hi) = (config.nack_backoff_min, config.nack_backoff_max);
        let span = hi.saturating_sub(lo).as_nanos() as u64;
        let extra = if span == 0 {
            0
        } else {
            self.rng.random_range(0..=span)
        };
        State::Backoff(now + lo + std::time::Duration::from_nanos(extra))
    }

    fn schedule(&mut self, sender: SenderId, at: Option<Instant>) {
        let Some(at) = at else { return };
        let Some(stream) = self.streams.get_mut(&sender) else {
            return;
        };
        if stream.wake.is_some_and(|w| w <= at) {
            return;
        }
        if let Some(old) = stream.wake.replace(at) {
            self.timers.remove(&(old, sender));
        }
        self.timers.insert((at, sender));
    }

    fn stream_for(&mut self, cx: &Cx<'_>, sender: SenderId, first: u64) -> bool {
        if !cx.reasm.knows(sender) {
            return false;
        }
        self.streams.entry(sender).or_insert_with(|| Stream {
            start: first,
            next: first,
            known_end: first,
            trail: 0,
            held: BTreeMap::new(),
            held_bytes: 0,
            gaps: BTreeMap::new(),
            partials: BTreeMap::new(),
            repair_progress: None,
            wake: None,
        });
        true
    }

    /// A segment or batch entry of message `seq` from `sender` went through
    /// the reassembler with this result.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn on_data(
        &mut self,
        now: Instant,
        cx: &mut Cx<'_>,
        sender: SenderId,
        seq: u64,
        from: SocketAddr,
        retransmission: bool,
        arrival: Arrival,
    ) {
        if !self.stream_for(cx, sender, seq) {
            return;
        }
        let accepted = !matches!(arrival, Arrival::Dropped);
        let Some(stream) = self.streams.get_mut(&sender) else {
            return;
        };
        if accepted && retransmission {
            stream.repair_progress = Some(now);
            cx.stats.repairs_received += 1;
        }
        if seq < stream.start {
            // Before this node started tracking the sender: no recovery,
            // no order; delivered as it comes.
            if let Arrival::Complete(body) = arrival {
                deliver(cx, sender, seq, from, &body);
            }
            return;
        }
        // A message the reassembler could not take is still missing.
        self.extend_known(now, cx, sender, seq + 1, !accepted);
        let Some(stream) = self.streams.get_mut(&sender) else {
            return;
        };
        // A seq inside a gap is no longer missing whole (unless the
        // reassembler could not take it: then it is still missing).
        if accepted {
            split_gap(stream, cx, sender, seq);
        }
        match arrival {
            Arrival::Dropped => {}
            Arrival::Buffered => {
                let info = cx.reasm.partial(sender, seq);
                let all_sent = seq + 1 < stream.known_end;
                let item = stream.partials.entry(seq).or_insert(Item {
                    asks: 0,
                    state: State::Idle,
                    deadline: None,
                });
                item.asks = 0;
                let hole = info
                    .is_some_and(|i| i.held < i.max_index + 1 || (all_sent && i.held < i.count));
                if hole && item.state == State::Idle {
                    let state = self.backoff(now, cx.config);
                    if let Some(item) = self
                        .streams
                        .get_mut(&sender)
                        .and_then(|s| s.partials.get_mut(&seq))
                    {
                        item.state = state;
                        let wake = item.wake();
                        self.schedule(sender, wake);
                    }
                }
            }
            Arrival::Complete(body) => {
                stream.partials.remove(&seq);
                self.complete(cx, sender, seq, from, body);
            }
        }
        self.below_window(cx, sender);
        self.flush(cx, sender);
        self.tidy_timer(sender);
    }

    /// Drops the stream's timer when nothing is left to wait for, so that
    /// an idle receiver has no deadline.
    fn tidy_timer(&mut self, sender: SenderId) {
        let Some(stream) = self.streams.get_mut(&sender) else {
            return;
        };
        let waiting = stream.gaps.values().any(|g| g.item.wake().is_some())
            || stream.partials.values().any(|i| i.wake().is_some());
        if !waiting {
            if let Some(w) = stream.wake.take() {
                self.timers.remove(&(w, sender));
            }
        }
    }

    /// A complete message: deliver it, or hold it for order.
    fn complete(
        &mut self,
        cx: &mut Cx<'_>,
        sender: SenderId,
        seq: u64,
        from: SocketAddr,
        body: Vec<u8>,
    ) {
        let Some(stream) = self.streams.get_mut(&sender) else {
            return;
        };
        if !cx.config.ordered || seq == stream.next {
            if cx.config.ordered {
                stream.next = seq + 1;
            }
            deliver(cx, sender, seq, from, &body);
            return;
        }
        if seq < stream.next {
            // Behind the delivery point (only after a forced skip).
            deliver(cx, sender, seq, from, &body);
            return;
        }
        let charge = body.len() + SEGMENT_OVERHEAD;
        if cx.reasm.charge(cx.config, sender, charge) {
            stream.held_bytes += charge;
            stream.held.insert(seq, Held { from, body });
            return;
        }
        // No room to hold it: give up whatever it waits for.
        debug!(%sender, seq, "no room to hold a message for order: earlier gaps given up");
        self.lose_below(cx, sender, seq, LossReason::Overrun);
        if let Some(stream) = self.streams.get_mut(&sender) {
            stream.next = stream.next.max(seq + 1);
        }
        deliver(cx, sender, seq, from, &body);
    }

    /// Everything up to `end` (exclusive) exists: records new gaps (up to
    /// `end - 1`, or `end` with `last_missing`) and marks older partials as
    /// fully sent.
    fn extend_known(
        &mut self,
        now: Instant,
        cx: &mut Cx<'_>,
        sender: SenderId,
        end: u64,
        last_missing: bool,
    ) {
        let Some(stream) = self.streams.get_mut(&sender) else {
            return;
        };
        if end <= stream.known_end {
            return;
        }
        let old = stream.known_end.max(stream.start);
        stream.known_end = end;
        let gap_end = if last_missing { end } else { end - 1 };
        // Partials below the new end are now known to be complete at the
        // sender: any segment they lack is missing.
        let idle: Vec<u64> = stream
            .partials
            .range(..end - 1)
            .filter(|(_, i)| i.state == State::Idle)
            .map(|(s, _)| *s)
            .collect();
        for seq in idle {
            let state = self.backoff(now, cx.config);
            if let Some(item) = self
                .streams
                .get_mut(&sender)
                .and_then(|s| s.partials.get_mut(&seq))
            {
                item.state = state;
                let wake = item.wake();
                self.schedule(sender, wake);
            }
        }
        if gap_end <= old {
            return;
        }
        if cx.config.max_retransmit_attempts == 0 && !cx.config.ordered {
            // Nobody asks for them and nothing waits for them: without
            // recovery and order, messages never heard go unrecorded.
            return;
        }
        // Seqs old..gap_end were never heard.
        let base = cx.reasm.base(sender).unwrap_or(0);
        if old < base {
            let lost_end = base.min(gap_end);
            report_loss(cx, sender, old, lost_end - old, LossReason::Overrun);
        }
        let first = old.max(base);
        if first >= gap_end {
            return;
        }
        if !cx.reasm.charge(cx.config, sender, GAP_CHARGE) {
            cx.reasm.give_up_range(sender, first, gap_end);
            report_loss(cx, sender, first, gap_end - first, LossReason::Overrun);
            return;
        }
        let state = self.backoff(now, cx.config);
        let item = Item {
            asks: 0,
            state,
            deadline: Some(now + cx.config.message_ttl),
        };
        if let Some(stream) = self.streams.get_mut(&sender) {
            stream.gaps.insert(first, Gap { end: gap_end, item });
        }
        trace!(%sender, first, end = gap_end, "gap");
        self.schedule(sender, item.wake());
    }

    /// A heartbeat from `sender`: `lead` and `trail`.
    pub(crate) fn on_heartbeat(
        &mut self,
        now: Instant,
        cx: &mut Cx<'_>,
        sender: SenderId,
        lead: u64,
        trail: u64,
    ) {
        let new = !self.streams.contains_key(&sender);
        if !self.stream_for(cx, sender, lead) {
            return;
        }
        if new {
            if let Some(s) = self.streams.get_mut(&sender) {
                s.trail = trail;
            }
            return;
        }
        self.extend_known(now, cx, sender, lead, true);
        let Some(stream) = self.streams.get_mut(&sender) else {
            return;
        };
        if trail > stream.trail {
            stream.trail = trail;
            self.lose_below(cx, sender, trail, LossReason::NotRepairable);
        }
        self.flush(cx, sender);
    }

    /// Another receiver's NACK: hold back our own asks for what it names.
    pub(crate) fn on_overheard_nack(&mut self, now: Instant, cx: &mut Cx<'_>, nack: &Nack) {
        let Some(stream) = self.streams.get_mut(&nack.target()) else {
            return;
        };
        let asked = State::Asked {
            at: now,
            until: now + cx.config.repair_timeout,
        };
        let mut suppressed = false;
        for (first, gap) in stream.gaps.iter_mut() {
            if matches!(gap.item.state, State::Backoff(_))
                && nack.entries().iter().any(|e| match *e {
                    NackEntry::Messages { first: f, count } => {
                        f.get() < gap.end && f.get().saturating_add(u64::from(count)) > *first
                    }
                    _ => false,
                })
            {
                gap.item.state = asked;
                suppressed = true;
            }
        }
        for (seq, item) in stream.partials.iter_mut() {
            if matches!(item.state, State::Backoff(_))
                && nack.entries().iter().any(|e| match *e {
                    NackEntry::Messages { .. } => e.covers(*seq, 0),
                    _ => e.seq().get() == *seq,
                })
            {
                item.state = asked;
                suppressed = true;
            }
        }
        if suppressed {
            cx.stats.nacks_suppressed += 1;
            let sender = nack.target();
            self.schedule(sender, Some(now + cx.config.repair_timeout));
        }
    }

    /// The reassembler gave partial `seq` up (expired).
    pub(crate) fn on_expired(&mut self, cx: &mut Cx<'_>, sender: SenderId, seq: u64) {
        if let Some(stream) = self.streams.get_mut(&sender) {
            stream.partials.remove(&seq);
            if seq >= stream.start {
                report_loss(cx, sender, seq, 1, LossReason::Expired);
            }
        }
        self.flush(cx, sender);
        self.tidy_timer(sender);
    }

    /// The reassembler forgot `sender`: deliver what is held, in order, and
    /// report what is missing as lost.
    pub(crate) fn forget(&mut self, cx: &mut Cx<'_>, sender: SenderId) {
        let Some(stream) = self.streams.remove(&sender) else {
            return;
        };
        if let Some(w) = stream.wake {
            self.timers.remove(&(w, sender));
        }
        for (first, gap) in &stream.gaps {
            report_loss(cx, sender, *first, gap.end - first, LossReason::Evicted);
        }
        for seq in stream.partials.keys() {
            report_loss(cx, sender, *seq, 1, LossReason::Evicted);
        }
        for (seq, held) in stream.held {
            deliver(cx, sender, seq, held.from, &held.body);
        }
    }

    /// Handles every stream whose time has come: asks, gives up.
    pub(crate) fn handle_timeout(&mut self, now: Instant, cx: &mut Cx<'_>) {
        while let Some(&(t, sender)) = self.timers.first() {
            if t > now {
                break;
            }
            self.timers.pop_first();
            if let Some(s) = self.streams.get_mut(&sender) {
                s.wake = None;
            }
            self.evaluate(now, cx, sender);
        }
    }

    fn evaluate(&mut self, now: Instant, cx: &mut Cx<'_>, sender: SenderId) {
        let Some(stream) = self.streams.get_mut(&sender) else {
            return;
        };
        let max = cx.config.max_retransmit_attempts;
        let rt = cx.config.repair_timeout;
        let progress = stream.repair_progress;
        let mut entries: Vec<NackEntry> = Vec::new();
        let mut lost: Vec<(u64, u64, LossReason)> = Vec::new();
        let mut idle_partials = Vec::new();

        // What to do with an item whose time has come: ask, wait, or lose.
        enum Verdict {
            Wait,
            Ask,
            Lose(LossReason),
        }
        let judge = |item: &mut Item| -> Verdict {
            if item.deadline.is_some_and(|d| d <= now) {
                return Verdict::Lose(LossReason::Expired);
            }
            match item.state {
                State::Idle => Verdict::Wait,
                State::Backoff(t) | State::Asked { until: t, .. } if t > now => Verdict::Wait,
                State::Backoff(_) => {
                    if item.asks >= max {
                        item.state = State::Asked {
                            at: now,
                            until: now + rt,
                        };
                        Verdict::Wait
                    } else {
                        Verdict::Ask
                    }
                }
                State::Asked { at, .. } => {
                    if progress.is_some_and(|p| p > at) {
                        // Repairs are flowing: ours may be queued behind.
                        item.state = State::Asked {
                            at: now,
                            until: now + rt,
                        };
                        Verdict::Wait
                    } else if item.asks >= max {
                        Verdict::Lose(LossReason::Unrecoverable)
                    } else {
                        Verdict::Ask
                    }
                }
            }
        };

        for (first, gap) in stream.gaps.iter_mut() {
            match judge(&mut gap.item) {
                Verdict::Wait => {}
                Verdict::Lose(reason) => lost.push((*first, gap.end, reason)),
                Verdict::Ask => {
                    let mut s = *first;
                    while s < gap.end {
                        let count = (gap.end - s).min(u64::from(u32::MAX)) as u32;
                        entries.push(NackEntry::Messages {
                            first: MessageSeq::new(s),
                            count,
                        });
                        s += u64::from(count);
                    }
                    gap.item.asks += 1;
                    gap.item.state = State::Asked {
                        at: now,
                        until: now + rt,
                    };
                }
            }
        }
        let known_end = stream.known_end;
        for (&seq, item) in stream.partials.iter_mut() {
            match judge(item) {
                Verdict::Wait => {}
                Verdict::Lose(reason) => lost.push((seq, seq + 1, reason)),
                Verdict::Ask => {
                    let Some(info) = cx.reasm.partial(sender, seq) else {
                        continue;
                    };
                    let through = if seq + 1 < known_end {
                        info.count
                    } else {
                        info.max_index + 1
                    };
                    let missing = cx
                        .reasm
                        .missing(sender, seq, through, MAX_MISSING_PER_ROUND);
                    if missing.is_empty() {
                        idle_partials.push(seq);
                        continue;
                    }
                    encode_missing(&mut entries, seq, &missing);
                    item.asks += 1;
                    item.state = State::Asked {
                        at: now,
                        until: now + rt,
                    };
                }
            }
        }
        for seq in idle_partials {
            if let Some(item) = stream.partials.get_mut(&seq) {
                item.state = State::Idle;
            }
        }
        let wake = stream
            .gaps
            .values()
            .map(|g| g.item)
            .chain(stream.partials.values().copied())
            .filter_map(|i| i.wake())
            .min();

        for chunk in entries.chunks(MAX_NACK_ENTRIES) {
            if let Ok(nack) = Nack::new(cx.me, sender, chunk.to_vec()) {
                let mut out = Vec::new();
                nack.write(&mut out);
                cx.stats.nacks_sent += 1;
                trace!(%sender, entries = chunk.len(), "NACK");
                cx.control.push_back(out);
            }
        }
        self.schedule(sender, wake);
        for (first, end, reason) in lost {
            self.lose(cx, sender, first, end, reason);
        }
        self.flush(cx, sender);
    }

    /// Declares `first .. end` lost (gaps or partials among them).
    fn lose(
        &mut self,
        cx: &mut Cx<'_>,
        sender: SenderId,
        first: u64,
        end: u64,
        reason: LossReason,
    ) {
        let Some(stream) = self.streams.get_mut(&sender) else {
            return;
        };
        // Whole gaps inside the range go, partially covered ones shrink.
        let keys: Vec<u64> = stream.gaps.range(..end).map(|(k, _)| *k).collect();
        for k in keys {
            let Some(gap) = stream.gaps.remove(&k) else {
                continue;
            };
            if gap.end <= first {
                stream.gaps.insert(k, gap);
                continue;
            }
            let lo = k.max(first);
            let hi = gap.end.min(end);
            cx.reasm.give_up_range(sender, lo, hi);
            report_loss(cx, sender, lo, hi - lo, reason);
            let mut charges = 0;
            if k < lo {
                stream.gaps.insert(
                    k,
                    Gap {
                        end: lo,
                        item: gap.item,
                    },
                );
                charges += 1;
            }
            if hi < gap.end {
                stream.gaps.insert(
                    hi,
                    Gap {
                        end: gap.end,
                        item: gap.item,
                    },
                );
                charges += 1;
            }
            if charges == 0 {
                cx.reasm.release(sender, GAP_CHARGE);
            } else if charges == 2 && !cx.reasm.charge(cx.config, sender, GAP_CHARGE) {
                // No room for the split: the upper part goes too.
                if let Some(upper) = stream.gaps.remove(&hi) {
                    cx.reasm.give_up_range(sender, hi, upper.end);
                    report_loss(cx, sender, hi, upper.end - hi, reason);
                }
            }
        }
        let partials: Vec<u64> = stream.partials.range(first..end).map(|(k, _)| *k).collect();
        for seq in partials {
            stream.partials.remove(&seq);
            cx.reasm.give_up(sender, seq);
            report_loss(cx, sender, seq, 1, reason);
        }
    }

    /// Gives up everything missing below `seq`, and delivers what was held
    /// below it.
    fn lose_below(&mut self, cx: &mut Cx<'_>, sender: SenderId, seq: u64, reason: LossReason) {
        let start = self.streams.get(&sender).map_or(seq, |s| s.start);
        if start < seq {
            self.lose(cx, sender, start, seq, reason);
        }
        self.flush_below(cx, sender, seq);
    }

    /// Delivers every held message below `seq` in order and moves the
    /// delivery point to at least `seq`.
    fn flush_below(&mut self, cx: &mut Cx<'_>, sender: SenderId, seq: u64) {
        let Some(stream) = self.streams.get_mut(&sender) else {
            return;
        };
        let keep = stream.held.split_off(&seq);
        let below = std::mem::replace(&mut stream.held, keep);
        for (s, held) in below {
            let charge = held.body.len() + SEGMENT_OVERHEAD;
            stream.held_bytes -= charge;
            cx.reasm.release(sender, charge);
            deliver(cx, sender, s, held.from, &held.body);
        }
        if cx.config.ordered {
            stream.next = stream.next.max(seq);
        }
    }

    /// Losses for everything that slid below the sender's window.
    fn below_window(&mut self, cx: &mut Cx<'_>, sender: SenderId) {
        let Some(base) = cx.reasm.base(sender) else {
            return;
        };
        let Some(stream) = self.streams.get(&sender) else {
            return;
        };
        let behind = stream
            .gaps
            .first_key_value()
            .is_some_and(|(k, _)| *k < base)
            || stream
                .partials
                .first_key_value()
                .is_some_and(|(k, _)| *k < base)
            || (cx.config.ordered && stream.next < base);
        if behind {
            self.lose_below(cx, sender, base, LossReason::Overrun);
        }
    }

    /// Delivers held messages that are next in order, stepping over
    /// messages already given up.
    fn flush(&mut self, cx: &mut Cx<'_>, sender: SenderId) {
        if !cx.config.ordered {
            return;
        }
        let Some(stream) = self.streams.get_mut(&sender) else {
            return;
        };
        loop {
            let next = stream.next;
            if let Some(held) = stream.held.remove(&next) {
                let charge = held.body.len() + SEGMENT_OVERHEAD;
                stream.held_bytes -= charge;
                cx.reasm.release(sender, charge);
                deliver(cx, sender, next, held.from, &held.body);
                stream.next += 1;
                continue;
            }
            if next < stream.known_end
                && !stream.gaps.contains_key(&next)
                && !stream.partials.contains_key(&next)
                && cx.reasm.status(sender, next) == Some(SeqStatus::Finished)
            {
                // Given up earlier (reported then).
                stream.next += 1;
                continue;
            }
            break;
        }
    }
}

/// Takes message `seq` out of the gap that holds it, if any.
fn split_gap(stream: &mut Stream, cx: &mut Cx<'_>, sender: SenderId, seq: u64) {
    let Some((&first, gap)) = stream.gaps.range(..=seq).next_back() else {
        return;
    };
    if gap.end <= seq {
        return;
    }
    let (end, item) = (gap.end, gap.item);
    stream.gaps.remove(&first);
    let mut parts = 0;
    if first < seq {
        stream.gaps.insert(first, Gap { end: seq, item });
        parts += 1;
    }
    if seq + 1 < end {
        stream.gaps.insert(seq + 1, Gap { end, item });
        parts += 1;
    }
    match parts {
        0 => cx.reasm.release(sender, GAP_CHARGE),
        2 if !cx.reasm.charge(cx.config, sender, GAP_CHARGE) => {
            // No room for another record: the upper part is given up.
            stream.gaps.remove(&(seq + 1));
            cx.reasm.give_up_range(sender, seq + 1, end);
            report_loss(cx, sender, seq + 1, end - seq - 1, LossReason::Overrun);
        }
        _ => {}
    }
}

/// Appends NACK entries for the sorted `missing` indexes of message `seq`:
/// runs of 32 or more as ranges, the rest as 32-bit bitmaps.
fn encode_missing(entries: &mut Vec<NackEntry>, seq: u64, missing: &[u32]) {
    let seq = MessageSeq::new(seq);
    let mut i = 0;
    while i < missing.len() {
        let first = missing[i];
        let mut run = 1;
        while i + run < missing.len() && missing[i + run] == first + run as u32 {
            run += 1;
        }
        if run >= 32 {
            entries.push(NackEntry::Segments {
                seq,
                first,
                count: run as u32,
            });
            i += run;
            continue;
        }
        let mut bits = 0u32;
        while i < missing.len() && missing[i] - first < 32 {
            bits |= 1 << (missing[i] - first);
            i += 1;
        }
        entries.push(NackEntry::SegmentBitmap { seq, first, bits });
    }
}

/// Reports `count` messages from `first` on as lost, merging with the
/// previous report when it ends where this one starts.
fn report_loss(cx: &mut Cx<'_>, sender: SenderId, first: u64, count: u64, reason: LossReason) {
    if count == 0 {
        return;
    }
    cx.stats.messages_lost = cx.stats.messages_lost.saturating_add(count);
    debug!(%sender, first, count, ?reason, "messages lost");
    if let Some(EndpointEvent::Loss(last)) = cx.events.back_mut() {
        if last.sender == sender
            && last.reason == reason
            && last.first.get().checked_add(last.count) == Some(first)
        {
            last.count = last.count.saturating_add(count);
            return;
        }
    }
    cx.stats.loss_reports += 1;
    cx.events.push_back(EndpointEvent::Loss(Loss {
        sender,
        first: MessageSeq::new(first),
        count,
        reason,
    }));
}

/// Decodes a complete body and queues it for the application.
pub(crate) fn deliver(cx: &mut Cx<'_>, sender: SenderId, seq: u64, from: SocketAddr, body: &[u8]) {
    let seq = MessageSeq::new(seq);
    match decode_body(body) {
        Ok((name, args)) => {
            cx.stats.messages_received += 1;
            trace!(%sender, %seq, %from, name, "message delivered");
            cx.events.push_back(EndpointEvent::Message(ReceivedMessage {
                sender,
                seq,
                from,
                name,
                args,
            }));
        }
        Err(e) => {
            cx.stats.dropped.bad_body += 1;
            debug!(%sender, %seq, %from, error = %e, "message body dropped");
        }
    }
}
