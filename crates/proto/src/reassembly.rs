//! Reassembly of segmented messages, per sender, within memory budgets, with
//! expiry of messages that stop making progress.
//!
//! Segments are buffered one by one as they arrive, never preallocated from
//! a length a datagram claims, and every buffered byte (plus a fixed
//! bookkeeping charge per segment) counts against a per-sender and a total
//! budget.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::time::Instant;

use crate::config::{Config, SEGMENT_OVERHEAD};
use crate::fastmap::FastMap;
use crate::ids::{MessageSeq, SenderId};
use crate::peer::PeerInfo;
use crate::seqwindow::{SeqStatus, SeqWindow};
use crate::wire::DataFrame;

/// What became of one segment.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// The message is complete: here is its body.
    Complete(Vec<u8>),
    /// Buffered; the message is not complete yet.
    Buffered,
    /// Dropped, for this reason.
    Dropped(Drop),
}

/// Why a segment was dropped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Drop {
    Duplicate,
    Stale,
    TooLarge,
    OverBudget,
    /// Disagrees with earlier segments of the same message about its shape.
    Inconsistent,
}

struct Partial {
    count: u32,
    /// The highest segment index held.
    max_index: u32,
    segment_size: u32,
    message_len: u32,
    segments: BTreeMap<u32, Vec<u8>>,
    deadline: Instant,
    bytes: usize,
}

struct SenderState {
    window: SeqWindow,
    partials: BTreeMap<u64, Partial>,
    /// Bytes charged: partial segments, plus `extra`, plus `window_bytes`.
    bytes: usize,
    /// Bytes charged by loss recovery (messages held for ordering, gap
    /// records), on top of the partials.
    extra: usize,
    /// Bytes the window's bitmap chunks take, charged too.
    window_bytes: usize,
    last_heard: Instant,
    /// Where its latest data or heartbeat came from.
    from: SocketAddr,
    /// The next seq it will use, as far as this node knows.
    lead: u64,
    /// Its messages delivered, and declared lost, while tracked.
    delivered: u64,
    lost: u64,
}

/// Every sender's partial messages and finished-message windows.
pub(crate) struct Reassembler {
    senders: FastMap<SenderId, SenderState>,
    expiry: BTreeSet<(Instant, SenderId, MessageSeq)>,
    bytes: usize,
    /// Of `bytes`, what loss recovery charged.
    extra: usize,
    /// Of `bytes`, what the windows take.
    window_bytes: usize,
    partials: usize,
}

/// Counts of what the reassembler gave up on its own initiative.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Abandoned {
    /// Partial messages dropped with a forgotten sender or slid out of a window.
    pub(crate) partials: u64,
    /// Senders forgotten to make room.
    pub(crate) senders: u64,
    /// Which senders were forgotten.
    pub(crate) evicted: Vec<SenderId>,
}

/// What a datagram tells of its sender, besides its data.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Heard {
    /// Its source address.
    pub(crate) from: SocketAddr,
    /// The next seq the sender will use, as far as this datagram says.
    pub(crate) lead: u64,
}

/// What the reassembler holds of one partial message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct PartialInfo {
    /// Segments held.
    pub(crate) held: u32,
    /// The highest index held.
    pub(crate) max_index: u32,
    /// Segments in the message.
    pub(crate) count: u32,
}

impl Reassembler {
    pub(crate) fn new() -> Self {
        Self {
            senders: FastMap::default(),
            expiry: BTreeSet::new(),
            bytes: 0,
            extra: 0,
            window_bytes: 0,
            partials: 0,
        }
    }

    /// Feeds one segment. `abandoned` is increased by whatever had to go to
    /// make room.
    pub(crate) fn insert(
        &mut self,
        now: Instant,
        config: &Config,
        from: SocketAddr,
        frame: &DataFrame<'_>,
        abandoned: &mut Abandoned,
    ) -> Outcome {
        let outcome = self.insert_segment(now, config, from, frame, abandoned);
        self.settle_window(frame.header().sender);
        outcome
    }

