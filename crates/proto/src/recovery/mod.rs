//! The receiving side of loss recovery: per sender, which messages and
//! segments are missing, when to ask for them, when a loss is final, and
//! in-order delivery.
//!
//! The [`Reassembler`] holds segments and the finished-message window; this
//! module holds, per sender, a *stream*: the first seq this node is owed
//! (`start`), the end of what is known to exist (`known_end`: one past the
//! highest seq heard, or a heartbeat's lead), the gaps (seqs never heard,
//! as ranges), a recovery state for every partial message, and the
//! complete messages held back for order. Memory for held messages and gap
//! records is charged to the reassembler's per-sender and total budgets.
//!
//! The rules (docs/PROTOCOL.md states them for implementers):
//!
//! - **Asking.** A gap, or a partial message known to lack segments, is
//!   asked for after a random back-off between `nack_backoff_min` and
//!   `nack_backoff_max`. Another receiver's NACK heard during the back-off
//!   that names all of it holds ours back (suppression). Then the receiver
//!   waits `repair_timeout`; if the data has not come, it backs off and
//!   asks again.
//! - **Giving up.** It keeps asking while the sender is heard (anything
//!   from it: data, repairs, heartbeats, NACKs). The loss is final when the
//!   sender has not answered `max_retransmit_attempts` NACKs in a row and
//!   was silent for `heartbeat_max` (`Unrecoverable`: a live sender is
//!   heard at least that often); when its heartbeat's trail has passed the
//!   data (`NotRepairable`); when a gap is not repaired within
//!   `message_ttl` (`Expired`; partials expire in the reassembler); when
//!   the window moves past it or no memory is left to wait (`Overrun`); or
//!   when the sender is forgotten (`Evicted`). Each loss is reported once.
//! - **Joining** ([`join`]). A stream first heard at message 0 starts
//!   there. A stream first heard mid-way is owed from message 0 if it began
//!   after this node joined (the heartbeat's `age` is no more than this
//!   node's time in the group), and from the first message heard
//!   otherwise: a late joiner never asks for history. Until a heartbeat
//!   tells (the receiver asks for one with an empty NACK), delivery from
//!   that sender waits.
//! - **Order.** With `ordered`, a complete message waits behind every
//!   earlier one that is missing, until it arrives or is declared lost.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use rand::Rng;
use rand_chacha::ChaCha8Rng;
use tracing::trace;

use crate::config::Config;
use crate::endpoint::{EndpointEvent, LossReason};
use crate::fastmap::FastMap;
use crate::ids::SenderId;
use crate::reassembly::Reassembler;
use crate::seqwindow::WINDOW;
use crate::stats::Stats;

mod ask;
mod join;
mod order;

pub(crate) use order::deliver;
use order::{report_loss, split_gap};

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
    /// When this node joined the group (started listening).
    pub(crate) joined: Option<Instant>,
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
    /// A partial message with no known hole: if no new segment comes by
    /// then, its remaining segments are asked for (they may have been
    /// lost at the end of a burst, with the heartbeats after them).
    Stall(Instant),
    /// Asked (or heard another ask) at `at`; wait for the repair until
    /// `until`.
    Asked { at: Instant, until: Instant },
}

#[derive(Clone, Copy, Debug)]
struct Item {
    /// NACKs sent (or overheard) for it since the sender was last heard:
    /// asks that went unanswered.
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
            State::Backoff(t) | State::Stall(t) => Some(t),
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
    /// The first seq this node is responsible for: nothing below it is
    /// asked for, reported or (with ordering) delivered.
    start: u64,
    next: u64,
    known_end: u64,
    /// Every message below this was sent in full (a later message was
    /// heard, or a heartbeat's lead): a partial below it lacks segments
    /// that were sent.
    sent_below: u64,
    trail: u64,
    held: BTreeMap<u64, Held>,
    held_bytes: usize,
    gaps: BTreeMap<u64, Gap>,
    partials: BTreeMap<u64, Item>,
    /// When anything (data, repair, heartbeat, NACK) last came from the
    /// sender: a sender that is heard is alive, and is asked again.
    last_heard: Instant,
    /// Set while it is not known whether this node joined before the
    /// sender's stream began (first heard mid-stream, no heartbeat yet):
    /// the request for a heartbeat that will tell. Delivery waits (with
    /// ordering), and `start` is only provisional.
    join: Option<Item>,
    /// While the join is pending: the lowest seq heard sent live (not as a
    /// repair), where a late joiner's share begins.
    first_live: Option<u64>,
    /// The next NACK round: everything noticed before it is asked for in
    /// it, together (one random back-off per round, not per item).
    round: Option<Instant>,
    wake: Option<Instant>,
}

