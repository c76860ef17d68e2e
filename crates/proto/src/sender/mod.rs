//! The sending side of one endpoint: the queue of messages not yet sent,
//! the retransmit store, repairs, heartbeats and pacing.
//!
//! Messages are sent in sequence order, segment by segment, paced by a
//! token bucket; small complete messages that queue up go out together in
//! one batch frame. Every message stays in the retransmit store until it
//! is older than `retransmit_window` or pushed out by
//! `retransmit_window_bytes`. A NACK adds what it asks for (and what the
//! store still has) to the repair queue, which goes before new data; a
//! segment repaired within `repair_linger` is not repaired again, and the
//! repairs queued are bounded by a budget (5,000 a second, plus two per
//! segment sent the first time, in bursts of up to 4,096): NACKs are
//! anyone's to send on a LAN without a key, so what they can make a sender
//! send is bounded, and so is the work one NACK makes it do (it looks at
//! each segment it asks for once, and at no more than the budget lets it
//! repair, what is queued or just repaired, and 4,096 it refuses); what
//! the budget refuses is asked for again. When the sender goes quiet it
//! sends heartbeats, at intervals that double from `heartbeat_min` to
//! `heartbeat_max`.
//!
//! New data and repairs also wait for the receivers' windows
//! (`window.rs`): a receiver's status frame says how far into the stream
//! it has read and how much more it takes. A repair takes room in the
//! windows until the slowest receiver has read past the point of the
//! stream it was sent at (a socket reads in order), or for
//! `repair_timeout` at most.

mod nack;

use std::collections::VecDeque;
use std::num::NonZeroU64;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tracing::trace;

use crate::arena::Arena;
use crate::config::Config;
use crate::datagram::Datagram;
use crate::fastmap::{FastMap, FastSet};
use crate::ids::{MessageSeq, SegmentIndex, SenderId};
use crate::pacer::Pacer;
use crate::shared::Timer;
use crate::stats::Stats;
use crate::store::{Body, Parts, SeqRing, INLINE_MAX};
use crate::window::{Verdict, Windows};
use crate::wire::{
    Batch, DataHeader, Flags, Heartbeat, Status, BATCH_ENTRY_OVERHEAD, BATCH_HEADER_LEN,
    DATA_HEADER_LEN,
};

/// Repairs (segments or batch entries) per second the sender may send
/// whatever it sends new.
const REPAIR_FLOOR: f64 = 5000.0;

/// Repairs earned per segment sent the first time.
const REPAIRS_PER_SEGMENT: f64 = 2.0;

/// The most repairs the sender may queue at once.
const REPAIR_BURST: f64 = 4096.0;

/// The most buffers of short bodies copied into the store that the sender
/// keeps for [`Sender::take_spent`] between two calls (each of at most
/// twice [`INLINE_MAX`]: 16 MiB at most).
const SPENT_MAX: usize = 4096;

/// A message kept for sending and repairs.
struct Stored {
    body: Body,
    /// Where its body starts in the stream: the bodies of every earlier
    /// message, in bytes (flow control's positions).
    start: u64,
    count: u32,
    /// Segments sent the first time (all of them once the message is sent).
    sent: u32,
    /// When its last segment went out the first time: nanoseconds after
    /// the stream's first datagram, plus one (see [`Sender::sent_at`]).
    /// A message is kept, most often small and never repaired, for as long
    /// as `retransmit_window`, so what it holds is kept small: when its
    /// segments were repaired is kept apart (`Sender::repaired`).
    sent_at: Option<NonZeroU64>,
}

/// What the next paced datagram will be.
#[derive(Clone, Copy, Debug)]
enum Plan {
    /// Segment `index` of message `seq`.
    Segment { seq: u64, index: u32 },
    /// `n` single-segment messages from `seq` on.
    Batch { seq: u64, n: usize },
}

