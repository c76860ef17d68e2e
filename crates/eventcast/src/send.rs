//! Sending the node's datagrams in batches: the task (or an inline emit,
//! see [`inline`](crate::inline)) fills a [`SendBatch`] with what the
//! driver lets go now (the pacer decides how much), then [`try_send`]
//! hands it to the kernel without waiting, as far as the socket takes
//! it: on Linux in one `sendmmsg` per
//! [`MAX_SEND`](crate::mmsg::MAX_SEND) datagrams, runs of equal segments
//! as one UDP GSO message each; elsewhere (or where the kernel refuses
//! these) one `sendto` per datagram. A segment's payload is sent from its
//! stored body (a second iovec), not copied.

use std::io;
use std::net::{Ipv4Addr, SocketAddr};

use crate::node_socket::NodeSocket;
use eventcast_proto::Datagram;
use tracing::warn;

/// The most datagrams in one batch.
const BATCH_DATAGRAMS: usize = 64;

/// A batch stops growing once it holds this many bytes: a socket's send
/// buffer takes about this much at once.
const BATCH_BYTES: usize = 256 * 1024;

/// What sending cost and met since the counts were last taken.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct SendCounts {
    /// Send system calls made (refused ones included).
    pub(crate) calls: u64,
    /// Datagrams they handed over.
    pub(crate) datagrams: u64,
    /// Datagrams the kernel refused.
    pub(crate) errors: u64,
    /// Batched calls that stopped at a datagram the kernel refused.
    pub(crate) batch_errors: u64,
    /// `sendmmsg` refused (`ENOSYS` or `EOPNOTSUPP`): one datagram per
    /// call from then on.
    pub(crate) batch_fallbacks: u64,
    /// UDP GSO refused: one message per datagram from then on.
    pub(crate) gso_fallbacks: u64,
    /// A datagram too large for the route with the don't-fragment
    /// bit: fragmented by the kernel from then on.
    pub(crate) fragment_fallbacks: u64,
    /// Waits for room in the send buffer that could not be set up.
    pub(crate) wait_failures: u64,
}

/// Datagrams ready to go, preallocated and reused: each slot's head keeps
/// its allocation; a slot's tail (a shared body) is let go once sent.
pub(crate) struct SendBatch {
    slots: Vec<(Datagram, SocketAddr)>,
    len: usize,
    /// The first datagram not sent yet (the socket would have blocked).
    next: usize,
    bytes: usize,
    /// `sendmmsg` may be used (Linux, until the kernel refuses it).
    batched: bool,
    /// UDP GSO may be used (until the kernel refuses it).
    #[cfg_attr(not(target_os = "linux"), allow(dead_code))]
    gso: bool,
    counts: SendCounts,
}

impl SendBatch {
    pub(crate) fn new() -> Self {
        let nowhere = SocketAddr::from((Ipv4Addr::UNSPECIFIED, 0));
        Self {
            slots: vec![(Datagram::new(), nowhere); BATCH_DATAGRAMS],
            len: 0,
            next: 0,
            bytes: 0,
            batched: cfg!(target_os = "linux"),
            gso: cfg!(target_os = "linux"),
            counts: SendCounts::default(),
        }
    }

    /// Adds datagrams from `poll` (which writes one and says where it
    /// goes, or `None`: nothing more now) until it has no more or the batch
    /// is full. `true`: the batch is full, `poll` may have more.
    pub(crate) fn fill(
        &mut self,
        mut poll: impl FnMut(&mut Datagram) -> Option<SocketAddr>,
    ) -> bool {
        while self.len < self.slots.len() && self.bytes < BATCH_BYTES {
            let (datagram, to) = &mut self.slots[self.len];
            let Some(dest) = poll(datagram) else {
                return false;
            };
            *to = dest;
            self.bytes += datagram.len();
            self.len += 1;
        }
        true
    }