/// Every sender's recovery state.
pub(crate) struct Recovery {
    streams: FastMap<SenderId, Stream>,
    timers: BTreeSet<(Instant, SenderId)>,
    rng: ChaCha8Rng,
}

impl Recovery {
    pub(crate) fn new(rng: ChaCha8Rng) -> Self {
        Self {
            streams: FastMap::default(),
            timers: BTreeSet::new(),
            rng,
        }
    }

    /// The earliest instant some stream wants attention.
    pub(crate) fn next_timeout(&self) -> Option<Instant> {
        self.timers.first().map(|(t, _)| *t)
    }

    /// Something came from `sender`: it is alive.
    pub(crate) fn heard(&mut self, now: Instant, sender: SenderId) {
        if let Some(stream) = self.streams.get_mut(&sender) {
            stream.last_heard = stream.last_heard.max(now);
        }
    }

    /// Messages held back for order now.
    pub(crate) fn held(&self) -> usize {
        self.streams.values().map(|s| s.held.len()).sum()
    }

    /// The state of an item that should be asked for in the stream's
    /// next NACK round (nothing to ask without recovery).
    fn backoff(&mut self, now: Instant, config: &Config, sender: SenderId) -> State {
        if config.max_retransmit_attempts == 0 {
            return State::Idle;
        }
        match self.streams.get_mut(&sender) {
            Some(stream) => {
                State::Backoff(next_round(&mut stream.round, &mut self.rng, now, config))
            }
            None => State::Backoff(draw_backoff(&mut self.rng, now, config)),
        }
    }

    /// Sets the state of partial `seq` of `sender`, and wakes up for it.
    fn set_partial(&mut self, sender: SenderId, seq: u64, state: State) {
        let wake = self
            .streams
            .get_mut(&sender)
            .and_then(|s| s.partials.get_mut(&seq))
            .and_then(|item| {
                item.state = state;
                item.wake()
            });
        self.schedule(sender, wake);
    }