pub(crate) struct Sender {
    id: SenderId,
    next_seq: u64,
    segment_size: usize,
    /// Seqs not fully sent yet, in order.
    queue: VecDeque<u64>,
    queue_bytes: usize,
    /// Every message not evicted yet, sent or not, by seq.
    store: SeqRing<Stored>,
    /// The short bodies of the messages in `store`.
    arena: Arena,
    /// When each segment of a message in `store` was last repaired, for
    /// the messages repaired at all.
    repaired: FastMap<u64, Box<[Option<Instant>]>>,
    /// The buffers of short bodies copied into `arena`, for the caller to
    /// encode into again: `None` until it first asks for them.
    spent: Option<Vec<Vec<u8>>>,
    /// Bytes of fully sent messages in the store.
    store_bytes: usize,
    repairs: VecDeque<(u64, u32)>,
    pending: FastSet<(u64, u32)>,
    pacer: Pacer,
    /// The pacer held the last attempt back (for counting waits once).
    waiting: bool,
    /// The receivers' windows.
    windows: Windows,
    /// The windows held the last attempt at new data or a repair back.
    window_waiting: bool,
    /// Stream position where the next message queued starts.
    queued_pos: u64,
    /// Stream position up to which new data has been sent.
    sent_pos: u64,
    /// Repairs that may still wait in a receiver's socket: when, at which
    /// stream position, how many bytes; and their sum.
    repair_marks: VecDeque<(Instant, u64, u64)>,
    repair_bytes: u64,
    /// The next heartbeat of the quiet cycle.
    hb_next: Option<Instant>,
    hb_interval: Duration,
    /// A heartbeat owed soon, whatever the cycle (asked for by a NACK
    /// without entries, or to tell that something is no longer
    /// repairable); new data does not push it back.
    hb_asked: Option<Instant>,
    hb_last: Option<Instant>,
    /// When the first datagram of message 0 went out: the stream's birth.
    first_sent: Option<Instant>,
    /// The repair budget: repairs it may queue, as of `repair_at`
    /// (NACKs are anyone's to send: what they cost is bounded).
    repair_tokens: f64,
    repair_at: Option<Instant>,
}

impl Sender {
    pub(crate) fn new(config: &Config, id: SenderId) -> Self {
        Self {
            id,
            next_seq: 0,
            segment_size: config.max_payload_size,
            queue: VecDeque::new(),
            queue_bytes: 0,
            store: SeqRing::new(0),
            arena: Arena::default(),
            repaired: FastMap::default(),
            spent: None,
            store_bytes: 0,
            repairs: VecDeque::new(),
            pending: FastSet::default(),
            pacer: Pacer::new(config),
            waiting: false,
            windows: Windows::new(config),
            window_waiting: false,
            queued_pos: 0,
            sent_pos: 0,
            repair_marks: VecDeque::new(),
            repair_bytes: 0,
            hb_next: None,
            hb_interval: config.heartbeat_min,
            hb_asked: None,
            hb_last: None,
            first_sent: None,
            repair_tokens: REPAIR_BURST,
            repair_at: None,
        }
    }

    /// Bytes waiting to be sent the first time.
    pub(crate) fn queue_bytes(&self) -> usize {
        self.queue_bytes
    }

    /// Whether a message of `len` bytes fits the send queue.
    pub(crate) fn has_room(&self, config: &Config, len: usize) -> bool {
        self.queue_bytes == 0 || self.queue_bytes + len <= config.max_send_queue_bytes
    }

    /// Queues a message (the caller checked room and size).
    pub(crate) fn queue(&mut self, body: Vec<u8>) -> MessageSeq {
        let (body, copied) = Body::new(body, &mut self.arena);
        if let (Some(buf), Some(spent)) = (copied, self.spent.as_mut()) {
            if spent.len() < SPENT_MAX && buf.capacity() <= 2 * INLINE_MAX {
                spent.push(buf);
            }
        }
        self.queue_body(body)
    }

