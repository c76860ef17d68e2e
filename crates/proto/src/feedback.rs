//! The receiving side of flow control: how far this node has read into
//! each sender's stream, and when to tell the sender (a status frame, as
//! Aeron's receivers send status messages).
//!
//! The window advertised is what the driver says the socket can absorb
//! ([`Endpoint::set_receive_window`](crate::Endpoint::set_receive_window));
//! zero (the default) advertises nothing, and the node behaves as before
//! status frames existed. A status goes to a sender when its first data is
//! read, after every quarter of the window read since the last status, and
//! when the last segment of a message of several segments is read after
//! at least a quarter of the window or [`EARNED`] bytes since the last
//! status, so that a sender held back by the window hears well before it
//! has nothing left in flight. (A smaller tail holds no sender back; a
//! stranger's tiny "last segments" drew a status each.) The quarter is of
//! the window a sender believes: no more than `max_window`, however large
//! the socket's buffer. (A sender keeps at most `max_window` in flight; a
//! receiver that reported a quarter of a window four times that only after
//! reading more than the sender may send left the sender trickling at
//! `min_rate` until the receiver lapsed.)
//!
//! A heartbeat of a sender is answered with a status too, if this node
//! read some of a message the heartbeat says is not sent in full yet (its
//! seq at or past the lead), and read data since its last status: a sender
//! held back by the windows in the middle of a message asks for a
//! heartbeat `heartbeat_min` after the wait began, so one that believes
//! less than this node's quarter (a smaller `max_window`) hears then. A
//! heartbeat after whole messages (a quiet sender's, after every sparse
//! event) is not answered: every receiver would answer it, to the group.
//!
//! Statuses to senders not believed real before the datagram that draws
//! them (no message of theirs complete, no heartbeat that agreed with
//! their data) share one budget: [`UNBELIEVED_RATE`] a second,
//! [`UNBELIEVED_BURST`] at once. Ids a stranger makes up, each drawing a
//! status to the whole group from every node with its first datagram
//! (a whole event or a segment), get no more than that between them
//! (`statuses_withheld`). A status withheld stays owed: the sender's next
//! read, or a heartbeat answer, sends it, budget allowing. Charged are
//! the statuses a datagram draws by itself: a sender's first read, a
//! message's last segment, an owed one retried, a heartbeat's answer.
//! One that a quarter of the window read since the last (and at least
//! [`EARNED`] bytes) drew is free: the data outnumbers it. So a real
//! sender's first message pays for its first status and its last; when
//! a flood has taken the budget, its first status waits for a quarter of
//! the window (and 16 KiB) read. A sender believed real is never
//! charged: an id a stranger sent one whole event under draws a status
//! per quarter of the window (at least 16 KiB) it sends, as any sender.
//!
//! A driver that reads a long run of datagrams sends an owed
//! status before it reads on ([`Endpoint::poll_control`](crate::Endpoint::poll_control)),
//! not once its socket is empty: otherwise the sender waits while this
//! node reads, and this node waits while the sender sends.

use std::time::Instant;

use crate::bucket::TokenBucket;
use crate::fastmap::FastMap;
use crate::ids::{MessageSeq, SenderId};
use crate::wire::Status;

/// Statuses a second to senders not believed real, over all of them.
pub(crate) const UNBELIEVED_RATE: f64 = 200.0;

/// The most statuses that may go at once to senders not believed real.
pub(crate) const UNBELIEVED_BURST: f64 = 64.0;

/// Body bytes read since a sender's last status that earn it the next
/// one outside the budget of senders not believed real, when they are a
/// quarter of the window too.
pub(crate) const EARNED: u64 = 16 * 1024;

/// How far this node has read into one sender's stream.
#[derive(Clone, Copy, Debug)]
struct Progress {
    /// The furthest (message seq, end offset) read.
    seq: u64,
    end: u32,
    /// Body bytes read since the last status.
    unreported: u64,
    /// A status came due and was withheld (see [`UNBELIEVED_RATE`]): the
    /// next read sends it, budget allowing.
    owed: bool,
    heard: Instant,
}

