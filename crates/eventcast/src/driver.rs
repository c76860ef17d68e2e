//! The driver contract: what the node's task ([`task`](crate::task)) asks
//! of a protocol driver, and what passes between the handles, the task and
//! the driver. The native protocol's driver
//! ([`native_driver`](crate::native_driver)) and the legacy one
//! ([`legacy_driver`](crate::legacy_driver)) both fulfil it, and the task
//! runs either the same way.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use eventcast_proto::crypto::{Fingerprint, Key, KeyInfo, Keyring, KeyringError};
use eventcast_proto::legacy::EventBody;
use eventcast_proto::{Datagram, PeerInfo, ReceivedMessage};
use tokio::sync::oneshot;

use crate::event::Event;
use crate::notice::Notice;
use crate::stats::NodeStats;

/// What handles ask of the node's task.
pub(crate) enum Command {
    /// Send an event to the group. The handle has reserved its
    /// [`reserved`](Outgoing::reserved) bytes in the send queue.
    Emit(Outgoing),
    /// Change the keyring (native protocol; the handle refuses these with
    /// the legacy protocol, which has no keyring).
    Keys(KeyChange),
    /// Answer with the senders the driver tracks now.
    Peers(oneshot::Sender<Vec<PeerInfo>>),
}

/// A change to the keyring, already applied to the handle's copy of it.
pub(crate) enum KeyChange {
    /// Add a key.
    Add(Key),
    /// Make a key of the ring the one that seals.
    Use(Fingerprint),
    /// Remove a key.
    Remove(Fingerprint),
}

impl KeyChange {
    /// Makes this change to `ring`: the handle to its copy, the driver to
    /// the endpoint's.
    pub(crate) fn apply(&self, ring: &mut Keyring) -> Result<(), KeyringError> {
        match self {
            KeyChange::Add(key) => ring.add(key.clone()).map(drop),
            KeyChange::Use(fingerprint) => ring.use_key(*fingerprint),
            KeyChange::Remove(fingerprint) => ring.remove(*fingerprint),
        }
    }
}

/// An emitted event, encoded by the handle for the node's protocol, so that
/// an encoding error reaches the caller of `emit` and the task only sends.
pub(crate) enum Outgoing {
    /// A native body: the name and the arguments
    /// ([`encode_body`](eventcast_proto::encode_body)).
    Native(Vec<u8>),
    /// The first part of a native body of `len` bytes handed over as it
    /// is written ([`Endpoint::emit_body_start`](eventcast_proto::Endpoint::emit_body_start));
    /// its other parts follow as [`Outgoing::Part`]s, before any other
    /// `Start` (one handle writes one such body at a time).
    Start {
        /// The whole body's length.
        len: usize,
        /// Its first bytes, whole segments.
        first: Vec<u8>,
    },
    /// The next part of the body the last [`Outgoing::Start`] began.
    Part(Vec<u8>),
    /// A whole native body in pieces laid end to end, shared rather than
    /// copied ([`Endpoint::emit_body_pieces`](eventcast_proto::Endpoint::emit_body_pieces)):
    /// a large argument's bytes as the caller handed them over, and the
    /// encoding around them.
    Pieces(Vec<Arc<Vec<u8>>>),
    /// A legacy event: the name goes into every meta, the arguments are
    /// encoded once.
    Legacy {
        /// The event name.
        name: String,
        /// `{ payload: [args...] }`.
        body: EventBody,
    },
}

impl Outgoing {
    /// The bytes the handle reserves in the send queue for this event (and
    /// checks against `max_message_size`): the encoded body's length. The
    /// driver gives back exactly as many ([`Driver::poll_released`]).
    pub(crate) fn reserved(&self) -> usize {
        match self {
            Outgoing::Native(body) => body.len(),
            Outgoing::Start { len, .. } => *len,
            // Reserved with its `Start`.
            Outgoing::Part(_) => 0,
            Outgoing::Pieces(pieces) => pieces.iter().map(|p| p.len()).sum(),
            Outgoing::Legacy { body, .. } => body.as_bytes().len(),
        }
    }

