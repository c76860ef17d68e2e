//! Emitting: an event encoded for the node's protocol, handed to the
//! node's task (or sent from the caller's thread, `inline.rs`), and
//! fired to this node's own listeners; `forward` of a received event.

use std::sync::Arc;

use eventcast_proto::{EmitError, SenderId};
use serde::Serialize;
use tracing::{debug, warn};

use super::Eventcast;
use crate::arglist::parts::PartsPlan;
use crate::arglist::{self, Direct};
use crate::driver::Outgoing;
use crate::error::Error;
use crate::event::{to_args, Event};
use crate::legacy_driver;
use crate::native_driver;
use crate::spare::SpareBody;
use crate::wire_protocol::WireProtocol;

/// An emit handed to the node's task (`bytes`), or not because the node is
/// stopped (`None`); `id` is the node's sender id at that moment.
pub(super) struct Queued {
    pub(super) id: SenderId,
    pub(super) bytes: Option<usize>,
}

/// An emit's arguments for this node's own listeners: the list built to
/// encode the event, or the caller's value, turned into one only if a
/// listener wants the event.
pub(super) enum LocalArgs<'a, A: ?Sized> {
    Built(Vec<bson::Bson>),
    Later(&'a A),
    /// A received event's arguments, forwarded.
    Forwarded(&'a Event),
    /// One binary argument, shared with the body sent (`binary.rs`).
    Binary(Arc<Vec<u8>>),
}

impl<A: Serialize + ?Sized> LocalArgs<'_, A> {
    fn into_vec(self) -> Vec<bson::Bson> {
        match self {
            Self::Built(list) => list,
            // Encoded straight from this value a moment ago: it converts.
            Self::Later(args) => to_args(args).unwrap_or_else(|e| {
                warn!(target: "eventcast", error = %e, "emitted arguments did not convert twice alike: none for local listeners");
                Vec::new()
            }),
            Self::Forwarded(event) => event.raw_args().to_vec(),
            Self::Binary(bytes) => vec![bson::Bson::Binary(bson::Binary {
                subtype: bson::spec::BinarySubtype::Generic,
                bytes: bytes.to_vec(),
            })],
        }
    }
}

/// Why an emit was not queued: a full send queue gives the event back.
pub(super) enum Refused {
    Full(Option<Outgoing>, EmitError),
    Other(Error),
}

impl Refused {
    fn into_error(self) -> Error {
        match self {
            Refused::Full(_, e) => e.into(),
            Refused::Other(e) => e,
        }
    }
}

/// An emit's event, encoded: whole, or planned to be written in parts as
/// it goes out (`parts.rs`).
enum Encoded<'a, A: ?Sized> {
    Whole(Outgoing, LocalArgs<'a, A>),
    Parts(PartsPlan),
}

impl Eventcast {
    /// Emits an event: sends it to the group and fires this node's own
    /// listeners for it, exactly once.
    ///
    /// `args` is anything serde can serialize: a tuple, array or `Vec` is
    /// the argument list (`("a", 1)` is two arguments), `()` is none, any
    /// other value is one argument. While stopped, only local listeners
    /// fire (and a warning is logged).
    ///
    /// An emit that finds the node idle is handed to the socket (without
    /// waiting on it) before `emit` returns, as far as the pacer allows;
    /// emits in quick succession are queued for the node's task, which
    /// sends them in batches. Either way they go out in the order emitted.
    ///
    /// Fails, sending nothing and firing no listener, if the arguments
    /// cannot be encoded as BSON, the encoded event is larger than
    /// `max_message_size`, or the send queue is full
    /// ([`EmitError::QueueFull`]: the pacer has not sent
    /// `max_send_queue_bytes` of earlier events yet; use
    /// [`emit_wait`](Self::emit_wait) to wait for room instead).
    ///
    /// A large body (a plain argument list with a string or binary of 64
    /// KiB or more) may be written in parts as its first datagrams go out,
    /// `args` being serialized more than once (to size and plan the body,
    /// then to write it); should they serialize otherwise the last time,
    /// the event has gone out malformed (its receivers drop it) and `emit`
    /// fails with [`Error::Args`], firing no listener. Their `Serialize`
    /// must not emit a large event itself (it would wait for its own
    /// body).
    pub fn emit<A: Serialize + ?Sized>(&self, name: &str, args: &A) -> Result<(), Error> {
        let sent = self.encode(name, args).and_then(|encoded| match encoded {
            Encoded::Whole(event, local) => self.send_body(name, local, event),
            Encoded::Parts(plan) => {
                let admitted = self.admit_parts(plan.len()).map_err(Refused::into_error)?;
                self.write_parts(name, args, &plan, admitted)
            }
        });
        // Whatever happened: a large body may have taken the spare.
        self.handle.spare.schedule();
        sent
    }

