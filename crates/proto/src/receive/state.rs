//! What a receiver keeps about one sender, in one place: the window of
//! finished messages, the partial messages with their segments and their
//! ask (NACK) state, the stream (where this node's share begins, what is
//! known to exist, the gaps, the messages held for order), when it was last
//! heard, and the bytes it is charged.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::net::SocketAddr;
use std::time::Instant;

use super::budget::NackBudget;
use super::resume::Resume;
use super::segments::Segments;
use crate::bucket::TokenBucket;
use crate::config::SEGMENT_OVERHEAD;
use crate::ids::{MessageSeq, SenderId};
use crate::seqwindow::SeqWindow;
use crate::shared::LossReason;
use crate::wire::DataFrame;

/// What one segment (or one batch entry) says of itself: its message, its
/// place in it, and how it came. Travels as one value from the endpoint
/// through reassembly to loss recovery.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Segment {
    /// The address the datagram came from.
    pub(crate) from: SocketAddr,
    /// The sender.
    pub(crate) sender: SenderId,
    /// The message's number in the sender's stream.
    pub(crate) seq: u64,
    /// The segment's index in its message.
    pub(crate) index: u32,
    /// Segments in the message.
    pub(crate) count: u32,
    /// The message's length.
    pub(crate) message_len: u32,
    /// The sender's segment size for the message.
    pub(crate) segment_size: u32,
    /// Sent as a repair.
    pub(crate) retransmission: bool,
}

impl Segment {
    /// The segment a data frame carries.
    pub(crate) fn of_frame(from: SocketAddr, frame: &DataFrame<'_>) -> Self {
        let h = frame.header();
        Self {
            from,
            sender: h.sender,
            seq: h.seq.get(),
            index: h.index.get(),
            count: h.count,
            message_len: h.message_len,
            segment_size: frame.segment_size(),
            retransmission: h.flags.contains(crate::wire::Flags::RETRANSMISSION),
        }
    }

    /// A whole message of `len` bytes in one piece (a batch entry).
    pub(crate) fn whole(
        from: SocketAddr,
        sender: SenderId,
        seq: u64,
        len: usize,
        retransmission: bool,
    ) -> Self {
        // Fits: a batch entry is part of one datagram.
        let len = u32::try_from(len).unwrap_or(u32::MAX);
        Self {
            from,
            sender,
            seq,
            index: 0,
            count: 1,
            message_len: len,
            segment_size: len,
            retransmission,
        }
    }
}

/// The receiver's books over every sender: bytes charged, partial
/// messages held, and their deadlines.
#[derive(Debug, Default)]
pub(crate) struct Ledger {
    /// Bytes charged over every sender.
    pub(crate) bytes: usize,
    /// Of `bytes`, what loss recovery charged.
    pub(crate) extra: usize,
    /// Of `bytes`, what the windows take.
    pub(crate) window_bytes: usize,
    /// Partial messages held.
    pub(crate) partials: usize,
    /// Partial messages' deadlines.
    pub(crate) expiry: BTreeSet<(Instant, SenderId, MessageSeq)>,
}

/// The ask state of something missing (a gap, a partial message, or the
/// pending join decision).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum State {
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

/// How asking for one missing thing goes.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Item {
    /// NACKs sent (or overheard) for it since the sender was last heard:
    /// asks that went unanswered.
    pub(crate) asks: u32,
    pub(crate) state: State,
    /// Final loss at this instant (whole-message gaps and the join only;
    /// partials expire on their own deadline).
    pub(crate) deadline: Option<Instant>,
}

impl Item {
    /// A fresh item in this state, without a deadline.
    pub(crate) fn new(state: State) -> Self {
        Self {
            asks: 0,
            state,
            deadline: None,
        }
    }

    /// When it wants attention.
    pub(crate) fn wake(&self) -> Option<Instant> {
        let state = match self.state {
            State::Idle => None,
            State::Backoff(t) | State::Stall(t) => Some(t),
            State::Asked { until, .. } => Some(until),
        };
        [state, self.deadline].into_iter().flatten().min()
    }
}

/// A message some of whose segments are held.
pub(crate) struct Partial {
    pub(crate) count: u32,
    /// The highest segment index held.
    pub(crate) max_index: u32,
    pub(crate) segment_size: u32,
    pub(crate) message_len: u32,
    pub(crate) segments: Segments,
    /// Given up at this instant unless a segment comes.
    pub(crate) deadline: Instant,
    /// Bytes charged for its segments.
    pub(crate) bytes: usize,
    /// Its ask state; `None` for a message this node is not owed (before
    /// the start of its share of the stream): nobody asks for it.
    pub(crate) ask: Option<Item>,
}