    /// Whether it is a whole native body of at most `max` bytes: one
    /// datagram at a `max_payload_size` of `max`. (A part of a body is
    /// never: the rest of its body's segments follow it.)
    pub(crate) fn fits_one_datagram(&self, max: usize) -> bool {
        matches!(self, Outgoing::Native(_) | Outgoing::Pieces(_)) && self.reserved() <= max
    }
}

/// The time, read at most once for inputs handled together: an emit
/// whose driver does not need it (the native one) reads no clock, and a
/// run of commands or datagrams shares one reading.
pub(crate) struct Clock(Option<Instant>);

impl Clock {
    /// A clock not read yet.
    pub(crate) fn unread() -> Self {
        Self(None)
    }

    /// The time: read now if it was not read before.
    pub(crate) fn now(&mut self) -> Instant {
        *self.0.get_or_insert_with(Instant::now)
    }
}

/// What a driver hands to the node's listeners, in order.
pub(crate) enum Output {
    /// An event received: for the listeners and subscriptions.
    Event(Event),
    /// A lifecycle change or protocol problem: for the notice listeners.
    Notice(Notice),
}

/// A protocol driver as the node's task runs it: a protocol core without
/// I/O, and what the node needs around it. The task owns the socket, reads
/// the clock and keeps what the handles share; the driver owns the protocol
/// state. Its duties, each a method below:
///
/// 1. **Timers.** Say when it must next be woken
///    ([`poll_timeout`](Self::poll_timeout)) and do what is due
///    ([`handle_timeout`](Self::handle_timeout)).
/// 2. **Inputs.** Take every emitted event ([`emit`](Self::emit)), a
///    body in parts as its [`Outgoing::Start`] and then its
///    [`Outgoing::Part`]s (native only: the legacy driver refuses them),
///    keyring change ([`change_keys`](Self::change_keys)) and received
///    datagram ([`handle_datagram`](Self::handle_datagram)); list the
///    senders it tracks ([`peers`](Self::peers)).
/// 3. **Datagrams out.** Hand over every datagram that may go now, with
///    where it goes ([`poll_transmit`](Self::poll_transmit)), or only the
///    control frames ([`poll_control`](Self::poll_control)); once told
///    the node is [`stopping`](Self::stopping), everything left may go at
///    once.
/// 4. **Counters.** Write its counters into the node's
///    ([`publish_stats`](Self::publish_stats)) and, when they changed, the
///    keys with their counts ([`poll_keys`](Self::poll_keys)).
/// 5. **The send queue.** Every event given to `emit` holds its
///    [`Outgoing::reserved`] bytes of the handles' send queue
///    (`max_send_queue_bytes`). The driver gives back exactly those bytes,
///    once, through [`poll_released`](Self::poll_released): when the event
///    has left its own queue (every datagram of it handed over once), or
///    at once when it refuses the event. A driver that keeps them lets the
///    queue fill for good: `emit` then fails with `QueueFull` and
///    `emit_wait` waits for ever.
/// 6. **Deliveries.** Hand over the events received and the notices, in
///    order ([`poll_output`](Self::poll_output)); optionally, take back
///    received messages the listeners are done with, to make the next ones
///    in ([`give_back`](Self::give_back)), and small bodies' buffers the
///    send side let go, for the handles' encoder
///    ([`recycle_bodies`](Self::recycle_bodies)).
/// 7. **Receiving.** Receive other nodes' events only while the task says
///    somebody listens ([`set_receiving`](Self::set_receiving)), and never
///    for a `send_only` node; its own stream's repairs go on either way.
///
/// After every input the task drains the outputs of duties 4 to 6, in that
/// order (counters first, so that a listener reading them finds its event
/// counted), then the datagrams, then 4 to 6 again.
pub(crate) trait Driver {
    /// When [`handle_timeout`](Self::handle_timeout) is next due.
    fn poll_timeout(&self) -> Option<Instant>;
    /// Handles every deadline at or before `now`.
    fn handle_timeout(&mut self, now: Instant);
    /// Queues an emitted event for the group (reading `clock` only if it
    /// needs the time).
    fn emit(&mut self, clock: &mut Clock, event: Outgoing);
    /// Applies a keyring change.
    fn change_keys(&mut self, change: KeyChange);
    /// The senders the driver tracks at `now`.
    fn peers(&self, now: Instant) -> Vec<PeerInfo>;
    /// Since when anybody listens to events, `None` if nobody does now
    /// (the task tells before every batch of datagrams and after every
    /// turn; mostly nothing changes). Nobody: the driver reassembles
    /// nothing of other senders and forgets what it held. Somebody again:
    /// it joins them as a node that started then (or when it started, if
    /// later), owed what they send from then on.
    fn set_receiving(&mut self, listening: Option<Instant>);
    /// A datagram from the socket.
    fn handle_datagram(&mut self, now: Instant, from: SocketAddr, datagram: &[u8]);
    /// Writes the next datagram to send into `out` (replacing what it
    /// held) and says where it goes, if one may go now. The task passes
    /// the same datagrams of its send batch every time, so a driver that
    /// writes into them allocates nothing per datagram; a segment's
    /// payload may stay a shared slice of its body (`out`'s tail).
    fn poll_transmit(&mut self, now: Instant, out: &mut Datagram) -> Option<SocketAddr>;
    /// As [`poll_transmit`](Self::poll_transmit), control frames only
    /// (a receiver's status, a NACK, a heartbeat), never data: between two
    /// reads of a run the task sends these, so that a sender held back by
    /// this node's window sends on while the rest is read.
    fn poll_control(&mut self, now: Instant, out: &mut Datagram) -> Option<SocketAddr>;
    /// The task is stopping: what is left goes out at once (after this,
    /// the task drains the outputs one last time).
    fn stopping(&mut self);
    /// Bytes of emitted events that left the send queue since the last
    /// call, sent or refused (see duty 5 above).
    fn poll_released(&mut self) -> usize;
    /// Hands the buffers of small bodies the retransmit store let go to
    /// the handles' encoder (`recycle.rs`), if the driver keeps any.
    fn recycle_bodies(&mut self) {}
    /// Takes back (and empties `messages`) received messages the
    /// listeners are done with, to make the next ones in, if the driver
    /// can; the default lets them go.
    fn give_back(&mut self, messages: &mut Vec<Arc<ReceivedMessage>>) {
        messages.clear();
    }
    /// How many events' segments `poll_transmit` has taken to send the
    /// first time so far (not repairs, not control frames; a datagram that
    /// packs several events counts each, and a segment its sealing refused
    /// counts too), if the driver counts them: it rises when a datagram of
    /// new data is taken, and an inline emit sends a small event's
    /// datagram then (`inline.rs`).
    fn data_taken(&self) -> Option<u64>;
    /// Writes the driver's counters into the node's.
    fn publish_stats(&self, stats: &mut NodeStats);
    /// The keys with how many datagrams each sealed, when that changed
    /// since the last call.
    fn poll_keys(&mut self) -> Option<Vec<KeyInfo>>;
    /// The next event or notice to deliver.
    fn poll_output(&mut self) -> Option<Output>;
    /// For the log: the driver's sender id.
    fn id(&self) -> String;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_clock_is_read_once() {
        let before = Instant::now();
        let mut clock = Clock::unread();
        let first = clock.now();
        assert!(first >= before);
        std::thread::sleep(std::time::Duration::from_millis(2));
        assert_eq!(clock.now(), first, "read again");
    }
}