/// One data frame or batch, as flow control sees it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Read {
    pub(crate) sender: SenderId,
    /// The message (the last one, for a batch).
    pub(crate) seq: u64,
    /// Where the segment ends in that message's body.
    pub(crate) end: u32,
    /// Body bytes the datagram carried.
    pub(crate) bytes: u64,
    /// It is the last segment of a message of several, as its header says
    /// (whether or not the message is complete).
    pub(crate) last_of_many: bool,
}

impl Read {
    /// What a data frame's header says: segment `index` of `count`, with
    /// `payload` bytes of a body of `message_len`.
    pub(crate) fn segment(
        sender: SenderId,
        seq: u64,
        index: u32,
        count: u32,
        payload: usize,
        message_len: u32,
    ) -> Self {
        let last = index.saturating_add(1) >= count;
        // Every segment but the last is as long as this one.
        let end = if last {
            message_len
        } else {
            u32::try_from(payload)
                .unwrap_or(u32::MAX)
                .saturating_mul(index.saturating_add(1))
                .min(message_len)
        };
        Self {
            sender,
            seq,
            end,
            bytes: payload as u64,
            last_of_many: last && count > 1,
        }
    }
}

/// The statuses this node owes the senders it reads.
pub(crate) struct Feedback {
    own: SenderId,
    window: u32,
    /// The largest window a sender believes (`Config::max_window`).
    max_window: u64,
    progress: FastMap<SenderId, Progress>,
    max_senders: usize,
    /// The statuses to senders not believed real.
    budget: TokenBucket,
    /// Statuses withheld since the last [`Feedback::take_withheld`].
    withheld: u64,
}

impl Feedback {
    pub(crate) fn new(own: SenderId, max_senders: usize, max_window: usize) -> Self {
        Self {
            own,
            window: 0,
            max_window: max_window as u64,
            progress: FastMap::default(),
            max_senders: max_senders.max(1),
            budget: TokenBucket::full(UNBELIEVED_BURST),
            withheld: 0,
        }
    }

    /// The window to advertise, body bytes; 0: advertise nothing.
    pub(crate) fn set_window(&mut self, bytes: usize) {
        self.window = u32::try_from(bytes).unwrap_or(u32::MAX);
        if self.window == 0 {
            self.progress.clear();
        }
    }

    /// The window advertised (0: none).
    pub(crate) fn window(&self) -> u32 {
        self.window
    }

    /// Statuses withheld (owed to senders not believed real, over the
    /// budget) since the last call: each counted once, however many reads
    /// find it still owed.
    pub(crate) fn take_withheld(&mut self) -> u64 {
        std::mem::take(&mut self.withheld)
    }

    /// Whether a status owed to a sender (`believed` real or not) may go
    /// now: always to one believed, within the budget to others.
    fn may_send(&mut self, now: Instant, believed: bool) -> bool {
        if believed {
            return true;
        }
        self.budget.refill(now, UNBELIEVED_RATE);
        self.budget.take_one()
    }

    /// A status is due to `sender`, read up to (`seq`, `end`): sent if the
    /// budget allows (see [`Feedback::may_send`]), else withheld and owed.
    fn settle(
        &mut self,
        now: Instant,
        sender: SenderId,
        (seq, end): (u64, u32),
        believed: bool,
    ) -> Option<Vec<u8>> {
        let send = self.may_send(now, believed);
        let p = self.progress.get_mut(&sender)?;
        if send {
            p.owed = false;
            p.unreported = 0;
            return self.status(sender, seq, end);
        }
        if !p.owed {
            p.owed = true;
            self.withheld += 1;
        }
        None
    }

