//! The outage buffer: what the bridge has to publish, in order, bounded by
//! bytes. An event leaves it only once the server confirmed it, so what
//! was in flight when a connection broke is sent again on the next one.

use std::collections::VecDeque;
use std::sync::Arc;

use async_nats::{HeaderMap, Subject};
use bytes::Bytes;

/// One LAN event ready to publish (cut into chunks when it is published,
/// by the server's `max_payload` then).
#[derive(Debug)]
pub(crate) struct Outgoing {
    pub(crate) subject: Subject,
    pub(crate) headers: HeaderMap,
    pub(crate) payload: Bytes,
    /// Its size in the buffer: the payload's length.
    pub(crate) bytes: usize,
}

/// The byte-bounded queue of events waiting for the server's confirmation.
#[derive(Debug)]
pub(crate) struct Outbox {
    queue: VecDeque<Arc<Outgoing>>,
    bytes: usize,
    limit: usize,
}

impl Outbox {
    pub(crate) fn new(limit: usize) -> Self {
        Outbox {
            queue: VecDeque::new(),
            bytes: 0,
            limit,
        }
    }

    /// Queues `event` at the back; `false` (and nothing queued) when it
    /// does not fit in the limit.
    pub(crate) fn push(&mut self, event: Outgoing) -> bool {
        if self.bytes + event.bytes > self.limit {
            return false;
        }
        self.bytes += event.bytes;
        self.queue.push_back(Arc::new(event));
        true
    }

    /// The first events, up to `max_events` and about `max_bytes` (at
    /// least one when any is queued).
    pub(crate) fn front(&self, max_events: usize, max_bytes: usize) -> Vec<Arc<Outgoing>> {
        let mut bytes = 0;
        let mut out = Vec::new();
        for event in self.queue.iter().take(max_events) {
            if !out.is_empty() && bytes + event.bytes > max_bytes {
                break;
            }
            bytes += event.bytes;
            out.push(Arc::clone(event));
        }
        out
    }

    /// Removes the first `n` events (confirmed by the server).
    pub(crate) fn release(&mut self, n: usize) {
        for event in self.queue.drain(..n.min(self.queue.len())) {
            self.bytes -= event.bytes;
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }

    pub(crate) fn len(&self) -> usize {
        self.queue.len()
    }

    pub(crate) fn limit(&self) -> usize {
        self.limit
    }

    pub(crate) fn bytes(&self) -> usize {
        self.bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(bytes: usize) -> Outgoing {
        Outgoing {
            subject: Subject::from("p.x"),
            headers: HeaderMap::new(),
            payload: Bytes::from(vec![0; bytes]),
            bytes,
        }
    }

    #[test]
    fn bounded_by_bytes_in_order() {
        let mut outbox = Outbox::new(100);
        assert!(outbox.push(event(40)));
        assert!(outbox.push(event(50)));
        assert!(!outbox.push(event(20)), "over the limit");
        assert!(outbox.push(event(10)));
        assert_eq!(outbox.bytes(), 100);
        let front = outbox.front(10, 60);
        assert_eq!(front.iter().map(|e| e.bytes).collect::<Vec<_>>(), [40]);
        let front = outbox.front(10, 1000);
        assert_eq!(
            front.iter().map(|e| e.bytes).collect::<Vec<_>>(),
            [40, 50, 10]
        );
        outbox.release(2);
        assert_eq!(outbox.bytes(), 10);
        assert_eq!(outbox.len(), 1);
        outbox.release(5);
        assert!(outbox.is_empty());
    }

    #[test]
    fn one_event_larger_than_the_batch_still_goes() {
        let mut outbox = Outbox::new(1000);
        outbox.push(event(500));
        assert_eq!(outbox.front(10, 100).len(), 1);
    }
}
