//! A large body queued before it is all written: the encoder hands it
//! over in parts, and its segments go out as their parts come.
//!
//! A large event's body is written into fresh memory, which the kernel
//! maps page by page: about 5 ms for 16 MiB on the VMs measured, all of it
//! before the first datagram when the body is queued whole. Queued in
//! parts, the first datagrams leave while the encoder writes the rest.
//!
//! A body may also come whole in pieces that are not copied together: a
//! large argument's bytes as the caller handed them over, and the encoding
//! before and after them.

use std::sync::Arc;

use tracing::trace;

use crate::body::BodyError;
use crate::endpoint::{EmitError, Endpoint, Handed};
use crate::ids::MessageSeq;

impl Endpoint {
    /// Queues a body of `len` bytes that its encoder hands over in parts:
    /// `first` now, the rest through [`emit_body_part`](Self::emit_body_part)
    /// as it is written; the segments of each part can go as soon as it is
    /// here. Messages queued after it wait until it is whole.
    ///
    /// Every part but the last is a whole number of segments
    /// (`max_payload_size` bytes each, [`segment_size`](Self::segment_size)),
    /// so that no segment spans two parts. Together they are one BSON
    /// document of `len` bytes: its length prefix is checked here, its
    /// final zero byte with the last part. Refused, queueing nothing, as
    /// [`emit_body`](Self::emit_body) refuses a body of `len` bytes, or as
    /// [`BodyError::Malformed`] if `first` is not a whole number of
    /// segments or does not begin with `len`.
    ///
    /// ```
    /// use std::time::Instant;
    /// use eventcast_proto::{encode_body, Config, Datagram, Endpoint, SenderId};
    /// use bson::Bson;
    ///
    /// let mut config = Config::default();
    /// config.max_payload_size = 1024;
    /// let mut sender = Endpoint::new(config, SenderId::new(7)).unwrap();
    /// let body = encode_body("frame", &[Bson::String("x".repeat(5000))]).unwrap();
    /// let (first, rest) = body.split_at(2048);
    ///
    /// let seq = sender.emit_body_start(body.len(), first.to_vec()).unwrap();
    /// let mut out = Datagram::new();
    /// let mut sent = 0;
    /// while sender.poll_datagram(Instant::now(), &mut out).is_some() {
    ///     sent += 1;
    /// }
    /// assert_eq!(sent, 2); // the segments of the first part
    /// sender.emit_body_part(seq, rest.to_vec()).unwrap();
    /// while sender.poll_datagram(Instant::now(), &mut out).is_some() {
    ///     sent += 1;
    /// }
    /// assert_eq!(sent, 5);
    /// ```
    pub fn emit_body_start(&mut self, len: usize, first: Vec<u8>) -> Result<MessageSeq, EmitError> {
        if first.len() == len {
            return self.emit_body(first);
        }
        let prefix = first.first_chunk::<4>().map(|b| i32::from_le_bytes(*b));
        if prefix.and_then(|p| usize::try_from(p).ok()) != Some(len) {
            return Err(malformed("its first part does not begin with its length"));
        }
        if first.len() > len || first.is_empty() || first.len() % self.segment_size() != 0 {
            return Err(malformed("a part that is not whole segments"));
        }
        self.check_room(len)?;
        let seq = self.sender.queue_parts(len, first);
        self.queued(seq, len, Handed::InParts);
        Ok(seq)
    }

    /// Adds the next part of the body [`emit_body_start`](Self::emit_body_start)
    /// queued as `seq`. Refused, adding nothing, if `seq` has no part to
    /// come, if the part is not a whole number of segments without being
    /// the last, or if it makes the body longer than it was said to be. The
    /// last part is added even if the body does not end as a document does
    /// (so that the messages after it are not held up), and refused then.
    pub fn emit_body_part(&mut self, seq: MessageSeq, part: Vec<u8>) -> Result<(), EmitError> {
        let segment = self.segment_size();
        let Some(parts) = self.sender.open_parts(seq.get()) else {
            return Err(malformed("a part of a message with no part to come"));
        };
        let filled = parts.filled() + part.len();
        if filled > parts.len() || part.is_empty() {
            return Err(malformed("a part beyond the body's length"));
        }
        let last = filled == parts.len();
        if !last && part.len() % segment != 0 {
            return Err(malformed("a part that is not whole segments"));
        }
        parts.push(part);
        trace!(%seq, filled, "message part queued");
        if last && parts.last_byte() != Some(0) {
            return Err(malformed("a body that does not end with a zero byte"));
        }
        Ok(())
    }

