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
//! A native node sends on a second socket of its own, bound as the first
//! but reading nothing, which nothing watches (see `socket::open_sender`):
//! sends from a socket that epoll watches call into epoll, even when it
//! watches for reading alone.
//!
//! It also counts the node's own datagrams that come back to it and
//! that its socket filter drops ([`OwnCopies`]).
//!
//! A leaf: it knows nothing of datagrams or drivers.

use std::io;
use std::net::UdpSocket;
#[cfg(unix)]
use std::os::fd::AsFd;
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};

#[cfg(unix)]
use tokio::io::unix::AsyncFd;
use tokio::io::Interest;

/// The node's non-blocking UDP socket, its readiness to read tracked by
/// tokio.
#[cfg(unix)]
pub(crate) struct NodeSocket {
    io: AsyncFd<UdpSocket>,
    /// The socket the node sends on, if not the one it reads.
    sender: Option<UdpSocket>,
    /// The sender's datagrams carry IPv4's don't-fragment bit (see
    /// [`dont_fragment`]), until one too large for the route is
    /// refused ([`allow_fragments`](Self::allow_fragments)): the
    /// sender's `IP_MTU_DISCOVER` before, to set back then; -1 if none
    /// is to be set back.
    fragmenting: std::sync::atomic::AtomicI32,
    /// The node's own datagrams its filter drops.
    pub(crate) own: OwnCopies,
}

#[cfg(unix)]
impl NodeSocket {
    /// Registers `socket` (made non-blocking) with the current runtime, for
    /// reading; sends go on `sender` (made non-blocking, not registered,
    /// its IPv4 datagrams marked not to be fragmented: [`dont_fragment`]),
    /// if any, else on `socket`.
    pub(crate) fn new(socket: UdpSocket, sender: Option<UdpSocket>) -> io::Result<Self> {
        socket.set_nonblocking(true)?;
        if let Some(sender) = &sender {
            sender.set_nonblocking(true)?;
        }
        let fragmenting = sender.as_ref().and_then(dont_fragment).unwrap_or(-1);
        Ok(Self {
            io: register(socket, Interest::READABLE)?,
            sender,
            fragmenting: std::sync::atomic::AtomicI32::new(fragmenting),
            own: OwnCopies::default(),
        })
    }

    /// A datagram was refused as larger than the route takes (`EMSGSIZE`):
    /// if the node's datagrams carried the don't-fragment bit, they no
    /// longer do: the socket's `IP_MTU_DISCOVER` is set back to what it was
    /// (`IP_PMTUDISC_WANT`, or `IP_PMTUDISC_DONT` with
    /// `net.ipv4.ip_no_pmtu_disc` set: either way a datagram above the MTU
    /// is fragmented), as for a `max_payload_size` above the MTU. Whether
    /// that changed, so that sending again may succeed: once at most.
    pub(crate) fn allow_fragments(&self) -> bool {
        let before = self.fragmenting.swap(-1, Ordering::Relaxed);
        if before < 0 {
            return false;
        }
        #[cfg(target_os = "linux")]
        {
            set_path_mtu_discovery(self.sending(), before).is_ok()
        }
        #[cfg(not(target_os = "linux"))]
        false
    }

    /// The socket the node reads (and joined the group with), for calls
    /// that neither read nor wait: its options, its filter, its counts.
    pub(crate) fn get_ref(&self) -> &UdpSocket {
        self.io.get_ref()
    }

