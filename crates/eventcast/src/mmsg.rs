//! Linux's datagram system calls, batched: `sendmmsg` (a run of equal
//! datagrams to one address as one message with UDP GSO, `UDP_SEGMENT`,
//! when allowed), `recvmmsg`, and the single `recvmsg`, each with the
//! kernel's drop count (`SO_RXQ_OVFL`) and, for datagrams the kernel
//! handed over together (UDP GRO), their size; and `setsockopt` of the
//! int options that ask for those. A leaf: callers give buffers and get
//! lengths, addresses and counts back.

use std::io;
use std::mem::{size_of, MaybeUninit};
use std::net::SocketAddr;
use std::os::fd::RawFd;

use eventcast_proto::Datagram;

/// The most datagrams one `sendmmsg` call carries.
pub(crate) const MAX_SEND: usize = 64;

/// The most datagrams one `recvmmsg` call reads.
pub(crate) const MAX_RECV: usize = 32;

/// The most datagrams in one GSO message (the kernel's
/// `UDP_MAX_SEGMENTS`, 64 on older kernels).
const GSO_MAX_SEGMENTS: usize = 64;

/// The most bytes in one GSO message: it travels as one IP datagram.
const GSO_MAX_BYTES: usize = 65_000;

/// Room for the control messages of a call: `UDP_SEGMENT`'s u16 sent;
/// `SO_RXQ_OVFL`'s u32 and `UDP_GRO`'s int received (24 bytes each, 48
/// of the 64), aligned for `cmsghdr`. A message whose control messages
/// did not fit all the same is marked [`Controls::truncated`].
type Control = [u64; 8];

/// What the kernel said beside a message read.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Controls {
    /// Its count of datagrams dropped for the socket (`SO_RXQ_OVFL`; Linux
    /// sends it only once it is not 0).
    pub(crate) drops: Option<u32>,
    /// The size of each datagram when the message holds several, handed
    /// over together (`UDP_GRO`), the last one possibly shorter; 0 when it
    /// is one datagram.
    pub(crate) segment: usize,
    /// The kernel cut the control messages short for want of room
    /// (`MSG_CTRUNC`): `drops` and `segment` may be missing (none is
    /// read), so a message of several datagrams may look like one.
    pub(crate) truncated: bool,
}

/// One message read: its length, where from, what the kernel said.
type Read = (usize, SocketAddr, Controls);

/// Anonymous memory straight from the kernel, for the receive slots: its
/// pages are zero and become resident only where datagrams are written,
/// and go back to the kernel on drop. (A 2 MiB heap buffer measured as a
/// leak over 900 start/stop cycles, 13.6 to 15.8 MiB: the allocator kept
/// the freed buffers' memory.)
pub(crate) struct Pages {
    ptr: std::ptr::NonNull<u8>,
    len: usize,
}

// SAFETY: `Pages` owns its mapping alone, like a `Vec<u8>`.
unsafe impl Send for Pages {}

impl Pages {
    /// Maps `len` bytes (at least 1).
    pub(crate) fn new(len: usize) -> io::Result<Self> {
        let len = len.max(1);
        // SAFETY: a fresh private anonymous mapping; no memory is touched.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
                -1,
                0,
            )
        };
        if ptr == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        let ptr =
            std::ptr::NonNull::new(ptr.cast()).ok_or_else(|| io::Error::other("mmap gave null"))?;
        Ok(Self { ptr, len })
    }

    pub(crate) fn bytes(&self) -> &[u8] {
        // SAFETY: `len` mapped, readable bytes (zero until written),
        // borrowed as long as `self`.
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr(), self.len) }
    }

    pub(crate) fn bytes_mut(&mut self) -> &mut [u8] {
        // SAFETY: as in `bytes`, borrowed mutably and alone.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.as_ptr(), self.len) }
    }
}

impl Drop for Pages {
    fn drop(&mut self) {
        // SAFETY: the mapping made in `new`, unmapped once; nothing
        // borrows it any more.
        unsafe {
            libc::munmap(self.ptr.as_ptr().cast(), self.len);
        }
    }
}

/// How many datagrams from the start of `datagrams` (lengths and
/// destinations) go in one GSO message: consecutive ones to the first's
/// address, of the first's length, but for the last, which may be
/// shorter; within the kernel's bounds. At least 1 (the first alone).
pub(crate) fn gso_run(datagrams: impl IntoIterator<Item = (usize, SocketAddr)>) -> usize {
    let mut it = datagrams.into_iter();
    let Some((size, to)) = it.next() else {
        return 0;
    };
    let (mut n, mut bytes) = (1, size);
    if size == 0 {
        return 1;
    }
    for (len, addr) in it {
        if addr != to || len > size || n == GSO_MAX_SEGMENTS || bytes + len > GSO_MAX_BYTES {
            break;
        }
        n += 1;
        bytes += len;
        if len < size {
            break;
        }
    }
    n
}

