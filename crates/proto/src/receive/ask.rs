//! When to ask: NACK rounds (back-off, suppression by other receivers'
//! NACKs, repair timeout), and when a sender that does not answer is
//! given up.

use std::collections::VecDeque;
use std::time::Instant;

use rand_chacha::ChaCha8Rng;
use tracing::trace;

use super::state::{Item, State};
use super::{next_round, Receiver, MAX_MISSING_PER_ROUND};
use crate::config::Config;
use crate::ids::{MessageSeq, SenderId};
use crate::shared::LossReason;
use crate::stats::Stats;
use crate::wire::{Nack, NackEntry, MAX_NACK_ENTRIES};

impl Receiver {
    /// Another receiver's NACK: hold back our own asks for what it names.
    /// Only of a sender this node asks (believed real, or a young stream
    /// heard through a heartbeat: see `SenderState::young_hint`): it asks
    /// nothing of another (its items wait idle until it is believed), so
    /// there is nothing to hold back, and a stranger's partial messages
    /// cost no look.
    pub(super) fn suppress(&mut self, now: Instant, stats: &mut Stats, nack: &Nack) {
        let sender = nack.target();
        let Some(state) = self.senders.get_mut(&sender) else {
            return;
        };
        if !(state.believed || state.young_hint) {
            return;
        }
        let asked = State::Asked {
            at: now,
            until: now + self.config.repair_timeout,
        };
        // Only what the NACK asks for in full is held back: a receiver
        // that misses more than the other still asks for it all.
        let mut ranges: Vec<(u64, u64)> = nack
            .entries()
            .iter()
            .filter_map(|e| match *e {
                NackEntry::Messages { first, count } => {
                    Some((first.get(), first.get().saturating_add(u64::from(count))))
                }
                _ => None,
            })
            .collect();
        ranges.sort_unstable();
        // The entries that name segments, by message: a partial message
        // none of them names is held back only by a whole-message range,
        // and is not looked at further; one they name is checked against
        // its own entries alone (at most 64 in all, so what one NACK makes
        // this node look at is bounded by the entries, not by how many
        // partial messages the sender has).
        let mut named: Vec<(u64, NackEntry)> = nack
            .entries()
            .iter()
            .filter_map(|e| match *e {
                NackEntry::Segments { seq, .. } | NackEntry::SegmentBitmap { seq, .. } => {
                    Some((seq.get(), *e))
                }
                NackEntry::Messages { .. } => None,
            })
            .collect();
        named.sort_unstable_by_key(|&(seq, _)| seq);
        let mut suppressed = false;
        if let Some(join) = state.join.as_mut() {
            if nack.entries().is_empty() && matches!(join.state, State::Backoff(_)) {
                // Another node asked for the heartbeat we want.
                join.state = asked;
                join.asks += 1;
                suppressed = true;
            }
        }
        for (first, gap) in state.gaps.iter_mut() {
            if matches!(gap.item.state, State::Backoff(_)) && covers_range(&ranges, *first, gap.end)
            {
                gap.item.state = asked;
                gap.item.asks += 1;
                suppressed = true;
            }
        }
        let sent_below = state.sent_below;
        for (&seq, partial) in state.partials.iter_mut() {
            let Some(mut item) = partial.ask else {
                continue;
            };
            if !matches!(item.state, State::Backoff(_) | State::Stall(_)) {
                continue;
            }
            let through = if seq < sent_below {
                partial.count
            } else {
                partial.max_index + 1
            };
            let from = named.partition_point(|&(s, _)| s < seq);
            let to = named.partition_point(|&(s, _)| s <= seq);
            let its = &named[from..to];
            let covered = covers_range(&ranges, seq, seq + 1)
                || (!its.is_empty() && {
                    let missing = partial.missing(through, MAX_MISSING_PER_ROUND);
                    !missing.is_empty()
                        && missing
                            .iter()
                            .all(|&i| its.iter().any(|(_, e)| e.covers(seq, i)))
                });
            if covered {
                item.state = asked;
                item.asks += 1;
                partial.ask = Some(item);
                suppressed = true;
            }
        }
        if suppressed {
            stats.nacks_suppressed += 1;
            self.schedule(sender, Some(now + self.config.repair_timeout));
        }
    }

