//! The settings of the handshake that keeps replays of earlier traffic out
//! (`docs/PROTOCOL.md` §16.8): how long a node waits for a sender's answer,
//! how much it holds meanwhile, how far back an answer vouches, and how
//! often a node answers.

use std::time::Duration;

/// How a keyed node makes sure that a sender it hears is alive now before
/// it accepts anything from it (`docs/PROTOCOL.md` §16.8).
///
/// When a node first hears a sender (or hears it again after forgetting
/// it), it sends that sender a sealed challenge with a fresh nonce and
/// holds the sender's datagrams until the answer comes back. The answer
/// names the first packet number the sender vouches for: datagrams sealed
/// before it (captured earlier and replayed) are dropped. A sender that
/// never answers (a replay of a run that has ended) has its held datagrams
/// discarded and counted, never delivered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Handshake {
    /// How long the first challenge waits for its answer; each further
    /// challenge of the round waits twice as long as the one before, up to
    /// 8 times `first_wait`.
    pub first_wait: Duration,
    /// Challenges sent to one sender before it is given up.
    pub attempts: u32,
    /// After a sender is given up, how long its datagrams are dropped
    /// without a new challenge.
    pub cooldown: Duration,
    /// How much earlier than the challenger first heard it the answering
    /// sender vouches for its datagrams: room for the round trip and for
    /// datagrams waiting in the challenger's socket buffer. Datagrams
    /// sealed more than this before a node first heard their sender are
    /// never accepted by it.
    pub slack: Duration,
    /// Datagrams held per sender while its answer is awaited; more are
    /// dropped and counted.
    pub max_held_per_sender: usize,
    /// Bytes held for all senders together while answers are awaited. A
    /// sender heard alone may hold all of them (its large first event is
    /// held whole); once they are full, a datagram of a sender that holds
    /// less takes room from the sender that holds the most, whose oldest
    /// held datagram is dropped (`Stats::held_displaced`), so that no one
    /// sender keeps the others out.
    pub max_held_bytes: usize,
    /// An answering node sends at most one answer per interval, covering
    /// every challenge that arrived since the last (up to 32 per answer).
    pub answer_interval: Duration,
}

impl Default for Handshake {
    fn default() -> Self {
        Self {
            first_wait: Duration::from_millis(100),
            attempts: 8,
            cooldown: Duration::from_secs(2),
            slack: Duration::from_millis(200),
            max_held_per_sender: 256,
            max_held_bytes: 4 * 1024 * 1024,
            answer_interval: Duration::from_millis(10),
        }
    }
}

impl Handshake {
    /// How long a node waits, at most, for a sender's answer before it
    /// gives the sender up: the sum of every challenge's wait.
    pub fn max_wait(&self) -> Duration {
        (0..self.attempts).fold(Duration::ZERO, |sum, i| sum.saturating_add(self.wait(i)))
    }

    /// How long challenge number `i` of a round (from 0) waits for its
    /// answer.
    pub(crate) fn wait(&self, i: u32) -> Duration {
        self.first_wait.saturating_mul(1 << i.min(3))
    }
}