/// Hands `datagrams` (the first [`MAX_SEND`]) to the kernel in one
/// `sendmmsg` call; with `gso`, each [`gso_run`] as one message. Returns
/// how many datagrams the kernel took (at least 1); or the error of the
/// first message, with how many datagrams it held (more than 1: a GSO
/// message).
pub(crate) fn send(
    fd: RawFd,
    datagrams: &[(Datagram, SocketAddr)],
    gso: bool,
) -> Result<usize, (io::Error, usize)> {
    let datagrams = &datagrams[..datagrams.len().min(MAX_SEND)];
    // Left uninitialised: only the entries of the messages this call
    // sends are written (zeroing the whole arrays, 19 KiB, cost more than
    // a one-datagram call's own work). Every entry is reached through the
    // arrays' base pointers, taken once, so no reference to memory not
    // written yet is ever made.
    let mut hdrs = [const { MaybeUninit::<libc::mmsghdr>::uninit() }; MAX_SEND];
    let mut iovs = [const { MaybeUninit::<libc::iovec>::uninit() }; 2 * MAX_SEND];
    let mut addrs = [const { MaybeUninit::<libc::sockaddr_storage>::uninit() }; MAX_SEND];
    let mut controls = [const { MaybeUninit::<Control>::uninit() }; MAX_SEND];
    let mut runs = [0usize; MAX_SEND];
    let hdr_base = hdrs.as_mut_ptr().cast::<libc::mmsghdr>();
    let iov_base = iovs.as_mut_ptr().cast::<libc::iovec>();
    let addr_base = addrs.as_mut_ptr().cast::<libc::sockaddr_storage>();
    let control_base = controls.as_mut_ptr().cast::<Control>();
    let (mut i, mut m, mut v) = (0, 0, 0);
    while i < datagrams.len() {
        let rest = &datagrams[i..];
        let run = if gso {
            gso_run(rest.iter().map(|(d, to)| (d.len(), *to)))
        } else {
            1
        };
        let addr = socket2::SockAddr::from(rest[0].1);
        // SAFETY: an all-zero msghdr is a valid value (null pointers, zero
        // lengths); its fields are set below.
        let mut hdr: libc::mmsghdr = unsafe { std::mem::zeroed() };
        // SAFETY: `m` < MAX_SEND (one message per datagram at most), and
        // `addr` holds `addr.len()` bytes, at most a sockaddr_storage's;
        // the kernel reads `msg_namelen` of them.
        unsafe {
            let name = addr_base.add(m);
            std::ptr::copy_nonoverlapping(
                addr.as_ptr().cast::<u8>(),
                name.cast::<u8>(),
                addr.len() as usize,
            );
            hdr.msg_hdr.msg_name = name.cast();
        }
        hdr.msg_hdr.msg_namelen = addr.len();
        let first = v;
        for (d, _) in &rest[..run] {
            for part in [d.head(), d.tail()] {
                if !part.is_empty() {
                    // SAFETY: two iovecs a datagram at most, and at most
                    // MAX_SEND datagrams: `v` < 2 * MAX_SEND.
                    unsafe {
                        iov_base.add(v).write(libc::iovec {
                            iov_base: part.as_ptr() as *mut libc::c_void,
                            iov_len: part.len(),
                        });
                    }
                    v += 1;
                }
            }
        }
        // SAFETY: the iovecs from `first` to `v` were written above.
        hdr.msg_hdr.msg_iov = unsafe { iov_base.add(first) };
        hdr.msg_hdr.msg_iovlen = (v - first) as _;
        if run > 1 {
            // Fits: gso_run keeps a run within GSO_MAX_BYTES.
            let segment = rest[0].0.len() as u16;
            // SAFETY: `m` < MAX_SEND; the control buffer is zeroed before
            // use, with room for CMSG_SPACE(2) bytes, 8-byte aligned.
            unsafe {
                let control = control_base.add(m);
                control.write(Control::default());
                hdr.msg_hdr.msg_control = control.cast();
                hdr.msg_hdr.msg_controllen = libc::CMSG_SPACE(size_of::<u16>() as u32) as _;
                let cmsg = libc::CMSG_FIRSTHDR(&hdr.msg_hdr);
                (*cmsg).cmsg_level = libc::SOL_UDP;
                (*cmsg).cmsg_type = libc::UDP_SEGMENT;
                (*cmsg).cmsg_len = libc::CMSG_LEN(size_of::<u16>() as u32) as _;
                std::ptr::write_unaligned(libc::CMSG_DATA(cmsg).cast::<u16>(), segment);
            }
        }
        // SAFETY: `m` < MAX_SEND.
        unsafe { hdr_base.add(m).write(hdr) };
        runs[m] = run;
        m += 1;
        i += run;
    }
    // SAFETY: the first `m` messages are written, each pointing at live
    // iovecs, an address and a control buffer of the lengths they state;
    // all outlive the call.
    let rc = unsafe { libc::sendmmsg(fd, hdr_base, m as libc::c_uint, 0) };
    if rc <= 0 {
        let e = if rc == 0 {
            io::Error::from(io::ErrorKind::WriteZero)
        } else {
            io::Error::last_os_error()
        };
        return Err((e, runs[0]));
    }
    Ok(runs[..rc as usize].iter().sum())
}