    /// Queues a message of `len` bytes of which `first` is the first part
    /// (the caller checked room and size, and that `first` is whole
    /// segments); the rest is added to [`open_parts`](Self::open_parts).
    /// Its segments go as their parts come.
    pub(crate) fn queue_parts(&mut self, len: usize, first: Vec<u8>) -> MessageSeq {
        self.queue_body(Body::Parts(Box::new(Parts::new(len, first))))
    }

    /// Queues a whole message of `pieces` laid end to end, shared rather
    /// than copied (the caller checked room and size).
    pub(crate) fn queue_pieces(&mut self, pieces: Vec<Arc<Vec<u8>>>) -> MessageSeq {
        self.queue_body(Body::Parts(Box::new(Parts::pieces(pieces))))
    }

    /// The segment size: what a body's parts are whole multiples of.
    pub(crate) fn segment_size(&self) -> usize {
        self.segment_size
    }

    /// The message `seq`'s body, if it is kept and in parts not all here
    /// yet.
    pub(crate) fn open_parts(&mut self, seq: u64) -> Option<&mut Parts> {
        match self.store.get_mut(seq).map(|st| &mut st.body) {
            Some(Body::Parts(parts)) if !parts.is_complete() => Some(parts),
            _ => None,
        }
    }

    fn queue_body(&mut self, body: Body) -> MessageSeq {
        let seq = self.next_seq;
        self.next_seq += 1;
        let len = body.len();
        let count = len.div_ceil(self.segment_size).max(1) as u32;
        debug_assert_eq!(self.store.end(), seq);
        self.store.push(Stored {
            body,
            start: self.queued_pos,
            count,
            sent: 0,
            sent_at: None,
        });
        self.queue.push_back(seq);
        self.queue_bytes += len;
        self.queued_pos += len as u64;
        MessageSeq::new(seq)
    }

    /// The next seq that is not fully sent: every message below it is.
    pub(crate) fn lead(&self) -> u64 {
        self.queue.front().copied().unwrap_or(self.next_seq)
    }

    /// The oldest seq still repairable.
    pub(crate) fn trail(&self) -> u64 {
        self.store
            .first()
            .map_or(self.next_seq, |(s, _)| s)
            .min(self.lead())
    }

    /// The current sending rate, bytes per second.
    pub(crate) fn rate(&self) -> u64 {
        self.pacer.rate()
    }

    /// Bytes of sent messages kept for repairs.
    pub(crate) fn store_bytes(&self) -> usize {
        self.store_bytes
    }

    /// Takes tokens for a datagram that is not paced (NACKs, heartbeats).
    pub(crate) fn charge_unpaced(&mut self, now: Instant, size: usize) {
        self.pacer.force_take(now, size);
    }

    /// Writes the next repair or new datagram into `out` (cleared first),
    /// if the pacer lets it go now (or always, with `unpaced`); `false`:
    /// nothing to send now.
    pub(crate) fn poll_transmit(
        &mut self,
        now: Instant,
        config: &Config,
        unpaced: bool,
        stats: &mut Stats,
        out: &mut Datagram,
    ) -> bool {
        out.clear();
        // Repairs of messages that left the store are dropped.
        while let Some(&(seq, index)) = self.repairs.front() {
            if self.store.contains(seq) {
                break;
            }
            self.repairs.pop_front();
            self.pending.remove(&(seq, index));
        }
        let Some((plan, size, repair)) = self.plan(config) else {
            self.pacer.idle();
            return false;
        };
        if !unpaced && !self.window_allows(now, config, size, stats) {
            return false;
        }
        if unpaced {
            self.pacer.force_take(now, size);
        } else if !self.pacer.try_take(now, size) {
            if !self.waiting {
                self.waiting = true;
                stats.pacing_waits += 1;
            }
            return false;
        }
        self.waiting = false;
        if repair {
            self.take_repair(now, config, plan, out);
        } else {
            self.take_new(now, config, plan, stats, out);
        }
        stats.datagrams_sent += 1;
        stats.bytes_sent += out.len() as u64;
        if repair {
            stats.repairs_sent += 1;
            self.repair_marks
                .push_back((now, self.sent_pos, out.len() as u64));
            self.repair_bytes += out.len() as u64;
        }
        if matches!(plan, Plan::Batch { n, .. } if n >= 2) {
            stats.batches_sent += 1;
        }
        stats.send_queue_bytes = self.queue_bytes as u64;
        stats.send_rate = self.pacer.rate();
        stats.retransmit_store_bytes = self.store_bytes as u64;
        true
    }

