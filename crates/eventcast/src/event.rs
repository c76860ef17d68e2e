//! Events as listeners see them, and the conversion of Rust values into an
//! argument list.

use std::net::SocketAddr;
use std::sync::Arc;

use bson::Bson;
use eventcast_proto::{Args, MessageSeq, ReceivedMessage, SenderId};
use serde::{de::DeserializeOwned, Serialize};

use crate::error::Error;

/// One event, received from another node or emitted by this one.
///
/// Cheap to clone: the arguments are shared.
#[derive(Clone, Debug)]
pub struct Event {
    inner: Inner,
}

/// A received event is the protocol's message itself, made once where it
/// completed; others (this node's, the legacy protocol's) are made here.
#[derive(Clone, Debug)]
enum Inner {
    Received(Arc<ReceivedMessage>),
    Made(Arc<Made>),
}

/// The most bytes (as [`Args::raw_held_bytes`] counts them: about a body
/// of 1 KiB) a message handed back to the driver by
/// [`Event::into_reusable`] holds.
const SMALL_BODY: usize = 2048;

#[derive(Debug)]
struct Made {
    name: String,
    args: Args,
    sender: SenderId,
    from: Option<SocketAddr>,
    seq: Option<MessageSeq>,
}

/// Which event an [`Event`] is, without keeping its data alive: for telling
/// one event handed to several listeners from another event that is equal
/// (`Event::eq` compares contents). While it is held, no other event can be
/// the one it names.
#[derive(Clone, Debug)]
#[cfg_attr(not(feature = "repl"), allow(dead_code))]
pub(crate) struct EventIdentity(WeakInner);

#[derive(Clone, Debug)]
enum WeakInner {
    Received(std::sync::Weak<ReceivedMessage>),
    Made(std::sync::Weak<Made>),
}

#[cfg_attr(not(feature = "repl"), allow(dead_code))]
impl EventIdentity {
    /// `event` is this event or a clone of it.
    pub(crate) fn is(&self, event: &Event) -> bool {
        match (&self.0, &event.inner) {
            (WeakInner::Received(weak), Inner::Received(arc)) => {
                std::ptr::eq(weak.as_ptr(), Arc::as_ptr(arc))
            }
            (WeakInner::Made(weak), Inner::Made(arc)) => {
                std::ptr::eq(weak.as_ptr(), Arc::as_ptr(arc))
            }
            _ => false,
        }
    }
}

impl PartialEq for Event {
    fn eq(&self, other: &Self) -> bool {
        self.name() == other.name()
            && self.sender() == other.sender()
            && self.from() == other.from()
            && self.seq() == other.seq()
            && self.arg_list() == other.arg_list()
    }
}

impl Event {
    /// Which event this is (see [`EventIdentity`]).
    #[cfg_attr(not(feature = "repl"), allow(dead_code))]
    pub(crate) fn identity(&self) -> EventIdentity {
        EventIdentity(match &self.inner {
            Inner::Received(arc) => WeakInner::Received(Arc::downgrade(arc)),
            Inner::Made(arc) => WeakInner::Made(Arc::downgrade(arc)),
        })
    }

    pub(crate) fn remote(msg: Arc<ReceivedMessage>) -> Self {
        Self {
            inner: Inner::Received(msg),
        }
    }

    /// The received message this event is, if nothing else holds it (no
    /// clone, no `Weak`) and its arguments were kept as a small body
    /// arrived ([`SMALL_BODY`]): for the driver to make the next messages
    /// in ([`Driver::give_back`](crate::driver::Driver::give_back)).
    /// Others are freed here, where no lock is held.
    pub(crate) fn into_reusable(self) -> Option<Arc<ReceivedMessage>> {
        let Inner::Received(mut msg) = self.inner else {
            return None;
        };
        let small = msg
            .args
            .raw_held_bytes()
            .is_some_and(|held| held <= SMALL_BODY);
        (small && Arc::get_mut(&mut msg).is_some()).then_some(msg)
    }

    pub(crate) fn new(
        name: String,
        args: Vec<Bson>,
        sender: SenderId,
        from: Option<SocketAddr>,
        seq: Option<MessageSeq>,
    ) -> Self {
        Self::with_args(name, Args::decoded(args), sender, from, seq)
    }