    /// Handles one stream whose time has come: sends the NACKs due,
    /// declares final losses, settles a join the sender does not answer.
    pub(super) fn evaluate(&mut self, now: Instant, stats: &mut Stats, sender: SenderId) {
        self.evaluate_join(now, stats, sender);
        let Some(state) = self.senders.get_mut(&sender) else {
            return;
        };
        let mut rules = Rules::new(now, &self.config, state.last_alive);
        // Nothing is asked for before the join is settled (it may be
        // history this node is not owed), nor of a sender not believed
        // real (a stranger's forged partials cost no NACK), but for what a
        // young stream heard through a heartbeat missed (within what it
        // earns: one NACK at once, then as any sender).
        let defer = state.join.is_some() || !(state.believed || state.young_hint);
        if !defer && !self.budget.allows(now, &mut state.nacks, state.delivered) {
            // Over a NACK budget: what is due waits a repair timeout.
            rules.hold = Some(now + self.config.repair_timeout);
        }
        let asked = State::Asked {
            at: now,
            until: now + self.config.repair_timeout,
        };
        let mut entries: Vec<NackEntry> = Vec::new();
        let mut lost: Vec<(u64, u64, LossReason)> = Vec::new();
        // Parts of gaps given up that the sender never vouched for.
        let mut unvouched: Vec<(u64, u64)> = Vec::new();

        let rng = &mut self.rng;
        for (first, gap) in state.gaps.iter_mut() {
            match rules.judge(&mut gap.item, &mut state.round, rng, defer) {
                Verdict::Wait => {}
                Verdict::Lose(reason) => {
                    let vouched = state.vouched.max(*first).min(gap.end);
                    if vouched > *first {
                        lost.push((*first, vouched, reason));
                    }
                    if vouched < gap.end {
                        unvouched.push((vouched, gap.end));
                    }
                }
                Verdict::Ask => {
                    // Only what the sender vouched for is asked for (a
                    // gap its own data opened is all vouched for).
                    let end = gap.end.min(state.vouched);
                    let mut s = *first;
                    while s < end {
                        let count = (end - s).min(u64::from(u32::MAX)) as u32;
                        entries.push(NackEntry::Messages {
                            first: MessageSeq::new(s),
                            count,
                        });
                        s += u64::from(count);
                    }
                    gap.item.asks += 1;
                    gap.item.state = asked;
                }
            }
        }
        let (sent_below, vouched) = (state.sent_below, state.vouched);
        let look_again = State::Stall(now + self.config.repair_timeout);
        for (&seq, partial) in state.partials.iter_mut() {
            let Some(mut item) = partial.ask else {
                continue;
            };
            let stalled = matches!(item.state, State::Stall(_));
            match rules.judge(&mut item, &mut state.round, rng, defer) {
                Verdict::Wait => {}
                Verdict::Ask | Verdict::Lose(_) if seq >= vouched => {
                    // Past what the sender vouched for: only a datagram
                    // from elsewhere (an impersonator's, perhaps) opened
                    // it. Nothing is asked for, nor given up by asking
                    // (an overheard NACK counts as an ask): it expires on
                    // its own deadline (`expire_unvouched`). Looked at
                    // again a repair timeout on, in case the sender
                    // vouches for it by then.
                    item = Item::new(look_again);
                }
                Verdict::Lose(reason) => lost.push((seq, seq + 1, reason)),
                Verdict::Ask => {
                    // All its segments were sent if a later message was,
                    // or if it stalled (then whatever was not sent yet is
                    // not repaired: no harm).
                    let through = if seq < sent_below || stalled {
                        partial.count
                    } else {
                        partial.max_index + 1
                    };
                    let missing = partial.missing(through, MAX_MISSING_PER_ROUND);
                    if missing.is_empty() {
                        // Nothing known missing after all (what was missing
                        // came): watch for a stall, as after any new segment.
                        item.state = State::Stall(now + self.config.repair_timeout);
                    } else {
                        encode_missing(&mut entries, seq, &missing);
                        item.asks += 1;
                        item.state = asked;
                    }
                }
            }
            partial.ask = Some(item);
        }
        if rules.held.get() {
            stats.nacks_deferred += 1;
        }
        self.budget
            .charge(&mut state.nacks, entries.len().div_ceil(MAX_NACK_ENTRIES));
        let wake = state.earliest_wake();
        for chunk in entries.chunks(MAX_NACK_ENTRIES) {
            send_nack(&mut self.nacks, stats, self.me, sender, chunk.to_vec());
        }
        self.schedule(sender, wake);
        for (first, end, reason) in lost {
            self.lose(stats, sender, first, end, reason);
        }
        for (first, end) in unvouched {
            self.unvouched(now, sender, (first, end));
        }
        self.flush(stats, sender);
    }

    /// A gap whose time ran out, but whose seqs `first .. end` the sender
    /// never vouched for (only a datagram from elsewhere pointed there):
    /// not a loss, and not given up either (the sender may still get
    /// there, after a pause too: giving them up would drop its events
    /// silently). The gap waits another `message_ttl`, asking for nothing.
    fn unvouched(&mut self, now: Instant, sender: SenderId, (first, end): (u64, u64)) {
        let next = self.backoff(now, sender);
        let Some(state) = self.senders.get_mut(&sender) else {
            return;
        };
        if let Some(gap) = state.gaps.get_mut(&first) {
            gap.item = Item::new(next);
            gap.item.deadline = Some(now + self.config.message_ttl);
            let wake = gap.item.wake();
            trace!(%sender, first, end, "gap past what the sender vouched for: kept");
            self.schedule(sender, wake);
        }
    }

