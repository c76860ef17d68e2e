//! Received messages the application is done with, made into the next
//! ones.
//!
//! Every small message received costs two allocations, its body and the
//! `Arc` that is the application's event, and two frees once its
//! listeners are done with it. In a burst both sizes overflow glibc's
//! per-thread cache, and `malloc` and `free` took about a sixth of a
//! receiving node's time. A driver that hands its events back once they
//! were delivered ([`Endpoint::give_back`](crate::Endpoint::give_back))
//! has the next messages made in them: an `Arc` nothing else holds (no
//! clone, no `Weak`) is emptied of its arguments and kept, to be written
//! over in place, and the buffer its arguments were kept in, if it has
//! room for at most [`BODY_ROOM`] bytes, takes the next single-datagram
//! body of at most that length. At most [`MOST`] of each are kept: 160
//! KiB of messages (320 bytes each, with the `Arc`'s counts) and up to
//! 512 KiB of buffers (64 KiB for a burst of 64-byte events), which an
//! idle receiver keeps too (a receiver started afresh, as
//! `Endpoint::set_receiving` does, starts with none).

use std::net::SocketAddr;
use std::sync::Arc;

use crate::args::Args;
use crate::ids::{MessageSeq, SenderId};
use crate::shared::ReceivedMessage;

/// The most spare messages, and spare bodies, kept: about one turn of a
/// burst's deliveries (a read of 32 datagrams of small events).
pub(crate) const MOST: usize = 512;

/// A body's buffer with room for more than this is let go, not kept.
pub(crate) const BODY_ROOM: usize = 1024;

/// A body's room is a multiple of this many bytes.
const ROOM_STEP: usize = 64;

/// The spares.
#[derive(Debug, Default)]
pub(crate) struct Spares {
    messages: Vec<Arc<ReceivedMessage>>,
    bodies: Vec<Vec<u8>>,
}

impl Spares {
    /// Keeps `message`, if nothing else holds it, emptied of its
    /// arguments, and the buffer they were kept in, if small (each while
    /// fewer than [`MOST`] are kept).
    pub(crate) fn give(&mut self, mut message: Arc<ReceivedMessage>) {
        let Some(inner) = Arc::get_mut(&mut message) else {
            return;
        };
        if let Some(body) = inner.args.take_body() {
            if body.capacity() <= BODY_ROOM && self.bodies.len() < MOST {
                self.bodies.push(body);
            }
        }
        if self.messages.len() < MOST {
            self.messages.push(message);
        }
    }

    /// A body holding `payload`: in a spare buffer if there is one and
    /// `payload` is at most [`BODY_ROOM`] long (a longer one in a new
    /// buffer of its length). Its room is rounded up to [`ROOM_STEP`], so
    /// that the next bodies of about its length fit in it too.
    pub(crate) fn body(&mut self, payload: &[u8]) -> Vec<u8> {
        if payload.len() > BODY_ROOM {
            return payload.to_vec();
        }
        let mut body = self.bodies.pop().unwrap_or_default();
        body.clear();
        if body.capacity() < payload.len() {
            body.reserve_exact(payload.len().next_multiple_of(ROOM_STEP));
        }
        body.extend_from_slice(payload);
        body
    }

    /// A message of these fields, in a spare `Arc` if there is one (its
    /// fields written over one by one: the message is not made on the
    /// stack first), else in a new one.
    pub(crate) fn message(
        &mut self,
        sender: SenderId,
        seq: MessageSeq,
        from: SocketAddr,
        name: Arc<str>,
        args: Args,
    ) -> Arc<ReceivedMessage> {
        if let Some(mut spare) = self.messages.pop() {
            // Kept only when it was the one holder, and it has not been
            // handed out since: always so.
            if let Some(inner) = Arc::get_mut(&mut spare) {
                // Every field named: one added to the message fails to
                // compile here rather than keep the last message's value.
                let ReceivedMessage {
                    sender: to_sender,
                    seq: to_seq,
                    from: to_from,
                    name: to_name,
                    args: to_args,
                } = inner;
                (*to_sender, *to_seq, *to_from) = (sender, seq, from);
                *to_name = name;
                *to_args = args;
                return spare;
            }
        }
        Arc::new(ReceivedMessage {
            sender,
            seq,
            from,
            name,
            args,
        })
    }

    /// How many messages and bodies are kept.
    #[cfg(test)]
    pub(crate) fn len(&self) -> (usize, usize) {
        (self.messages.len(), self.bodies.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::args::decode_received_as;

    fn message(body: Option<Vec<u8>>) -> ReceivedMessage {
        let args = match body {
            Some(body) => decode_received_as(body, None, |n| Arc::<str>::from(n), |_, a| a)
                .expect("a well-formed body"),
            None => Args::decoded(vec![bson::Bson::Int32(1)]),
        };
        ReceivedMessage {
            sender: SenderId::new(1),
            seq: MessageSeq::new(3),
            from: "127.0.0.1:1".parse().unwrap(),
            name: Arc::from("e"),
            args,
        }
    }

    fn put(spares: &mut Spares, m: ReceivedMessage) -> Arc<ReceivedMessage> {
        spares.message(m.sender, m.seq, m.from, m.name, m.args)
    }

    fn flat_body(s: &str) -> Vec<u8> {
        crate::body::encode_body("e", &[bson::Bson::String(s.to_owned())]).unwrap()
    }

    #[test]
    fn a_message_nothing_else_holds_is_written_over_in_place_and_its_body_reused() {
        let mut spares = Spares::default();
        let body = flat_body("abc");
        let first = Arc::new(message(Some(body.clone())));
        let (at, body_at) = (
            Arc::as_ptr(&first),
            first.args.raw_body().unwrap().as_bytes().as_ptr(),
        );
        spares.give(first);
        assert_eq!(spares.len(), (1, 1));
        let again = spares.body(&body);
        assert_eq!(again.as_ptr(), body_at, "the body's buffer came back");
        let second = put(&mut spares, message(Some(again)));
        assert_eq!(Arc::as_ptr(&second), at, "the Arc came back");
        assert_eq!(second.args.str_at(0), Some("abc"));
        assert_eq!(spares.len(), (0, 0));
        // Nothing kept: new ones, with room for a little more.
        let fresh = spares.body(b"xy");
        assert_eq!(
            (fresh.as_slice(), fresh.capacity()),
            (&b"xy"[..], ROOM_STEP)
        );
        assert_ne!(Arc::as_ptr(&put(&mut spares, message(None))), at);
    }

    #[test]
    fn a_message_held_elsewhere_is_not_kept() {
        let mut spares = Spares::default();
        let held = Arc::new(message(Some(flat_body("abc"))));
        spares.give(held.clone());
        let weak = {
            let other = Arc::new(message(None));
            let weak = Arc::downgrade(&other);
            spares.give(other);
            weak
        };
        assert_eq!(spares.len(), (0, 0), "a clone, or a Weak, keeps it out");
        assert_eq!(
            held.args.str_at(0),
            Some("abc"),
            "the held one is untouched"
        );
        assert!(weak.upgrade().is_none());
    }

    #[test]
    fn a_large_body_is_let_go_and_no_more_than_most_are_kept() {
        let mut spares = Spares::default();
        let large = flat_body(&"x".repeat(BODY_ROOM));
        spares.give(Arc::new(message(Some(large))));
        assert_eq!(spares.len(), (1, 0), "its message is kept, not its body");
        for _ in 0..MOST + 3 {
            spares.give(Arc::new(message(Some(flat_body("a")))));
        }
        assert_eq!(spares.len(), (MOST, MOST));
    }
}