    pub(crate) fn with_args(
        name: String,
        args: Args,
        sender: SenderId,
        from: Option<SocketAddr>,
        seq: Option<MessageSeq>,
    ) -> Self {
        Self {
            inner: Inner::Made(Arc::new(Made {
                name,
                args,
                sender,
                from,
                seq,
            })),
        }
    }

    /// The arguments, as received or made.
    fn arg_list(&self) -> &Args {
        match &self.inner {
            Inner::Received(m) => &m.args,
            Inner::Made(m) => &m.args,
        }
    }

    /// The event name.
    pub fn name(&self) -> &str {
        match &self.inner {
            Inner::Received(m) => &m.name,
            Inner::Made(m) => &m.name,
        }
    }

    /// The arguments as BSON values.
    ///
    /// A large received event (a body of at least
    /// [`KEEP_RAW_FROM`](eventcast_proto::KEEP_RAW_FROM) bytes), or a
    /// small one whose arguments are only numbers, booleans, nulls and
    /// strings, keeps its arguments as they arrived, checked whole, and
    /// decodes them here on first use: decoding copies every string and
    /// binary. To read a string or binary argument without a copy, use
    /// [`str_arg`](Self::str_arg) or [`bytes_arg`](Self::bytes_arg).
    pub fn raw_args(&self) -> &[Bson] {
        self.arg_list()
    }

    /// Argument `index` if it is a string, borrowed from the event (from
    /// the received bytes themselves, for an event kept as it arrived: see
    /// [`raw_args`](Self::raw_args)): no copy.
    ///
    /// ```
    /// # use eventcast::Event;
    /// # fn f(event: &Event) {
    /// if let Some(text) = event.str_arg(0) {
    ///     println!("{} bytes of text", text.len());
    /// }
    /// # }
    /// ```
    pub fn str_arg(&self, index: usize) -> Option<&str> {
        self.arg_list().str_at(index)
    }

    /// Argument `index` if it is a binary, its bytes borrowed from the
    /// event (from the received bytes themselves, for a large event): no
    /// copy. A camera frame sent as `bson::Binary` reads this way.
    pub fn bytes_arg(&self, index: usize) -> Option<&[u8]> {
        self.arg_list().bytes_at(index)
    }

    /// The arguments as a Rust value: a tuple for several (`(String, u32)`),
    /// a `Vec<T>` for any number of one type, `()` for none.
    ///
    /// As with a JavaScript listener, arguments past those the tuple asks
    /// for are ignored; asking for more than were sent is an error.
    ///
    /// ```
    /// # use eventcast::Event;
    /// # fn f(event: &Event) -> Result<(), eventcast::Error> {
    /// let (who, times): (String, u32) = event.args()?;
    /// # Ok(()) }
    /// ```
    pub fn args<T: DeserializeOwned>(&self) -> Result<T, Error> {
        let args = self.arg_list();
        bson::deserialize_from_bson(Bson::Array(args.to_vec()))
            .or_else(|e| {
                // `()` reads from BSON null, not from an empty array.
                if args.is_empty() {
                    bson::deserialize_from_bson(Bson::Null).map_err(|_| e)
                } else {
                    Err(e)
                }
            })
            .map_err(|e| Error::Args(format!("event {:?}: {e}", self.name())))
    }

    /// Argument `index` as a Rust value.
    ///
    /// Only that argument is decoded (for an event kept as it arrived: see
    /// [`raw_args`](Self::raw_args)), not the whole list.
    pub fn arg<T: DeserializeOwned>(&self, index: usize) -> Result<T, Error> {
        let args = self.arg_list();
        let value = args.value_at(index).ok_or_else(|| {
            Error::Args(format!(
                "event {:?} has {} arguments, no argument {index}",
                self.name(),
                args.count()
            ))
        })?;
        bson::deserialize_from_bson(value.into_owned())
            .map_err(|e| Error::Args(format!("event {:?} argument {index}: {e}", self.name())))
    }

