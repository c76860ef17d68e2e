//! The protocol's tunables and limits, with the defaults documented in
//! `docs/PROTOCOL.md`.

use std::time::Duration;

use crate::wire::MAX_SEGMENT_PAYLOAD;

/// Bytes charged against the partial-message budgets for each buffered
/// segment, on top of its payload, for the bookkeeping that holds it.
pub(crate) const SEGMENT_OVERHEAD: usize = 64;

/// Protocol settings for one [`Endpoint`](crate::Endpoint).
///
/// Limits protect the receiver: a datagram that would break one is dropped
/// and counted, never buffered.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Config {
    /// Bytes of message body per datagram (default 1024). A body longer than
    /// this is cut into segments. The datagram adds a 33-byte header.
    pub max_payload_size: usize,
    /// A partial message that receives no new segment for this long is
    /// dropped and counted as expired, and a missing message not repaired
    /// this long after its gap was noticed is given up (default 3000 ms).
    pub message_ttl: Duration,
    /// The largest message body this node sends or accepts (default 64 MiB).
    pub max_message_size: usize,
    /// Memory all partial messages may hold together (default 256 MiB).
    pub max_partial_bytes: usize,
    /// Memory one sender's partial messages may hold (default 128 MiB).
    pub max_partial_bytes_per_sender: usize,
    /// Partial messages one sender may have open at once (default 256).
    pub max_partial_messages_per_sender: usize,
    /// Senders whose state is tracked at once (default 1024); when full, a
    /// new sender takes the place of one that sent a single datagram or is
    /// not believed real (the least recently heard), else of one silent for
    /// three `heartbeat_max`; otherwise it is refused (docs/PROTOCOL.md
    /// §9.7).
    pub max_senders: usize,

    /// Deliver each sender's messages in sequence order (default true): a
    /// complete message waits behind a missing earlier one until that one
    /// is repaired or declared lost. `false` delivers each message as soon
    /// as it is complete.
    pub ordered: bool,
    /// How many NACKs in a row a receiver sends for the same missing data
    /// without hearing anything at all from its sender before it declares
    /// the sender gone and the data lost (default 3). It also waits for
    /// `heartbeat_max` of silence first, since a live sender is heard at
    /// least that often. While the sender is heard, the receiver keeps
    /// asking every `repair_timeout`, until the data arrives, the sender's
    /// heartbeat says it no longer has it, or `message_ttl` passes.
    /// 0: never ask (losses become final at `message_ttl`).
    pub max_retransmit_attempts: u32,
    /// A receiver waits a random time between `nack_backoff_min` and
    /// `nack_backoff_max` after it notices a gap before it sends a NACK, so
    /// that one receiver's NACK (or the repair) can stop the others
    /// (defaults 1 ms and 6 ms).
    pub nack_backoff_min: Duration,
    /// See `nack_backoff_min`.
    pub nack_backoff_max: Duration,
    /// How long a receiver waits for a repair after it asked (or heard
    /// another receiver ask) before it asks again (default 40 ms).
    pub repair_timeout: Duration,
    /// How long a sender keeps what it sent, for repairs (default 3 s).
    pub retransmit_window: Duration,
    /// How many bytes of sent messages a sender keeps for repairs (default
    /// 64 MiB); the oldest go first.
    pub retransmit_window_bytes: usize,
    /// A segment repaired this recently is not repaired again for another
    /// NACK (default 10 ms): one repair serves every receiver that asked.
    pub repair_linger: Duration,
    /// First heartbeat interval after the sender goes quiet (default 4 ms);
    /// it doubles up to `heartbeat_max`.
    pub heartbeat_min: Duration,
    /// Longest heartbeat interval (default 1 s), kept while the sender is
    /// quiet.
    pub heartbeat_max: Duration,
    /// The most bytes per second the sender sends, datagrams whole (default
    /// 16 GiB/s: a safety bound above what a 100 Gbit/s link or a host's
    /// loopback carries). The pacing is done below it: by the receivers'
    /// windows, and without them by the adaptive rate's slow start and
    /// loss reports. Without a key a forged status can keep a sender at
    /// this rate (docs/PROTOCOL.md §9.2): set it to the link's rate to
    /// bound that.
    pub rate_limit: u64,
    /// The rate the sender starts at (default 16 MiB/s). With
    /// `adaptive_rate`, it grows while the sender has more to send:
    /// doubling every 10 ms until a receiver first reports loss, which
    /// halves it, and by 32 MiB/s per second after that; every later loss
    /// report takes a quarter off (at most once per `repair_timeout`).
    pub initial_rate: u64,
    /// The adaptive rate never drops below this (default 256 KiB/s).
    pub min_rate: u64,
    /// Bytes the sender may send at once after a quiet spell (default 64
    /// KiB): the token bucket's depth.
    pub burst: usize,
    /// Adapt the rate to NACKs (default true); `false` keeps `initial_rate`.
    pub adaptive_rate: bool,
    /// The largest receive window a sender believes (default 4 MiB).
    /// Receivers advertise how many bytes their socket can absorb in status
    /// frames (docs/PROTOCOL.md §9.2); a sender lets that much of an event
    /// out at once and the rest as the slowest receiver reads it. A window
    /// above this (a forged one, say) counts as this much; one below
    /// `burst` counts as `burst`. A receiver reports what it read after
    /// each quarter of its window, taken as at most this, so that a sender
    /// with the same setting hears before it must stop.
    pub max_window: usize,
    /// Bytes of messages waiting to be sent for the first time; an emit
    /// beyond it is refused with [`EmitError::QueueFull`](crate::EmitError)
    /// (default 32 MiB; a message is always accepted into an empty queue).
    pub max_send_queue_bytes: usize,
    /// Called with the unwritten room of a reassembly buffer just reserved
    /// (or taken from [`buffer_source`](Self::buffer_source)) for a whole
    /// message of several segments, before the segments are copied into
    /// it, and again with the room from the next MiB on each time the
    /// copies pass a MiB (default: none). A node may fault fresh
    /// pages in here, ahead of the copies, which this crate cannot do
    /// without unsafe code. The hook sees only room past what the buffer
    /// holds, so it cannot change the message.
    pub reserve_hook: Option<ReserveHook>,
    /// Asked for a buffer ready to take a whole message of the given
    /// length, when one is about to be reserved for it (as for
    /// [`reserve_hook`](Self::reserve_hook): a sender believed real, no
    /// other partial message of its own, budgets that could hold it, and
    /// the message's first segment the first to arrive), before anything
    /// is allocated (default: none). A buffer it returns (its contents are
    /// dropped) is used if it has room for the whole message, and
    /// `reserve_hook` is shown its room as for a reserved one; `None`, or
    /// one without that room, and the buffer is allocated as usual. A node
    /// may keep a buffer whose pages are already present for the next
    /// large message, so that putting it together faults in no fresh
    /// memory. A sender that is believed can take it with a message it
    /// never finishes (as it can have a buffer reserved).
    pub buffer_source: Option<BufferSource>,
}

