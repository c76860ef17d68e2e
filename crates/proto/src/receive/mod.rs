//! The receiving side of an endpoint: for every sender it hears, one
//! [`SenderState`] that owns all this node keeps about it (reassembly of
//! segmented messages within memory budgets, expiry, loss recovery,
//! in-order delivery), and the [`Receiver`] that owns them all, their
//! deadlines, and what they have to say: events for the application and
//! NACKs for the network, drained by the endpoint.
//!
//! Segments are put together as they arrive (in place when in order,
//! `segments.rs`), in a buffer reserved for a message's claimed length
//! only for a sender believed real with no other partial message, and
//! while the budgets could hold all of it. Every buffered byte (plus a fixed bookkeeping charge per
//! segment), every message held for order and every gap record counts
//! against a per-sender and a total budget.
//!
//! The rules of loss recovery (docs/PROTOCOL.md states them for
//! implementers):
//!
//! - **Asking.** A gap (seqs never heard), or a partial message known to
//!   lack segments, is asked for after a random back-off between
//!   `nack_backoff_min` and `nack_backoff_max`. Another receiver's NACK
//!   heard during the back-off that names all of it holds ours back
//!   (suppression). Then the receiver waits `repair_timeout`; if the data
//!   has not come, it backs off and asks again ([`ask`]).
//! - **Giving up.** It keeps asking while the sender is heard (anything
//!   from it: data, repairs, heartbeats, NACKs). The loss is final when the
//!   sender has not answered `max_retransmit_attempts` NACKs in a row and
//!   was silent for `heartbeat_max` (`Unrecoverable`: a live sender is
//!   heard at least that often); when its heartbeat's trail has passed the
//!   data (`NotRepairable`); when a gap is not repaired, or a partial makes
//!   no progress, within `message_ttl` (`Expired`); when the window moves
//!   past it or no memory is left to wait (`Overrun`); or when the sender
//!   is forgotten (`Evicted`). Each loss is reported once.
//! - **Joining** ([`join`]). A stream first heard at message 0 starts
//!   there. A stream first heard mid-way is owed from message 0 if it began
//!   after this node joined (the heartbeat's `age` is no more than this
//!   node's time in the group), and from the first message heard
//!   otherwise: a late joiner never asks for history. Until a heartbeat
//!   from the sender's home tells (the receiver asks for one with an empty
//!   NACK), delivery from that sender waits.
//! - **Order** ([`order`]). With `ordered`, a complete message waits behind
//!   every earlier one that is missing, until it arrives or is declared
//!   lost.

use std::collections::{BTreeSet, VecDeque};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::Rng;
use rand_chacha::ChaCha8Rng;
use tracing::debug;

use crate::config::Config;
use crate::flat::LastFlat;
use crate::ids::{MessageSeq, SenderId};
use crate::peer::PeerInfo;
use crate::shared::{EndpointEvent, Timer};
use crate::stats::Stats;
use crate::wire::{Heartbeat, Nack};

mod admission;
mod ask;
mod bounds;
mod budget;
mod conflict;
mod join;
mod names;
mod order;
mod plausible;
mod reassemble;
mod resume;
mod segments;
mod senders;
mod spares;
mod state;
mod stream;

use admission::Forgotten;
use budget::NackBudget;
use names::Names;
use senders::Senders;
use spares::Spares;
pub(crate) use state::Segment;
use state::{Hint, Ledger, SenderState, State};

/// Bytes charged to the budgets for one gap record.
const GAP_CHARGE: usize = 64;

/// The most segment indexes of one partial message named in one round of
/// NACKs.
const MAX_MISSING_PER_ROUND: usize = 64 * 32;

/// Events for the application, the names of the messages delivered last,
/// shared with the next ones ([`Names`]), the shape of the last flat
/// body (a burst's next bodies have it: see `flat.rs`), and the messages
/// given back to make the next ones in ([`Spares`]).
#[derive(Debug, Default)]
struct Deliveries {
    events: VecDeque<EndpointEvent>,
    names: Names,
    last_flat: Option<LastFlat<Arc<str>>>,
    spares: Spares,
}

