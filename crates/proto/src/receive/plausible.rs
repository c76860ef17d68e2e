//! What a sender's datagrams may claim of its stream.
//!
//! Without a key anyone can send under any id. A forged seq far ahead, or
//! a forged heartbeat with a far lead or trail, would otherwise become a
//! gap of 10^12 messages, a loss report for seqs never sent, or a join
//! point past every real message. So a seq (or a heartbeat's lead) is
//! plausible only up to [`AHEAD`] past the sender's lead as this node
//! knows it, plus what [`MAX_RATE`](super::bounds::MAX_RATE) allows for the time since its latest
//! plausible datagram, and never more than that past its first seq heard
//! for the stream's age here. What is not plausible is dropped and
//! counted (`dropped.implausible`, `heartbeats_implausible`): it never
//! becomes a gap, a loss, or a join point. A heartbeat's trail is taken
//! only up to the data this node has seen.
//!
//! From anywhere but an established sender's home, while that home is
//! live, the bound is also half a window past what the sender itself
//! vouched for (`SenderState::vouched`): forged seqs raise the lead, and
//! a climb of them, each plausible from the one before, would push the
//! sender's own messages out of its window.
//!
//! A sender first heard through a heartbeat is tracked, but the heartbeat is
//! only a hint: the join point comes from data. The first data settles it: data
//! that agrees with the hint (at or a little past its lead, from the address
//! the hint came from) starts the stream as the heartbeat said; data that does
//! not rebuilds the sender's state from the data. A heartbeat alone never makes
//! a sender believed real: a young stream settled from one (see
//! `Receiver::on_first_heartbeats`) is asked for what it missed (one NACK at
//! once, then as any sender), but reports no loss until its data makes it
//! believed, so that a stranger's heartbeat under an id it made up is nobody's
//! loss.
//!
//! A receiver that fell far behind (its kernel dropped more than [`AHEAD`]
//! messages while it was descheduled) reads the datagram before the drop
//! and the one after it microseconds apart. So an established sender's
//! datagrams that come from its *home* (the address its data came from when
//! it was first believed: see `SenderState::home`) are held only to the
//! stream-age bound: they are taken, and what lies between becomes a gap,
//! repaired or reported lost as any other (`far_ahead_taken`). An
//! impersonator must then also send from the sender's own address and port.
//!
//! A sender not established (believed real and heard more than once) is
//! re-anchored by data that disagrees with it as often as it was heard:
//! the first datagram a newcomer hears of a sender may be the forged one.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use super::bounds::{allowance, AHEAD};
use super::resume::Verdict;
use super::state::{FirstHeard, Hint, Segment, SenderState};
use super::Receiver;
use crate::ids::SenderId;
use crate::seqwindow::WINDOW;
use crate::stats::Stats;

/// How far past what an established sender vouched for its data and
/// heartbeats from elsewhere may run while its home is live (at most: the
/// bound from its lead holds too).
const HELD_PAST_VOUCHED: u64 = WINDOW / 2;

impl SenderState {
    /// One past the highest seq (or heartbeat lead) plausible now in a
    /// datagram from `from`. Its home counts as live for `live_for` after
    /// it last vouched (see [`held_to_vouched`](Self::held_to_vouched)).
    pub(crate) fn plausible_end(&self, now: Instant, from: SocketAddr, live_for: Duration) -> u64 {
        let mut near = self
            .lead
            .saturating_add(AHEAD)
            .saturating_add(allowance(self.plausible_at, now));
        if self.held_to_vouched(now, from, live_for) {
            // Also within half a window of what the sender itself vouched
            // for, whatever came from elsewhere since: each forged seq
            // taken raises the lead, and a climb of them, each plausible
            // from the one before, pushed the sender's own messages out
            // of its window. Nothing within half a window below
            // `vouched` leaves it now, and a sender that moved is heard
            // from its new address at up to 2^19 messages in the seconds
            // before its old home counts as silent.
            near = near.min(self.vouched.saturating_add(HELD_PAST_VOUCHED));
        }
        near.min(self.aged_end(now)).saturating_add(1)
    }

    /// Whether a datagram from `from` is held to what the sender vouched
    /// for: the sender is established, `from` is not its home, and its
    /// home vouched within `live_for` (a live sender is heard from home
    /// at least once a heartbeat interval). A sender whose home fell
    /// silent (it moved, or it is gone) is measured from its lead again.
    fn held_to_vouched(&self, now: Instant, from: SocketAddr, live_for: Duration) -> bool {
        self.established()
            && !self.is_home(from)
            && now.saturating_duration_since(self.home_alive) < live_for
    }

    /// The highest seq its stream may have reached by `now`, for the time
    /// this node has heard it.
    fn aged_end(&self, now: Instant) -> u64 {
        self.first_seq
            .saturating_add(AHEAD)
            .saturating_add(allowance(self.first_at, now))
    }