impl Partial {
    /// Whether it is known to lack a segment that was sent: one below the
    /// highest held, or any when every segment was sent.
    pub(crate) fn has_hole(&self, all_sent: bool) -> bool {
        let held = self.segments.len() as u32;
        held < self.max_index + 1 || (all_sent && held < self.count)
    }

    /// The segment indexes below `through` it lacks, at most `limit`
    /// (at a cost of what it returns, not of the segments held: see
    /// [`Segments::missing`]).
    pub(crate) fn missing(&self, through: u32, limit: usize) -> Vec<u32> {
        self.segments.missing(through.min(self.count), limit)
    }
}

/// A run of messages never heard, `first .. end` (the key is `first`).
pub(crate) struct Gap {
    pub(crate) end: u64,
    pub(crate) item: Item,
}

/// A complete message held back for order.
pub(crate) struct Held {
    pub(crate) from: SocketAddr,
    pub(crate) body: Vec<u8>,
}

impl Held {
    /// What holding it charges to the budgets.
    pub(crate) fn charge(&self) -> usize {
        self.body.len() + SEGMENT_OVERHEAD
    }
}

/// Everything a receiver keeps about one sender.
pub(crate) struct SenderState {
    pub(crate) id: SenderId,

    // Reassembly.
    /// Which messages are finished (delivered or given up).
    pub(crate) window: SeqWindow,
    /// Messages partly received, with their ask state.
    pub(crate) partials: BTreeMap<u64, Partial>,
    /// Messages this node was owed whose segments the window pushed out:
    /// reported lost (`Overrun`) with what else slid below it.
    pub(crate) overrun: Vec<u64>,

    // Budgets.
    /// Bytes charged: partial segments, plus `extra`, plus `window_bytes`.
    pub(crate) bytes: usize,
    /// Bytes charged by loss recovery (messages held for ordering, gap
    /// records), on top of the partials.
    pub(crate) extra: usize,
    /// Bytes the window's bitmap chunks take, charged too.
    pub(crate) window_bytes: usize,

    // What it is known by.
    /// When its latest data or heartbeat was handled (eviction goes by it).
    pub(crate) last_heard: Instant,
    /// When anything (data, repair, heartbeat, NACK) last came from it: a
    /// sender that is heard is alive, and is asked again.
    pub(crate) last_alive: Instant,
    /// Where its latest data or heartbeat came from.
    pub(crate) from: SocketAddr,
    /// Where its latest data came from (`from` is a heartbeat's address
    /// after one): a heartbeat agrees with the data only from there, and
    /// its home is taken from here.
    pub(crate) data_from: Option<SocketAddr>,
    /// Where it was first heard from (data or a heartbeat): it stands for
    /// its home until it has one and until data came (see
    /// [`is_home`](Self::is_home)).
    pub(crate) first_from: SocketAddr,
    /// The next seq it will use, as far as this node knows.
    pub(crate) lead: u64,
    /// Its messages delivered, and declared lost, while tracked.
    pub(crate) delivered: u64,
    pub(crate) lost: u64,

    // The stream: this node's share of it, and what is missing.
    /// The first seq this node is responsible for: nothing below it is
    /// asked for, reported or (with ordering) delivered.
    pub(crate) start: u64,
    /// The next seq to deliver (with ordering).
    pub(crate) next: u64,
    /// One past the highest seq known to exist.
    pub(crate) known_end: u64,
    /// Every message below this was sent in full (a later message was
    /// heard, or a heartbeat's lead): a partial below it lacks segments
    /// that were sent.
    pub(crate) sent_below: u64,
    /// The sender's latest heartbeat trail.
    pub(crate) trail: u64,
    pub(crate) held: BTreeMap<u64, Held>,
    /// Held messages next in order wait for the application to take the
    /// events before them (the sender is in the receiver's
    /// `waiting_room`).
    pub(crate) waiting_room: bool,
    pub(crate) gaps: BTreeMap<u64, Gap>,
    /// Set while it is not known whether this node joined before the
    /// sender's stream began (first heard mid-stream, no heartbeat yet):
    /// the request for a heartbeat that will tell. Delivery waits (with
    /// ordering), and `start` is only provisional.
    pub(crate) join: Option<Item>,
    /// While the join is pending: the lowest seq heard sent live (not as a
    /// repair), where a late joiner's share begins.
    pub(crate) first_live: Option<u64>,
    /// The next NACK round: everything noticed before it is asked for in
    /// it, together (one random back-off per round, not per item).
    pub(crate) round: Option<Instant>,
    /// When the stream's recovery wants attention (its entry in the
    /// receiver's timers).
    pub(crate) wake: Option<Instant>,