    /// The socket the node sends on.
    fn sending(&self) -> &UdpSocket {
        self.sender.as_ref().unwrap_or(self.io.get_ref())
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

    /// Runs the send `f` at once on the socket the node sends on: it is
    /// non-blocking, and a full send buffer gives `WouldBlock` (then
    /// [`writable`](Self::writable) waits for room).
    pub(crate) fn try_write<R>(
        &self,
        f: impl FnOnce(&UdpSocket) -> io::Result<R>,
    ) -> io::Result<R> {
        f(self.sending())
    }

    /// Waits until the send buffer of the socket the node sends on has
    /// room, through a registration for writing of a duplicate of its
    /// descriptor that lasts only as long as the wait (epoll reports the
    /// state it finds when the descriptor is added: room now returns at
    /// once).
    pub(crate) async fn writable(&self) -> io::Result<()> {
        let duplicate = UdpSocket::from(self.sending().as_fd().try_clone_to_owned()?);
        let waiter = register(duplicate, Interest::WRITABLE)?;
        waiter.writable().await.map(drop)
    }
}

/// The node's own multicast datagrams that come back to its socket and
/// that its socket filter drops ([`self_filter`](crate::self_filter)).
/// Linux counts each of them as dropped, in the same count as datagrams
/// dropped for a full receive buffer (`SO_RXQ_OVFL`), so the node takes
/// them out of that count.
///
/// Whether copies come back is measured, not assumed: multicast loopback
/// can be off and the group still routed through the loopback device,
/// which hands every datagram back. Until the first send call that hands
/// something over, the socket's drop count (`SO_MEMINFO`) is read around
/// each call: if it grew by what went, copies come back and are counted
/// from then on; if not, nothing is counted.
///
/// A send adds what it is about to hand over before the call and takes
/// back what did not go after it: the count is never behind the kernel's
/// filtering, so no drop is invented. Copies that stop coming back later
/// (the route to the group moved to another interface) each hide one
/// drop for a full buffer.
///
/// A socket that takes GSO messages whole (`UDP_GRO`) filters, and
/// counts, a GSO message of the node's once: then messages are counted,
/// not datagrams ([`per_message`](Self::per_message)).
#[derive(Debug, Default)]
pub(crate) struct OwnCopies {
    state: AtomicU8,
    expected: AtomicU64,
    per_message: bool,
}

/// [`OwnCopies`]' states: nothing to count (no filter), not known yet,
/// counted.
const OFF: u8 = 0;
const UNKNOWN: u8 = 1;
const COUNTED: u8 = 2;

/// What [`OwnCopies::sending`] noted before a send call.
#[derive(Debug)]
pub(crate) struct Sending {
    announced: usize,
    /// The socket's drop count before the call, while it is not known
    /// whether copies come back.
    drops: Option<u32>,
}

impl OwnCopies {
    /// The socket filters the node's own datagrams: find out at the first
    /// send whether copies come back. `coalesced`: the socket takes a GSO
    /// message whole.
    pub(crate) fn watch(&mut self, coalesced: bool) {
        *self.state.get_mut() = UNKNOWN;
        self.per_message = coalesced;
    }

    /// Whether a GSO message the node sends comes back, and is filtered
    /// and counted, as one (`sending` and `sent` then take messages).
    pub(crate) fn per_message(&self) -> bool {
        self.per_message
    }

    /// `n` datagrams to the group are about to be sent on `socket`.
    pub(crate) fn sending(&self, socket: &UdpSocket, n: usize) -> Sending {
        let state = self.state.load(Ordering::Relaxed);
        if state == OFF || n == 0 {
            return Sending {
                announced: 0,
                drops: None,
            };
        }
        self.expected.fetch_add(n as u64, Ordering::Relaxed);
        let drops = if state == UNKNOWN {
            let drops = socket_drops(socket);
            if drops.is_none() {
                // No count to measure with (a kernel before 4.12): assume
                // copies come back, as multicast loopback usually does,
                // rather than ask again at every send.
                let _ = self.state.compare_exchange(
                    UNKNOWN,
                    COUNTED,
                    Ordering::Relaxed,
                    Ordering::Relaxed,
                );
            }
            drops
        } else {
            None
        };
        Sending {
            announced: n,
            drops,
        }
    }

    /// The call `sending` was noted for handed over `went` of its
    /// datagrams to the group.
    pub(crate) fn sent(&self, socket: &UdpSocket, sending: Sending, went: usize) {
        self.take_back(sending.announced.saturating_sub(went));
        let (Some(before), true) = (sending.drops, went > 0) else {
            return;
        };
        let Some(after) = socket_drops(socket) else {
            return;
        };
        let back = after.wrapping_sub(before) as usize >= went;
        let decided = if back { COUNTED } else { OFF };
        let first = self
            .state
            .compare_exchange(UNKNOWN, decided, Ordering::Relaxed, Ordering::Relaxed)
            .is_ok();
        if first && !back {
            self.expected.store(0, Ordering::Relaxed);
        }
    }

    fn take_back(&self, n: usize) {
        if n > 0 {
            // Saturating: what was announced before nothing was to be
            // counted is gone already.
            let _ = self
                .expected
                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |e| {
                    Some(e.saturating_sub(n as u64))
                });
        }
    }