/// A function given the unwritten room (spare capacity) of a reassembly
/// buffer reserved for a whole message (see [`Config::reserve_hook`]).
/// What it writes there is overwritten by the segments.
#[derive(Clone, Copy)]
pub struct ReserveHook(pub fn(&mut [std::mem::MaybeUninit<u8>]));

impl std::fmt::Debug for ReserveHook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ReserveHook")
    }
}

impl PartialEq for ReserveHook {
    fn eq(&self, other: &Self) -> bool {
        std::ptr::fn_addr_eq(self.0, other.0)
    }
}

impl Eq for ReserveHook {}

/// A function asked for a reassembly buffer with room for a whole message
/// of the given length (see [`Config::buffer_source`]). It is called on
/// the thread that handles the datagram, so it should return at once.
#[derive(Clone)]
pub struct BufferSource(pub std::sync::Arc<dyn Fn(usize) -> Option<Vec<u8>> + Send + Sync>);

impl std::fmt::Debug for BufferSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BufferSource")
    }
}

/// Two sources are equal when they are the same function (one `Arc`).
impl PartialEq for BufferSource {
    fn eq(&self, other: &Self) -> bool {
        std::sync::Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for BufferSource {}

impl Default for Config {
    fn default() -> Self {
        Self {
            max_payload_size: 1024,
            message_ttl: Duration::from_millis(3000),
            max_message_size: 64 * 1024 * 1024,
            max_partial_bytes: 256 * 1024 * 1024,
            max_partial_bytes_per_sender: 128 * 1024 * 1024,
            max_partial_messages_per_sender: 256,
            max_senders: 1024,
            ordered: true,
            max_retransmit_attempts: 3,
            nack_backoff_min: Duration::from_millis(1),
            nack_backoff_max: Duration::from_millis(6),
            repair_timeout: Duration::from_millis(40),
            retransmit_window: Duration::from_secs(3),
            retransmit_window_bytes: 64 * 1024 * 1024,
            repair_linger: Duration::from_millis(10),
            heartbeat_min: Duration::from_millis(4),
            heartbeat_max: Duration::from_secs(1),
            rate_limit: 16 * 1024 * 1024 * 1024,
            initial_rate: 16 * 1024 * 1024,
            min_rate: 256 * 1024,
            burst: 64 * 1024,
            adaptive_rate: true,
            max_window: 4 * 1024 * 1024,
            max_send_queue_bytes: 32 * 1024 * 1024,
            reserve_hook: None,
            buffer_source: None,
        }
    }
}

/// The longest duration setting accepted: a week. Timers are the time
/// now plus a setting (and some a few times one), which must not overflow
/// an `Instant`; nothing the protocol waits for needs longer.
pub const MAX_DURATION: Duration = Duration::from_secs(7 * 24 * 60 * 60);

/// A setting that cannot work.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// `max_payload_size` outside 16..=65474.
    #[error("max_payload_size must be between 16 and {MAX_SEGMENT_PAYLOAD} bytes, got {0}")]
    PayloadSize(usize),
    /// `max_payload_size` too large for a sealed datagram to fit in UDP.
    #[error(
        "max_payload_size must be at most {max} bytes with encryption, got {0}",
        max = crate::wire::MAX_SEALED_SEGMENT_PAYLOAD
    )]
    SealedPayloadSize(usize),
    /// `message_ttl` of zero.
    #[error("message_ttl must be longer than zero")]
    MessageTtl,
    /// `max_message_size` outside 5 bytes..=4 GiB - 1.
    #[error("max_message_size must be between 5 bytes and 4 GiB - 1, got {0}")]
    MessageSize(usize),
    /// A budget too small to hold one message of `max_message_size` cut
    /// into segments of `max_payload_size` (each segment's bookkeeping
    /// counts, so a smaller payload size needs a larger budget).
    #[error(
        "{name} ({value} bytes) cannot hold one message of max_message_size \
         ({message_size} bytes) in segments of max_payload_size ({payload_size} \
         bytes): that takes {needed} bytes with bookkeeping; raise {name} or \
         max_payload_size, or lower max_message_size"
    )]
    Budget {
        /// The setting's name.
        name: &'static str,
        /// Its value.
        value: usize,
        /// The least that works.
        needed: usize,
        /// `max_message_size`.
        message_size: usize,
        /// `max_payload_size`.
        payload_size: usize,
    },
    /// A count limit of zero.
    #[error("{0} must be at least 1")]
    Zero(&'static str),
    /// A duration longer than [`MAX_DURATION`].
    #[error("{name} must be at most a week ({MAX_DURATION:?}), got {value:?}")]
    TooLong {
        /// The setting's name.
        name: &'static str,
        /// Its value.
        value: Duration,
    },
    /// Two settings in the wrong order (`low` must not exceed `high`).
    #[error("{low} must not exceed {high}{}", rate_hint(low, high))]
    Order {
        /// The one that must be lower.
        low: &'static str,
        /// The one that must be higher.
        high: &'static str,
    },
}

