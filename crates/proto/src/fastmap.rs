//! The hash maps of the receive path.
//!
//! Every datagram and every message looks up its sender a few times (the
//! reassembler, loss recovery, the replay window). std's SipHash took a
//! quarter of a receiver's instructions for small events (callgrind,
//! docs/BENCHMARKS.md). aHash is several times cheaper on these small keys
//! and, like std's `RandomState`, is keyed at random per process, so a
//! sender cannot choose ids that collide (and `max_senders` bounds the
//! maps in any case).

/// A `HashMap` with aHash's randomly keyed hasher.
pub(crate) type FastMap<K, V> = std::collections::HashMap<K, V, ahash::RandomState>;

/// A `HashSet` with aHash's randomly keyed hasher.
pub(crate) type FastSet<T> = std::collections::HashSet<T, ahash::RandomState>;