    /// Like [`emit`](Self::emit), but when the send queue is full, waits
    /// until the pacer has made room instead of failing.
    pub async fn emit_wait<A: Serialize + ?Sized>(
        &self,
        name: &str,
        args: &A,
    ) -> Result<(), Error> {
        // Whatever happens, the future dropped while it waits included: a
        // large body may have taken the spare.
        let _schedule = ScheduleSpare(&self.handle.spare);
        match self.encode(name, args)? {
            Encoded::Whole(body, local) => self.send_body_wait(name, local, body).await,
            Encoded::Parts(plan) => {
                let admitted = self
                    .until_room(|| match self.admit_parts(plan.len()) {
                        Ok(admitted) => Ok(admitted),
                        Err(Refused::Full(..)) => Err(None),
                        Err(Refused::Other(e)) => Err(Some(e)),
                    })
                    .await?;
                self.write_parts(name, args, &plan, admitted)
            }
        }
    }

    /// Hands an encoded event to the node's task as
    /// [`send_body`](Self::send_body) does, waiting for room in the send
    /// queue if it is full.
    pub(super) async fn send_body_wait<A: Serialize + ?Sized>(
        &self,
        name: &str,
        local: LocalArgs<'_, A>,
        body: Outgoing,
    ) -> Result<(), Error> {
        let mut body = Some(body);
        let queued = self
            .until_room(|| match body.take().map(|b| self.queue_body(b)) {
                Some(Ok(queued)) => Ok(queued),
                Some(Err(Refused::Full(back, _))) => {
                    body = back;
                    Err(None)
                }
                Some(Err(Refused::Other(e))) => Err(Some(e)),
                // Put back whenever it was full.
                None => Err(Some(Error::Closed)),
            })
            .await?;
        self.emitted(name, local, queued);
        Ok(())
    }

    /// Tries `attempt` until it succeeds or fails for good
    /// (`Err(Some(_))`), waiting for room in the send queue each time it
    /// finds the queue full (`Err(None)`).
    async fn until_room<T>(
        &self,
        mut attempt: impl FnMut() -> Result<T, Option<Error>>,
    ) -> Result<T, Error> {
        // Tried first without waiting for room: registering for the
        // wake-up costs a lock, and the queue seldom is full.
        let mut full = false;
        loop {
            let room = self.handle.shared.room();
            tokio::pin!(room);
            if full {
                // Registered before trying again: a release that makes room
                // in between wakes it.
                room.as_mut().enable();
            }
            match attempt() {
                Ok(done) => return Ok(done),
                Err(Some(e)) => return Err(e),
                Err(None) => {
                    if full {
                        room.await;
                    }
                    full = true;
                }
            }
        }
    }

    /// Emits `name` with the arguments `event` arrived with, as they
    /// arrived: the values `event.raw_args()` holds, never converted
    /// again (`emit` reads a document whose keys are extended JSON, such
    /// as `{"$oid": ..}`, as the value it stands for; `forward` sends it
    /// on as the document it is).
    ///
    /// A received event kept as it arrived (see [`Event::raw_args`]) has
    /// its argument list copied into the new event's body as the bytes
    /// that arrived, so a relay or an echo pays one copy rather than a
    /// decode and an encode; any other event (one of this node's, one
    /// decoded on arrival) is encoded from its values. Fails as
    /// [`emit`](Self::emit) does.
    ///
    /// ```no_run
    /// # fn f(node: &eventcast::Eventcast) -> Result<(), eventcast::Error> {
    /// let answer = node.clone();
    /// node.on("ping", move |event| {
    ///     if let Err(e) = answer.forward("pong", event) {
    ///         eprintln!("no pong: {e}");
    ///     }
    /// })?;
    /// # Ok(()) }
    /// ```
    pub fn forward(&self, name: &str, event: &Event) -> Result<(), Error> {
        let protocol = self.handle.config.wire_protocol;
        // The spare is scheduled whatever happened: a large body took it.
        let sent = forward_body(protocol, name, event, &self.handle.spare).and_then(|body| {
            let local = LocalArgs::<[bson::Bson]>::Forwarded(event);
            self.send_body(name, local, body)
        });
        self.handle.spare.schedule();
        sent
    }