    /// As [`fill`](Self::fill), one datagram at most: whether `poll`
    /// gave one (and there was room for it).
    pub(crate) fn fill_one(
        &mut self,
        mut poll: impl FnMut(&mut Datagram) -> Option<SocketAddr>,
    ) -> bool {
        let (before, mut asked) = (self.len, false);
        self.fill(|d| {
            if std::mem::replace(&mut asked, true) {
                return None;
            }
            poll(d)
        });
        self.len > before
    }

    /// Whether it holds no datagram.
    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The datagrams it holds, in order.
    #[cfg(test)]
    fn datagrams(&self) -> &[(Datagram, SocketAddr)] {
        &self.slots[..self.len]
    }

    /// Counts a wait for room in the socket's send buffer that could not
    /// be set up.
    pub(crate) fn count_wait_failure(&mut self) {
        self.counts.wait_failures += 1;
    }

    /// The counts since the last call.
    pub(crate) fn take_counts(&mut self) -> SendCounts {
        std::mem::take(&mut self.counts)
    }

    /// Empties it, letting the shared bodies go.
    fn clear(&mut self) {
        for (datagram, _) in &mut self.slots[..self.len] {
            datagram.clear();
        }
        self.len = 0;
        self.next = 0;
        self.bytes = 0;
    }
}

/// Sends the datagrams of `batch` not sent yet, in order, without
/// waiting, and empties it once all are sent; `Err(WouldBlock)` when the
/// socket takes no more now (the rest stays for the next call, once the
/// socket is writable). A datagram the kernel refuses is counted and
/// skipped; the others still go.
pub(crate) fn try_send(socket: &NodeSocket, batch: &mut SendBatch) -> io::Result<()> {
    while batch.next < batch.len {
        let at = batch.next;
        batch.next += if batch.batched {
            send_batched(socket, batch, at)?
        } else {
            send_one(socket, batch, at)?
        };
    }
    batch.clear();
    Ok(())
}

/// One `sendto` for datagram `at` (its parts copied together if it has a
/// tail: the portable path); returns 1, or `WouldBlock`.
fn send_one(socket: &NodeSocket, batch: &mut SendBatch, at: usize) -> io::Result<usize> {
    let (datagram, to) = &batch.slots[at];
    let to = *to;
    let looped = looped(&batch.slots[at..=at]);
    let sending = socket.own.sending(socket.get_ref(), looped);
    let result = socket.try_write(|socket| {
        if datagram.tail().is_empty() {
            socket.send_to(datagram.head(), to)
        } else {
            socket.send_to(&datagram.to_vec(), to)
        }
    });
    let went = if result.is_ok() { looped } else { 0 };
    socket.own.sent(socket.get_ref(), sending, went);
    match result {
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Err(e),
        Err(e) if fragments_now(socket, &mut batch.counts, &e) => return Ok(0),
        Ok(_) => batch.counts.datagrams += 1,
        Err(e) => {
            batch.counts.errors += 1;
            warn!(target: "eventcast", %to, error = %e, "send failed");
        }
    }
    batch.counts.calls += 1;
    Ok(1)
}

#[cfg(not(target_os = "linux"))]
fn send_batched(socket: &NodeSocket, batch: &mut SendBatch, at: usize) -> io::Result<usize> {
    send_one(socket, batch, at)
}