    /// Copies filtered or about to be, since the node started.
    pub(crate) fn total(&self) -> u64 {
        self.expected.load(Ordering::Relaxed)
    }
}

/// The socket's count of dropped datagrams (Linux `SO_MEMINFO`), or
/// `None` where the system does not give it.
#[cfg(target_os = "linux")]
fn socket_drops(socket: &UdpSocket) -> Option<u32> {
    use std::os::fd::AsRawFd;
    // Not in the libc crate for every target; <asm/socket.h>'s value.
    #[cfg(any(target_arch = "sparc", target_arch = "sparc64"))]
    const SO_MEMINFO: libc::c_int = 0x39;
    #[cfg(not(any(target_arch = "sparc", target_arch = "sparc64")))]
    const SO_MEMINFO: libc::c_int = 55;
    let mut info = [0u32; 9];
    let mut len = std::mem::size_of_val(&info) as libc::socklen_t;
    // SAFETY: a valid descriptor, and a buffer of `len` bytes written
    // during the call only.
    let rc = unsafe {
        libc::getsockopt(
            socket.as_raw_fd(),
            libc::SOL_SOCKET,
            SO_MEMINFO,
            info.as_mut_ptr().cast(),
            &mut len,
        )
    };
    let at = libc::SK_MEMINFO_DROPS as usize;
    (rc == 0 && len as usize > at * 4).then(|| info[at])
}

/// Elsewhere the count is not given (and no filter is attached).
#[cfg(not(target_os = "linux"))]
fn socket_drops(_socket: &UdpSocket) -> Option<u32> {
    None
}

/// Sets IPv4's don't-fragment bit on the datagrams `socket` sends
/// (Linux's `IP_PMTUDISC_DO`: the route's MTU is the limit); if it took,
/// the socket's `IP_MTU_DISCOVER` before. A datagram that may be
/// fragmented takes its IP id from a table the host's unconnected sockets
/// share (`__ip_select_ident`: an atomic add on a cache line that the two
/// sides of a round trip, on two CPUs, pass back and forth; 5% of the
/// pong's `sendmmsg` samples in figure 2); one that may not has id 0. A datagram larger than the route takes is
/// then refused (`EMSGSIZE`), and the node lets the kernel fragment again
/// ([`NodeSocket::allow_fragments`]).
#[cfg(unix)]
fn dont_fragment(socket: &UdpSocket) -> Option<i32> {
    #[cfg(target_os = "linux")]
    if socket.local_addr().is_ok_and(|a| a.is_ipv4()) {
        use std::os::fd::AsRawFd;
        let before =
            crate::mmsg::get_option(socket.as_raw_fd(), libc::IPPROTO_IP, libc::IP_MTU_DISCOVER)
                .ok()?;
        set_path_mtu_discovery(socket, libc::IP_PMTUDISC_DO).ok()?;
        return Some(before);
    }
    let _ = socket;
    None
}

/// Sets `IP_MTU_DISCOVER` of the IPv4 socket `socket` to `value`.
#[cfg(target_os = "linux")]
fn set_path_mtu_discovery(socket: &UdpSocket, value: libc::c_int) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    crate::mmsg::set_option(
        socket.as_raw_fd(),
        libc::IPPROTO_IP,
        libc::IP_MTU_DISCOVER,
        value,
    )
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
    /// Registers `socket` (made non-blocking) with the current runtime;
    /// the node sends on it too (`socket::open` makes no `sender` here).
    pub(crate) fn new(socket: UdpSocket, sender: Option<UdpSocket>) -> io::Result<Self> {
        drop(sender);
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

    /// Nothing to change: no don't-fragment bit is set here.
    pub(crate) fn allow_fragments(&self) -> bool {
        false
    }
}

#[cfg(test)]
#[cfg(unix)]
mod tests {
    use super::*;

