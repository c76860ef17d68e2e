//! The endpoint's queue of events for the application.
//!
//! A repair that fills a gap under a long run of messages held for order
//! delivers them all in one input: a receiver that fell behind under a
//! burst (the kernel dropped datagrams) may deliver 100,000 at once. Those
//! events are taken over from the receiver's queue whole, by swapping the
//! two queues, never copied one by one into a second queue of the same
//! size; and a queue the application has emptied gives its memory back
//! before it takes the next burst. So a burst costs one queue of its size,
//! once.
//!
//! What fits the room an empty queue keeps is moved into it instead: the
//! events of one datagram, taken after each, and of a turn of the node's
//! loop, go into memory already in use. (Swapping every time left the
//! queue that collects a turn's events small after each turn, to grow
//! again, in fresh memory, through the next: a receiver of small events
//! took a page fault every fifty events.)

use std::collections::VecDeque;

use crate::shared::EndpointEvent;

/// Room an empty queue keeps (about a turn of the node's loop of small
/// events: 280 KB); beyond it, its memory goes back to the allocator
/// before the next burst comes in.
pub(crate) const KEPT_CAPACITY: usize = 2048;

/// Events for the application, in order; adjacent loss reports of the
/// same sender, reason and consecutive ranges are merged into one.
#[derive(Debug, Default)]
pub(crate) struct Outbox {
    events: VecDeque<EndpointEvent>,
}

impl Outbox {
    /// Queues `event`; returns whether it is a new loss report (not merged
    /// into the one before it).
    pub(crate) fn push(&mut self, event: EndpointEvent) -> bool {
        if let Some(last) = self.events.back_mut() {
            if merge_loss(last, &event) {
                return false;
            }
        }
        let loss = matches!(event, EndpointEvent::Loss(_));
        self.events.push_back(event);
        loss
    }

    /// Takes every event of `from` (which is left empty), in order, as
    /// [`push`](Self::push) would; returns the new loss reports among
    /// them. Into an empty queue too short for them the two queues are
    /// swapped: a burst is never held twice.
    pub(crate) fn take_all(&mut self, from: &mut VecDeque<EndpointEvent>) -> usize {
        if self.events.is_empty() {
            // Room kept from an earlier burst goes back first.
            self.events.shrink_to(KEPT_CAPACITY);
            if from.len() > self.events.capacity() {
                return self.swap_in(from);
            }
        }
        if !from.iter().any(|e| matches!(e, EndpointEvent::Loss(_))) {
            // Nothing to merge: moved over at once, not one by one.
            self.events.append(from);
            return 0;
        }
        let mut losses = 0;
        for event in from.drain(..) {
            losses += usize::from(self.push(event));
        }
        losses
    }

    /// Takes the events of `from` into this empty queue by swapping the
    /// two: a burst is not copied.
    fn swap_in(&mut self, from: &mut VecDeque<EndpointEvent>) -> usize {
        std::mem::swap(&mut self.events, from);
        if !self
            .events
            .iter()
            .any(|e| matches!(e, EndpointEvent::Loss(_)))
        {
            return 0;
        }
        // Merge adjacent loss reports in place (the order is kept).
        let mut events = Vec::from(std::mem::take(&mut self.events));
        events.dedup_by(|next, kept| merge_loss(kept, next));
        let losses = events
            .iter()
            .filter(|e| matches!(e, EndpointEvent::Loss(_)))
            .count();
        self.events = events.into();
        losses
    }

    /// Events waiting.
    pub(crate) fn len(&self) -> usize {
        self.events.len()
    }

    /// The next event.
    pub(crate) fn pop(&mut self) -> Option<EndpointEvent> {
        self.events.pop_front()
    }

    /// Room the queue has now, in events (for tests of its bound).
    #[cfg(test)]
    pub(crate) fn capacity(&self) -> usize {
        self.events.capacity()
    }
}

