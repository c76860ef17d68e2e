//! The receiving side of flow control: how far this node has read into
//! each sender's stream, and when to tell the sender (a status frame, as
//! Aeron's receivers send status messages).
//!
//! The window advertised is what the driver says the socket can absorb
//! ([`Endpoint::set_receive_window`](crate::Endpoint::set_receive_window));
//! zero (the default) advertises nothing, and the node behaves as before
//! status frames existed. A status goes to a sender when its first data is
//! read, after every quarter of the window read since the last status, and
//! when the last segment of a message of several segments is read, so that
//! a sender held back by the window hears well before it has nothing left
//! in flight. A driver that reads a long run of datagrams sends an owed
//! status before it reads on ([`Endpoint::poll_control`](crate::Endpoint::poll_control)),
//! not once its socket is empty: otherwise the sender waits while this
//! node reads, and this node waits while the sender sends.

use std::time::Instant;

use crate::fastmap::FastMap;
use crate::ids::{MessageSeq, SenderId};
use crate::wire::Status;

/// How far this node has read into one sender's stream.
#[derive(Clone, Copy, Debug)]
struct Progress {
    /// The furthest (message seq, end offset) read.
    seq: u64,
    end: u32,
    /// Body bytes read since the last status.
    unreported: u64,
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
    /// It completes a message of several segments.
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
    progress: FastMap<SenderId, Progress>,
    max_senders: usize,
}

impl Feedback {
    pub(crate) fn new(own: SenderId, max_senders: usize) -> Self {
        Self {
            own,
            window: 0,
            progress: FastMap::default(),
            max_senders: max_senders.max(1),
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

    /// Notes what a datagram read, and returns the status owed now, if any.
    pub(crate) fn on_read(&mut self, now: Instant, read: Read) -> Option<Vec<u8>> {
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
            heard: now,
        });
        p.heard = now;
        if (read.seq, read.end) > (p.seq, p.end) {
            (p.seq, p.end) = (read.seq, read.end);
        }
        p.unreported = p.unreported.saturating_add(read.bytes);
        let due = first || read.last_of_many || p.unreported >= u64::from(self.window / 4);
        if !due {
            return None;
        }
        p.unreported = 0;
        let status = Status::new(
            self.own,
            read.sender,
            MessageSeq::new(p.seq),
            p.end,
            self.window,
        )
        .ok()?;
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
        let mut f = Feedback::new(SenderId::new(1), 8);
        assert!(f.on_read(Instant::now(), read(0, 0, 10)).is_none());
        assert_eq!(f.tracked(), 0);
    }

    #[test]
    fn reports_first_read_each_quarter_and_message_ends() {
        let t = Instant::now();
        let mut f = Feedback::new(SenderId::new(1), 8);
        f.set_window(8000);
        let st = f.on_read(t, read(0, 0, 10)).expect("first read");
        let st = Status::parse(&st).unwrap();
        assert_eq!((st.target().get(), st.seq().get()), (9, 0));
        assert_eq!((st.offset(), st.window()), (1000, 8000));
        // a quarter of 8000 is 2000 bytes: every second segment
        assert!(f.on_read(t, read(0, 1, 10)).is_none());
        let st = Status::parse(&f.on_read(t, read(0, 2, 10)).unwrap()).unwrap();
        assert_eq!(st.offset(), 3000);
        // a repair of an earlier segment does not move the position back
        assert!(f.on_read(t, read(0, 0, 10)).is_none());
        let st = Status::parse(&f.on_read(t, read(0, 3, 10)).unwrap()).unwrap();
        assert_eq!(st.offset(), 4000);
        // the last segment: reported at once, ending at the message's length
        let st = Status::parse(&f.on_read(t, read(0, 9, 10)).unwrap()).unwrap();
        assert_eq!(st.offset(), 9500);
    }

    #[test]
    fn tracks_at_most_max_senders() {
        let t = Instant::now();
        let mut f = Feedback::new(SenderId::new(1), 2);
        f.set_window(8000);
        for id in 10..20 {
            let r = Read::segment(SenderId::new(id), 0, 0, 1, 10, 10);
            assert!(f.on_read(t, r).is_some());
        }
        assert_eq!(f.tracked(), 2);
    }
}