    fn insert_segment(
        &mut self,
        now: Instant,
        config: &Config,
        from: SocketAddr,
        frame: &DataFrame<'_>,
        abandoned: &mut Abandoned,
    ) -> Outcome {
        let h = frame.header();
        let seq = h.seq.get();
        let message = (h.sender, seq, h.message_len as usize);
        if let Err(drop) = self.admit(now, config, from, message, abandoned) {
            return Outcome::Dropped(drop);
        }
        if h.count == 1 {
            return match self.finish_whole(config, h.sender, seq) {
                Ok(()) => Outcome::Complete(frame.payload().to_vec()),
                Err(drop) => Outcome::Dropped(drop),
            };
        }
        let Some(state) = self.senders.get_mut(&h.sender) else {
            return Outcome::Dropped(Drop::Stale);
        };
        // Room for the bit that will say it is finished.
        let chunk = state.window.charge_for(seq);

        let charge = frame.payload().len() + SEGMENT_OVERHEAD;
        let need = charge + chunk;
        let over_budget = state.bytes + need > config.max_partial_bytes_per_sender
            || self.bytes + need > config.max_partial_bytes;
        let deadline = now + config.message_ttl;
        let partial = match state.partials.get_mut(&seq) {
            Some(p) => {
                if (p.count, p.segment_size, p.message_len)
                    != (h.count, frame.segment_size(), h.message_len)
                {
                    return Outcome::Dropped(Drop::Inconsistent);
                }
                if p.segments.contains_key(&h.index.get()) {
                    return Outcome::Dropped(Drop::Duplicate);
                }
                if over_budget {
                    return Outcome::Dropped(Drop::OverBudget);
                }
                self.expiry.remove(&(p.deadline, h.sender, h.seq));
                p
            }
            None => {
                if over_budget || state.partials.len() >= config.max_partial_messages_per_sender {
                    return Outcome::Dropped(Drop::OverBudget);
                }
                self.partials += 1;
                state.partials.entry(seq).or_insert(Partial {
                    count: h.count,
                    max_index: 0,
                    segment_size: frame.segment_size(),
                    message_len: h.message_len,
                    segments: BTreeMap::new(),
                    deadline,
                    bytes: 0,
                })
            }
        };
        partial
            .segments
            .insert(h.index.get(), frame.payload().to_vec());
        partial.bytes += charge;
        partial.deadline = deadline;
        partial.max_index = partial.max_index.max(h.index.get());
        state.bytes += charge;
        self.bytes += charge;

        if partial.segments.len() as u64 == u64::from(partial.count) {
            let Some(done) = state.partials.remove(&seq) else {
                return Outcome::Buffered;
            };
            state.window.finish(seq);
            state.bytes -= done.bytes;
            self.bytes -= done.bytes;
            self.partials -= 1;
            let mut body = Vec::with_capacity(done.message_len as usize);
            for segment in done.segments.into_values() {
                body.extend_from_slice(&segment);
            }
            return Outcome::Complete(body);
        }
        self.expiry.insert((deadline, h.sender, h.seq));
        Outcome::Buffered
    }

    /// Creates (or refreshes) the state of `sender`, first heard with
    /// message `first`, evicting the least recently heard sender if
    /// needed; `heard` is what the datagram tells of it.
    pub(crate) fn touch(
        &mut self,
        now: Instant,
        config: &Config,
        sender: SenderId,
        first: u64,
        heard: Heard,
        abandoned: &mut Abandoned,
    ) {
        if !self.senders.contains_key(&sender) && self.senders.len() >= config.max_senders {
            self.evict_least_recent(abandoned);
        }
        let state = self.senders.entry(sender).or_insert_with(|| SenderState {
            window: SeqWindow::new(first),
            partials: BTreeMap::new(),
            bytes: 0,
            extra: 0,
            window_bytes: 0,
            last_heard: now,
            from: heard.from,
            lead: heard.lead,
            delivered: 0,
            lost: 0,
        });
        state.last_heard = now;
        state.from = heard.from;
        state.lead = state.lead.max(heard.lead);
    }

