//! Emitting a large binary without copying it: the caller hands its bytes
//! over, and the body sent is those bytes with the encoding around them
//! in pieces of their own.

use std::sync::Arc;

use bson::spec::BinarySubtype;
use bson::Bson;

use super::emit::LocalArgs;
use super::Eventcast;
use crate::arglist::parts::{around_binary, BinaryArg, LONG_VALUE};
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
    /// until every receiver has them (for repairs), each datagram carries
    /// a slice of them, and only the few bytes of the encoding around them
    /// are written. A large event's one copy in user space (its encoding)
    /// is saved, and, for a fresh frame, the fresh memory that copy would
    /// write. Pass an `Arc` to keep the bytes too (to retry after
    /// [`EmitError::QueueFull`](eventcast_proto::EmitError::QueueFull), or
    /// to use them elsewhere) without a copy.
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

    /// The body of `name` and the binary `bytes` in pieces, `bytes` one of
    /// them, if this node sends them so.
    fn binary_pieces(&self, name: &str, bytes: &Arc<Vec<u8>>) -> Option<Vec<Arc<Vec<u8>>>> {
        match self.handle.config.wire_protocol {
            WireProtocol::Native => around_binary(name, bytes),
            WireProtocol::LegacyV3 => None,
        }
    }
}

/// The bytes of `args` when the list is one binary argument (of the
/// generic subtype) of 64 KiB or more, taken out of it without a copy, to
/// hand to [`Eventcast::emit_binary`]; otherwise `args`, to
/// [`emit`](Eventcast::emit) as they are. For code that builds an argument
/// list of BSON values and then emits it (the Node and Python packages
/// do): a lone large binary, a frame, is then not copied again.
///
/// ```
/// use eventcast::bson::{spec::BinarySubtype, Binary, Bson};
///
/// let frame = Bson::Binary(Binary {
///     subtype: BinarySubtype::Generic,
///     bytes: vec![7; 100_000],
/// });
/// assert_eq!(eventcast::lone_binary(vec![frame]).map(|b| b.len()), Ok(100_000));
/// assert!(eventcast::lone_binary(vec![Bson::Int32(1)]).is_err());
/// ```
pub fn lone_binary(mut args: Vec<Bson>) -> Result<Arc<Vec<u8>>, Vec<Bson>> {
    match args.as_mut_slice() {
        [Bson::Binary(binary)]
            if binary.subtype == BinarySubtype::Generic && binary.bytes.len() >= LONG_VALUE =>
        {
            Ok(Arc::new(std::mem::take(&mut binary.bytes)))
        }
        _ => Err(args),
    }
}
