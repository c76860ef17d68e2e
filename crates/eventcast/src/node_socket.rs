//! The node's socket, registered with tokio for reading only.
//!
//! A UDP socket is nearly always writable, and tokio's `UdpSocket`
//! registers for both directions, edge-triggered: every send that frees
//! the socket's buffer (on loopback, every `sendmmsg`: the datagram is
//! handed over before the call returns) sets off an `EPOLLOUT` that wakes
//! the node's parked worker for nothing, 0.83 times a round trip in
//! figure 2. So the socket is registered for reading alone; sends are
//! plain non-blocking calls, and a send that would block waits through a
//! short-lived registration for writing of a duplicate of the descriptor,
//! made only then (see [`NodeSocket::writable`]).
//!
//! Elsewhere than on Unix (no `AsyncFd`), it is tokio's `UdpSocket`,
//! registered both ways, with the same methods.
//!
//! It also counts the node's own datagrams that come back to it and
//! that its socket filter drops ([`OwnCopies`]).
//!
//! A leaf: it knows nothing of datagrams or drivers.

use std::io;
use std::net::UdpSocket;
#[cfg(unix)]
use std::os::fd::AsFd;
use std::sync::atomic::{AtomicU64, Ordering};

#[cfg(unix)]
use tokio::io::unix::AsyncFd;
use tokio::io::Interest;

/// The node's non-blocking UDP socket, its readiness to read tracked by
/// tokio.
#[cfg(unix)]
pub(crate) struct NodeSocket {
    io: AsyncFd<UdpSocket>,
    /// The node's own datagrams its filter drops.
    pub(crate) own: OwnCopies,
}

#[cfg(unix)]
impl NodeSocket {
    /// Registers `socket` (made non-blocking) with the current runtime, for
    /// reading.
    pub(crate) fn new(socket: UdpSocket) -> io::Result<Self> {
        socket.set_nonblocking(true)?;
        Ok(Self {
            io: register(socket, Interest::READABLE)?,
            own: OwnCopies::default(),
        })
    }

    /// The socket itself, for calls that neither read nor wait.
    pub(crate) fn get_ref(&self) -> &UdpSocket {
        self.io.get_ref()
    }

    /// Waits until the socket may have datagrams to read (the readiness
    /// stays set until a read in [`try_read`](Self::try_read) finds
    /// nothing).
    pub(crate) async fn readable(&self) -> io::Result<()> {
        self.io.readable().await.map(drop)
    }

    /// Runs the read `f` if the socket may be readable (`WouldBlock` if
    /// not); a `WouldBlock` from `f` clears the readiness, so that the
    /// next [`readable`](Self::readable) waits for more.
    pub(crate) fn try_read<R>(&self, f: impl FnOnce(&UdpSocket) -> io::Result<R>) -> io::Result<R> {
        self.io.try_io(Interest::READABLE, f)
    }

    /// Runs the send `f` at once: the socket is non-blocking, and a full
    /// send buffer gives `WouldBlock` (then [`writable`](Self::writable)
    /// waits for room).
    pub(crate) fn try_write<R>(
        &self,
        f: impl FnOnce(&UdpSocket) -> io::Result<R>,
    ) -> io::Result<R> {
        f(self.io.get_ref())
    }

    /// Waits until the socket's send buffer has room, through a
    /// registration for writing of a duplicate of its descriptor that
    /// lasts only as long as the wait (epoll reports the state it finds
    /// when the descriptor is added: room now returns at once).
    pub(crate) async fn writable(&self) -> io::Result<()> {
        let duplicate = UdpSocket::from(self.io.get_ref().as_fd().try_clone_to_owned()?);
        let waiter = register(duplicate, Interest::WRITABLE)?;
        waiter.writable().await.map(drop)
    }
}

/// The node's own multicast datagrams that come back to its socket
/// (multicast loopback) and that its socket filter drops
/// ([`self_filter`](crate::self_filter)). Linux counts each of them as
/// dropped, in the same count as datagrams dropped for a full receive
/// buffer (`SO_RXQ_OVFL`), so the node takes them out of that count.
///
/// A send adds what it is about to hand over before the call and takes
/// back what did not go after it: the count is never behind the kernel's
/// filtering, so a drop it hides is only one seen early, and shows once
/// the kernel has filtered what was sent.
#[derive(Debug, Default)]
pub(crate) struct OwnCopies {
    /// Whether copies come back and are filtered (set at start).
    counting: bool,
    expected: AtomicU64,
}

