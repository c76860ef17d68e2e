//! What a NACK makes a sender repair: its entries merged into asks, and
//! the segments they cover queued within the repair budget.
//!
//! NACKs are anyone's to send on a LAN without a key, so what one costs
//! is bounded: see [`Sender::on_nack`].

use std::ops::Range;
use std::time::Instant;

use super::{Sender, REPAIR_BURST, REPAIR_FLOOR};
use crate::config::Config;
use crate::stats::Stats;
use crate::wire::{Nack, NackEntry};

/// The most segments one NACK counts as refused (`repairs_refused`) once
/// the repair budget is spent: it looks no further, so a NACK that asks
/// for a whole store of small messages costs no more than this.
const REFUSED_COUNTED: u64 = 4096;

/// Part of what a NACK asks for: a range of seqs, and the segments wanted
/// of each (`None`: every one sent).
type Ask = (Range<u64>, Option<Range<u32>>);

impl Sender {
    /// A NACK for this sender: queue what it asks for and the store has.
    ///
    /// What one NACK costs is bounded by what the budget lets it repair,
    /// however much it asks for (NACKs are anyone's to send, and 64 MiB
    /// of small bodies is hundreds of thousands of messages): its entries are merged into
    /// disjoint ranges first (at most 64 of messages, 2,048 of segments),
    /// each segment they cover is looked at once, in order, without
    /// collecting them, and the looking stops once the budget is spent and
    /// [`REFUSED_COUNTED`] more segments have been refused.
    pub(crate) fn on_nack(
        &mut self,
        now: Instant,
        config: &Config,
        nack: &Nack,
        stats: &mut Stats,
    ) {
        stats.nacks_received += 1;
        if nack.entries().is_empty() {
            // A receiver that first heard us mid-stream wants to know how
            // old the stream is.
            self.ask_heartbeat(now, config);
            return;
        }
        if self.pacer.on_loss_report(now) {
            stats.rate_decreases += 1;
        }
        let (asks, unrepairable) = self.asks(nack);
        let since = self
            .repair_at
            .map_or(0.0, |t| now.saturating_duration_since(t).as_secs_f64());
        self.repair_at = Some(now);
        self.repair_tokens = (self.repair_tokens + since * REPAIR_FLOOR).min(REPAIR_BURST);
        // Every sent segment the asks cover, lazily: (seq, index).
        let (store, repaired) = (&self.store, &self.repaired);
        let wanted = asks.iter().flat_map(|(seqs, segments)| {
            store.range(seqs.clone()).flat_map(move |(seq, st)| {
                let (first, end) = segments.as_ref().map_or((0, st.sent), |r| (r.start, r.end));
                (first..end.min(st.sent)).map(move |index| (seq, index))
            })
        });
        let mut refused = 0;
        for (seq, index) in wanted {
            if self.pending.contains(&(seq, index)) {
                continue;
            }
            if self.repair_tokens < 1.0 {
                refused += 1;
                if refused >= REFUSED_COUNTED {
                    break;
                }
                continue;
            }
            let recent = repaired
                .get(&seq)
                .and_then(|r| r.get(index as usize).copied().flatten())
                .is_some_and(|t| {
                    now.checked_duration_since(t)
                        .is_none_or(|d| d < config.repair_linger)
                });
            if recent {
                stats.repairs_lingered += 1;
                continue;
            }
            self.repair_tokens -= 1.0;
            self.pending.insert((seq, index));
            self.repairs.push_back((seq, index));
        }
        stats.repairs_refused += refused;
        if unrepairable {
            stats.repairs_unavailable += 1;
            // Tell the receivers soon, so that they stop asking.
            self.ask_heartbeat(now, config);
        }
    }