    /// Encodes an event for the protocol the node speaks: straight from
    /// `args` when it is a plain argument list (see `arglist.rs`), through
    /// its list of BSON values otherwise.
    ///
    /// A large body that would be written into fresh memory is planned to
    /// be written in parts as it goes out instead (`parts.rs`).
    fn encode<'a, A: Serialize + ?Sized>(
        &self,
        name: &str,
        args: &'a A,
    ) -> Result<Encoded<'a, A>, Error> {
        let protocol = self.handle.config.wire_protocol;
        if protocol == WireProtocol::Native {
            let whole = |body| {
                Ok(Encoded::Whole(
                    Outgoing::Native(body),
                    LocalArgs::Later(args),
                ))
            };
            match arglist::encode_direct(name, args, &self.handle.bodies) {
                Direct::Body(body) => return whole(body),
                Direct::Long => {
                    // Sized first, without writing anything.
                    let size = arglist::size_bound(name, args);
                    if let Some(plan) = size.and_then(|s| self.parts_plan(s, name, args)) {
                        return Ok(Encoded::Parts(plan));
                    }
                    let spare = &self.handle.spare;
                    if let Some(body) =
                        size.and_then(|s| arglist::encode_sized(name, args, s, spare))
                    {
                        return whole(body);
                    }
                }
                Direct::General => {}
            }
        }
        let list = to_args(args)?;
        let event = encode_list(protocol, name, &list)?;
        Ok(Encoded::Whole(event, LocalArgs::Built(list)))
    }

    pub(super) fn send_body<A: Serialize + ?Sized>(
        &self,
        name: &str,
        args: LocalArgs<'_, A>,
        body: Outgoing,
    ) -> Result<(), Error> {
        let queued = self.queue_body(body).map_err(Refused::into_error)?;
        self.emitted(name, args, queued);
        Ok(())
    }

    /// Hands an encoded event to the node's task. A full send queue gives
    /// the body back, so that [`emit_wait`](Self::emit_wait) can try again
    /// without copying it (an event may be megabytes).
    fn queue_body(&self, body: Outgoing) -> Result<Queued, Refused> {
        let max = self.handle.config.protocol.max_message_size;
        let len = body.reserved();
        if len > max {
            return Err(Refused::Other(
                EmitError::MessageTooLarge { len, max }.into(),
            ));
        }
        let current = self.current();
        let Some(commands) = current.commands.as_ref() else {
            return Ok(Queued {
                id: current.id,
                bytes: None,
            });
        };
        let limit = self.handle.config.protocol.max_send_queue_bytes;
        if let Err(e) = self.handle.shared.reserve(len, limit) {
            return Err(Refused::Full(Some(body), e));
        }
        if commands.emit(body).is_err() {
            // The task has just ended: as good as stopped.
            self.handle.shared.release_queue(len);
            return Ok(Queued {
                id: current.id,
                bytes: None,
            });
        }
        Ok(Queued {
            id: current.id,
            bytes: Some(len),
        })
    }

    /// After an emit was queued, or found the node stopped: logs, counts,
    /// and fires the local listeners.
    pub(super) fn emitted<A: Serialize + ?Sized>(
        &self,
        name: &str,
        args: LocalArgs<'_, A>,
        queued: Queued,
    ) {
        match queued.bytes {
            Some(bytes) => {
                debug!(target: "eventcast", name, bytes, "event sent");
            }
            None => {
                self.handle.shared.stats_mut().emitted_while_stopped += 1;
                warn!(target: "eventcast", name, "emit while stopped: only local listeners fire");
            }
        }
        // The event is made only if a listener or subscription may want it.
        self.handle.shared.listeners.dispatch_with(name, || {
            Event::new(name.to_owned(), args.into_vec(), queued.id, None, None)
        });
    }
}

/// Schedules the node's spare body when dropped (see `spare.rs`).
struct ScheduleSpare<'a>(&'a Arc<SpareBody>);

impl Drop for ScheduleSpare<'_> {
    fn drop(&mut self) {
        self.0.schedule();
    }
}

/// The body [`Eventcast::forward`] sends: a kept list copied as it
/// arrived, else the values encoded by the bson crate as they are (not
/// through serde's reading of extended JSON, which `to_args` applies).
fn forward_body(
    protocol: WireProtocol,
    name: &str,
    event: &Event,
    spare: &SpareBody,
) -> Result<Outgoing, Error> {
    let kept = match protocol {
        WireProtocol::Native => event
            .raw_list()
            .and_then(|list| arglist::encode_kept(name, list, spare)),
        WireProtocol::LegacyV3 => None,
    };
    match kept {
        Some(body) => Ok(Outgoing::Native(body)),
        None => encode_list(protocol, name, event.raw_args()),
    }
}