impl OwnCopies {
    /// Copies of what is sent from now on are filtered.
    pub(crate) fn count(&mut self) {
        self.counting = true;
    }

    /// `n` datagrams to the group are about to be sent.
    pub(crate) fn sending(&self, n: usize) {
        if self.counting && n > 0 {
            self.expected.fetch_add(n as u64, Ordering::Relaxed);
        }
    }

    /// `n` of those announced by [`sending`](Self::sending) did not go.
    pub(crate) fn not_sent(&self, n: usize) {
        if self.counting && n > 0 {
            self.expected.fetch_sub(n as u64, Ordering::Relaxed);
        }
    }

    /// Copies filtered or about to be, since the node started.
    pub(crate) fn total(&self) -> u64 {
        self.expected.load(Ordering::Relaxed)
    }
}

/// Registers `socket` with the current runtime for `interest`.
#[cfg(unix)]
fn register(socket: UdpSocket, interest: Interest) -> io::Result<AsyncFd<UdpSocket>> {
    // SAFETY: the socket owns its descriptor, which stays open and the
    // same for as long as the `AsyncFd` that takes it: only shared
    // references to the socket are ever handed out, and none can close it.
    unsafe { AsyncFd::register_with_interest(socket, interest) }.map_err(io::Error::from)
}

/// The node's non-blocking UDP socket: tokio's, for its readiness, and a
/// handle of the same socket for the calls themselves.
#[cfg(not(unix))]
pub(crate) struct NodeSocket {
    io: tokio::net::UdpSocket,
    socket: UdpSocket,
    /// The node's own datagrams its filter drops (none here).
    pub(crate) own: OwnCopies,
}

#[cfg(not(unix))]
impl NodeSocket {
    /// Registers `socket` (made non-blocking) with the current runtime.
    pub(crate) fn new(socket: UdpSocket) -> io::Result<Self> {
        socket.set_nonblocking(true)?;
        let handle = socket.try_clone()?;
        Ok(Self {
            io: tokio::net::UdpSocket::from_std(socket)?,
            socket: handle,
            own: OwnCopies::default(),
        })
    }

    /// The socket itself, for calls that neither read nor wait.
    pub(crate) fn get_ref(&self) -> &UdpSocket {
        &self.socket
    }

    /// Waits until the socket may have datagrams to read.
    pub(crate) async fn readable(&self) -> io::Result<()> {
        self.io.readable().await
    }

    /// Runs the read `f` (see the Unix version).
    pub(crate) fn try_read<R>(&self, f: impl FnOnce(&UdpSocket) -> io::Result<R>) -> io::Result<R> {
        self.io.try_io(Interest::READABLE, || f(&self.socket))
    }

    /// Runs the send `f` (see the Unix version).
    pub(crate) fn try_write<R>(
        &self,
        f: impl FnOnce(&UdpSocket) -> io::Result<R>,
    ) -> io::Result<R> {
        self.io.try_io(Interest::WRITABLE, || f(&self.socket))
    }

    /// Waits until the socket's send buffer has room.
    pub(crate) async fn writable(&self) -> io::Result<()> {
        self.io.writable().await
    }
}

#[cfg(test)]
#[cfg(unix)]
mod tests {
    use super::*;

    async fn read_and_wait() {
        // Loopback only, and nothing is sent.
        let node = NodeSocket::new(UdpSocket::bind(("127.0.0.1", 0)).unwrap()).unwrap();
        // Nothing to read: the read runs (the readiness is unknown at
        // first) and finds nothing, or does not run at all.
        let read = node.try_read(|s| s.recv_from(&mut [0; 16]));
        assert_eq!(read.unwrap_err().kind(), io::ErrorKind::WouldBlock);
        // An empty send buffer has room: no wait.
        tokio::time::timeout(std::time::Duration::from_secs(5), node.writable())
            .await
            .expect("room at once")
            .unwrap();
        assert!(node.get_ref().local_addr().is_ok());
    }

    #[test]
    fn reads_through_the_registration_and_waits_for_room_at_once() {
        netns_test::run(|| netns_test::block_on(read_and_wait()));
    }
}