    /// The length in bytes of the body this event arrived in (its name
    /// and arguments as one BSON document), for a received event kept as
    /// it arrived (see [`raw_args`](Self::raw_args): every event of 64 KiB
    /// or more, and small ones whose arguments are only numbers,
    /// booleans, nulls and strings); read without decoding anything.
    /// `None` for any other event (a small one with documents or arrays
    /// among its arguments, one of the 0.1.x protocol, a local emit): its
    /// arguments were decoded, and encoding them again
    /// (`eventcast_proto::encode_body`) gives the length a native body of
    /// theirs has.
    pub fn received_body_len(&self) -> Option<usize> {
        self.arg_list().raw_body().map(|body| body.as_bytes().len())
    }

    /// The arguments as the BSON array that arrived, for an event kept as
    /// it arrived (see [`raw_args`](Self::raw_args)): checked whole on
    /// arrival, read here without decoding anything. `None` for any other
    /// event (see [`received_body_len`](Self::received_body_len)). A tool
    /// that stores or relays events can copy it as it is; note that its
    /// keys are those the sender wrote (eventcast writes `"0"`, `"1"`,
    /// ...), and arguments are read by position.
    pub fn raw_list(&self) -> Option<&bson::RawArray> {
        self.arg_list().raw_list()
    }

    /// The id of the node that emitted it.
    pub fn sender(&self) -> SenderId {
        match &self.inner {
            Inner::Received(m) => m.sender,
            Inner::Made(m) => m.sender,
        }
    }

    /// The address it came from; `None` for this node's own emits.
    pub fn from(&self) -> Option<SocketAddr> {
        match &self.inner {
            Inner::Received(m) => Some(m.from),
            Inner::Made(m) => m.from,
        }
    }

    /// Whether this node emitted it.
    pub fn is_local(&self) -> bool {
        self.from().is_none()
    }

    /// Its number in the sender's stream (received events only).
    pub fn seq(&self) -> Option<MessageSeq> {
        match &self.inner {
            Inner::Received(m) => Some(m.seq),
            Inner::Made(m) => m.seq,
        }
    }

    /// About how many bytes of memory the event holds: its name, its
    /// arguments' strings, binaries and keys, and a fixed share per value.
    /// What a subscription counts against `subscription_bytes`.
    pub(crate) fn held_bytes(&self) -> usize {
        /// An allocation's own share (the `Arc`'s counts, the allocator's).
        const ALLOCATION: usize = 2 * std::mem::size_of::<usize>();
        // The event's own allocation (name, sender, address...). A
        // received event's name may be shared with others: counted whole
        // for each all the same.
        let own = match &self.inner {
            Inner::Received(_) => std::mem::size_of::<ReceivedMessage>(),
            Inner::Made(_) => std::mem::size_of::<Made>(),
        };
        let bytes = own + ALLOCATION + self.name().len();
        let args = self.arg_list();
        if let Some(raw) = args.raw_held_bytes() {
            // Kept as it arrived, and counted as if decoded too: the
            // decoded copy, once a reader makes it, is shared.
            return bytes + raw;
        }
        bytes
            + eventcast_proto::args_size(
                args,
                std::mem::size_of::<Bson>(),
                std::mem::size_of::<String>(),
            )
    }
}