/// One `sendmmsg` from datagram `at` on; returns how many datagrams it
/// dealt with (sent, or refused and counted; 0 after a fallback, which
/// sends them again the other way), or `WouldBlock`.
#[cfg(target_os = "linux")]
fn send_batched(socket: &NodeSocket, batch: &mut SendBatch, at: usize) -> io::Result<usize> {
    use std::os::fd::AsRawFd;

    let gso = batch.gso;
    let to = batch.slots[at].1;
    let rest = &batch.slots[at..batch.len];
    // What comes back as one: a GSO message, to a socket that takes it
    // whole; else each datagram.
    let whole = gso && socket.own.per_message();
    let copies = |sent: &[(Datagram, SocketAddr)]| {
        if whole {
            looped_messages(sent)
        } else {
            looped(sent)
        }
    };
    let sending = socket.own.sending(socket.get_ref(), copies(rest));
    let mut refused = None;
    let result = socket.try_write(|sending| {
        crate::mmsg::send(sending.as_raw_fd(), rest, gso).map_err(|(e, n)| {
            let kind = e.kind();
            if kind != io::ErrorKind::WouldBlock {
                refused = Some((e, n));
            }
            io::Error::from(kind)
        })
    });
    let went = result
        .as_ref()
        .map_or(0, |&n| copies(&rest[..n.min(rest.len())]));
    socket.own.sent(socket.get_ref(), sending, went);
    let counts = &mut batch.counts;
    match (result, refused) {
        (Ok(n), _) => {
            counts.calls += 1;
            counts.datagrams += n as u64;
            Ok(n)
        }
        (Err(_), Some((e, _))) if fragments_now(socket, counts, &e) => Ok(0),
        (Err(_), Some((e, n))) => Ok(refuse(batch, e, n, to)),
        // Every other error was noted in `refused`: this is `WouldBlock`.
        (Err(e), None) => Err(e),
    }
}

/// How many of `datagrams` go to a multicast group, so that a copy comes
/// back to this node's socket (see [`OwnCopies`](crate::node_socket::OwnCopies)).
fn looped(datagrams: &[(Datagram, SocketAddr)]) -> usize {
    datagrams
        .iter()
        .filter(|(_, to)| to.ip().is_multicast())
        .count()
}

/// How many of the GSO messages `datagrams` go in (see
/// [`gso_run`](crate::mmsg::gso_run)) go to a multicast group.
#[cfg(target_os = "linux")]
fn looped_messages(datagrams: &[(Datagram, SocketAddr)]) -> usize {
    let mut messages = 0;
    let mut rest = datagrams;
    while let Some((_, to)) = rest.first() {
        let run = crate::mmsg::gso_run(rest.iter().map(|(d, to)| (d.len(), *to))).max(1);
        messages += usize::from(to.ip().is_multicast());
        rest = rest.get(run..).unwrap_or_default();
    }
    messages
}

/// Whether `e` refused a datagram as larger than the route takes
/// (`EMSGSIZE`) because it carried the don't-fragment bit, now cleared
/// (counted in `counts`): then the same datagrams go again.
fn fragments_now(socket: &NodeSocket, counts: &mut SendCounts, e: &io::Error) -> bool {
    if !is_too_large(e) || !socket.allow_fragments() {
        return false;
    }
    warn!(
        target: "eventcast", error = %e,
        "a datagram larger than the route's MTU: letting the kernel fragment from now on \
         (max_payload_size above the MTU?)"
    );
    counts.fragment_fallbacks += 1;
    true
}

/// Whether `e` is `EMSGSIZE`.
fn is_too_large(e: &io::Error) -> bool {
    #[cfg(unix)]
    {
        e.raw_os_error() == Some(libc::EMSGSIZE)
    }
    #[cfg(not(unix))]
    {
        let _ = e;
        false
    }
}