/// Reads up to [`MAX_RECV`] datagrams (and at most `max`) in one
/// `recvmmsg` call, the `k`th into the `k`th `slot`-byte part of `buf`,
/// passing `k` and each one's length, source and [`Controls`] to `got`,
/// in order (one whose source is not an IP address is skipped); returns
/// how many were read. A message may hold several datagrams (see
/// [`Controls::segment`]).
pub(crate) fn recv_many(
    fd: RawFd,
    buf: &mut [u8],
    slot: usize,
    max: usize,
    mut got: impl FnMut(usize, usize, SocketAddr, Controls),
) -> io::Result<usize> {
    let n = (buf.len() / slot.max(1)).min(max).min(MAX_RECV);
    // Only the entries of the `n` slots are written (as in `send`); the
    // kernel writes the addresses and control messages, and only what it
    // wrote is read back.
    let mut hdrs = [const { MaybeUninit::<libc::mmsghdr>::uninit() }; MAX_RECV];
    let mut iovs = [const { MaybeUninit::<libc::iovec>::uninit() }; MAX_RECV];
    let mut addrs = [const { MaybeUninit::<libc::sockaddr_storage>::uninit() }; MAX_RECV];
    let mut controls = [const { MaybeUninit::<Control>::uninit() }; MAX_RECV];
    let hdr_base = hdrs.as_mut_ptr().cast::<libc::mmsghdr>();
    let iov_base = iovs.as_mut_ptr().cast::<libc::iovec>();
    let addr_base = addrs.as_mut_ptr().cast::<libc::sockaddr_storage>();
    let control_base = controls.as_mut_ptr().cast::<Control>();
    let mut k = 0;
    for chunk in buf.chunks_exact_mut(slot.max(1)).take(n) {
        // SAFETY: `k` < `n` <= MAX_RECV; an all-zero msghdr is a valid
        // value, and every pointer set in it outlives the call.
        unsafe {
            let iov = iov_base.add(k);
            iov.write(libc::iovec {
                iov_base: chunk.as_mut_ptr().cast(),
                iov_len: chunk.len(),
            });
            let mut hdr: libc::mmsghdr = std::mem::zeroed();
            hdr.msg_hdr.msg_name = addr_base.add(k).cast();
            hdr.msg_hdr.msg_namelen = size_of::<libc::sockaddr_storage>() as _;
            hdr.msg_hdr.msg_iov = iov;
            hdr.msg_hdr.msg_iovlen = 1;
            hdr.msg_hdr.msg_control = control_base.add(k).cast();
            hdr.msg_hdr.msg_controllen = size_of::<Control>() as _;
            hdr_base.add(k).write(hdr);
        }
        k += 1;
    }
    // SAFETY: `k` messages pointing at live, disjoint buffers of the
    // lengths they state; the kernel writes within them.
    let rc = unsafe { libc::recvmmsg(fd, hdr_base, k as libc::c_uint, 0, std::ptr::null_mut()) };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    let n = (rc as usize).min(k);
    for k in 0..n {
        // SAFETY: message `k` < the `k` written; the kernel wrote its
        // length, its address (`msg_namelen` bytes) and its control
        // messages (`msg_controllen` bytes), which are all that is read.
        let (hdr, from) = unsafe {
            let hdr = &*hdr_base.add(k);
            (hdr, address(addr_base.add(k), hdr.msg_hdr.msg_namelen))
        };
        if let Ok(from) = from {
            got(k, hdr.msg_len as usize, from, read_controls(&hdr.msg_hdr));
        }
    }
    Ok(n)
}

