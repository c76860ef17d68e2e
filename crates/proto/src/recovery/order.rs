//! Delivery in order, and losses: complete messages are delivered or held
//! behind a missing earlier one; what is given up is reported once.

use std::net::SocketAddr;
use std::time::Instant;

use tracing::{debug, trace};

use super::{Cx, Gap, Held, Recovery, Stream, GAP_CHARGE};
use crate::body::decode_body;
use crate::config::SEGMENT_OVERHEAD;
use crate::endpoint::{EndpointEvent, Loss, LossReason, ReceivedMessage};
use crate::ids::{MessageSeq, SenderId};
use crate::seqwindow::SeqStatus;

impl Recovery {
    /// A complete message: deliver it, or hold it for order.
    pub(super) fn complete(
        &mut self,
        now: Instant,
        cx: &mut Cx<'_>,
        sender: SenderId,
        seq: u64,
        from: SocketAddr,
        body: Vec<u8>,
    ) {
        let Some(stream) = self.streams.get_mut(&sender) else {
            return;
        };
        if !cx.config.ordered || (seq == stream.next && stream.join.is_none()) {
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
        // No room to hold it: give up whatever it waits for (and the
        // pending join: nothing earlier will be asked for).
        debug!(%sender, seq, "no room to hold a message for order: earlier gaps given up");
        self.decide(now, cx, sender, false, None);
        self.lose_below(cx, sender, seq, LossReason::Overrun);
        if let Some(stream) = self.streams.get_mut(&sender) {
            stream.next = stream.next.max(seq + 1);
        }
        deliver(cx, sender, seq, from, &body);
    }

    /// Declares `first .. end` lost (gaps or partials among them).
    pub(super) fn lose(
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
    pub(super) fn lose_below(
        &mut self,
        cx: &mut Cx<'_>,
        sender: SenderId,
        seq: u64,
        reason: LossReason,
    ) {
        let start = self.streams.get(&sender).map_or(seq, |s| s.start);
        if start < seq {
            self.lose(cx, sender, start, seq, reason);
        }
        self.flush_below(cx, sender, seq);
    }

    /// Delivers every held message below `seq` in order and moves the
    /// delivery point to at least `seq`.
    pub(super) fn flush_below(&mut self, cx: &mut Cx<'_>, sender: SenderId, seq: u64) {
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
    pub(super) fn below_window(&mut self, now: Instant, cx: &mut Cx<'_>, sender: SenderId) {
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
            self.decide(now, cx, sender, false, None);
            self.lose_below(cx, sender, base, LossReason::Overrun);
        }
    }

    /// Delivers held messages that are next in order, stepping over
    /// messages already given up.
    pub(super) fn flush(&mut self, cx: &mut Cx<'_>, sender: SenderId) {
        if !cx.config.ordered {
            return;
        }
        let Some(stream) = self.streams.get_mut(&sender) else {
            return;
        };
        if stream.join.is_some() {
            return;
        }
        // The window moved past the delivery point (what lay between was
        // reported then): on from its base.
        if let Some(base) = cx.reasm.base(sender).filter(|&b| stream.next < b) {
            self.lose_below(cx, sender, base, LossReason::Overrun);
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
                // Given up earlier (reported then), and so may be the ones
                // after it: step over them at once, up to the next message
                // held (held ones are finished too).
                let open = cx.reasm.next_open(sender, next).unwrap_or(next + 1);
                let held = stream.held.keys().next().copied().unwrap_or(u64::MAX);
                stream.next = open.min(held).min(stream.known_end).max(next + 1);
                continue;
            }
            break;
        }
    }
}

/// Takes message `seq` out of the gap that holds it, if any.
pub(super) fn split_gap(stream: &mut Stream, cx: &mut Cx<'_>, sender: SenderId, seq: u64) {
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

/// Reports `count` messages from `first` on as lost, merging with the
/// previous report when it ends where this one starts.
pub(super) fn report_loss(
    cx: &mut Cx<'_>,
    sender: SenderId,
    first: u64,
    count: u64,
    reason: LossReason,
) {
    if count == 0 {
        return;
    }
    cx.stats.messages_lost = cx.stats.messages_lost.saturating_add(count);
    cx.reasm.count_lost(sender, count);
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
            cx.reasm.count_delivered(sender);
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