    // Trust (a hostile LAN): what it has shown of itself.
    /// Datagrams (data, batch entries, heartbeats) taken from it.
    pub(crate) heard: u32,
    /// Believed real: a message of it completed, or it sent a heartbeat
    /// consistent with its data, from where that data came. Only then is
    /// it asked for anything (but see `young_hint`), or its losses told.
    pub(crate) believed: bool,
    /// One past the highest seq heard in its data.
    pub(crate) data_end: u64,
    /// One past the highest seq the sender itself vouches for: its data
    /// and heartbeat leads from its home (see [`is_home`](Self::is_home)).
    /// Seqs beyond it are not reported lost while it is heard: an
    /// impersonator's frame inside the plausible window points there, and
    /// the sender has not sent them yet.
    pub(crate) vouched: u64,
    /// When its home last vouched (see [`vouch`](Self::vouch)): while
    /// that is recent, data and heartbeats from elsewhere are also held
    /// to half a window past `vouched` (see `plausible_end`).
    pub(crate) home_alive: Instant,
    /// The first seq heard, and when: the stream may not run ahead of
    /// them faster than the plausible rate (`bounds::MAX_RATE`).
    pub(crate) first_seq: u64,
    pub(crate) first_at: Instant,
    /// When its latest plausible datagram came.
    pub(crate) plausible_at: Instant,
    /// The address its data came from when it was first believed (or its
    /// first data after, if it was believed before any): datagrams from
    /// there may run further ahead (`SenderState::taken_from_home`). Never
    /// a heartbeat's address alone (anyone may send one from anywhere),
    /// but for a young stream settled from its heartbeat (`young_hint`),
    /// whose home is where that heartbeat came from.
    pub(crate) home: Option<SocketAddr>,
    /// Implausible datagrams since its latest plausible one.
    pub(crate) implausible_run: u32,
    /// Its stream was settled at once from a heartbeat of a young stream
    /// (see `Receiver::on_first_heartbeats`): what it missed is asked for
    /// though it is not believed real (so that a node that missed all of a
    /// sender that then went quiet still gets it), within what it earns
    /// (one NACK at once, then as any sender); its losses still wait for
    /// it to be believed.
    pub(crate) young_hint: bool,
    /// Its NACK budget (see `budget.rs`).
    pub(crate) nacks: TokenBucket,
    /// What its latest finished messages looked like (a second, different
    /// copy is a conflict).
    pub(crate) recent: VecDeque<Digest>,
    /// A conflict was reported for it (once per sender).
    pub(crate) conflict_told: bool,
    /// Heard only through heartbeats so far: the latest, a hint that its
    /// first data settles (see the `plausible` module).
    pub(crate) hint: Option<Hint>,
    /// Losses declared while it was not believed real, told once it is
    /// (runs of seqs, at most [`MAX_WAITING_LOSSES`]).
    pub(crate) waiting_losses: Vec<WaitingLoss>,
    /// The point it resumed from, or started afresh far from (`rest_on`):
    /// nothing just below it is owed or delivered again. Read it through
    /// [`floor`](Self::floor), which drops it once the sender is
    /// established away from the point's home.
    pub(crate) floor: Option<Resume>,
    /// It resumed from a point with a home, on a datagram from elsewhere
    /// (perhaps forged): it is not established until its data comes from
    /// that home (see `SenderState::resumed`).
    pub(crate) home_unheard: bool,
}

/// The most runs of lost seqs a sender not believed real keeps for the
/// report it may earn (more are counted as `losses_untold` at once): a
/// real sender's first messages lost before it is believed are a run or
/// two, and ids a stranger makes up may each hold this many.
pub(crate) const MAX_WAITING_LOSSES: usize = 4;

/// A run of messages lost while their sender was not believed real.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct WaitingLoss {
    pub(crate) first: u64,
    pub(crate) count: u64,
    pub(crate) reason: LossReason,
}

/// A heartbeat of a sender heard only through heartbeats (a hint, until
/// its data settles it).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Hint {
    pub(crate) sender: SenderId,
    pub(crate) lead: u64,
    pub(crate) trail: u64,
    pub(crate) age_ms: u32,
    pub(crate) from: SocketAddr,
    pub(crate) at: Instant,
}

/// What a finished message looked like: its shape, and a hash of its body.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Digest {
    pub(crate) seq: u64,
    pub(crate) len: u32,
    pub(crate) count: u32,
    pub(crate) hash: u64,
}

