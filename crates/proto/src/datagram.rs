//! A datagram to send, in up to two parts: the bytes written for it (a
//! frame header, or a whole frame) and, after them, a slice of a stored
//! message body, shared rather than copied. A driver hands both parts to
//! the kernel as one datagram (two iovecs); a leaf that imports nothing of
//! the core.

use std::ops::Range;
use std::sync::Arc;

/// A datagram to send: [`head`](Self::head) then [`tail`](Self::tail).
///
/// [`Endpoint::poll_datagram`](crate::Endpoint::poll_datagram) writes a
/// data segment as its 33-byte header in `head` and the segment's slice of
/// the message body in `tail`, without copying the body (a segment of a
/// body queued in pieces that spans pieces has the bytes before its last
/// piece copied into `head` after the header); every other frame (and
/// every sealed datagram) is whole in `head`. The driver reuses one
/// `Datagram` (or a batch of them): `head`'s allocation is kept.
///
/// ```
/// use eventcast_proto::Datagram;
///
/// let mut d = Datagram::from(b"whole".to_vec());
/// assert_eq!(d.len(), 5);
/// assert_eq!(d.tail(), b"");
/// assert_eq!(d.to_vec(), b"whole");
/// d.clear();
/// assert!(d.is_empty());
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Datagram {
    head: Vec<u8>,
    tail: Option<(Arc<Vec<u8>>, Range<usize>)>,
}

impl Datagram {
    /// An empty datagram.
    pub fn new() -> Self {
        Self::default()
    }

    /// The first part: the bytes written for this datagram.
    pub fn head(&self) -> &[u8] {
        &self.head
    }

    /// The second part: a slice of a stored body (empty if none).
    pub fn tail(&self) -> &[u8] {
        match &self.tail {
            Some((body, range)) => body.get(range.clone()).unwrap_or_default(),
            None => &[],
        }
    }

    /// The datagram's length: both parts.
    pub fn len(&self) -> usize {
        self.head.len() + self.tail().len()
    }

    /// Whether it holds no byte.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Empties both parts (`head` keeps its allocation).
    pub fn clear(&mut self) {
        self.head.clear();
        self.tail = None;
    }

    /// The whole datagram in one buffer, to read or rewrite in place: the
    /// tail, if any, is copied after the head first.
    pub fn whole_mut(&mut self) -> &mut Vec<u8> {
        if let Some((body, range)) = self.tail.take() {
            self.head
                .extend_from_slice(body.get(range).unwrap_or_default());
        }
        &mut self.head
    }

    /// A copy of the whole datagram.
    pub fn to_vec(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(self.len());
        v.extend_from_slice(&self.head);
        v.extend_from_slice(self.tail());
        v
    }

    /// The whole datagram as one buffer (the tail copied after the head).
    pub fn into_vec(mut self) -> Vec<u8> {
        self.whole_mut();
        self.head
    }

    /// Makes `whole` the datagram (whole in its head, no tail), giving the
    /// old head back in `whole` for its allocation.
    pub(crate) fn swap_whole(&mut self, whole: &mut Vec<u8>) {
        std::mem::swap(&mut self.head, whole);
        self.tail = None;
    }

    /// The head, to append to (the tail stays after it).
    pub(crate) fn head_mut(&mut self) -> &mut Vec<u8> {
        &mut self.head
    }

    /// Sets the tail: `body[range]` follows the head.
    pub(crate) fn set_tail(&mut self, body: Arc<Vec<u8>>, range: Range<usize>) {
        self.tail = Some((body, range));
    }
}

impl From<Vec<u8>> for Datagram {
    /// A datagram whole in `head`.
    fn from(head: Vec<u8>) -> Self {
        Self { head, tail: None }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tail_is_shared_and_follows_head() {
        let body = Arc::new(b"0123456789".to_vec());
        let mut d = Datagram::new();
        d.head_mut().extend_from_slice(b"hd");
        d.set_tail(body.clone(), 3..7);
        assert_eq!(d.head(), b"hd");
        assert_eq!(d.tail(), b"3456");
        assert_eq!(d.len(), 6);
        assert_eq!(d.to_vec(), b"hd3456");
        // Not copied: the datagram holds the body itself.
        assert_eq!(Arc::strong_count(&body), 2);
        assert_eq!(d.whole_mut().as_slice(), b"hd3456");
        assert_eq!(d.tail(), b"");
        assert_eq!(Arc::strong_count(&body), 1);
    }

    #[test]
    fn a_range_past_the_body_reads_empty() {
        let mut d = Datagram::new();
        d.set_tail(Arc::new(b"abc".to_vec()), 2..9);
        assert_eq!(d.tail(), b"");
        assert_eq!(d.clone().into_vec(), b"");
        d.clear();
        assert!(d.is_empty());
    }
}
