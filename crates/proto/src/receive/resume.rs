//! Where a sender forgotten after it delivered something resumes
//! ([`Resume`]), and how the first datagram heard of it again is judged by
//! that point ([`Resume::judge`]): the types the sender table
//! (`admission`), a sender's state and the plausibility rules share. A
//! leaf of the receive side: it imports only the bounds' arithmetic.

use std::net::SocketAddr;
use std::time::Instant;

use super::bounds::{allowance, AHEAD};

/// Where a forgotten sender resumes, and what else is kept of it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Resume {
    /// One past everything it delivered, or was reported lost, here.
    pub(crate) seq: u64,
    /// When it was last heard plausibly: its stream may have run ahead of
    /// `seq` since, at `bounds::MAX_RATE`.
    pub(crate) at: Instant,
    /// Its home (see `SenderState::home`), if it had one.
    pub(crate) home: Option<SocketAddr>,
    /// It was established (or had resumed from such a point): data far
    /// ahead of the point is dropped, and the point kept. Otherwise it was
    /// heard once, and that datagram may have been forged: data far ahead
    /// starts it afresh, above the point.
    pub(crate) strong: bool,
}

/// What a forgotten sender's first datagram (or a heartbeat's lead) says
/// of its resume point.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Plausible for it: the sender resumes there.
    Resumes,
    /// Past what the stream may have reached since it was last heard.
    Ahead,
    /// More than [`AHEAD`] below it.
    Below,
}

impl Resume {
    /// Judges `seq`, heard at `now` from `from`, by the bounds of a tracked
    /// sender's data (see `plausible`): not more than [`AHEAD`] below the
    /// point, and at most [`AHEAD`] past it, plus, from its home only,
    /// what the plausible rate allows since it was last heard. A forgotten
    /// sender has been silent by definition, so from anywhere else that
    /// allowance would let one forged datagram claim seconds of stream.
    pub(crate) fn judge(&self, seq: u64, now: Instant, from: SocketAddr) -> Verdict {
        let run = if self.home == Some(from) {
            allowance(self.at, now)
        } else {
            0
        };
        let end = self.seq.saturating_add(AHEAD).saturating_add(run);
        if seq > end {
            Verdict::Ahead
        } else if seq.saturating_add(AHEAD) < self.seq {
            Verdict::Below
        } else {
            Verdict::Resumes
        }
    }

    /// Whether `seq` lies just below the point (within [`AHEAD`]): what
    /// the sender delivered here before, or was owed and lost. A state
    /// started afresh far below the point (see `touch`) drops it as stale
    /// (see `admit`).
    pub(crate) fn covers(&self, seq: u64) -> bool {
        seq < self.seq && seq.saturating_add(AHEAD) >= self.seq
    }
}