/// What became of one segment in reassembly.
#[derive(Debug, PartialEq, Eq)]
enum Arrival {
    /// The message is complete: here is its body.
    Complete(Vec<u8>),
    /// Buffered; the message is not complete yet.
    Buffered,
    /// Dropped, for this reason.
    Dropped(DropReason),
}

/// Why a segment was dropped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum DropReason {
    Duplicate,
    Stale,
    TooLarge,
    OverBudget,
    /// Disagrees with earlier segments of the same message about its shape.
    Inconsistent,
    /// From a new sender refused admission (the table is full of senders
    /// believed real and heard).
    Refused,
}

/// Every sender this node hears, and what they have to say.
pub(crate) struct Receiver {
    config: Config,
    /// This node's own id (it names the NACKs it sends).
    me: SenderId,
    /// When this node joined the group (started listening).
    joined: Option<Instant>,
    senders: Senders,
    /// Bytes charged and partials held over every sender, and the
    /// partials' deadlines.
    ledger: Ledger,
    /// When each sender's loss recovery wants attention.
    wakes: BTreeSet<(Instant, SenderId)>,
    rng: ChaCha8Rng,
    /// Senders forgotten to make room: their losses and held messages are
    /// told once the datagram that pushed them out is handled.
    evicted: Vec<SenderState>,
    /// Events for the application, drained by the endpoint.
    out: Deliveries,
    /// Events the endpoint holds still (set before each input).
    outside: usize,
    /// Senders whose held messages wait for room (see `order::flush`).
    waiting_room: VecDeque<SenderId>,
    /// NACKs to send, drained by the endpoint.
    nacks: VecDeque<Vec<u8>>,
    /// Where senders forgotten after delivering resume: those established
    /// (strong points), and the others (weak points), kept apart so that a
    /// flood of one-datagram ids cannot push the others out.
    remembered: Forgotten,
    glimpsed: Forgotten,
    /// The node's NACK budget.
    budget: NackBudget,
}

impl Receiver {
    pub(crate) fn new(config: &Config, me: SenderId, rng: ChaCha8Rng) -> Self {
        Self {
            config: config.clone(),
            me,
            joined: None,
            senders: Senders::default(),
            ledger: Ledger::default(),
            wakes: BTreeSet::new(),
            rng,
            evicted: Vec::new(),
            out: Deliveries::default(),
            outside: 0,
            waiting_room: VecDeque::new(),
            nacks: VecDeque::new(),
            remembered: Forgotten::default(),
            glimpsed: Forgotten::default(),
            budget: NackBudget::default(),
        }
    }

    /// Keeps `message`, delivered and done with, to make the next ones in
    /// (`spares.rs`).
    pub(crate) fn give_back(&mut self, message: Arc<crate::shared::ReceivedMessage>) {
        self.out.spares.give(message);
    }

    /// This node joined the group at `now`.
    pub(crate) fn set_joined(&mut self, now: Instant) {
        self.joined = Some(now);
    }

    /// The first input came at `now`: it counts as joining, unless the
    /// driver said otherwise.
    pub(crate) fn started(&mut self, now: Instant) {
        self.joined.get_or_insert(now);
    }

    /// Something came from `sender`: it is alive. (Every datagram earns
    /// the node a share of a NACK.)
    pub(crate) fn heard(&mut self, now: Instant, sender: SenderId) {
        self.budget.received();
        if let Some(state) = self.senders.get_mut(&sender) {
            state.last_alive = state.last_alive.max(now);
        }
    }

    /// One segment (or batch entry) of a message, with its bytes.
    pub(crate) fn on_segment(
        &mut self,
        now: Instant,
        stats: &mut Stats,
        segment: Segment,
        payload: &[u8],
    ) {
        if !self.plausible_data(now, stats, &segment) {
            stats.dropped.implausible += 1;
            let (sender, seq) = (segment.sender, segment.seq);
            debug!(%sender, seq, from = %segment.from, "implausible seq dropped");
            return;
        }
        let arrival = self.insert(now, stats, &segment, payload);
        Self::count_arrival(stats, &segment, &arrival);
        match arrival {
            Arrival::Dropped(DropReason::TooLarge | DropReason::Refused) => {}
            Arrival::Dropped(DropReason::Duplicate) => {
                self.check_conflict(stats, &segment, payload);
                self.on_data(now, stats, &segment, arrival);
            }
            _ => self.on_data(now, stats, &segment, arrival),
        }
        self.forget_evicted(stats);
    }