    /// What a NACK asks for, as disjoint asks in seq order: a range of
    /// seqs whose every sent segment is wanted (`None`), or one seq's
    /// range of segment indices; and whether it asked for anything no
    /// longer in the store. Overlapping and repeated entries are merged,
    /// so each segment is asked for once.
    fn asks(&self, nack: &Nack) -> (Vec<Ask>, bool) {
        let trail = self.trail();
        let lead = self.lead();
        let mut unrepairable = false;
        // Keyed by `()` (the segments by seq) for `merge_ranges`.
        let mut messages: Vec<((), Range<u64>)> = Vec::new();
        let mut segments: Vec<(u64, Range<u32>)> = Vec::new();
        for entry in nack.entries() {
            match *entry {
                NackEntry::Messages { first, count } => {
                    let end = first.get().saturating_add(u64::from(count)).min(lead);
                    if first.get() < trail {
                        unrepairable = true;
                    }
                    // Nothing sent in full past `lead` (yet): nothing to
                    // repair there.
                    let start = first.get().max(trail);
                    if start < end {
                        messages.push(((), start..end));
                    }
                }
                NackEntry::Segments { seq, first, count } => {
                    let Some(st) = self.store.get(seq.get()) else {
                        unrepairable |= seq.get() < trail;
                        continue;
                    };
                    let end = first.saturating_add(count).min(st.sent);
                    if first < end {
                        segments.push((seq.get(), first..end));
                    }
                }
                NackEntry::SegmentBitmap { seq, first, bits } => {
                    let Some(st) = self.store.get(seq.get()) else {
                        unrepairable |= seq.get() < trail;
                        continue;
                    };
                    segments.extend(
                        (0..32)
                            .filter(|b| bits >> b & 1 == 1)
                            .filter_map(|b| first.checked_add(b))
                            .filter(|&i| i < st.sent)
                            // `i < st.sent`: `i + 1` cannot overflow.
                            .map(|i| (seq.get(), i..i + 1)),
                    );
                }
            }
        }
        merge_ranges(&mut messages);
        // Segments of a message wanted whole are wanted already.
        segments.retain(|(seq, _)| {
            let i = messages.partition_point(|(_, r)| r.end <= *seq);
            messages.get(i).is_none_or(|(_, r)| *seq < r.start)
        });
        merge_ranges(&mut segments);
        let mut asks: Vec<Ask> = Vec::with_capacity(messages.len() + segments.len());
        asks.extend(messages.into_iter().map(|((), r)| (r, None)));
        // A seq in the store is below its end: `s + 1` fits.
        asks.extend(segments.into_iter().map(|(s, r)| (s..s + 1, Some(r))));
        asks.sort_by_key(|(seqs, _)| seqs.start);
        (asks, unrepairable)
    }

    /// Owes a heartbeat soon: now, or `heartbeat_min` after the last one
    /// (so that NACKs cannot make it send more than one per
    /// `heartbeat_min`).
    fn ask_heartbeat(&mut self, now: Instant, config: &Config) {
        let soon = self
            .hb_last
            .map_or(now, |t| (t + config.heartbeat_min).max(now));
        self.owe_heartbeat_at(soon);
    }
}

/// Sorts `ranges` by key and start, and merges in place the ranges of one
/// key that overlap or touch: each value is then in one range at most.
fn merge_ranges<K: Ord + Copy, T: Ord + Copy>(ranges: &mut Vec<(K, Range<T>)>) {
    ranges.sort_unstable_by_key(|(key, r)| (*key, r.start));
    // `dedup_by` hands each range with the last one kept, which it may
    // widen; a range it joins is dropped.
    ranges.dedup_by(|(key, r), (last_key, last)| {
        let joins = *key == *last_key && r.start <= last.end;
        if joins {
            last.end = last.end.max(r.end);
        }
        joins
    });
}

#[cfg(test)]
mod tests {
    use super::merge_ranges;

    #[test]
    fn ranges_of_one_key_that_overlap_or_touch_are_merged() {
        let mut ranges = vec![
            (2, 5..6),
            (1, 4..6),
            (1, 0..2),
            (1, 1..3),
            (2, 0..1),
            (1, 3..4),
        ];
        merge_ranges(&mut ranges);
        assert_eq!(ranges, [(1, 0..6), (2, 0..1), (2, 5..6)]);
        let mut ranges = vec![((), 10..20u64), ((), 0..5), ((), 12..15), ((), 6..10)];
        merge_ranges(&mut ranges);
        assert_eq!(ranges, [((), 0..5), ((), 6..20)]);
    }
}