/// How a sender was first heard.
#[derive(Clone, Copy, Debug)]
pub(crate) struct FirstHeard {
    /// Its first seq heard: a data frame's seq, or a heartbeat's lead.
    pub(crate) seq: u64,
    /// Through a data frame (rather than a heartbeat).
    pub(crate) data: bool,
    /// Sent live rather than as a repair.
    pub(crate) live: bool,
}

impl SenderState {
    /// The state of a sender first heard `now` from `from`, whose stream
    /// is first seen at `first.seq`; `join` is the pending join decision.
    pub(crate) fn new(
        id: SenderId,
        now: Instant,
        from: SocketAddr,
        first: FirstHeard,
        join: Option<Item>,
    ) -> Self {
        let seq = first.seq;
        Self {
            id,
            window: SeqWindow::new(seq),
            partials: BTreeMap::new(),
            overrun: Vec::new(),
            bytes: 0,
            extra: 0,
            window_bytes: 0,
            last_heard: now,
            last_alive: now,
            from,
            data_from: first.data.then_some(from),
            first_from: from,
            lead: if first.data {
                seq.saturating_add(1)
            } else {
                seq
            },
            delivered: 0,
            lost: 0,
            start: seq,
            next: seq,
            known_end: seq,
            sent_below: 0,
            trail: 0,
            held: BTreeMap::new(),
            waiting_room: false,
            gaps: BTreeMap::new(),
            join,
            first_live: (first.data && first.live).then_some(seq),
            round: None,
            wake: None,
            heard: 1,
            believed: false,
            data_end: if first.data { seq.saturating_add(1) } else { 0 },
            vouched: if first.data {
                seq.saturating_add(1)
            } else {
                seq
            },
            home_alive: now,
            first_seq: seq,
            first_at: now,
            plausible_at: now,
            home: None,
            implausible_run: 0,
            young_hint: false,
            nacks: NackBudget::for_sender(now),
            recent: VecDeque::new(),
            conflict_told: false,
            hint: None,
            waiting_losses: Vec::new(),
            floor: None,
            home_unheard: false,
        }
    }

    /// The state of a sender forgotten earlier that is heard again, with a
    /// datagram plausible for its resume `point`: its stream resumes there
    /// (one past the highest seq it delivered then), nothing below is owed
    /// or delivered again, and no join is pending.
    ///
    /// That one datagram may be forged: the sender is heard once (not
    /// established: re-anchored by data that contradicts it, as a newcomer
    /// is), vouched for no further than the point, and keeps its old home.
    /// From that home, it is believed, and its stream may have run on
    /// since the point at the plausible rate (the stream-age bound counts
    /// from when it was last heard there, as `Resume::judge` does); from
    /// anywhere else, it is not believed, nor established, until its data
    /// comes from home, and the bound counts from now.
    pub(crate) fn resumed(
        id: SenderId,
        now: Instant,
        from: SocketAddr,
        first: FirstHeard,
        point: Resume,
    ) -> Self {
        let mut state = Self::new(id, now, from, first, None);
        let resume = point.seq;
        state.window = SeqWindow::starting_at(resume);
        state.start = resume;
        state.next = resume;
        state.known_end = resume;
        state.lead = state.lead.max(resume);
        // Its data from its home vouches for more (`on_data`).
        state.vouched = resume;
        state.first_seq = resume.min(first.seq);
        state.home = point.home;
        let at_home = point.home == Some(from);
        if at_home {
            state.first_at = point.at;
        }
        state.believed = at_home;
        state.home_unheard = point.home.is_some() && !at_home;
        state.floor = Some(point);
        state
    }

    /// Makes a new state, whose first datagram was far from the resume
    /// `point` of a sender heard once before, keep that point: nothing
    /// below it (within `bounds::AHEAD`) is delivered again, nor owed
    /// (its join, when settled, lowers its start no further), and the
    /// point is kept if it is forgotten before it is established (see
    /// `resume_point`).
    pub(crate) fn rest_on(&mut self, point: Resume) {
        self.floor = Some(point);
    }

    /// Keeps a loss declared while it is not believed real, for the report
    /// it may earn: merged into the run it continues, or a run of its own
    /// while there is room. `false`: no room, the loss goes untold.
    pub(crate) fn wait_loss(&mut self, first: u64, count: u64, reason: LossReason) -> bool {
        if let Some(last) = self.waiting_losses.last_mut() {
            if last.reason == reason && last.first.saturating_add(last.count) == first {
                last.count = last.count.saturating_add(count);
                return true;
            }
        }
        if self.waiting_losses.len() >= MAX_WAITING_LOSSES {
            return false;
        }
        self.waiting_losses.push(WaitingLoss {
            first,
            count,
            reason,
        });
        true
    }