/// The event `name` with the argument list `list`, encoded for
/// `protocol`.
fn encode_list(protocol: WireProtocol, name: &str, list: &[bson::Bson]) -> Result<Outgoing, Error> {
    match protocol {
        WireProtocol::Native => native_driver::encode(name, list),
        WireProtocol::LegacyV3 => legacy_driver::encode(name, list),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use bson::{doc, oid::ObjectId, Bson};
    use eventcast_proto::SenderId;

    /// `args` as a node receives them, in an event.
    fn received(args: &[Bson]) -> Event {
        let body = eventcast_proto::encode_body("ping", args).unwrap();
        let (name, args) = eventcast_proto::decode_received(body).unwrap();
        Event::with_args(name, args, SenderId::new(2), None, None)
    }

    fn native(body: Outgoing) -> Vec<u8> {
        match body {
            Outgoing::Native(body) => body,
            _ => panic!("a native node's whole body"),
        }
    }

    /// An emit refused after its large body took the node's spare body
    /// still has a spare made for the next one, as a sent one does.
    #[tokio::test]
    async fn a_refused_large_emit_still_gets_its_spare_made() {
        let mut config = Config::default();
        config.protocol.max_message_size = 300 * 1024;
        let node = Eventcast::new(config).expect("valid config");
        let large = ("x".repeat(512 * 1024),);
        for wait in [false, true] {
            let refused = if wait {
                node.emit_wait("big", &large).await
            } else {
                node.emit("big", &large)
            };
            assert!(
                matches!(refused, Err(Error::Emit(EmitError::MessageTooLarge { .. }))),
                "{refused:?}"
            );
            // Made once the node has been idle a few milliseconds.
            let mut made = false;
            for _ in 0..200 {
                if node.handle.spare.room().is_some() {
                    made = true;
                    break;
                }
                tokio::time::sleep(std::time::Duration::from_millis(5)).await;
            }
            assert!(made, "no spare made (emit_wait: {wait})");
            // Taken by the next body, as the emit would.
            let _ = node.handle.spare.take(512 * 1024 + 20);
            node.handle.spare.schedule();
            assert_eq!(node.handle.spare.room(), None);
        }
    }

    #[test]
    fn a_kept_list_is_forwarded_as_the_bytes_that_arrived() {
        let spare = SpareBody::default();
        let flat = [Bson::Int64(7), Bson::from("seven")];
        let large = [
            Bson::Document(doc! { "n": { "deep": 1 } }),
            Bson::from("x".repeat(100_000)),
        ];
        for args in [&flat[..], &large[..]] {
            let event = received(args);
            assert!(event.raw_list().is_some(), "kept as it arrived");
            let body = native(forward_body(WireProtocol::Native, "pong", &event, &spare).unwrap());
            assert_eq!(body, eventcast_proto::encode_body("pong", args).unwrap());
            assert_eq!(body.capacity(), body.len(), "written once, at its size");
        }
    }

    #[test]
    fn forwarded_documents_are_not_read_as_extended_json() {
        // A document that serde's path would read as an ObjectId.
        let oid = ObjectId::parse_str("507f1f77bcf86cd799439011").unwrap();
        let document = Bson::Document(doc! { "$oid": oid.to_hex() });
        assert_eq!(
            to_args(std::slice::from_ref(&document)).unwrap(),
            [Bson::ObjectId(oid)]
        );
        for event in [
            // Decoded on arrival (not flat), and a local event.
            received(std::slice::from_ref(&document)),
            Event::new(
                "ping".into(),
                vec![document.clone()],
                SenderId::new(1),
                None,
                None,
            ),
        ] {
            assert!(event.raw_list().is_none());
            let spare = SpareBody::default();
            let body = native(forward_body(WireProtocol::Native, "pong", &event, &spare).unwrap());
            let (name, args) = eventcast_proto::decode_body(&body).unwrap();
            assert_eq!((name.as_str(), args), ("pong", vec![document.clone()]));
        }
    }

    #[test]
    fn a_legacy_node_forwards_in_its_own_protocol() {
        let event = received(&[Bson::Int32(1), Bson::from("a")]);
        let body = forward_body(
            WireProtocol::LegacyV3,
            "pong",
            &event,
            &SpareBody::default(),
        );
        assert!(matches!(body, Ok(Outgoing::Legacy { .. })));
    }
}