    /// Whether the receivers' windows let `size` more bytes of new data
    /// go now (and the pacer's bucket as deep as they are).
    fn window_allows(
        &mut self,
        now: Instant,
        config: &Config,
        size: usize,
        stats: &mut Stats,
    ) -> bool {
        // Repairs read by every receiver (or sent long ago) take no room.
        let read = self.windows.slowest(now);
        while let Some(&(at, mark, bytes)) = self.repair_marks.front() {
            let old = now.saturating_duration_since(at) >= config.repair_timeout;
            if !(old || read.is_none_or(|pos| pos > mark)) {
                break;
            }
            self.repair_marks.pop_front();
            self.repair_bytes -= bytes;
        }
        let in_flight = self.sent_pos + self.repair_bytes;
        let (verdict, lapses) = self.windows.check(now, in_flight, size as u64);
        stats.window_lapses += lapses;
        self.refresh_window(now, stats);
        if verdict == Verdict::Wait {
            if !self.window_waiting {
                self.window_waiting = true;
                stats.window_waits += 1;
                // A heartbeat `heartbeat_min` from now, which receivers
                // in the middle of a message answer with what they read
                // (feedback.rs): one whose quarter is more than this
                // sender may send would not report otherwise. Data the
                // trickle lets out meanwhile does not push it back, as it
                // pushes the quiet cycle's.
                self.owe_heartbeat_at(now + config.heartbeat_min);
            }
            return false;
        }
        self.window_waiting = false;
        true
    }

    /// Tells the pacer the windows that count, and the gauges.
    fn refresh_window(&mut self, now: Instant, stats: &mut Stats) {
        let depth = self.windows.depth(now);
        self.pacer.set_window(depth);
        stats.send_window = depth.unwrap_or(0);
        stats.window_receivers = self.windows.live(now) as u64;
    }

    /// A status addressed to this sender: a receiver's read position and
    /// window. A position in a message no longer kept tells nothing (it
    /// only refreshes the receiver); one beyond what was sent counts as
    /// what was sent.
    pub(crate) fn on_status(&mut self, now: Instant, status: &Status, stats: &mut Stats) {
        stats.statuses_received += 1;
        let seq = status.seq().get();
        let pos = match self.store.get(seq) {
            Some(st) => st.start + u64::from(status.offset()).min(st.body.len() as u64),
            None if seq >= self.next_seq => self.sent_pos,
            None => self.store.first().map_or(self.sent_pos, |(_, st)| st.start),
        };
        self.windows.on_status(
            now,
            status.from(),
            pos.min(self.sent_pos),
            status.window(),
            self.sent_pos,
        );
        self.refresh_window(now, stats);
    }

    /// What goes next, its size, and whether it is a repair.
    fn plan(&self, config: &Config) -> Option<(Plan, usize, bool)> {
        let limit = DATA_HEADER_LEN + config.max_payload_size;
        // Repairs first (the caller pruned those whose message left the
        // store).
        if let Some(&(seq, index)) = self.repairs.front() {
            let st = self.store.get(seq)?;
            if st.count == 1 {
                // Consecutive whole small messages asked for go together.
                let mut expect = seq;
                let next = self.repairs.iter().map_while(|&(s, i)| {
                    let ok = s == expect && i == 0;
                    expect += 1;
                    ok.then_some(s)
                });
                let (n, size) = self.batch_plan(next, limit);
                return Some((Plan::Batch { seq, n }, size, true));
            }
            let size = DATA_HEADER_LEN + Self::segment_len(self.segment_size, st, index);
            return Some((Plan::Segment { seq, index }, size, true));
        }
        let &seq = self.queue.front()?;
        let st = self.store.get(seq)?;
        if self.front_waits() {
            return None;
        }
        if st.count == 1 {
            let (n, size) = self.batch_plan(self.queue.iter().copied(), limit);
            return Some((Plan::Batch { seq, n }, size, false));
        }
        let size = DATA_HEADER_LEN + Self::segment_len(self.segment_size, st, st.sent);
        Some((
            Plan::Segment {
                seq,
                index: st.sent,
            },
            size,
            false,
        ))
    }