    /// A heartbeat from another node, which came from `from`; whether it
    /// was taken as the sender's (of a sender known here, with a plausible
    /// lead), not only as a first hint or ignored.
    pub(crate) fn on_heartbeat(
        &mut self,
        now: Instant,
        stats: &mut Stats,
        from: SocketAddr,
        hb: &Heartbeat,
    ) -> bool {
        let sender = hb.sender();
        let (lead, trail) = (hb.lead().get(), hb.trail().get());
        let hint = Hint {
            sender,
            lead,
            trail,
            age_ms: hb.age_ms(),
            from,
            at: now,
        };
        let hinted = self.senders.get(&sender).map(|s| s.hint.is_some());
        if hinted != Some(false) {
            self.on_first_heartbeats(now, stats, hint);
            self.forget_evicted(stats);
            return false;
        }
        let live_for = self.home_live_for();
        let Some(state) = self.senders.get_mut(&sender) else {
            return false;
        };
        if lead > state.plausible_end(now, from, live_for)
            && !state.taken_from_home(from, lead, now)
        {
            stats.heartbeats_implausible += 1;
            state.implausible_run = state.implausible_run.saturating_add(1);
            debug!(%sender, lead, %from, "implausible heartbeat ignored");
            return false;
        }
        state.plausibly_heard(now);
        state.vouch(from, lead, now);
        // A trail says what the sender can no longer repair: only the
        // sender itself, from its home, may say so (see
        // `SenderState::is_home`). An impersonator's trail from elsewhere
        // would make every gap open now lost though the sender still
        // keeps it.
        let from_home = state.is_home(from);
        let data_from = state.data_from;
        let trail = if from_home { trail } else { 0 };
        // Believed only from where its data came: a heartbeat from
        // elsewhere that agrees with its data may be an impersonator's.
        let believe = !state.believed && state.agrees_with_data(from, lead);
        let first = state::FirstHeard {
            seq: lead,
            data: false,
            live: false,
        };
        self.touch(now, stats, sender, from, first);
        if believe {
            // Before the heartbeat's losses (its trail), so that they are
            // told at once rather than wait.
            self.believe(now, stats, sender);
        }
        // The age, from home or from where its latest data came (a forged
        // first event from elsewhere may have taken the home: the real
        // sender's heartbeats still settle its join).
        let tells_age = from_home || data_from == Some(from);
        let age = tells_age.then(|| Duration::from_millis(u64::from(hb.age_ms())));
        self.on_stream_heartbeat(now, stats, sender, (lead, trail), age, false);
        self.forget_evicted(stats);
        true
    }

    /// Another receiver's NACK: hold back our own asks for what it names.
    pub(crate) fn on_overheard_nack(&mut self, now: Instant, stats: &mut Stats, nack: &Nack) {
        self.suppress(now, stats, nack);
    }

    /// Handles every deadline at or before `now`: expiry of partial
    /// messages, NACKs due, losses that become final.
    pub(crate) fn handle_timeout(&mut self, now: Instant, stats: &mut Stats) {
        self.expire(now, stats);
        while let Some(&(t, sender)) = self.wakes.first() {
            if t > now {
                break;
            }
            self.wakes.pop_first();
            if let Some(s) = self.senders.get_mut(&sender) {
                s.wake = None;
            }
            self.evaluate(now, stats, sender);
        }
    }

    /// The receiver's next deadline, and what it is for.
    pub(crate) fn next_timer(&self) -> Option<(Instant, Timer)> {
        let expiry = self
            .ledger
            .expiry
            .first()
            .map(|(t, _, _)| (*t, Timer::Expiry));
        let recovery = self.wakes.first().map(|(t, _)| (*t, Timer::Recovery));
        [expiry, recovery]
            .into_iter()
            .flatten()
            .min_by_key(|(t, _)| *t)
    }

