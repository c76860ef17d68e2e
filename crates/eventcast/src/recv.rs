//! Receiving a datagram, with the kernel's count of datagrams it dropped
//! for this socket where the OS reports it (Linux `SO_RXQ_OVFL`: a
//! receive buffer that was full).

use std::io;
use std::net::SocketAddr;

use tokio::net::UdpSocket;

/// One datagram read from the socket.
pub(crate) struct Received {
    /// Its length in the buffer.
    pub(crate) len: usize,
    /// Where it came from.
    pub(crate) from: SocketAddr,
    /// The kernel's count of datagrams dropped for this socket since it
    /// was opened, as it stood when this one was queued (wraps at 2^32),
    /// if the kernel said (Linux says only once the count is not 0).
    pub(crate) drops: Option<u32>,
}

/// Waits for a datagram and reads it into `buf`.
pub(crate) async fn recv(socket: &UdpSocket, buf: &mut [u8]) -> io::Result<Received> {
    loop {
        socket.readable().await?;
        match try_recv(socket, buf) {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
            other => return other,
        }
    }
}

/// Reads a datagram into `buf` if one is there (`WouldBlock` if not).
pub(crate) fn try_recv(socket: &UdpSocket, buf: &mut [u8]) -> io::Result<Received> {
    #[cfg(target_os = "linux")]
    {
        socket.try_io(tokio::io::Interest::READABLE, || {
            linux::recvmsg(socket, buf)
        })
    }
    #[cfg(not(target_os = "linux"))]
    {
        let (len, from) = socket.try_recv_from(buf)?;
        Ok(Received {
            len,
            from,
            drops: None,
        })
    }
}

#[cfg(target_os = "linux")]
mod linux {
    use std::io;
    use std::mem::size_of;
    use std::os::fd::AsRawFd;

    use tokio::net::UdpSocket;

    use super::Received;

    /// One `recvmsg` call: the datagram, its source and the drop count.
    pub(super) fn recvmsg(socket: &UdpSocket, buf: &mut [u8]) -> io::Result<Received> {
        let mut addr = socket2::SockAddrStorage::zeroed();
        let mut iov = libc::iovec {
            iov_base: buf.as_mut_ptr().cast(),
            iov_len: buf.len(),
        };
        // Room for one SO_RXQ_OVFL message (a u32), aligned for cmsghdr,
        // with plenty to spare.
        let mut control = [0u64; 16];
        // SAFETY: an all-zero msghdr is a valid value (null pointers,
        // zero lengths); every pointer set below outlives the call.
        let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
        msg.msg_name = (&mut addr as *mut socket2::SockAddrStorage).cast();
        msg.msg_namelen = addr.size_of();
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        msg.msg_control = control.as_mut_ptr().cast();
        msg.msg_controllen = size_of::<[u64; 16]>() as _;
        // SAFETY: `msg` points at live buffers of the lengths it states.
        let n = unsafe { libc::recvmsg(socket.as_raw_fd(), &mut msg, 0) };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        let mut drops = None;
        // SAFETY: the kernel filled `msg.msg_control` with well-formed
        // control messages of `msg.msg_controllen` bytes (it clears
        // MSG_CTRUNC room it could not use); the CMSG macros walk them
        // within those bounds, and the u32 is read unaligned.
        unsafe {
            let mut cmsg = libc::CMSG_FIRSTHDR(&msg);
            while !cmsg.is_null() {
                let c = &*cmsg;
                if c.cmsg_level == libc::SOL_SOCKET
                    && c.cmsg_type == libc::SO_RXQ_OVFL
                    && c.cmsg_len as usize >= libc::CMSG_LEN(size_of::<u32>() as u32) as usize
                {
                    drops = Some(std::ptr::read_unaligned(
                        libc::CMSG_DATA(cmsg).cast::<u32>(),
                    ));
                }
                cmsg = libc::CMSG_NXTHDR(&msg, cmsg);
            }
        }
        // SAFETY: the kernel wrote a socket address of `msg_namelen`
        // bytes into `addr` (a sockaddr_storage, zeroed before).
        let from = unsafe { socket2::SockAddr::new(addr, msg.msg_namelen) }
            .as_socket()
            .ok_or_else(|| io::Error::other("datagram from a non-IP address"))?;
        Ok(Received {
            len: n as usize,
            from,
            drops,
        })
    }
}

/// Turns the kernel's wrapping drop counts into a total.
#[derive(Debug, Default)]
pub(crate) struct DropCounter {
    last: u32,
}

impl DropCounter {
    /// The drops since the last count seen (the count only grows, modulo
    /// 2^32).
    pub(crate) fn update(&mut self, count: u32) -> u64 {
        let new = count.wrapping_sub(self.last);
        self.last = count;
        u64::from(new)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_wrap() {
        let mut c = DropCounter::default();
        assert_eq!(c.update(5), 5);
        assert_eq!(c.update(5), 0);
        assert_eq!(c.update(9), 4);
        let mut c = DropCounter { last: u32::MAX - 1 };
        assert_eq!(c.update(3), 5);
    }
}