    /// Whether a datagram from `from` claiming `seq` (or a heartbeat's
    /// lead) past the plausible end is taken anyway: the sender is
    /// established, `from` is its home, and `seq` is within what its
    /// stream may have reached by now.
    pub(crate) fn taken_from_home(&self, from: SocketAddr, seq: u64, now: Instant) -> bool {
        self.established() && self.home == Some(from) && seq <= self.aged_end(now)
    }

    /// Whether the sender is established: believed real and heard more
    /// than once (a single datagram, even a valid event, may be forged).
    /// (A sender resumed on a datagram from elsewhere than its home is
    /// not, until its data comes from home: see `SenderState::resumed`.)
    pub(crate) fn established(&self) -> bool {
        self.believed && self.heard > 1 && !self.home_unheard
    }

    /// Whether data at `seq` is plausible: not past the plausible end, nor
    /// (while the sender is not established) far below its start.
    pub(crate) fn plausible(
        &self,
        now: Instant,
        seq: u64,
        from: SocketAddr,
        live_for: Duration,
    ) -> bool {
        let below = !self.established() && seq.saturating_add(AHEAD) < self.start;
        seq < self.plausible_end(now, from, live_for) && !below
    }

    /// Takes a plausible datagram at `now`.
    pub(crate) fn plausibly_heard(&mut self, now: Instant) {
        self.plausible_at = now;
        self.implausible_run = 0;
    }

    /// Whether the state should be dropped and built again from the
    /// implausible datagram just counted: it is not established, and
    /// implausible datagrams outnumber what it was built on.
    pub(crate) fn outvoted(&self) -> bool {
        !self.established() && self.implausible_run >= self.heard
    }
}

impl Hint {
    /// The age of the stream at `now`, as the heartbeat told it.
    fn age(&self, now: Instant) -> Duration {
        Duration::from_millis(u64::from(self.age_ms)) + now.saturating_duration_since(self.at)
    }

    /// Whether its lead is plausible for the age it claims (a stream
    /// advances at most [`MAX_RATE`](super::bounds::MAX_RATE) messages a second).
    fn plausible_for_age(&self, now: Instant) -> bool {
        let since = now.checked_sub(self.age(now)).unwrap_or(self.at);
        self.lead <= AHEAD.saturating_add(allowance(since, now))
    }

    /// Whether data at `seq` heard at `now` agrees with it.
    pub(crate) fn agrees(&self, seq: u64, now: Instant) -> bool {
        seq >= self.lead && seq - self.lead < AHEAD.saturating_add(allowance(self.at, now))
    }
}

impl Receiver {
    /// Whether `segment`'s seq is plausible for its sender (any seq is, for
    /// a sender not tracked, but far ahead of a strong resume point: see
    /// [`plausible_untracked`](Self::plausible_untracked)). A sender state
    /// outvoted by implausible data is dropped (unreported: it was not
    /// established), and the segment builds it again.
    pub(super) fn plausible_data(
        &mut self,
        now: Instant,
        stats: &mut Stats,
        segment: &Segment,
    ) -> bool {
        let sender = segment.sender;
        let live_for = self.home_live_for();
        let Some(state) = self.senders.get_mut(&sender) else {
            return self.plausible_untracked(now, sender, segment.seq, segment.from);
        };
        if let Some(hint) = state.hint.take() {
            let heard = state.heard;
            self.remove_sender(stats, sender);
            // Data agrees with the hint only from where the hint came:
            // a heartbeat from elsewhere may be an impersonator's.
            if hint.agrees(segment.seq, now) && hint.from == segment.from {
                self.settle_hint(now, stats, hint, heard, true);
            } else {
                stats.senders_reanchored += 1;
                tracing::debug!(%sender, seq = segment.seq, lead = hint.lead, "heartbeat contradicted by data");
            }
            return true;
        }
        if state.plausible(now, segment.seq, segment.from, live_for) {
            state.plausibly_heard(now);
            return true;
        }
        if state.taken_from_home(segment.from, segment.seq, now) {
            state.plausibly_heard(now);
            stats.far_ahead_taken += 1;
            tracing::debug!(%sender, seq = segment.seq, lead = state.lead, "far ahead, from the sender's home: taken");
            return true;
        }
        state.implausible_run = state.implausible_run.saturating_add(1);
        if !state.outvoted() {
            return false;
        }
        stats.senders_reanchored += 1;
        tracing::debug!(%sender, seq = segment.seq, "sender re-anchored");
        if let Some(old) = self.remove_sender(stats, sender) {
            // If it delivered anything, where it resumes is remembered, as
            // for a sender evicted (else a stream rebuilt from the next
            // datagram could be owed, and deliver, it again). What it held
            // for order is dropped, not delivered (it may be what a forged
            // first datagram brought), and asked for again if owed.
            self.remember(sender, &old, false);
        }
        // Judged by that point, as any forgotten sender's first datagram.
        self.plausible_untracked(now, sender, segment.seq, segment.from)
    }

    /// How long after its home last vouched an established sender's home
    /// counts as live (see `SenderState::plausible_end`): as long as it
    /// takes to call a silent sender gone.
    pub(super) fn home_live_for(&self) -> Duration {
        self.config.heartbeat_max * super::admission::GONE_AFTER
    }