/// Turns what the caller passed to `emit` into the argument list: a tuple,
/// array or `Vec` gives its elements, `()` gives none, anything else is one
/// argument. (A value that serializes to BSON null, like `None`, gives none:
/// pass `(None::<T>,)` for one null argument.)
pub(crate) fn to_args<A: Serialize + ?Sized>(args: &A) -> Result<Vec<Bson>, Error> {
    match bson::serialize_to_bson(args).map_err(|e| Error::Args(e.to_string()))? {
        Bson::Array(v) => Ok(v),
        Bson::Null => Ok(Vec::new()),
        other => Ok(vec![other]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bson::{doc, DateTime};

    #[test]
    fn argument_lists() {
        assert_eq!(to_args(&()).unwrap(), Vec::<Bson>::new());
        assert_eq!(to_args("one").unwrap(), vec![Bson::from("one")]);
        assert_eq!(
            to_args(&("a", 1i32, true)).unwrap(),
            vec![Bson::from("a"), Bson::Int32(1), Bson::Boolean(true)]
        );
        assert_eq!(
            to_args(&vec![1i32, 2]).unwrap(),
            vec![Bson::Int32(1), Bson::Int32(2)]
        );
        assert_eq!(
            to_args(&(vec![1i32, 2],)).unwrap(),
            vec![Bson::Array(vec![1.into(), 2.into()])]
        );
        let date = DateTime::from_millis(1_383_000_000_000);
        assert_eq!(to_args(&(date,)).unwrap(), vec![Bson::DateTime(date)]);
        assert_eq!(to_args(&(None::<u8>,)).unwrap(), vec![Bson::Null]);
    }

    #[test]
    fn a_kept_event_s_body_len_is_the_body_it_arrived_in() {
        let big = vec![Bson::from("x".repeat(100_000)), Bson::Int32(1)];
        let nested = vec![Bson::Document(doc! {"a": 1})];
        let cases = [
            (vec![], true),
            (vec![Bson::from("hi"), Bson::Int64(7)], true),
            (nested, false),
            (big, true),
        ];
        for (args, kept) in cases {
            let body = eventcast_proto::encode_body("e", &args).unwrap();
            let (name, received) = eventcast_proto::decode_received(body.clone()).unwrap();
            let received = Event::with_args(name, received, SenderId::new(2), None, None);
            let expected = kept.then_some(body.len());
            assert_eq!(received.received_body_len(), expected);
            let made = Event::new("e".into(), args, SenderId::new(1), None, None);
            assert_eq!(made.received_body_len(), None, "a local event");
        }
    }

    /// Messages one endpoint received from another, with the argument
    /// lists `lists`.
    fn received(lists: Vec<Vec<Bson>>) -> Vec<Arc<ReceivedMessage>> {
        use eventcast_proto::{Config as ProtoConfig, Endpoint, EndpointEvent};
        let t = std::time::Instant::now();
        let mut tx = Endpoint::new(ProtoConfig::default(), SenderId::new(1)).unwrap();
        let mut rx = Endpoint::new(ProtoConfig::default(), SenderId::new(2)).unwrap();
        rx.handle_join(t);
        for args in lists {
            tx.emit_body(eventcast_proto::encode_body("e", &args).unwrap())
                .unwrap();
        }
        tx.set_paced(false);
        let mut buf = Vec::new();
        let from: SocketAddr = "127.0.0.1:1".parse().unwrap();
        while tx.poll_transmit(t, &mut buf).is_some() {
            rx.handle_datagram(t, from, &buf);
        }
        std::iter::from_fn(|| rx.poll_event())
            .filter_map(|e| match e {
                EndpointEvent::Message(m) => Some(m),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn only_a_small_received_event_nothing_else_holds_is_reusable() {
        let text = |len: usize| vec![Bson::from("x".repeat(len))];
        let nested = vec![Bson::Document(doc! {"a": 1})];
        let lists = vec![text(10), text(10), text(10), text(10_000), nested];
        let [small, held, weak, large, decoded] = <[_; 5]>::try_from(received(lists)).unwrap();
        assert!(Event::remote(small).into_reusable().is_some());
        let keeper = Event::remote(held);
        assert!(keeper.clone().into_reusable().is_none(), "held by a clone");
        assert!(keeper.into_reusable().is_some(), "the clone is gone");
        let named = Event::remote(weak);
        let identity = named.identity();
        assert!(
            named.into_reusable().is_none(),
            "named by an identity (a Weak)"
        );
        drop(identity);
        assert!(
            Event::remote(large).into_reusable().is_none(),
            "a large body"
        );
        assert!(
            Event::remote(decoded).into_reusable().is_none(),
            "decoded arguments"
        );
        let made = Event::new("e".into(), vec![], SenderId::new(1), None, None);
        assert!(made.into_reusable().is_none(), "not a received one");
    }

    #[test]
    fn typed_access() {
        let e = Event::new(
            "x".into(),
            vec!["who".into(), Bson::Int32(3), Bson::Document(doc! {"a": 1})],
            SenderId::new(1),
            None,
            None,
        );
        let (who, n, _d): (String, u32, bson::Document) = e.args().unwrap();
        assert_eq!((who.as_str(), n), ("who", 3));
        assert_eq!(e.arg::<u32>(1).unwrap(), 3);
        assert!(e
            .arg::<u32>(5)
            .unwrap_err()
            .to_string()
            .contains("no argument 5"));
        assert!(e.arg::<u32>(0).is_err());
        assert!(e.is_local());
    }
}