    /// The pending join decision, if its time has come: ask for a
    /// heartbeat (a NACK without entries), or settle it as a late join if
    /// the sender does not answer.
    fn evaluate_join(&mut self, now: Instant, stats: &mut Stats, sender: SenderId) {
        let Some(state) = self.senders.get_mut(&sender) else {
            return;
        };
        let mut rules = Rules::new(now, &self.config, state.last_alive);
        let Some(join) = state.join.as_ref() else {
            return;
        };
        // Only a sender believed real and heard more than once is asked.
        let may_ask = state.believed && state.heard > 1;
        let due = matches!(join.state, State::Backoff(t) if t <= now);
        if may_ask && due && !self.budget.allows(now, &mut state.nacks, state.delivered) {
            rules.hold = Some(now + self.config.repair_timeout);
        }
        let Some(join) = state.join.as_mut() else {
            return;
        };
        match rules.judge(join, &mut state.round, &mut self.rng, !may_ask) {
            Verdict::Wait => {}
            Verdict::Ask => {
                join.asks += 1;
                join.state = State::Asked {
                    at: now,
                    until: now + self.config.repair_timeout,
                };
                trace!(%sender, "heartbeat requested");
                self.budget.charge(&mut state.nacks, 1);
                send_nack(&mut self.nacks, stats, self.me, sender, Vec::new());
            }
            Verdict::Lose(_) => self.decide(now, stats, sender, false, None),
        }
    }
}

/// What to do with an item whose time has come.
enum Verdict {
    /// Nothing now.
    Wait,
    /// Send a NACK for it.
    Ask,
    /// Give it up.
    Lose(LossReason),
}

/// The rules of one round for one stream.
struct Rules<'a> {
    now: Instant,
    /// The sender was heard after this: it is alive.
    last_alive: Instant,
    /// Silent so long that, with our NACKs unanswered, it is gone: a live
    /// sender is heard at least every heartbeat_max (it sends heartbeats
    /// while quiet).
    gone: bool,
    config: &'a Config,
    /// Over a NACK budget: what is due waits until then.
    hold: Option<Instant>,
    /// Something due was held back.
    held: std::cell::Cell<bool>,
}

impl<'a> Rules<'a> {
    fn new(now: Instant, config: &'a Config, last_alive: Instant) -> Self {
        Self {
            now,
            last_alive,
            gone: now.saturating_duration_since(last_alive) >= config.heartbeat_max,
            config,
            hold: None,
            held: std::cell::Cell::new(false),
        }
    }

    /// Ask, wait, or lose `item`; with `defer`, what is due waits
    /// (idle) instead of being asked for.
    fn judge(
        &self,
        item: &mut Item,
        round: &mut Option<Instant>,
        rng: &mut ChaCha8Rng,
        defer: bool,
    ) -> Verdict {
        let now = self.now;
        if item.deadline.is_some_and(|d| d <= now) {
            return Verdict::Lose(LossReason::Expired);
        }
        match item.state {
            State::Idle => Verdict::Wait,
            State::Backoff(t) | State::Stall(t) | State::Asked { until: t, .. } if t > now => {
                Verdict::Wait
            }
            State::Backoff(_) | State::Stall(_) if defer => {
                item.state = State::Idle;
                Verdict::Wait
            }
            State::Backoff(_) | State::Stall(_) if self.hold.is_some() => {
                if item.asks > 0 && self.gone {
                    // Asked, unanswered, and the sender is gone: asking
                    // again (when the budget allows) would not help.
                    return Verdict::Lose(LossReason::Unrecoverable);
                }
                if let Some(t) = self.hold {
                    item.state = State::Backoff(t);
                }
                self.held.set(true);
                Verdict::Wait
            }
            State::Backoff(_) | State::Stall(_) => Verdict::Ask,
            State::Asked { at, .. } => {
                if self.last_alive > at {
                    // The sender is alive: it did not get our NACK, or
                    // its repair was lost. Ask again.
                    item.asks = 0;
                }
                if item.asks >= self.config.max_retransmit_attempts && self.gone {
                    return Verdict::Lose(LossReason::Unrecoverable);
                }
                // Ask again in the next round, after a new back-off, so
                // that another receiver's NACK can still hold ours back.
                item.state = State::Backoff(next_round(round, rng, now, self.config));
                Verdict::Wait
            }
        }
    }
}

/// Queues a NACK from `me` to `sender` with these entries (none: a
/// heartbeat request).
fn send_nack(
    nacks: &mut VecDeque<Vec<u8>>,
    stats: &mut Stats,
    me: SenderId,
    sender: SenderId,
    entries: Vec<NackEntry>,
) {
    let n = entries.len();
    if let Ok(nack) = Nack::new(me, sender, entries) {
        let mut out = Vec::new();
        nack.write(&mut out);
        stats.nacks_sent += 1;
        trace!(%sender, entries = n, "NACK");
        nacks.push_back(out);
    }
}

/// Whether the sorted ranges `[a, b)` together cover `first .. end`.
fn covers_range(ranges: &[(u64, u64)], first: u64, end: u64) -> bool {
    let mut at = first;
    for &(a, b) in ranges {
        if a > at {
            break;
        }
        at = at.max(b);
        if at >= end {
            return true;
        }
    }
    at >= end
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