    /// Notes what a datagram of a sender (`believed` real or not) read, and
    /// returns the status owed now, if any.
    pub(crate) fn on_read(&mut self, now: Instant, read: Read, believed: bool) -> Option<Vec<u8>> {
        if self.window == 0 {
            return None;
        }
        let first = !self.progress.contains_key(&read.sender);
        if first && self.progress.len() >= self.max_senders {
            self.forget_oldest();
        }
        let p = self.progress.entry(read.sender).or_insert(Progress {
            seq: read.seq,
            end: 0,
            unreported: 0,
            owed: false,
            heard: now,
        });
        p.heard = now;
        if (read.seq, read.end) > (p.seq, p.end) {
            (p.seq, p.end) = (read.seq, read.end);
        }
        p.unreported = p.unreported.saturating_add(read.bytes);
        let quarter = u64::from(self.window).min(self.max_window) / 4;
        let by_volume = p.unreported >= quarter;
        // A last segment draws a status only after data enough to hold a
        // sender back (a quarter of the window, or EARNED bytes): a
        // message smaller than that never does, and a stranger's tiny
        // "last segments" drew a status each.
        let last = read.last_of_many && p.unreported >= quarter.min(EARNED);
        let due = first || p.owed || last || by_volume;
        if !due {
            return None;
        }
        // A status the data it answers earned (a quarter of the window, and
        // at least EARNED bytes) costs nothing: it cannot outnumber them.
        let earned = by_volume && p.unreported >= EARNED;
        let at = (p.seq, p.end);
        self.settle(now, read.sender, at, believed || earned)
    }

    /// A heartbeat of `sender` with lead `lead`: the status owed now, if
    /// this node read part of a message at or past the lead, and data
    /// since its last status (see the module docs).
    pub(crate) fn on_heartbeat(
        &mut self,
        now: Instant,
        sender: SenderId,
        lead: u64,
        believed: bool,
    ) -> Option<Vec<u8>> {
        let p = self.progress.get_mut(&sender)?;
        if self.window == 0 || p.unreported == 0 || p.seq < lead {
            return None;
        }
        p.heard = now;
        let at = (p.seq, p.end);
        self.settle(now, sender, at, believed)
    }

    /// A status to `sender`: read up to `end` of message `seq`.
    fn status(&self, sender: SenderId, seq: u64, end: u32) -> Option<Vec<u8>> {
        let status = Status::new(self.own, sender, MessageSeq::new(seq), end, self.window).ok()?;
        let mut out = Vec::new();
        status.write(&mut out);
        Some(out)
    }

    /// Senders whose reads are tracked now.
    #[cfg(test)]
    pub(crate) fn tracked(&self) -> usize {
        self.progress.len()
    }