    /// How many of the single-segment messages `seqs` (the first of which
    /// is one) go in the next datagram, and its size: one alone as a data
    /// frame, several as a batch no larger than `limit`.
    fn batch_plan(&self, seqs: impl Iterator<Item = u64>, limit: usize) -> (usize, usize) {
        let mut n = 0;
        let mut first_len = 0;
        let mut batch = BATCH_HEADER_LEN;
        for s in seqs {
            let Some(st) = self.store.get(s) else { break };
            if st.count != 1 {
                break;
            }
            let len = st.body.len();
            if n == 0 {
                first_len = len;
            } else if batch + len + BATCH_ENTRY_OVERHEAD > limit {
                break;
            }
            batch += len + BATCH_ENTRY_OVERHEAD;
            n += 1;
            if n == usize::from(u16::MAX) {
                break;
            }
        }
        if n >= 2 {
            (n, batch)
        } else {
            (1, DATA_HEADER_LEN + first_len)
        }
    }

    /// The length of segment `index` of `st` in segments of
    /// `segment_size` bytes.
    fn segment_len(segment_size: usize, st: &Stored, index: u32) -> usize {
        let start = index as usize * segment_size;
        st.body.len().saturating_sub(start).min(segment_size)
    }

    /// Whether the next new segment waits for the part that holds it: the
    /// first message queued is a body in parts whose encoder has not
    /// handed that segment over yet.
    fn front_waits(&self) -> bool {
        self.queue
            .front()
            .and_then(|&seq| self.store.get(seq))
            .is_some_and(|st| Self::segment_end(self.segment_size, st, st.sent) > st.body.filled())
    }

    /// Where segment `index` of `st` ends in its body.
    fn segment_end(segment_size: usize, st: &Stored, index: u32) -> usize {
        (index as usize * segment_size + segment_size).min(st.body.len())
    }

    /// Writes a data frame: its header into `out`'s head, the segment as
    /// the stored body's bytes (see `Body`).
    fn segment(&self, flags: Flags, seq: u64, st: &Stored, index: u32, out: &mut Datagram) {
        let start = index as usize * self.segment_size;
        let end = (start + self.segment_size).min(st.body.len());
        let header = DataHeader {
            flags,
            sender: self.id,
            seq: MessageSeq::new(seq),
            index: SegmentIndex::new(index),
            count: st.count,
            // Fits: bodies are at most max_message_size < 4 GiB.
            message_len: st.body.len() as u32,
        };
        header.write(out.head_mut());
        st.body.append_to(&self.arena, out, start..end);
    }

    fn batch(&self, flags: Flags, seq: u64, n: usize, out: &mut Datagram) {
        if n == 1 {
            if let Some(st) = self.store.get(seq) {
                self.segment(flags, seq, st, 0, out);
            }
            return;
        }
        let bodies: Vec<&[u8]> = (seq..seq + n as u64)
            .filter_map(|s| self.store.get(s).and_then(|st| st.body.whole(&self.arena)))
            .collect();
        if let Ok(batch) = Batch::new(flags, self.id, MessageSeq::new(seq), bodies) {
            batch.write(out.head_mut());
        }
    }