    /// Queues a whole body made of `pieces` laid end to end, none of them
    /// copied: the store keeps the pieces (for repairs, as it keeps any
    /// body), and each segment's datagram carries a slice of one as its
    /// shared tail. A segment that spans two pieces or more has the bytes
    /// of all but its last piece copied after its header: a large
    /// argument's bytes kept as the caller handed them over, with the
    /// encoding before and after it in pieces of their own, are copied
    /// only where the last segment reaches the encoding after them (at
    /// most a segment's worth, each time it is sent). A sealing endpoint
    /// copies every datagram into its sealed form all the same. A body of
    /// one segment or less is copied together and queued whole, as
    /// [`emit_body`](Self::emit_body) queues it (and counted so).
    ///
    /// As `emit_body`, only the document's frame is checked: refused,
    /// queueing nothing, as [`BodyError::Malformed`] if the pieces do not
    /// begin with the body's length or do not end with a zero byte, and as
    /// `emit_body` refuses a body of that length. Empty pieces are left
    /// out.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use std::time::Instant;
    /// use eventcast_proto::{encode_body, Config, Datagram, Endpoint, SenderId};
    /// use bson::Bson;
    ///
    /// let mut config = Config::default();
    /// config.max_payload_size = 1024;
    /// let mut sender = Endpoint::new(config, SenderId::new(7)).unwrap();
    /// let body = encode_body("frame", &[Bson::String("x".repeat(5000))]).unwrap();
    /// let pieces = [&body[..30], &body[30..4990], &body[4990..]];
    /// let pieces = pieces.map(|p| Arc::new(p.to_vec()));
    ///
    /// sender.emit_body_pieces(pieces.to_vec()).unwrap();
    /// let mut out = Datagram::new();
    /// let mut sent = 0;
    /// while sender.poll_datagram(Instant::now(), &mut out).is_some() {
    ///     sent += 1;
    /// }
    /// assert_eq!(sent, 5);
    /// // The middle piece is kept by the store as it is, not copied.
    /// assert!(Arc::strong_count(&pieces[1]) > 1);
    /// ```
    pub fn emit_body_pieces(&mut self, pieces: Vec<Arc<Vec<u8>>>) -> Result<MessageSeq, EmitError> {
        let len = pieces.iter().map(|p| p.len()).sum::<usize>();
        let mut prefix = [0u8; 4];
        let mut got = 0;
        for (to, from) in prefix.iter_mut().zip(pieces.iter().flat_map(|p| p.iter())) {
            *to = *from;
            got += 1;
        }
        if got < 4 || usize::try_from(i32::from_le_bytes(prefix)).ok() != Some(len) {
            return Err(malformed("its pieces do not begin with its length"));
        }
        if len <= self.segment_size() {
            // One segment: copied together, a whole body (which a batch
            // may carry, as it carries no body in parts).
            let whole: Vec<u8> = pieces.iter().flat_map(|p| p.iter().copied()).collect();
            return self.emit_body(whole);
        }
        let last = pieces.iter().rev().find(|p| !p.is_empty());
        if last.and_then(|p| p.last()) != Some(&0) {
            return Err(malformed("a body that does not end with a zero byte"));
        }
        self.check_room(len)?;
        let seq = self.sender.queue_pieces(pieces);
        self.queued(seq, len, Handed::Shared);
        Ok(seq)
    }

    /// The size of the segments a message is cut into: `max_payload_size`.
    pub fn segment_size(&self) -> usize {
        self.sender.segment_size()
    }
}

fn malformed(what: &str) -> EmitError {
    EmitError::Encode(BodyError::Malformed(what.to_string()))
}