/// What to change with a rate: a `rate_limit` set alone below the default
/// `initial_rate` is refused, and the message should say why.
fn rate_hint(low: &str, high: &str) -> &'static str {
    match (low, high) {
        ("min_rate", "initial_rate") | ("initial_rate", "rate_limit") => {
            " (min_rate <= initial_rate <= rate_limit: a rate_limit below the default \
             initial_rate of 16 MiB/s needs initial_rate, and min_rate below it, set too)"
        }
        _ => "",
    }
}

impl Config {
    /// Checks that the settings can work together.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if !(16..=MAX_SEGMENT_PAYLOAD).contains(&self.max_payload_size) {
            return Err(ConfigError::PayloadSize(self.max_payload_size));
        }
        if self.message_ttl.is_zero() {
            return Err(ConfigError::MessageTtl);
        }
        for (name, value) in [
            ("message_ttl", self.message_ttl),
            ("nack_backoff_min", self.nack_backoff_min),
            ("nack_backoff_max", self.nack_backoff_max),
            ("repair_timeout", self.repair_timeout),
            ("retransmit_window", self.retransmit_window),
            ("repair_linger", self.repair_linger),
            ("heartbeat_min", self.heartbeat_min),
            ("heartbeat_max", self.heartbeat_max),
        ] {
            if value > MAX_DURATION {
                return Err(ConfigError::TooLong { name, value });
            }
        }
        if self.max_message_size < 5 || u32::try_from(self.max_message_size).is_err() {
            return Err(ConfigError::MessageSize(self.max_message_size));
        }
        let needed = self.max_message_size
            + self.max_message_size.div_ceil(self.max_payload_size) * SEGMENT_OVERHEAD;
        for (name, value) in [
            (
                "max_partial_bytes_per_sender",
                self.max_partial_bytes_per_sender,
            ),
            ("max_partial_bytes", self.max_partial_bytes),
        ] {
            if value < needed {
                return Err(ConfigError::Budget {
                    name,
                    value,
                    needed,
                    message_size: self.max_message_size,
                    payload_size: self.max_payload_size,
                });
            }
        }
        if self.max_partial_messages_per_sender == 0 {
            return Err(ConfigError::Zero("max_partial_messages_per_sender"));
        }
        if self.max_senders == 0 {
            return Err(ConfigError::Zero("max_senders"));
        }
        for (name, zero) in [
            ("repair_timeout", self.repair_timeout.is_zero()),
            ("heartbeat_min", self.heartbeat_min.is_zero()),
            ("min_rate", self.min_rate == 0),
            ("burst", self.burst == 0),
        ] {
            if zero {
                return Err(ConfigError::Zero(name));
            }
        }
        for (low, high, ok) in [
            (
                "nack_backoff_min",
                "nack_backoff_max",
                self.nack_backoff_min <= self.nack_backoff_max,
            ),
            (
                "heartbeat_min",
                "heartbeat_max",
                self.heartbeat_min <= self.heartbeat_max,
            ),
            (
                "min_rate",
                "initial_rate",
                self.min_rate <= self.initial_rate,
            ),
            (
                "initial_rate",
                "rate_limit",
                self.initial_rate <= self.rate_limit,
            ),
            ("burst", "max_window", self.burst <= self.max_window),
        ] {
            if !ok {
                return Err(ConfigError::Order { low, high });
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_is_valid() {
        Config::default().validate().unwrap();
    }

    #[test]
    fn rejects_bad_settings() {
        let c = |f: fn(&mut Config)| {
            let mut c = Config::default();
            f(&mut c);
            c.validate()
        };
        assert_eq!(
            c(|c| c.max_payload_size = 8),
            Err(ConfigError::PayloadSize(8))
        );
        assert_eq!(
            c(|c| c.max_payload_size = 70_000),
            Err(ConfigError::PayloadSize(70_000))
        );
        assert_eq!(
            c(|c| c.message_ttl = Duration::ZERO),
            Err(ConfigError::MessageTtl)
        );
        assert!(matches!(
            c(|c| c.max_partial_bytes_per_sender = 1024),
            Err(ConfigError::Budget { .. })
        ));
        assert_eq!(
            c(|c| c.max_senders = 0),
            Err(ConfigError::Zero("max_senders"))
        );
        assert_eq!(
            c(|c| c.initial_rate = c.rate_limit + 1),
            Err(ConfigError::Order {
                low: "initial_rate",
                high: "rate_limit"
            })
        );
        // A rate_limit alone below the default initial_rate says what to
        // set with it; other pairs say nothing more.
        let alone = c(|c| c.rate_limit = 1_000_000).unwrap_err().to_string();
        assert!(
            alone.starts_with("initial_rate must not exceed rate_limit ("),
            "{alone}"
        );
        assert!(
            alone.contains("needs initial_rate, and min_rate below it, set too"),
            "{alone}"
        );
        let other = c(|c| c.max_window = c.burst - 1).unwrap_err().to_string();
        assert_eq!(other, "burst must not exceed max_window");
        assert_eq!(c(|c| c.burst = 0), Err(ConfigError::Zero("burst")));
        assert_eq!(
            c(|c| c.max_window = c.burst - 1),
            Err(ConfigError::Order {
                low: "burst",
                high: "max_window"
            })
        );
        let msg = c(|c| c.max_payload_size = 8).unwrap_err().to_string();
        assert!(msg.contains("max_payload_size"), "{msg}");
    }
}