    /// Whether data at `seq` of `sender`, not tracked, is plausible: any
    /// seq is, but one far ahead of where the sender resumes if it was
    /// forgotten established (a strong point: see
    /// [`admission`](super::admission)). Such data, likely forged from
    /// elsewhere, would otherwise take the sender over.
    fn plausible_untracked(
        &self,
        now: Instant,
        sender: SenderId,
        seq: u64,
        from: SocketAddr,
    ) -> bool {
        self.remembered
            .get(sender)
            .is_none_or(|point| point.judge(seq, now, from) != Verdict::Ahead)
    }

    /// A heartbeat of a sender not tracked, or heard only through
    /// heartbeats: tracked (if admitted), and the heartbeat kept as a hint
    /// until data settles it; but a stream that began after this node
    /// joined, whose lead is plausible for its age, is settled at once
    /// (this node is owed all of it, and asks for what it missed; but its
    /// losses are told only once its data makes it believed real: until
    /// then the heartbeat may be a stranger's, and what it claims missing
    /// nobody's loss).
    pub(super) fn on_first_heartbeats(&mut self, now: Instant, stats: &mut Stats, hint: Hint) {
        let sender = hint.sender;
        let first = FirstHeard {
            seq: hint.lead,
            data: false,
            live: false,
        };
        let point = self
            .remembered
            .get(sender)
            .or_else(|| self.glimpsed.get(sender));
        if let Some(point) = point {
            // Forgotten earlier: it resumes where it was, whatever the
            // heartbeat says of its stream's age; but a heartbeat alone
            // that contradicts the point is ignored (data settles it).
            if point.judge(hint.lead, now, hint.from) != Verdict::Resumes {
                stats.heartbeats_implausible += 1;
                tracing::debug!(%sender, lead = hint.lead, resume = point.seq, "heartbeat far from a forgotten sender's point ignored");
                return;
            }
            self.touch(now, stats, sender, hint.from, first);
            return;
        }
        if self.entitled(now, hint.age(now)) && hint.plausible_for_age(now) {
            let heard = self.senders.get(&sender).map_or(0, |s| s.heard);
            if heard > 0 {
                self.remove_sender(stats, sender);
            }
            // Not believed: a heartbeat alone may be a stranger's, under
            // an id it made up, and its losses nobody's.
            self.settle_hint(now, stats, hint, heard + 1, false);
            return;
        }
        let Some(new) = self.touch(now, stats, sender, hint.from, first) else {
            return;
        };
        let Some(state) = self.senders.get_mut(&sender) else {
            return;
        };
        if new && !state.believed && state.data_end == 0 {
            state.hint = Some(hint);
        } else if state.hint.is_some() {
            state.hint = Some(hint);
            state.lead = hint.lead;
        }
    }

    /// Settles the stream of a sender heard through heartbeats: it starts
    /// as `hint` says (see `join`). With `believe` (its data agreed with
    /// the hint) it is believed real; otherwise (a young stream heard only
    /// through a heartbeat) what it missed is asked for, with the one NACK
    /// it earns here and then what it earns as any sender, but no loss of
    /// it is told until it is believed.
    fn settle_hint(
        &mut self,
        now: Instant,
        stats: &mut Stats,
        hint: Hint,
        heard: u32,
        believe: bool,
    ) {
        let sender = hint.sender;
        let via = FirstHeard {
            seq: hint.lead,
            data: false,
            live: false,
        };
        if !self.senders.contains_key(&sender)
            && self.touch(now, stats, sender, hint.from, via).is_none()
        {
            return;
        }
        let mut state = SenderState::new(sender, hint.at, hint.from, via, None);
        if believe {
            state.believe_at_home();
        }
        state.young_hint = !believe;
        state.heard = heard;
        // Enough for one NACK: what it missed of the stream.
        state.nacks.earn(1.0);
        self.senders.insert(sender, state);
        let age = hint.age(now);
        self.on_stream_heartbeat(now, stats, sender, (hint.lead, hint.trail), Some(age), true);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::receive::bounds::MAX_RATE;

    #[test]
    fn the_allowance_is_what_u128_arithmetic_gives() {
        let t0 = Instant::now();
        for ms in [
            0u64,
            1,
            999,
            1000,
            1001,
            123_456_789,
            (1 << 42) - 1,
            1 << 42,
            1 << 50,
        ] {
            for extra_ns in [0u32, 999_999] {
                let d = Duration::from_millis(ms) + Duration::from_nanos(u64::from(extra_ns));
                let Some(now) = t0.checked_add(d) else {
                    continue;
                };
                let wide = d.as_millis() * u128::from(MAX_RATE) / 1000;
                let want = u64::try_from(wide).unwrap_or(u64::MAX);
                assert_eq!(allowance(t0, now), want, "{d:?}");
            }
        }
        assert_eq!(allowance(t0 + Duration::from_secs(1), t0), 0);
    }
}
