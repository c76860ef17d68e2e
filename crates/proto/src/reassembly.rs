//! Reassembly of segmented messages, per sender, within memory budgets, with
//! expiry of messages that stop making progress.
//!
//! Segments are buffered one by one as they arrive, never preallocated from
//! a length a datagram claims, and every buffered byte (plus a fixed
//! bookkeeping charge per segment) counts against a per-sender and a total
//! budget.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Instant;

use crate::config::{Config, SEGMENT_OVERHEAD};
use crate::ids::{MessageSeq, SenderId};
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
    segment_size: u32,
    message_len: u32,
    segments: BTreeMap<u32, Vec<u8>>,
    deadline: Instant,
    bytes: usize,
}

struct SenderState {
    window: SeqWindow,
    partials: BTreeMap<u64, Partial>,
    bytes: usize,
    last_heard: Instant,
}

/// Every sender's partial messages and finished-message windows.
pub(crate) struct Reassembler {
    senders: HashMap<SenderId, SenderState>,
    expiry: BTreeSet<(Instant, SenderId, MessageSeq)>,
    bytes: usize,
    partials: usize,
}

/// Counts of what the reassembler gave up on its own initiative.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Abandoned {
    /// Partial messages dropped with a forgotten sender or slid out of a window.
    pub(crate) partials: u64,
    /// Senders forgotten to make room.
    pub(crate) senders: u64,
}

impl Reassembler {
    pub(crate) fn new() -> Self {
        Self {
            senders: HashMap::new(),
            expiry: BTreeSet::new(),
            bytes: 0,
            partials: 0,
        }
    }

    /// Feeds one segment. `abandoned` is increased by whatever had to go to
    /// make room.
    pub(crate) fn insert(
        &mut self,
        now: Instant,
        config: &Config,
        frame: &DataFrame<'_>,
        abandoned: &mut Abandoned,
    ) -> Outcome {
        let h = frame.header();
        if h.message_len as usize > config.max_message_size {
            return Outcome::Dropped(Drop::TooLarge);
        }
        let seq = h.seq.get();
        if !self.senders.contains_key(&h.sender) && self.senders.len() >= config.max_senders {
            self.evict_least_recent(abandoned);
        }
        let state = self.senders.entry(h.sender).or_insert_with(|| SenderState {
            window: SeqWindow::new(seq),
            partials: BTreeMap::new(),
            bytes: 0,
            last_heard: now,
        });
        state.last_heard = now;
        if state.window.cover(seq) {
            let base = state.window.base();
            let keep = state.partials.split_off(&base);
            let gone = std::mem::replace(&mut state.partials, keep);
            for (s, p) in gone {
                state.bytes -= p.bytes;
                self.bytes -= p.bytes;
                self.partials -= 1;
                self.expiry
                    .remove(&(p.deadline, h.sender, MessageSeq::new(s)));
                abandoned.partials += 1;
            }
        }
        match state.window.status(seq) {
            SeqStatus::Stale => return Outcome::Dropped(Drop::Stale),
            SeqStatus::Finished => return Outcome::Dropped(Drop::Duplicate),
            SeqStatus::Open => {}
        }
        if h.count == 1 {
            state.window.finish(seq);
            return Outcome::Complete(frame.payload().to_vec());
        }

        let charge = frame.payload().len() + SEGMENT_OVERHEAD;
        let over_budget = state.bytes + charge > config.max_partial_bytes_per_sender
            || self.bytes + charge > config.max_partial_bytes;
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

    /// Bytes held now, bookkeeping included.
    pub(crate) fn partial_bytes(&self) -> usize {
        self.bytes
    }

    /// Senders tracked now.
    pub(crate) fn senders(&self) -> usize {
        self.senders.len()
    }

    fn evict_least_recent(&mut self, abandoned: &mut Abandoned) {
        let Some(victim) = self
            .senders
            .iter()
            .min_by_key(|(_, s)| s.last_heard)
            .map(|(id, _)| *id)
        else {
            return;
        };
        if let Some(state) = self.senders.remove(&victim) {
            for (seq, p) in state.partials {
                self.bytes -= p.bytes;
                self.partials -= 1;
                self.expiry
                    .remove(&(p.deadline, victim, MessageSeq::new(seq)));
                abandoned.partials += 1;
            }
            abandoned.senders += 1;
        }
    }
}