    async fn read_and_wait() {
        // Loopback only, and nothing is sent.
        let node = NodeSocket::new(UdpSocket::bind(("127.0.0.1", 0)).unwrap(), None).unwrap();
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

    /// A node socket with a sender of its own: what it sends leaves from
    /// the sender; what it reads, and its own address, are the joined
    /// socket's.
    async fn send_from_the_sender() {
        // Loopback only.
        let joined = UdpSocket::bind(("127.0.0.1", 0)).unwrap();
        let sender = UdpSocket::bind(("127.0.0.1", 0)).unwrap();
        let (to, from) = (joined.local_addr().unwrap(), sender.local_addr().unwrap());
        let node = NodeSocket::new(joined, Some(sender)).unwrap();
        node.try_write(|s| s.send_to(b"x", to)).unwrap();
        let read = tokio::time::timeout(std::time::Duration::from_secs(5), async {
            loop {
                node.readable().await.unwrap();
                match node.try_read(|s| s.recv_from(&mut [0; 16])) {
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                    other => return other,
                }
            }
        });
        let (len, source) = read.await.expect("the datagram").unwrap();
        assert_eq!((len, source), (1, from));
        assert_eq!(node.get_ref().local_addr().unwrap(), to);
        tokio::time::timeout(std::time::Duration::from_secs(5), node.writable())
            .await
            .expect("room at once")
            .unwrap();
    }

    #[test]
    fn sends_leave_from_the_sender_and_reads_come_to_the_joined_socket() {
        netns_test::run(|| netns_test::block_on(send_from_the_sender()));
    }

    /// The sender's don't-fragment bit is set at start, and a refusal
    /// sets back the socket's own setting (here `IP_PMTUDISC_DONT`, as
    /// with `net.ipv4.ip_no_pmtu_disc`), once.
    #[cfg(target_os = "linux")]
    async fn fragments_set_back() {
        use std::os::fd::AsRawFd;
        let mtu_discover = |s: &UdpSocket| {
            crate::mmsg::get_option(s.as_raw_fd(), libc::IPPROTO_IP, libc::IP_MTU_DISCOVER).unwrap()
        };
        // Loopback only, and nothing is sent.
        let joined = UdpSocket::bind(("127.0.0.1", 0)).unwrap();
        let sender = UdpSocket::bind(("127.0.0.1", 0)).unwrap();
        set_path_mtu_discovery(&sender, libc::IP_PMTUDISC_DONT).unwrap();
        let node = NodeSocket::new(joined, Some(sender)).unwrap();
        assert_eq!(mtu_discover(node.sending()), libc::IP_PMTUDISC_DO);
        assert!(node.allow_fragments());
        assert_eq!(mtu_discover(node.sending()), libc::IP_PMTUDISC_DONT);
        assert!(!node.allow_fragments(), "once");
        // Without a sender, nothing is set.
        let alone = NodeSocket::new(UdpSocket::bind(("127.0.0.1", 0)).unwrap(), None).unwrap();
        assert!(!alone.allow_fragments());
    }

    #[test]
    #[cfg(target_os = "linux")]
    fn a_refusal_sets_the_senders_own_setting_back_once() {
        netns_test::run(|| netns_test::block_on(fragments_set_back()));
    }

    /// A socket on loopback that sends `n` datagrams to itself, then one
    /// more, announcing them as own copies; with `drop_all` a filter drops
    /// every datagram it gets (as the node's filter drops its own): what
    /// is counted afterwards.
    fn own_copies_after(n: usize, drop_all: bool) -> u64 {
        let socket = UdpSocket::bind(("127.0.0.1", 0)).unwrap();
        if drop_all {
            // Classic BPF: return 0 (drop) for every packet.
            let program = [socket2::SockFilter::new(
                (libc::BPF_RET | libc::BPF_K) as u16,
                0,
                0,
                0,
            )];
            socket2::SockRef::from(&socket)
                .attach_filter(&program)
                .unwrap();
        }
        let mut own = OwnCopies::default();
        own.watch(false);
        let sending = own.sending(&socket, n);
        let to = socket.local_addr().unwrap();
        for _ in 0..n {
            socket.send_to(b"copy", to).unwrap();
        }
        own.sent(&socket, sending, n);
        // Decided by the first call: a second one counts the same way.
        let sending = own.sending(&socket, 1);
        socket.send_to(b"copy", to).unwrap();
        own.sent(&socket, sending, 1);
        own.total()
    }

    #[test]
    fn copies_dropped_by_the_filter_are_counted() {
        netns_test::run(|| assert_eq!(own_copies_after(3, true), 4));
    }

    #[test]
    fn copies_that_do_not_come_back_are_not_counted() {
        netns_test::run(|| assert_eq!(own_copies_after(3, false), 0));
    }

    #[test]
    fn reads_through_the_registration_and_waits_for_room_at_once() {
        netns_test::run(|| netns_test::block_on(read_and_wait()));
    }
}