    /// Sets the state of the gap starting at `first`, and wakes up for it.
    fn set_gap(&mut self, sender: SenderId, first: u64, state: State) {
        let wake = self
            .streams
            .get_mut(&sender)
            .and_then(|s| s.gaps.get_mut(&first))
            .and_then(|gap| {
                gap.item.state = state;
                gap.item.wake()
            });
        self.schedule(sender, wake);
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
        if !self.stream_for(now, cx, sender, seq, true, !retransmission) {
            return;
        }
        let accepted = !matches!(arrival, Arrival::Dropped);
        let Some(stream) = self.streams.get_mut(&sender) else {
            return;
        };
        stream.last_heard = now;
        if accepted && retransmission {
            cx.stats.repairs_received += 1;
        }
        if stream.join.is_some() && !retransmission {
            stream.first_live = Some(stream.first_live.map_or(seq, |f| f.min(seq)));
        }
        if seq < stream.start {
            if stream.join.is_some() {
                // Heard before the join is settled: the stream reaches
                // back at least this far (and what lies between is
                // missing; so is this one, if it could not be taken).
                let missing = if accepted { seq + 1 } else { seq };
                self.lower_start(now, cx, sender, seq, missing);
            } else {
                // From before this node's start of the stream (a late
                // joiner's history, or a repair for others): no recovery.
                if let Arrival::Complete(body) = arrival {
                    if cx.config.ordered {
                        cx.stats.dropped.before_start += 1;
                        trace!(%sender, seq, "message from before this node's start dropped");
                    } else {
                        deliver(cx, sender, seq, from, &body);
                    }
                }
                return;
            }
        }
        // A message the reassembler could not take is still missing.
        // Every message below this one was sent in full.
        self.extend_known(now, cx, sender, seq + 1, !accepted, seq);
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
                let all_sent = seq < stream.sent_below;
                let item = stream.partials.entry(seq).or_insert(Item {
                    asks: 0,
                    state: State::Idle,
                    deadline: None,
                });
                item.asks = 0;
                let hole = info
                    .is_some_and(|i| i.held < i.max_index + 1 || (all_sent && i.held < i.count));
                let state = match item.state {
                    State::Idle | State::Stall(_) if hole => {
                        Some(self.backoff(now, cx.config, sender))
                    }
                    State::Idle | State::Stall(_) if cx.config.max_retransmit_attempts > 0 => {
                        Some(State::Stall(now + cx.config.repair_timeout))
                    }
                    _ => None,
                };
                if let Some(state) = state {
                    self.set_partial(sender, seq, state);
                }
            }
            Arrival::Complete(body) => {
                stream.partials.remove(&seq);
                self.complete(now, cx, sender, seq, from, body);
            }
        }
        self.below_window(now, cx, sender);
        self.flush(cx, sender);
        self.tidy_timer(sender);
    }

    /// Drops the stream's timer when nothing is left to wait for, so that
    /// an idle receiver has no deadline.
    fn tidy_timer(&mut self, sender: SenderId) {
        let Some(stream) = self.streams.get_mut(&sender) else {
            return;
        };
        // (Gaps always have a deadline: any gap is something to wait for.)
        let waiting = !stream.gaps.is_empty()
            || stream.join.is_some()
            || stream.partials.values().any(|i| i.wake().is_some());
        if !waiting {
            if let Some(w) = stream.wake.take() {
                self.timers.remove(&(w, sender));
            }
        }
    }

    /// Everything up to `end` (exclusive) exists, and everything below
    /// `sent` was sent in full: records new gaps (up to `end - 1`, or `end`
    /// with `last_missing`), and partials below `sent` ask for whatever
    /// segment they lack.
    fn extend_known(
        &mut self,
        now: Instant,
        cx: &mut Cx<'_>,
        sender: SenderId,
        end: u64,
        last_missing: bool,
        sent: u64,
    ) {
        // Nothing beyond the window can be tracked: only a heartbeat's lead
        // can point there (an honest one never does); what lies there is
        // learnt when data from there slides the window.
        let limit = cx
            .reasm
            .base(sender)
            .map_or(u64::MAX, |b| b.saturating_add(WINDOW));
        let (end, sent) = (end.min(limit), sent.min(limit));
        let Some(stream) = self.streams.get_mut(&sender) else {
            return;
        };
        if sent > stream.sent_below {
            let from = stream.sent_below;
            stream.sent_below = sent;
            let waiting: Vec<u64> = stream
                .partials
                .range(from..sent)
                .filter(|(_, i)| matches!(i.state, State::Idle | State::Stall(_)))
                .map(|(s, _)| *s)
                .collect();
            for seq in waiting {
                let state = self.backoff(now, cx.config, sender);
                self.set_partial(sender, seq, state);
            }
        }
        let Some(stream) = self.streams.get_mut(&sender) else {
            return;
        };
        if end <= stream.known_end {
            return;
        }
        let old = stream.known_end.max(stream.start);
        stream.known_end = end;
        let gap_end = if last_missing { end } else { end - 1 };
        self.record_gap(now, cx, sender, old, gap_end);
    }

    /// Records `first .. end`, never heard, as a gap to ask for (or, below
    /// the window or without memory for the record, as lost).
    fn record_gap(
        &mut self,
        now: Instant,
        cx: &mut Cx<'_>,
        sender: SenderId,
        first: u64,
        end: u64,
    ) {
        if first >= end {
            return;
        }
        if cx.config.max_retransmit_attempts == 0 && !cx.config.ordered {
            // Nobody asks for them and nothing waits for them: without
            // recovery and order, messages never heard go unrecorded.
            return;
        }
        let base = cx.reasm.base(sender).unwrap_or(0);
        if first < base {
            let lost_end = base.min(end);
            report_loss(cx, sender, first, lost_end - first, LossReason::Overrun);
        }
        let first = first.max(base);
        // Nothing beyond the window can be tracked (only a heartbeat's lead
        // can point there, and an honest one never does).
        let end = end.min(base.saturating_add(WINDOW));
        if first >= end {
            return;
        }
        if !cx.reasm.charge(cx.config, sender, GAP_CHARGE) {
            cx.reasm.give_up_range(sender, first, end);
            report_loss(cx, sender, first, end - first, LossReason::Overrun);
            return;
        }
        let state = self.backoff(now, cx.config, sender);
        let item = Item {
            asks: 0,
            state,
            deadline: Some(now + cx.config.message_ttl),
        };
        if let Some(stream) = self.streams.get_mut(&sender) {
            stream.gaps.insert(first, Gap { end, item });
        }
        trace!(%sender, first, end, "gap");
        self.schedule(sender, item.wake());
    }

    /// A heartbeat from `sender`: its `lead`, its `trail`, and the `age`
    /// of its stream.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn on_heartbeat(
        &mut self,
        now: Instant,
        cx: &mut Cx<'_>,
        sender: SenderId,
        lead: u64,
        trail: u64,
        age: Duration,
    ) {
        let new = !self.streams.contains_key(&sender);
        if !self.stream_for(now, cx, sender, lead, false, false) {
            return;
        }
        let entitled = Self::entitled(now, cx, age);
        if new {
            // First heard through a heartbeat: the stream starts at its
            // lead, or at 0 if it began after this node joined.
            if let Some(s) = self.streams.get_mut(&sender) {
                s.trail = trail;
            }
            if lead > 0 {
                if entitled {
                    self.lower_start(now, cx, sender, 0, 0);
                    self.lose_below(cx, sender, trail, LossReason::NotRepairable);
                } else {
                    cx.stats.late_joins += 1;
                }
            }
            self.flush(cx, sender);
            self.tidy_timer(sender);
            return;
        }
        self.decide(now, cx, sender, entitled, Some(lead));
        self.extend_known(now, cx, sender, lead, true, lead);
        let Some(stream) = self.streams.get_mut(&sender) else {
            return;
        };
        if trail > stream.trail {
            stream.trail = trail;
            self.lose_below(cx, sender, trail, LossReason::NotRepairable);
        }
        self.flush(cx, sender);
        self.tidy_timer(sender);
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
}

/// A random instant between `nack_backoff_min` and `nack_backoff_max`
/// from `now`.
fn draw_backoff(rng: &mut ChaCha8Rng, now: Instant, config: &Config) -> Instant {
    let (lo, hi) = (config.nack_backoff_min, config.nack_backoff_max);
    let span = hi.saturating_sub(lo).as_nanos() as u64;
    let extra = if span == 0 {
        0
    } else {
        rng.random_range(0..=span)
    };
    now + lo + Duration::from_nanos(extra)
}

/// The stream's next NACK round: the one planned, or a new one drawn if
/// that one is too close (what is noticed now waits at least
/// `nack_backoff_min`, so that a datagram merely reordered is not asked
/// for).
fn next_round(
    round: &mut Option<Instant>,
    rng: &mut ChaCha8Rng,
    now: Instant,
    config: &Config,
) -> Instant {
    match *round {
        Some(t) if t >= now + config.nack_backoff_min => t,
        _ => {
            let t = draw_backoff(rng, now, config);
            *round = Some(t);
            t
        }
    }
}