/// Merges `next` into `last` if both are loss reports of the same sender
/// and reason and `next` continues `last`'s range; returns whether it did.
fn merge_loss(last: &mut EndpointEvent, next: &EndpointEvent) -> bool {
    let (EndpointEvent::Loss(last), EndpointEvent::Loss(next)) = (last, next) else {
        return false;
    };
    if last.sender == next.sender
        && last.reason == next.reason
        && last.first.get().checked_add(last.count) == Some(next.first.get())
    {
        last.count = last.count.saturating_add(next.count);
        return true;
    }
    false
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;
    use std::sync::Arc;

    use super::*;
    use crate::ids::{MessageSeq, SenderId};
    use crate::shared::{Loss, LossReason, ReceivedMessage};

    fn message(seq: u64) -> EndpointEvent {
        EndpointEvent::Message(Arc::new(ReceivedMessage {
            sender: SenderId::new(1),
            seq: MessageSeq::new(seq),
            from: SocketAddr::from(([127, 0, 0, 1], 1)),
            name: "e".into(),
            args: Vec::new().into(),
        }))
    }

    fn loss(first: u64, count: u64) -> EndpointEvent {
        EndpointEvent::Loss(Loss {
            sender: SenderId::new(1),
            first: MessageSeq::new(first),
            count,
            reason: LossReason::Expired,
        })
    }

    fn seqs(outbox: &mut Outbox) -> Vec<String> {
        std::iter::from_fn(|| outbox.pop())
            .map(|e| match e {
                EndpointEvent::Message(m) => format!("m{}", m.seq.get()),
                EndpointEvent::Loss(l) => format!("l{}+{}", l.first.get(), l.count),
                other => format!("{other:?}"),
            })
            .collect()
    }

    #[test]
    fn a_burst_taken_whole_is_held_once_and_released_before_the_next() {
        const BURST: usize = 100_000;
        let mut outbox = Outbox::default();
        let mut receiver: VecDeque<EndpointEvent> = (0..BURST as u64).map(message).collect();
        let burst_room = receiver.capacity();
        assert_eq!(outbox.take_all(&mut receiver), 0);
        // The receiver's queue was taken over, not copied: one queue of the
        // burst's size between the two.
        assert!(receiver.is_empty());
        assert!(receiver.capacity() + outbox.capacity() <= burst_room + KEPT_CAPACITY);
        while outbox.pop().is_some() {}
        // The next burst: the emptied queue gave its room back first.
        let mut receiver: VecDeque<EndpointEvent> = (0..BURST as u64).map(message).collect();
        let burst_room = receiver.capacity();
        outbox.take_all(&mut receiver);
        assert!(receiver.capacity() + outbox.capacity() <= burst_room + KEPT_CAPACITY);
    }

    #[test]
    fn turns_of_small_takes_reuse_the_same_memory() {
        let mut outbox = Outbox::default();
        let mut receiver = VecDeque::new();
        let mut rooms = Vec::new();
        for _turn in 0..3 {
            // A turn of the node's loop: 100 datagrams of 10 events, each
            // taken after its datagram, then all handed over.
            for d in 0..100u64 {
                receiver.extend((0..10).map(|i| message(d * 10 + i)));
                assert_eq!(outbox.take_all(&mut receiver), 0);
                assert!(receiver.is_empty());
            }
            assert_eq!(seqs(&mut outbox).len(), 1_000);
            rooms.push((outbox.capacity(), receiver.capacity()));
        }
        // Neither queue gave its room away to grow it again next turn.
        assert_eq!(rooms[1], rooms[0]);
        assert_eq!(rooms[2], rooms[0]);
        assert!(rooms[0].0 >= 1_000 && rooms[0].1 < 1_000, "{rooms:?}");
    }

    #[test]
    fn losses_merge_the_same_way_pushed_or_taken() {
        let input = || {
            [
                loss(0, 2),
                loss(2, 3),
                message(5),
                loss(6, 1),
                loss(8, 1),
                loss(9, 1),
            ]
        };
        let expected = ["l0+5", "m5", "l6+1", "l8+2"];
        let mut pushed = Outbox::default();
        let new = input()
            .into_iter()
            .filter(|e| pushed.push(e.clone()))
            .count();
        assert_eq!(
            (new, seqs(&mut pushed)),
            (3, expected.map(String::from).to_vec())
        );
        let mut taken = Outbox::default();
        let mut from: VecDeque<_> = input().into();
        assert_eq!(taken.take_all(&mut from), 3);
        assert_eq!(seqs(&mut taken), expected.map(String::from).to_vec());
        // Into a queue that is not empty: merged with its last report too.
        let mut busy = Outbox::default();
        busy.push(loss(0, 1));
        let mut from: VecDeque<_> = [loss(1, 1), message(2)].into();
        assert_eq!(busy.take_all(&mut from), 0);
        assert_eq!(seqs(&mut busy), ["l0+2", "m2"].map(String::from).to_vec());
    }
}