    fn forget_oldest(&mut self) {
        let oldest = self
            .progress
            .iter()
            .min_by_key(|(_, p)| p.heard)
            .map(|(id, _)| *id);
        if let Some(id) = oldest {
            self.progress.remove(&id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(seq: u64, index: u32, count: u32) -> Read {
        Read::segment(SenderId::new(9), seq, index, count, 1000, 9500)
    }

    #[test]
    fn silent_without_a_window() {
        let mut f = Feedback::new(SenderId::new(1), 8, 1 << 20);
        assert!(f.on_read(Instant::now(), read(0, 0, 10), true).is_none());
        assert_eq!(f.tracked(), 0);
    }

    #[test]
    fn reports_first_read_each_quarter_and_message_ends() {
        let t = Instant::now();
        let mut f = Feedback::new(SenderId::new(1), 8, 1 << 20);
        f.set_window(8000);
        let st = f.on_read(t, read(0, 0, 10), true).expect("first read");
        let st = Status::parse(&st).unwrap();
        assert_eq!((st.target().get(), st.seq().get()), (9, 0));
        assert_eq!((st.offset(), st.window()), (1000, 8000));
        // a quarter of 8000 is 2000 bytes: every second segment
        assert!(f.on_read(t, read(0, 1, 10), true).is_none());
        let st = Status::parse(&f.on_read(t, read(0, 2, 10), true).unwrap()).unwrap();
        assert_eq!(st.offset(), 3000);
        // a repair of an earlier segment does not move the position back
        assert!(f.on_read(t, read(0, 0, 10), true).is_none());
        let st = Status::parse(&f.on_read(t, read(0, 3, 10), true).unwrap()).unwrap();
        assert_eq!(st.offset(), 4000);
        // the last segment, under a quarter since the last status: not
        // reported (nothing it holds back)
        assert!(f.on_read(t, read(0, 9, 10), true).is_none());
    }

    #[test]
    fn a_last_segment_is_reported_after_data_enough_to_hold_a_sender_back() {
        let t = Instant::now();
        let mut f = Feedback::new(SenderId::new(1), 8, 1 << 20);
        // a quarter is 64,000 bytes; EARNED (16 KiB) is less
        f.set_window(256_000);
        let seg =
            |seq, index, count, len| Read::segment(SenderId::new(9), seq, index, count, 8000, len);
        assert!(
            f.on_read(t, seg(0, 0, 4, 32_000), true).is_some(),
            "first read"
        );
        assert!(f.on_read(t, seg(0, 1, 4, 32_000), true).is_none());
        assert!(f.on_read(t, seg(0, 2, 4, 32_000), true).is_none());
        // 24,000 bytes since the first status: the last segment reports,
        // ending at the message's length
        let st = f.on_read(t, seg(0, 3, 4, 32_000), true).expect("last");
        assert_eq!(Status::parse(&st).unwrap().offset(), 32_000);
        // a message of two small segments right after: not reported
        let small = |index| Read::segment(SenderId::new(9), 1, index, 2, 100, 150);
        assert!(f.on_read(t, small(0), true).is_none());
        assert!(f.on_read(t, small(1), true).is_none());
    }

    #[test]
    fn a_window_above_max_window_reports_each_quarter_of_max_window() {
        let t = Instant::now();
        // The window advertised is 8000; senders believe 4000 at most.
        let mut f = Feedback::new(SenderId::new(1), 8, 4000);
        f.set_window(8000);
        assert!(f.on_read(t, read(0, 0, 10), true).is_some(), "first read");
        // a quarter of 4000 is 1000 bytes: every segment
        for index in 1..4 {
            let st = f
                .on_read(t, read(0, index, 10), true)
                .expect("a quarter read");
            let st = Status::parse(&st).unwrap();
            assert_eq!((st.offset(), st.window()), (1000 * (index + 1), 8000));
        }
    }

    #[test]
    fn a_heartbeat_mid_message_is_answered_after_data_read_since_the_last_status() {
        let t = Instant::now();
        let mut f = Feedback::new(SenderId::new(1), 8, 1 << 20);
        f.set_window(8000);
        let sender = SenderId::new(9);
        // Lead 0: message 0 is not sent in full yet.
        assert!(
            f.on_heartbeat(t, sender, 0, true).is_none(),
            "nothing read yet"
        );
        assert!(f.on_read(t, read(0, 0, 10), true).is_some(), "first read");
        assert!(
            f.on_heartbeat(t, sender, 0, true).is_none(),
            "all of it reported"
        );
        assert!(
            f.on_read(t, read(0, 1, 10), true).is_none(),
            "under a quarter"
        );
        let st = Status::parse(&f.on_heartbeat(t, sender, 0, true).expect("owed")).unwrap();
        assert_eq!((st.offset(), st.window()), (2000, 8000));
        assert!(f.on_heartbeat(t, sender, 0, true).is_none(), "reported");
        // The quarter counts from that status on.
        assert!(f.on_read(t, read(0, 2, 10), true).is_none());
        assert!(f.on_read(t, read(0, 3, 10), true).is_some());
        assert!(f.on_read(t, read(0, 4, 10), true).is_none());
        f.set_window(0);
        assert!(f.on_heartbeat(t, sender, 0, true).is_none(), "no window");
    }

    #[test]
    fn a_heartbeat_after_whole_messages_is_not_answered() {
        let t = Instant::now();
        let mut f = Feedback::new(SenderId::new(1), 8, 1 << 20);
        f.set_window(1 << 20);
        let sender = SenderId::new(9);
        let small = |seq| Read::segment(sender, seq, 0, 1, 10, 10);
        assert!(f.on_read(t, small(0), true).is_some(), "first read");
        for seq in 1..10 {
            assert!(f.on_read(t, small(seq), true).is_none());
            // Lead seq + 1: every message this node read is sent in full.
            assert!(
                f.on_heartbeat(t, sender, seq + 1, true).is_none(),
                "seq {seq}"
            );
        }
        // Mid-message (the lead is the message read last): answered.
        assert!(f.on_read(t, read(10, 0, 10), true).is_none());
        assert!(f.on_heartbeat(t, sender, 10, true).is_some());
    }

    #[test]
    fn tracks_at_most_max_senders() {
        let t = Instant::now();
        let mut f = Feedback::new(SenderId::new(1), 2, 1 << 20);
        f.set_window(8000);
        for id in 10..20 {
            let r = Read::segment(SenderId::new(id), 0, 0, 1, 10, 10);
            assert!(f.on_read(t, r, true).is_some());
        }
        assert_eq!(f.tracked(), 2);
    }

    #[test]
    fn statuses_to_senders_not_believed_share_a_budget() {
        let t = Instant::now();
        let mut f = Feedback::new(SenderId::new(1), 4096, 1 << 20);
        // a quarter (64 KB) is never read here: statuses go on first reads
        f.set_window(256_000);
        let first = |id: u64| Read::segment(SenderId::new(id), 0, 0, 64, 1000, 64_000);
        let burst = UNBELIEVED_BURST as u64;
        let sent = (0..1000)
            .filter(|&id| f.on_read(t, first(100 + id), false).is_some())
            .count() as u64;
        assert_eq!((sent, f.take_withheld()), (burst, 1000 - burst));
        // each counted once: a second read of an owed one adds nothing
        let again = Read::segment(SenderId::new(100 + burst), 0, 1, 64, 1000, 64_000);
        assert!(f.on_read(t, again, false).is_none());
        assert_eq!(f.take_withheld(), 0);
        // an earlier clock refills nothing
        let earlier = t
            .checked_sub(std::time::Duration::from_millis(100))
            .unwrap_or(t);
        assert!(f.on_read(earlier, first(9000), false).is_none());
        assert!(f.on_read(t, first(9001), false).is_none());
        assert_eq!(f.take_withheld(), 2);
        // a sender believed real is answered whatever the budget
        assert!(f.on_read(t, first(7), true).is_some());
        // the budget refills at its rate: 10 ms later, two more
        let later = t + std::time::Duration::from_millis(10);
        let sent = (0..10)
            .filter(|&id| f.on_read(later, first(5000 + id), false).is_some())
            .count();
        assert_eq!(sent, (UNBELIEVED_RATE / 100.0) as usize);
        assert_eq!(f.take_withheld(), 10 - sent as u64);
        // a status withheld stays owed: the sender's next read sends it
        let next = Read::segment(SenderId::new(100 + burst), 0, 2, 64, 1000, 64_000);
        let later = later + std::time::Duration::from_millis(5);
        let st = f
            .on_read(later, next, false)
            .expect("owed since the first read");
        assert_eq!(Status::parse(&st).unwrap().offset(), 3000);
        // and no more is owed: its next read is not due
        let after = Read::segment(SenderId::new(100 + burst), 0, 3, 64, 1000, 64_000);
        assert!(f.on_read(later, after, false).is_none());
        assert_eq!(f.take_withheld(), 0);
    }

    #[test]
    fn a_status_earned_by_a_quarter_read_is_free() {
        let t = Instant::now();
        let mut f = Feedback::new(SenderId::new(1), 4096, 1 << 20);
        f.set_window(128_000);
        let seg =
            |id: u64, index: u32| Read::segment(SenderId::new(id), 0, index, 64, 8000, 512_000);
        // the budget taken by other ids' first reads
        let burst = UNBELIEVED_BURST as u64;
        for id in 0..burst {
            assert!(f.on_read(t, seg(100 + id, 0), false).is_some());
        }
        assert!(
            f.on_read(t, seg(9, 0), false).is_none(),
            "first read withheld"
        );
        // a quarter of 128,000 is 32,000 bytes: four segments of 8,000
        // earn a status, withheld or not
        for index in 1..3 {
            assert!(f.on_read(t, seg(9, index), false).is_none(), "{index}");
        }
        let st = f.on_read(t, seg(9, 3), false).expect("earned");
        assert_eq!(Status::parse(&st).unwrap().offset(), 32_000);
        assert_eq!(f.take_withheld(), 1);
    }
}