/// One `recvmsg` call into `buf`.
pub(crate) fn recv_one(fd: RawFd, buf: &mut [u8]) -> io::Result<Read> {
    // SAFETY: as in `send`.
    let mut addr: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    let mut iov = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: buf.len(),
    };
    let mut control = Control::default();
    // SAFETY: an all-zero msghdr is a valid value (null pointers, zero
    // lengths); every pointer set below outlives the call.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_name = (&mut addr as *mut libc::sockaddr_storage).cast();
    msg.msg_namelen = size_of::<libc::sockaddr_storage>() as _;
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.as_mut_ptr().cast();
    msg.msg_controllen = size_of::<Control>() as _;
    // SAFETY: `msg` points at live buffers of the lengths it states.
    let n = unsafe { libc::recvmsg(fd, &mut msg, 0) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `addr` is a whole sockaddr_storage.
    let from = unsafe { address(&addr, msg.msg_namelen) }?;
    Ok((n as usize, from, read_controls(&msg)))
}

/// The int option `name` of `level` of the socket `fd`.
pub(crate) fn get_option(
    fd: RawFd,
    level: libc::c_int,
    name: libc::c_int,
) -> io::Result<libc::c_int> {
    let mut value: libc::c_int = 0;
    let mut len = size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: room for a c_int, its size passed; written during the call
    // only; an invalid descriptor is an error, not undefined.
    let rc = unsafe {
        libc::getsockopt(
            fd,
            level,
            name,
            (&mut value as *mut libc::c_int).cast(),
            &mut len,
        )
    };
    if rc == 0 {
        Ok(value)
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Sets the option `name` of `level` of the socket `fd` to the int `value`.
pub(crate) fn set_option(
    fd: RawFd,
    level: libc::c_int,
    name: libc::c_int,
    value: libc::c_int,
) -> io::Result<()> {
    // SAFETY: a c_int option value of the size passed, read during the
    // call only; an invalid descriptor is an error, not undefined.
    let rc = unsafe {
        libc::setsockopt(
            fd,
            level,
            name,
            (&value as *const libc::c_int).cast(),
            size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// The source address the kernel wrote (`len` bytes of `addr`).
///
/// # Safety
///
/// `addr` points at a sockaddr_storage whose first `len` bytes (or all
/// of it, if fewer) are initialised.
unsafe fn address(
    addr: *const libc::sockaddr_storage,
    len: libc::socklen_t,
) -> io::Result<SocketAddr> {
    let mut storage = socket2::SockAddrStorage::zeroed();
    let len = len.min(storage.size_of());
    // SAFETY: both are sockaddr_storage-sized; `len` bytes at most, all
    // initialised (the caller's promise).
    unsafe {
        std::ptr::copy_nonoverlapping(
            addr.cast::<u8>(),
            (&mut storage as *mut socket2::SockAddrStorage).cast::<u8>(),
            len as usize,
        );
    }
    // SAFETY: the kernel wrote a socket address of `len` bytes.
    unsafe { socket2::SockAddr::new(storage, len) }
        .as_socket()
        .ok_or_else(|| io::Error::other("datagram from a non-IP address"))
}

/// The kernel's count of datagrams dropped for the socket and the size
/// of datagrams handed over together, from the control messages of `msg`;
/// none if the kernel cut them short ([`Controls::truncated`]: the last
/// one written may then be a header whose data is missing).
fn read_controls(msg: &libc::msghdr) -> Controls {
    let mut controls = Controls::default();
    if msg.msg_flags & libc::MSG_CTRUNC != 0 {
        controls.truncated = true;
        return controls;
    }
    // SAFETY: the kernel filled `msg.msg_control` with well-formed control
    // messages of `msg.msg_controllen` bytes; the CMSG macros walk them
    // within those bounds, and each value is read unaligned, only from a
    // message long enough to hold it.
    unsafe {
        let mut cmsg = libc::CMSG_FIRSTHDR(msg);
        while !cmsg.is_null() {
            let c = &*cmsg;
            let holds = |len: usize| c.cmsg_len as usize >= libc::CMSG_LEN(len as u32) as usize;
            match (c.cmsg_level, c.cmsg_type) {
                (libc::SOL_SOCKET, libc::SO_RXQ_OVFL) if holds(size_of::<u32>()) => {
                    controls.drops = Some(std::ptr::read_unaligned(
                        libc::CMSG_DATA(cmsg).cast::<u32>(),
                    ));
                }
                (libc::SOL_UDP, libc::UDP_GRO) if holds(size_of::<libc::c_int>()) => {
                    let size =
                        std::ptr::read_unaligned(libc::CMSG_DATA(cmsg).cast::<libc::c_int>());
                    controls.segment = usize::try_from(size).unwrap_or(0);
                }
                _ => {}
            }
            cmsg = libc::CMSG_NXTHDR(msg, cmsg);
        }
    }
    controls
}

#[cfg(test)]
mod tests;