    fn take_repair(&mut self, now: Instant, config: &Config, plan: Plan, out: &mut Datagram) {
        let (seq, n, index) = match plan {
            Plan::Segment { seq, index } => (seq, 1, index),
            Plan::Batch { seq, n } => (seq, n, 0),
        };
        for k in 0..n as u64 {
            if let Some((s, i)) = self.repairs.pop_front() {
                self.pending.remove(&(s, i));
            }
            if let Some(st) = self.store.get(seq + k) {
                let repaired = self
                    .repaired
                    .entry(seq + k)
                    .or_insert_with(|| vec![None; st.count as usize].into_boxed_slice());
                if let Some(r) = repaired.get_mut(index as usize) {
                    *r = Some(now);
                }
            }
        }
        trace!(seq, index, n, "repair sent");
        // Quiet after this: heartbeats start over, so that a receiver
        // whose repair was lost hears soon that the sender is alive.
        self.hb_interval = config.heartbeat_min;
        self.hb_next = Some(now + config.heartbeat_min);
        self.write(Flags::RETRANSMISSION, plan, out);
    }

    /// Writes the datagram `plan` says into `out`.
    fn write(&self, flags: Flags, plan: Plan, out: &mut Datagram) {
        match plan {
            Plan::Segment { seq, index } => {
                if let Some(st) = self.store.get(seq) {
                    self.segment(flags, seq, st, index, out);
                }
            }
            Plan::Batch { seq, n } => self.batch(flags, seq, n, out),
        }
    }

    fn take_new(
        &mut self,
        now: Instant,
        config: &Config,
        plan: Plan,
        stats: &mut Stats,
        out: &mut Datagram,
    ) {
        self.write(Flags::empty(), plan, out);
        let (first, n) = match plan {
            Plan::Segment { seq, .. } => (seq, 1),
            Plan::Batch { seq, n } => (seq, n),
        };
        let birth = *self.first_sent.get_or_insert(now);
        let sent_at = NonZeroU64::new(nanos_between(birth, now).saturating_add(1));
        for s in first..first + n as u64 {
            let Some(st) = self.store.get_mut(s) else {
                continue;
            };
            stats.segments_sent += 1;
            self.sent_pos += Self::segment_len(self.segment_size, st, st.sent) as u64;
            self.repair_tokens = (self.repair_tokens + REPAIRS_PER_SEGMENT).min(REPAIR_BURST);
            st.sent += 1;
            if st.sent >= st.count {
                st.sent_at = sent_at;
                let len = st.body.len();
                self.queue.pop_front();
                self.queue_bytes -= len;
                self.store_bytes += len;
                stats.send_queue_released += len as u64;
            }
        }
        self.evict(now, config);
        // Going quiet after this: the heartbeats start over.
        self.hb_interval = config.heartbeat_min;
        self.hb_next = Some(now + config.heartbeat_min);
    }

    /// Forgets sent messages older than the window, or beyond its bytes.
    fn evict(&mut self, now: Instant, config: &Config) {
        while let Some((_, st)) = self.store.first() {
            let Some(sent_at) = self.sent_at(st) else {
                break;
            };
            let old = now
                .checked_duration_since(sent_at)
                .is_some_and(|age| age >= config.retransmit_window);
            if !(old || self.store_bytes > config.retransmit_window_bytes) {
                break;
            }
            if let Some((seq, st)) = self.store.pop_first() {
                self.store_bytes -= st.body.len();
                if !self.repaired.is_empty() {
                    self.repaired.remove(&seq);
                }
                if let Some(end) = st.body.arena_end() {
                    self.arena.release_to(end);
                }
                if self.store.first().is_none() {
                    self.arena.release_all();
                }
            }
        }
    }

    /// Moves into `out` the buffers of the short bodies queued since the
    /// last call, whose bytes the store copied (at most [`SPENT_MAX`]); from
    /// the first call on, they are kept for the next.
    pub(crate) fn take_spent(&mut self, out: &mut Vec<Vec<u8>>) {
        out.append(self.spent.get_or_insert_with(Vec::new));
    }