/// What the kernel's refusal of a batched call means: GSO not supported
/// (`EIO`, `EINVAL` on a GSO message, one of `n` > 1 datagrams: fall
/// back, send again), `sendmmsg` not supported (`ENOSYS` or `EOPNOTSUPP`:
/// fall back, send again), or a datagram refused (counted and skipped,
/// with the `n` of its message). Returns how many datagrams were dealt
/// with.
#[cfg(target_os = "linux")]
fn refuse(batch: &mut SendBatch, e: std::io::Error, n: usize, to: SocketAddr) -> usize {
    let errno = e.raw_os_error();
    let counts = &mut batch.counts;
    let was_gso = n > 1;
    if was_gso && matches!(errno, Some(libc::EIO | libc::EINVAL)) {
        warn!(
            target: "eventcast", error = %e,
            "UDP GSO refused: sending one message per datagram from now on"
        );
        batch.gso = false;
        counts.gso_fallbacks += 1;
        return 0;
    }
    if matches!(errno, Some(libc::ENOSYS | libc::EOPNOTSUPP)) {
        warn!(
            target: "eventcast", error = %e,
            "sendmmsg refused: one system call per datagram from now on"
        );
        batch.batched = false;
        counts.batch_fallbacks += 1;
        return 0;
    }
    counts.calls += 1;
    counts.errors += n as u64;
    counts.batch_errors += 1;
    warn!(target: "eventcast", %to, error = %e, datagrams = n, "send failed");
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    fn group() -> SocketAddr {
        SocketAddr::from(([239, 1, 2, 3], 4000))
    }

    #[test]
    fn fill_one_asks_once_and_says_whether_it_took_one() {
        let mut batch = SendBatch::new();
        let mut asked = 0;
        let mut give = |d: &mut Datagram| {
            asked += 1;
            *d = Datagram::from(vec![asked as u8; 10]);
            Some(group())
        };
        assert!(batch.fill_one(&mut give));
        assert!(batch.fill_one(&mut give));
        assert_eq!(asked, 2, "asked once a call");
        assert_eq!(batch.datagrams().len(), 2);
        assert_eq!(batch.datagrams()[1].0.head(), &[2u8; 10]);
        assert!(!batch.fill_one(|_| None), "none given: none taken");
        assert_eq!(batch.datagrams().len(), 2);
    }

    #[test]
    fn fill_takes_what_the_driver_gives_and_stops_when_full() {
        let mut batch = SendBatch::new();
        let mut left = 3;
        let more = batch.fill(|d| {
            if left == 0 {
                return None;
            }
            left -= 1;
            *d = Datagram::from(vec![left as u8; 10]);
            Some(group())
        });
        assert!(!more);
        assert_eq!(batch.datagrams().len(), 3);
        assert_eq!(batch.datagrams()[2].0.head(), &[0u8; 10]);
        batch.clear();
        assert!(batch.is_empty());
        // Without end: full at BATCH_DATAGRAMS.
        let more = batch.fill(|d| {
            *d = Datagram::from(vec![1; 10]);
            Some(group())
        });
        assert!(more);
        assert_eq!(batch.datagrams().len(), BATCH_DATAGRAMS);
    }

    #[test]
    fn fill_stops_at_the_byte_bound() {
        let mut batch = SendBatch::new();
        let more = batch.fill(|d| {
            *d = Datagram::from(vec![0; 65_000]);
            Some(group())
        });
        assert!(more);
        assert_eq!(batch.datagrams().len(), BATCH_BYTES.div_ceil(65_000));
    }

    /// Own copies come back per GSO message to a socket that takes them
    /// whole: a run of equal datagrams to the group is one, a shorter last
    /// one ends it, a datagram to a unicast address is none, and a longer
    /// one starts the next run.
    #[cfg(target_os = "linux")]
    #[test]
    fn looped_messages_count_gso_runs_to_the_group() {
        let peer = SocketAddr::from(([10, 0, 0, 2], 4000));
        let datagrams: Vec<(Datagram, SocketAddr)> = [
            (100, group()),
            (100, group()),
            (60, group()),
            (100, group()),
            (100, peer),
            (100, peer),
            (100, group()),
            (200, group()),
        ]
        .into_iter()
        .map(|(len, to)| (Datagram::from(vec![0; len]), to))
        .collect();
        // [100 100 60] [100] [100 100 to the peer] [100] [200]
        assert_eq!(looped_messages(&datagrams), 4);
        assert_eq!(looped(&datagrams), 6);
        assert_eq!(looped_messages(&[]), 0);
    }
}
