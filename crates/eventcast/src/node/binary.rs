//! Emitting a large binary without copying it: the caller hands its bytes
//! over, and the body sent is those bytes with the encoding around them
//! in pieces of their own.

use std::sync::Arc;

use bson::Bson;

use super::emit::LocalArgs;
use super::Eventcast;
use crate::arglist::parts::{around_binary, lone_binary, BinaryArg};
use crate::driver::Outgoing;
use crate::error::Error;
use crate::wire_protocol::WireProtocol;

impl Eventcast {
    /// Emits an event whose one argument is `bytes`, a BSON binary (of the
    /// generic subtype), taking them over rather than copying them: a
    /// camera frame or a file sent as it is.
    ///
    /// Receivers get the event [`emit`](Self::emit) sends for the same
    /// argument (`node.emit(name, &(serde_bytes::Bytes::new(&bytes),))`,
    /// say), and the node's own listeners fire with it, as for any emit.
    /// What differs is the sender's work: the bytes are kept as they are
    /// for repairs (as any body is: for `retransmit_window`, 3 s by
    /// default, or until `retransmit_window_bytes` of newer events push
    /// them out, whatever the receivers do), each datagram carries a slice
    /// of them, and only the few bytes of the encoding around them are
    /// written. The last segment, which reaches the encoding after the
    /// bytes, is copied together each time it is sent, and with a key
    /// every datagram is copied as it is sealed, as always. A large
    /// event's copy into its body is saved, and, for a fresh frame, the
    /// fresh memory that copy would write. Pass an `Arc` to keep the
    /// bytes too (to retry after
    /// [`EmitError::QueueFull`](eventcast_proto::EmitError::QueueFull),
    /// or to use them elsewhere) without a copy; the node holds its clone
    /// as long as the event may be repaired.
    ///
    /// Bytes shorter than 64 KiB, and any emit of a node speaking the 0.1.x
    /// protocol, are encoded as [`emit`](Self::emit) encodes them (copied).
    /// This node's own listeners, if any want the event, get a copy.
    /// Fails as [`emit`](Self::emit) does.
    ///
    /// ```no_run
    /// # fn f(node: &eventcast::Eventcast, frame: Vec<u8>) -> Result<(), eventcast::Error> {
    /// node.emit_binary("frame", frame)?;
    /// # Ok(()) }
    /// ```
    pub fn emit_binary(&self, name: &str, bytes: impl Into<Arc<Vec<u8>>>) -> Result<(), Error> {
        let bytes = bytes.into();
        match self.binary_pieces(name, &bytes) {
            Some(pieces) => self.send_body(
                name,
                LocalArgs::<()>::Binary(bytes),
                Outgoing::Pieces(pieces),
            ),
            None => self.emit(name, &(BinaryArg(&bytes),)),
        }
    }

    /// Like [`emit_binary`](Self::emit_binary), but when the send queue is
    /// full, waits until the pacer has made room instead of failing (as
    /// [`emit_wait`](Self::emit_wait) does).
    pub async fn emit_binary_wait(
        &self,
        name: &str,
        bytes: impl Into<Arc<Vec<u8>>>,
    ) -> Result<(), Error> {
        let bytes = bytes.into();
        match self.binary_pieces(name, &bytes) {
            Some(pieces) => {
                let local = LocalArgs::<()>::Binary(bytes);
                self.send_body_wait(name, local, Outgoing::Pieces(pieces))
                    .await
            }
            None => self.emit_wait(name, &(BinaryArg(&bytes),)).await,
        }
    }

    /// Emits the argument list `args`, taking it over: as
    /// [`emit`](Self::emit) sends it, except that a list that is one
    /// binary of 64 KiB or more (a frame) goes as
    /// [`emit_binary`](Self::emit_binary) sends it, its bytes not copied
    /// into the body ([`lone_binary`]). For code that builds a list of BSON
    /// values to emit: a relay, a replay, a binding.
    pub fn emit_list(&self, name: &str, args: Vec<Bson>) -> Result<(), Error> {
        match lone_binary(args) {
            Ok(bytes) => self.emit_binary(name, bytes),
            Err(args) => self.emit(name, &args),
        }
    }

    /// Like [`emit_list`](Self::emit_list), but when the send queue is
    /// full, waits until the pacer has made room instead of failing.
    pub async fn emit_list_wait(&self, name: &str, args: Vec<Bson>) -> Result<(), Error> {
        match lone_binary(args) {
            Ok(bytes) => self.emit_binary_wait(name, bytes).await,
            Err(args) => self.emit_wait(name, &args).await,
        }
    }

    /// The body of `name` and the binary `bytes` in pieces, `bytes` one of
    /// them, if this node sends them so.
    fn binary_pieces(&self, name: &str, bytes: &Arc<Vec<u8>>) -> Option<Vec<Arc<Vec<u8>>>> {
        match self.handle.config.wire_protocol {
            WireProtocol::Native => around_binary(name, bytes),
            WireProtocol::LegacyV3 => None,
        }
    }
}