    /// Handles the sender's deadlines; returns a heartbeat when one is due.
    pub(crate) fn handle_timeout(
        &mut self,
        now: Instant,
        config: &Config,
        stats: &mut Stats,
    ) -> Option<Vec<u8>> {
        self.evict(now, config);
        stats.retransmit_store_bytes = self.store_bytes as u64;
        let cycle = self.hb_next.is_some_and(|t| t <= now);
        let asked = self.hb_asked.is_some_and(|t| t <= now);
        if !(cycle || asked) {
            return None;
        }
        if cycle {
            self.hb_interval = (self.hb_interval * 2).min(config.heartbeat_max);
            self.hb_next = Some(now + self.hb_interval);
        }
        self.hb_asked = None;
        self.hb_last = Some(now);
        let age = self
            .first_sent
            .map_or(0, |t| now.saturating_duration_since(t).as_millis());
        let hb = Heartbeat::new(
            self.id,
            MessageSeq::new(self.lead()),
            MessageSeq::new(self.trail()),
            u32::try_from(age).unwrap_or(u32::MAX),
        )
        .ok()?;
        let mut out = Vec::new();
        hb.write(&mut out);
        stats.heartbeats_sent += 1;
        Some(out)
    }

    /// The earliest deadline, and what for: heartbeat, store expiry, or
    /// the pacer letting the next datagram go.
    pub(crate) fn next_timer(&self, config: &Config) -> Option<(Instant, Timer)> {
        let evict = self
            .store
            .first()
            .and_then(|(_, st)| self.sent_at(st))
            .map(|t| t + config.retransmit_window);
        // When a datagram of the largest size may go: never earlier than
        // the next one really may (the driver drained what could go), at
        // worst a little later, and cheap to tell.
        let paced = if self.repairs.is_empty() && (self.queue.is_empty() || self.front_waits()) {
            // Nothing to send, or only what waits for its part: handing the
            // part over wakes the driver.
            None
        } else if self.window_waiting {
            // Held back by a window: a status wakes the sender, or the
            // hold lapses.
            self.windows.wake_at()
        } else {
            self.pacer
                .ready_at(DATA_HEADER_LEN + config.max_payload_size)
        };
        let heartbeat = [self.hb_next, self.hb_asked].into_iter().flatten().min();
        [
            heartbeat.map(|t| (t, Timer::Heartbeat)),
            evict.map(|t| (t, Timer::RetransmitStore)),
            paced.map(|t| (t, Timer::Pacing)),
        ]
        .into_iter()
        .flatten()
        .min_by_key(|(t, _)| *t)
    }

    /// When `st`'s last segment went out the first time.
    fn sent_at(&self, st: &Stored) -> Option<Instant> {
        let after = st.sent_at?.get() - 1;
        Some(self.first_sent? + Duration::from_nanos(after))
    }

    /// Owes a heartbeat at `at`, or earlier if one is owed earlier already.
    fn owe_heartbeat_at(&mut self, at: Instant) {
        self.hb_asked = Some(self.hb_asked.map_or(at, |t| t.min(at)));
    }
}

/// Nanoseconds from `from` to `to` (0 if `to` is earlier).
fn nanos_between(from: Instant, to: Instant) -> u64 {
    u64::try_from(to.saturating_duration_since(from).as_nanos()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    /// Every message kept for repairs holds a `Stored`, for
    /// `retransmit_window` (3 s by default: a million small events of a
    /// burst). It was 120 bytes before its rare parts (a body in parts,
    /// the repair times) were boxed, 72 before its time of sending took 8
    /// bytes and the repair times went to a map of their own, and 56 while
    /// a short body was a `Vec` of its own rather than a place in the
    /// store's arena.
    #[test]
    #[cfg(target_pointer_width = "64")]
    fn a_kept_message_takes_40_bytes_or_fewer() {
        assert!(std::mem::size_of::<super::Stored>() <= 40);
    }
}