    /// The endpoint holds `n` events the application has not taken: a
    /// flush fills the room left.
    pub(crate) fn queued_outside(&mut self, n: usize) {
        self.outside = n;
    }

    /// The events for the application (the endpoint takes them whole).
    pub(crate) fn events_mut(&mut self) -> &mut VecDeque<EndpointEvent> {
        &mut self.out.events
    }

    /// The next NACK to send.
    pub(crate) fn poll_nack(&mut self) -> Option<Vec<u8>> {
        self.nacks.pop_front()
    }

    /// Partial messages held now.
    pub(crate) fn partial_messages(&self) -> usize {
        self.ledger.partials
    }

    /// Bytes partial messages hold now, bookkeeping included.
    pub(crate) fn partial_bytes(&self) -> usize {
        self.ledger.bytes - self.ledger.extra - self.ledger.window_bytes
    }

    /// Bytes the senders' windows take now.
    pub(crate) fn window_bytes(&self) -> usize {
        self.ledger.window_bytes
    }

    /// Bytes loss recovery holds now (messages held for order, gap
    /// records), charged to the same budgets.
    pub(crate) fn recovery_bytes(&self) -> usize {
        self.ledger.extra
    }

    /// Whether `sender` is tracked and believed real.
    pub(crate) fn believes(&self, sender: SenderId) -> bool {
        self.senders.get(&sender).is_some_and(|s| s.believed)
    }

    /// Senders tracked now.
    pub(crate) fn senders(&self) -> usize {
        self.senders.len()
    }

    /// Senders forgotten whose resume point is remembered now.
    pub(crate) fn remembered(&self) -> usize {
        self.remembered.len() + self.glimpsed.len()
    }

    /// Messages held back for order now.
    pub(crate) fn held(&self) -> usize {
        self.senders.values().map(|s| s.held.len()).sum()
    }

    /// Every sender tracked now, by id.
    pub(crate) fn peers(&self, now: Instant) -> Vec<PeerInfo> {
        let mut peers: Vec<PeerInfo> = self
            .senders
            .iter()
            .map(|(&id, s)| PeerInfo {
                id,
                addr: s.from,
                last_heard: s.last_heard,
                since_heard: now.saturating_duration_since(s.last_heard),
                lead: MessageSeq::new(s.lead),
                delivered: s.delivered,
                lost: s.lost,
            })
            .collect();
        peers.sort_unstable_by_key(|p| p.id);
        peers
    }

    /// The state of an item that should be asked for in the stream's
    /// next NACK round (nothing to ask without recovery).
    fn backoff(&mut self, now: Instant, sender: SenderId) -> State {
        if self.config.max_retransmit_attempts == 0 {
            return State::Idle;
        }
        match self.senders.get_mut(&sender) {
            Some(s) => State::Backoff(next_round(&mut s.round, &mut self.rng, now, &self.config)),
            None => State::Backoff(draw_backoff(&mut self.rng, now, &self.config)),
        }
    }

    /// Wakes up for `sender` at `at`, unless it wakes earlier already.
    fn schedule(&mut self, sender: SenderId, at: Option<Instant>) {
        let Some(at) = at else { return };
        let Some(state) = self.senders.get_mut(&sender) else {
            return;
        };
        if state.wake.is_some_and(|w| w <= at) {
            return;
        }
        if let Some(old) = state.wake.replace(at) {
            self.wakes.remove(&(old, sender));
        }
        self.wakes.insert((at, sender));
    }

    /// Drops the stream's timer when nothing is left to wait for, so that
    /// an idle receiver has no deadline.
    fn tidy_timer(&mut self, sender: SenderId) {
        let Some(state) = self.senders.get_mut(&sender) else {
            return;
        };
        // (Gaps always have a deadline: any gap is something to wait for.)
        let waiting = !state.gaps.is_empty()
            || state.join.is_some()
            || state
                .partials
                .values()
                .any(|p| p.ask.is_some_and(|i| i.wake().is_some()));
        if !waiting {
            if let Some(w) = state.wake.take() {
                self.wakes.remove(&(w, sender));
            }
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