    /// Messages whose loss waits for it to be believed real now.
    pub(crate) fn waiting_count(&self) -> u64 {
        self.waiting_losses.iter().map(|l| l.count).sum()
    }

    /// Takes it as real: its home is where its latest data came from (if
    /// none came yet, its first data sets it: see `data_heard`), or for a
    /// young stream settled from a heartbeat, where that came from.
    pub(crate) fn believe_at_home(&mut self) {
        self.believed = true;
        // A young stream settled from its own heartbeat is at home where
        // that heartbeat came from: a forged event from elsewhere that
        // completes first must not take its home (its data from there
        // would then vouch for nothing, and its gaps never be asked for).
        let at = if self.young_hint {
            Some(self.first_from)
        } else {
            self.data_from
        };
        if let Some(at) = at {
            self.home.get_or_insert(at);
        }
    }

    /// Its data came from `from`: that is where its data comes from now,
    /// and its home if it is believed without one.
    pub(crate) fn data_heard(&mut self, from: SocketAddr) {
        self.data_from = Some(from);
        if self.believed {
            self.home.get_or_insert(from);
        }
    }

    /// Whether a heartbeat from `from` agrees with the data heard: its
    /// `lead` is past all of it, and it came from where the data did (a
    /// heartbeat from elsewhere may be an impersonator's).
    pub(crate) fn agrees_with_data(&self, from: SocketAddr, lead: u64) -> bool {
        self.data_end > 0 && lead >= self.data_end && self.data_from == Some(from)
    }

    /// Its own datagram (data, or a heartbeat's lead) from `from` says the
    /// stream reached `end` at `now`: vouched for, if `from` is its home.
    pub(crate) fn vouch(&mut self, from: SocketAddr, end: u64, now: Instant) {
        if self.is_home(from) {
            self.vouched = self.vouched.max(end);
            self.home_alive = now;
        }
    }

    /// Whether `from` is the sender's home address: only its own
    /// datagrams vouch for a lead, move a trail or tell its stream's age.
    /// Until it has a home, the address its latest data came from stands
    /// for it, and before any data the address it was first heard from: a
    /// heartbeat from elsewhere may be an impersonator's (when any address
    /// counted, one heartbeat's trail made a young stream's first messages
    /// lost before its data came).
    pub(crate) fn is_home(&self, from: SocketAddr) -> bool {
        self.home.or(self.data_from).unwrap_or(self.first_from) == from
    }

    /// Whether partial `seq` is one this node asks for.
    pub(crate) fn asks_for(&self, seq: u64) -> bool {
        self.partials.get(&seq).is_some_and(|p| p.ask.is_some())
    }

    /// The earliest instant anything of the stream wants attention.
    pub(crate) fn earliest_wake(&self) -> Option<Instant> {
        self.gaps
            .values()
            .map(|g| g.item)
            .chain(self.partials.values().filter_map(|p| p.ask))
            .chain(self.join)
            .filter_map(|i| i.wake())
            .min()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::receive::segments::Hooks;

    /// A partial message of `count` one-byte segments holding `held`.
    fn partial(count: u32, held: impl IntoIterator<Item = u32>) -> Partial {
        let mut segments = Segments::default();
        let mut max_index = 0;
        for i in held {
            segments.insert(i, &[7], None, Hooks::default());
            max_index = max_index.max(i);
        }
        Partial {
            count,
            max_index,
            segment_size: 1,
            message_len: count,
            segments,
            deadline: Instant::now(),
            bytes: 0,
            ask: None,
        }
    }

    #[test]
    fn missing_past_a_long_prefix_in_order_is_exact() {
        // The shape of a stranger's stalled message: a million segments in
        // order, then holes and a few ahead.
        const N: u32 = 1_000_000;
        let p = partial(N + 10, (0..N).chain([N + 2, N + 3, N + 7]));
        let expected = vec![N, N + 1, N + 4, N + 5, N + 6, N + 8, N + 9];
        assert_eq!(p.missing(p.max_index + 1, 2048), expected[..5]);
        // `through` past the count is the count.
        assert_eq!(p.missing(u32::MAX, 2048), expected);
        assert_eq!(p.missing(u32::MAX, 3), expected[..3]);
        // Nothing missing below what is held in order.
        assert!(p.missing(N, 2048).is_empty());
        // All in order, none after: nothing missing until the end is sent.
        let whole = partial(N + 1, 0..N);
        assert!(whole.missing(whole.max_index + 1, 2048).is_empty());
        assert_eq!(whole.missing(N + 1, 2048), [N]);
    }
}