    /// Accepts a complete single-segment message (a batch entry) of `len`
    /// bytes: `Complete` (with an empty body: the caller has it) if it is
    /// new.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn insert_whole(
        &mut self,
        now: Instant,
        config: &Config,
        from: SocketAddr,
        sender: SenderId,
        seq: u64,
        len: usize,
        abandoned: &mut Abandoned,
    ) -> Outcome {
        let admitted = self.admit(now, config, from, (sender, seq, len), abandoned);
        let outcome = match admitted.and_then(|()| self.finish_whole(config, sender, seq)) {
            Ok(()) => Outcome::Complete(Vec::new()),
            Err(drop) => Outcome::Dropped(drop),
        };
        self.settle_window(sender);
        outcome
    }

    /// The checks every datagram of message `(sender, seq, len)` passes
    /// first: its size, its sender (tracked from now on, its window moved
    /// on to cover `seq`, dropping the partial messages it leaves behind),
    /// and whether `seq` is still open.
    fn admit(
        &mut self,
        now: Instant,
        config: &Config,
        from: SocketAddr,
        (sender, seq, len): (SenderId, u64, usize),
        abandoned: &mut Abandoned,
    ) -> Result<(), Drop> {
        if len > config.max_message_size {
            return Err(Drop::TooLarge);
        }
        let heard = Heard {
            from,
            lead: seq.saturating_add(1),
        };
        self.touch(now, config, sender, seq, heard, abandoned);
        let Some(state) = self.senders.get_mut(&sender) else {
            return Err(Drop::Stale);
        };
        if state.window.cover(seq) {
            let base = state.window.base();
            let keep = state.partials.split_off(&base);
            let gone = std::mem::replace(&mut state.partials, keep);
            for (s, p) in gone {
                state.bytes -= p.bytes;
                self.bytes -= p.bytes;
                self.partials -= 1;
                self.expiry
                    .remove(&(p.deadline, sender, MessageSeq::new(s)));
                abandoned.partials += 1;
            }
        }
        match state.window.status(seq) {
            SeqStatus::Stale => Err(Drop::Stale),
            SeqStatus::Finished => Err(Drop::Duplicate),
            SeqStatus::Open => Ok(()),
        }
    }

    /// Marks single-segment message `seq` finished, if no segment of it
    /// said it had several and the budgets have room for the bit that says
    /// so.
    fn finish_whole(&mut self, config: &Config, sender: SenderId, seq: u64) -> Result<(), Drop> {
        let Some(state) = self.senders.get_mut(&sender) else {
            return Err(Drop::Stale);
        };
        if state.partials.contains_key(&seq) {
            return Err(Drop::Inconsistent);
        }
        let chunk = state.window.charge_for(seq);
        if state.bytes + chunk > config.max_partial_bytes_per_sender
            || self.bytes + chunk > config.max_partial_bytes
        {
            return Err(Drop::OverBudget);
        }
        state.window.finish(seq);
        Ok(())
    }

    /// What is held of partial message `seq` of `sender`.
    pub(crate) fn partial(&self, sender: SenderId, seq: u64) -> Option<PartialInfo> {
        let p = self.senders.get(&sender)?.partials.get(&seq)?;
        Some(PartialInfo {
            held: p.segments.len() as u32,
            max_index: p.max_index,
            count: p.count,
        })
    }

    /// The segment indexes below `through` that partial `seq` lacks, at
    /// most `limit` of them.
    pub(crate) fn missing(
        &self,
        sender: SenderId,
        seq: u64,
        through: u32,
        limit: usize,
    ) -> Vec<u32> {
        let Some(p) = self.senders.get(&sender).and_then(|s| s.partials.get(&seq)) else {
            return Vec::new();
        };
        let through = through.min(p.count);
        let mut out = Vec::new();
        let mut next = 0u32;
        for &i in p.segments.keys().chain(std::iter::once(&through)) {
            let i = i.min(through);
            while next < i && out.len() < limit {
                out.push(next);
                next += 1;
            }
            if out.len() >= limit || i >= through {
                break;
            }
            next = i + 1;
        }
        out
    }

    /// What the window says of `seq` (`None`: the sender is not tracked).
    pub(crate) fn status(&self, sender: SenderId, seq: u64) -> Option<SeqStatus> {
        self.senders.get(&sender).map(|s| s.window.status(seq))
    }

    /// The first seq of `sender` at or after `seq` that is not finished.
    pub(crate) fn next_open(&self, sender: SenderId, seq: u64) -> Option<u64> {
        self.senders.get(&sender).map(|s| s.window.next_open(seq))
    }

    /// The lowest seq the sender's window tracks.
    pub(crate) fn base(&self, sender: SenderId) -> Option<u64> {
        self.senders.get(&sender).map(|s| s.window.base())
    }

    /// Whether `sender` is tracked.
    pub(crate) fn knows(&self, sender: SenderId) -> bool {
        self.senders.contains_key(&sender)
    }

    /// Gives message `seq` up: marks it finished and drops its segments.
    /// Returns whether a partial was dropped.
    pub(crate) fn give_up(&mut self, sender: SenderId, seq: u64) -> bool {
        let Some(state) = self.senders.get_mut(&sender) else {
            return false;
        };
        state.window.finish(seq);
        let removed = state.partials.remove(&seq);
        if let Some(p) = &removed {
            state.bytes -= p.bytes;
            self.bytes -= p.bytes;
            self.partials -= 1;
            self.expiry
                .remove(&(p.deadline, sender, MessageSeq::new(seq)));
        }
        self.settle_window(sender);
        removed.is_some()
    }

    /// Gives up every message in `lo..hi`: marks them finished and drops
    /// their segments. Returns how many partials were dropped.
    pub(crate) fn give_up_range(&mut self, sender: SenderId, lo: u64, hi: u64) -> usize {
        let Some(state) = self.senders.get_mut(&sender) else {
            return 0;
        };
        state.window.finish_range(lo, hi);
        let seqs: Vec<u64> = state.partials.range(lo..hi).map(|(s, _)| *s).collect();
        let n = seqs.len();
        for seq in seqs {
            self.give_up(sender, seq);
        }
        self.settle_window(sender);
        n
    }

    /// Charges `bytes` of recovery state to `sender`'s budgets; `false`
    /// (nothing charged) if a budget would be exceeded.
    pub(crate) fn charge(&mut self, config: &Config, sender: SenderId, bytes: usize) -> bool {
        let Some(state) = self.senders.get_mut(&sender) else {
            return false;
        };
        if state.bytes + bytes > config.max_partial_bytes_per_sender
            || self.bytes + bytes > config.max_partial_bytes
        {
            return false;
        }
        state.bytes += bytes;
        state.extra += bytes;
        self.bytes += bytes;
        self.extra += bytes;
        true
    }

    /// Releases what [`charge`](Self::charge) took.
    pub(crate) fn release(&mut self, sender: SenderId, bytes: usize) {
        if let Some(state) = self.senders.get_mut(&sender) {
            let bytes = bytes.min(state.extra);
            state.extra -= bytes;
            state.bytes -= bytes;
            self.bytes -= bytes;
            self.extra -= bytes;
        }
    }

    /// Drops every partial message whose deadline is at or before `now`,
    /// marking it finished so its late segments are duplicates. Returns the
    /// expired messages.
    pub(crate) fn expire(&mut self, now: Instant) -> Vec<(SenderId, MessageSeq, u32, u32)> {
        let mut expired = Vec::new();
        while let Some(&(deadline, sender, seq)) = self.expiry.first() {
            if deadline > now {
                break;
            }
            self.expiry.pop_first();
            let Some(state) = self.senders.get_mut(&sender) else {
                continue;
            };
            if let Some(p) = state.partials.remove(&seq.get()) {
                state.bytes -= p.bytes;
                self.bytes -= p.bytes;
                self.partials -= 1;
                state.window.finish(seq.get());
                expired.push((sender, seq, p.segments.len() as u32, p.count));
                self.settle_window(sender);
            }
        }
        expired
    }

    /// The earliest expiry deadline.
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        self.expiry.first().map(|(d, _, _)| *d)
    }

    /// Partial messages held now.
    pub(crate) fn partial_messages(&self) -> usize {
        self.partials
    }

    /// Bytes partial messages hold now, bookkeeping included.
    pub(crate) fn partial_bytes(&self) -> usize {
        self.bytes - self.extra - self.window_bytes
    }

    /// Bytes the senders' windows take now.
    pub(crate) fn window_bytes(&self) -> usize {
        self.window_bytes
    }

    /// Charges (or releases) the change in `sender`'s window memory.
    fn settle_window(&mut self, sender: SenderId) {
        let Some(state) = self.senders.get_mut(&sender) else {
            return;
        };
        let now = state.window.bytes();
        let was = state.window_bytes;
        state.window_bytes = now;
        state.bytes = state.bytes + now - was;
        self.bytes = self.bytes + now - was;
        self.window_bytes = self.window_bytes + now - was;
    }

    /// Bytes loss recovery holds now (messages held for order, gap
    /// records), charged to the same budgets.
    pub(crate) fn recovery_bytes(&self) -> usize {
        self.extra
    }

    /// Senders tracked now.
    pub(crate) fn senders(&self) -> usize {
        self.senders.len()
    }

    /// Counts a message of `sender` delivered to the application.
    pub(crate) fn count_delivered(&mut self, sender: SenderId) {
        if let Some(state) = self.senders.get_mut(&sender) {
            state.delivered = state.delivered.saturating_add(1);
        }
    }

    /// Counts `count` messages of `sender` declared lost.
    pub(crate) fn count_lost(&mut self, sender: SenderId, count: u64) {
        if let Some(state) = self.senders.get_mut(&sender) {
            state.lost = state.lost.saturating_add(count);
        }
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

    fn evict_least_recent(&mut self, abandoned: &mut Abandoned) {
        // Ties go to the lowest id, so the choice never depends on the
        // map's randomly seeded iteration order.
        let Some(victim) = self
            .senders
            .iter()
            .min_by_key(|(id, s)| (s.last_heard, **id))
            .map(|(id, _)| *id)
        else {
            return;
        };
        if let Some(state) = self.senders.remove(&victim) {
            self.bytes -= state.extra + state.window_bytes;
            self.extra -= state.extra;
            self.window_bytes -= state.window_bytes;
            for (seq, p) in state.partials {
                self.bytes -= p.bytes;
                self.partials -= 1;
                self.expiry
                    .remove(&(p.deadline, victim, MessageSeq::new(seq)));
                abandoned.partials += 1;
            }
            abandoned.senders += 1;
            abandoned.evicted.push(victim);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use proptest::prelude::*;

    use super::*;
    use crate::ids::SegmentIndex;
    use crate::seqwindow::WINDOW;
    use crate::wire::{DataHeader, Flags};

    const FROM: SocketAddr =
        SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), 4000);

    /// Builds a segment of a message of `len` bytes cut at `size`.
    fn seg(sender: u64, seq: u64, len: usize, size: usize, index: usize) -> (DataHeader, Vec<u8>) {
        let count = len.div_ceil(size);
        let payload = (index * size..len.min((index + 1) * size))
            .map(|i| i as u8)
            .collect::<Vec<_>>();
        let header = DataHeader {
            flags: Flags::empty(),
            sender: SenderId::new(sender),
            seq: MessageSeq::new(seq),
            index: SegmentIndex::new(index as u32),
            count: count as u32,
            message_len: len as u32,
        };
        (header, payload)
    }

    fn insert(
        r: &mut Reassembler,
        now: Instant,
        config: &Config,
        (header, payload): &(DataHeader, Vec<u8>),
    ) -> (Outcome, Abandoned) {
        let frame = DataFrame::new(*header, payload).unwrap();
        let mut abandoned = Abandoned::default();
        let outcome = r.insert(now, config, FROM, &frame, &mut abandoned);
        check_invariants(r, config);
        (outcome, abandoned)
    }

    /// Every counter agrees with what is held, every partial has exactly
    /// one expiry entry and no entry is stale, and no limit is exceeded.
    fn check_invariants(r: &Reassembler, config: &Config) {
        let mut bytes = 0;
        let mut partials = 0;
        let mut expiry = BTreeSet::new();
        assert!(r.senders.len() <= config.max_senders);
        for (id, state) in &r.senders {
            let mut sender_bytes = 0;
            assert!(state.partials.len() <= config.max_partial_messages_per_sender);
            for (&seq, p) in &state.partials {
                let held: usize = p
                    .segments
                    .values()
                    .map(|s| s.len() + SEGMENT_OVERHEAD)
                    .sum();
                assert_eq!(p.bytes, held);
                assert!(!p.segments.is_empty());
                assert!(p.segments.len() < p.count as usize);
                assert!(p.segments.keys().all(|&i| i < p.count));
                assert_eq!(state.window.status(seq), SeqStatus::Open);
                expiry.insert((p.deadline, *id, MessageSeq::new(seq)));
                sender_bytes += held;
                partials += 1;
            }
            sender_bytes += state.extra;
            assert_eq!(state.window_bytes, state.window.bytes());
            sender_bytes += state.window_bytes;
            assert_eq!(state.bytes, sender_bytes);
            assert!(sender_bytes <= config.max_partial_bytes_per_sender);
            bytes += sender_bytes;
        }
        assert_eq!(r.bytes, bytes);
        assert_eq!(r.extra, r.senders.values().map(|s| s.extra).sum::<usize>());
        assert_eq!(r.partials, partials);
        assert!(bytes <= config.max_partial_bytes);
        assert_eq!(r.expiry, expiry);
    }

    fn config() -> Config {
        Config {
            max_message_size: 1000,
            ..Config::default()
        }
    }

    #[test]
    fn completes_in_any_order_and_returns_the_body() {
        let (c, t) = (config(), Instant::now());
        let mut r = Reassembler::new();
        let segs: Vec<_> = (0..4).map(|i| seg(1, 0, 100, 30, i)).collect();
        for i in [2, 0, 3] {
            assert_eq!(insert(&mut r, t, &c, &segs[i]).0, Outcome::Buffered);
        }
        assert_eq!(r.partial_bytes(), 70 + 3 * SEGMENT_OVERHEAD);
        let body: Vec<u8> = (0..100).collect();
        assert_eq!(insert(&mut r, t, &c, &segs[1]).0, Outcome::Complete(body));
        assert_eq!((r.partial_messages(), r.partial_bytes()), (0, 0));
        assert_eq!(r.next_deadline(), None);
        for s in &segs {
            let (outcome, _) = insert(&mut r, t, &c, s);
            assert_eq!(outcome, Outcome::Dropped(Drop::Duplicate));
        }
    }

    #[test]
    fn single_segment_is_never_buffered() {
        let (c, t) = (config(), Instant::now());
        let mut r = Reassembler::new();
        let s = seg(1, 3, 20, 30, 0);
        assert_eq!(insert(&mut r, t, &c, &s).0, Outcome::Complete(s.1.clone()));
        assert_eq!(
            insert(&mut r, t, &c, &s).0,
            Outcome::Dropped(Drop::Duplicate)
        );
        assert_eq!(r.partial_messages(), 0);
        assert_eq!(r.senders(), 1);
    }

    #[test]
    fn one_segment_claiming_an_open_message_is_inconsistent() {
        let (c, t) = (config(), Instant::now());
        let mut r = Reassembler::new();
        insert(&mut r, t, &c, &seg(1, 0, 100, 30, 0));
        let whole = seg(1, 0, 100, 100, 0);
        let (outcome, _) = insert(&mut r, t, &c, &whole);
        assert_eq!(outcome, Outcome::Dropped(Drop::Inconsistent));
        assert_eq!(r.partial_messages(), 1);
        // and the message can still complete
        for i in 1..4 {
            insert(&mut r, t, &c, &seg(1, 0, 100, 30, i));
        }
        assert_eq!(r.partial_messages(), 0);
        assert!(r.expire(t + Duration::from_secs(3600)).is_empty());
    }

    #[test]
    fn sliding_the_window_abandons_older_partials() {
        let (c, t) = (config(), Instant::now());
        let mut r = Reassembler::new();
        insert(&mut r, t, &c, &seg(1, 10, 100, 30, 0));
        insert(&mut r, t, &c, &seg(1, 11, 100, 30, 0));
        // seq 10 + WINDOW slides the base to 11: 10 goes, 11 stays
        let (outcome, abandoned) = insert(&mut r, t, &c, &seg(1, 10 + WINDOW, 100, 30, 0));
        assert_eq!(outcome, Outcome::Buffered);
        assert_eq!(abandoned.partials, 1);
        assert_eq!(r.partial_messages(), 2);
        let (outcome, _) = insert(&mut r, t, &c, &seg(1, 10, 100, 30, 1));
        assert_eq!(outcome, Outcome::Dropped(Drop::Stale));
    }

    #[test]
    fn eviction_forgets_partials_and_their_deadlines() {
        let (mut c, t) = (config(), Instant::now());
        c.max_senders = 2;
        let mut r = Reassembler::new();
        insert(&mut r, t, &c, &seg(1, 0, 100, 30, 0));
        insert(&mut r, t, &c, &seg(1, 1, 100, 30, 0));
        let later = t + Duration::from_millis(1);
        insert(&mut r, later, &c, &seg(2, 0, 100, 30, 0));
        let (_, abandoned) = insert(&mut r, later, &c, &seg(3, 0, 100, 30, 0));
        assert_eq!(
            abandoned,
            Abandoned {
                partials: 2,
                senders: 1,
                evicted: vec![SenderId::new(1)],
            }
        );
        assert_eq!(r.senders(), 2);
        assert_eq!(r.next_deadline(), Some(later + c.message_ttl));
    }

    #[test]
    fn expiry_marks_the_message_finished() {
        let (c, t) = (config(), Instant::now());
        let mut r = Reassembler::new();
        insert(&mut r, t, &c, &seg(1, 0, 100, 30, 0));
        assert!(r
            .expire(t + c.message_ttl - Duration::from_nanos(1))
            .is_empty());
        let expired = r.expire(t + c.message_ttl);
        assert_eq!(expired, [(SenderId::new(1), MessageSeq::new(0), 1, 4)]);
        check_invariants(&r, &c);
        let (outcome, _) = insert(&mut r, t + c.message_ttl, &c, &seg(1, 0, 100, 30, 1));
        assert_eq!(outcome, Outcome::Dropped(Drop::Duplicate));
    }

    #[derive(Debug, Clone)]
    enum Op {
        Insert {
            sender: u64,
            seq: u64,
            len: usize,
            size: usize,
            index: prop::sample::Index,
        },
        Advance(u64),
        Expire,
    }

    fn op() -> impl Strategy<Value = Op> {
        let seq = prop_oneof![8 => 0u64..6, 1 => 0u64..3 * WINDOW, 1 => 0..=crate::wire::MAX_SEQ];
        let insert = (
            1u64..=5,
            seq,
            1usize..=1200,
            16usize..=400,
            any::<prop::sample::Index>(),
        )
            .prop_map(|(sender, seq, len, size, index)| Op::Insert {
                sender,
                seq,
                len,
                size,
                index,
            });
        prop_oneof![8 => insert, 2 => (0u64..1500).prop_map(Op::Advance), 1 => Just(Op::Expire)]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]

        /// Random segments (some too large, some far ahead, some from too
        /// many senders) under tight limits: the bookkeeping always agrees
        /// with what is held and never passes a limit.
        #[test]
        fn bookkeeping_holds_under_random_operations(ops in prop::collection::vec(op(), 1..200)) {
            let mut c = config();
            c.max_senders = 3;
            c.max_partial_messages_per_sender = 2;
            c.max_partial_bytes_per_sender = 1500;
            c.max_partial_bytes = 3000;
            let mut r = Reassembler::new();
            let mut now = Instant::now();
            for op in ops {
                match op {
                    Op::Insert { sender, seq, len, size, index } => {
                        let i = index.index(len.div_ceil(size));
                        insert(&mut r, now, &c, &seg(sender, seq, len, size, i));
                    }
                    Op::Advance(ms) => now += Duration::from_millis(ms),
                    Op::Expire => {
                        r.expire(now);
                        check_invariants(&r, &c);
                        prop_assert!(r.next_deadline().is_none_or(|d| d > now));
                    }
                }
            }
        }
    }
}
