//! The multicast socket: bind with address reuse, join the group on the
//! chosen interface, apply loopback and TTL, ask for a large receive buffer;
//! and, for the native protocol, a second socket the node sends on alone
//! ([`Opened::sender`]).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use socket2::{Domain, Protocol, Socket, Type};
use tracing::{debug, info, warn};

use crate::config::Config;
use crate::error::{ConfigError, Error};
use crate::wire_protocol::WireProtocol;

/// The interface a node joins and sends on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Interface {
    /// The system's choice.
    Default,
    /// An IPv4 interface address.
    V4(Ipv4Addr),
    /// An IPv6 interface index.
    V6Index(u32),
}

/// An open, joined socket and what the kernel granted.
pub(crate) struct Opened {
    pub(crate) socket: std::net::UdpSocket,
    /// The socket the node sends on, if not `socket` (see
    /// [`open_sender`]).
    pub(crate) sender: Option<std::net::UdpSocket>,
    pub(crate) local_addr: SocketAddr,
    pub(crate) group: SocketAddr,
    pub(crate) recv_buffer_size: usize,
    /// The kernel hands over a sender's GSO message whole (`UDP_GRO`).
    pub(crate) coalesced: bool,
}

/// Opens the node's socket on `port`.
pub(crate) fn open(config: &Config, port: u16) -> Result<Opened, Error> {
    let group_ip = config.multicast_membership;
    let interface = resolve_interface(config)?;
    let domain = if group_ip.is_ipv4() {
        Domain::IPV4
    } else {
        Domain::IPV6
    };
    let socket = shared_socket(domain)?;
    let recv_buffer_size = grow_recv_buffer(&socket, config.recv_buffer_size);
    if let Err(e) = report_drops(&socket) {
        warn!(target: "eventcast", error = %e, "cannot set SO_RXQ_OVFL: kernel drops will not be counted");
    }
    // 0.1.x peers send one datagram per call: their path stays as it was.
    let coalesced = config.wire_protocol == WireProtocol::Native
        && match coalesce(&socket) {
            Ok(on) => on,
            Err(e) => {
                debug!(target: "eventcast", error = %e, "no UDP_GRO: one message per datagram");
                false
            }
        };

    let bind = SocketAddr::new(config.address, port);
    socket
        .bind(&bind.into())
        .map_err(|e| Error::io(format!("cannot bind {bind}"), e))?;

    match (group_ip, interface) {
        (IpAddr::V4(group), interface) => {
            let iface = match interface {
                Interface::V4(a) => a,
                _ => Ipv4Addr::UNSPECIFIED,
            };
            socket
                .join_multicast_v4(&group, &iface)
                .map_err(|e| Error::io(format!("cannot join {group} on {iface}"), e))?;
            #[cfg(target_os = "linux")]
            socket
                .set_multicast_all_v4(false)
                .map_err(|e| Error::io("cannot clear IP_MULTICAST_ALL", e))?;
        }
        (IpAddr::V6(group), interface) => {
            let index = match interface {
                Interface::V6Index(i) => i,
                _ => 0,
            };
            socket
                .join_multicast_v6(&group, index)
                .map_err(|e| Error::io(format!("cannot join {group} on interface {index}"), e))?;
            #[cfg(target_os = "linux")]
            socket
                .set_multicast_all_v6(false)
                .map_err(|e| Error::io("cannot clear IPV6_MULTICAST_ALL", e))?;
        }
    }
    set_sending(&socket, config, interface)?;
    // Where the joined socket is bound (its port, should it have been
    // given 0).
    let bound = socket.local_addr().ok().and_then(|a| a.as_socket());
    let sender = match bound {
        Some(bound) if cfg!(unix) && config.wire_protocol == WireProtocol::Native => {
            open_sender(config, domain, interface, bound)
        }
        _ => None,
    };
    socket
        .set_nonblocking(true)
        .map_err(|e| Error::io("cannot make the socket non-blocking", e))?;
    let socket: std::net::UdpSocket = socket.into();
    let local_addr = socket
        .local_addr()
        .map_err(|e| Error::io("cannot read the bound address", e))?;
    let group = match (group_ip, interface) {
        (IpAddr::V6(g), Interface::V6Index(i)) => {
            SocketAddr::V6(std::net::SocketAddrV6::new(g, port, 0, i))
        }
        (g, _) => SocketAddr::new(g, port),
    };
    info!(
        target: "eventcast",
        %local_addr, %group, interface = ?interface, ttl = config.multicast_ttl,
        loopback = config.multicast_loopback, recv_buffer_size, "joined"
    );
    Ok(Opened {
        socket,
        sender,
        local_addr,
        group,
        recv_buffer_size,
        coalesced,
    })
}

/// A UDP socket of `domain` that may share its port with others (nodes on
/// one host, and a node's own two sockets): `SO_REUSEADDR`, and
/// `SO_REUSEPORT` where there is one.
fn shared_socket(domain: Domain) -> Result<Socket, Error> {
    let socket = Socket::new(domain, Type::DGRAM, Some(Protocol::UDP))
        .map_err(|e| Error::io("cannot create a UDP socket", e))?;
    socket
        .set_reuse_address(true)
        .map_err(|e| Error::io("cannot set SO_REUSEADDR", e))?;
    #[cfg(all(unix, not(any(target_os = "solaris", target_os = "illumos"))))]
    socket
        .set_reuse_port(true)
        .map_err(|e| Error::io("cannot set SO_REUSEPORT", e))?;
    Ok(socket)
}

/// Sets how `socket` sends to the group: on the configured interface (the
/// system's choice if none), with the configured loopback and TTL (hop
/// limit).
fn set_sending(socket: &Socket, config: &Config, interface: Interface) -> Result<(), Error> {
    if config.multicast_membership.is_ipv4() {
        if let Interface::V4(iface) = interface {
            socket
                .set_multicast_if_v4(&iface)
                .map_err(|e| Error::io(format!("cannot send on interface {iface}"), e))?;
        }
        socket
            .set_multicast_loop_v4(config.multicast_loopback)
            .map_err(|e| Error::io("cannot set IP_MULTICAST_LOOP", e))?;
        socket
            .set_multicast_ttl_v4(config.multicast_ttl)
            .map_err(|e| Error::io("cannot set IP_MULTICAST_TTL", e))?;
    } else {
        if let Interface::V6Index(index) = interface {
            socket
                .set_multicast_if_v6(index)
                .map_err(|e| Error::io(format!("cannot send on interface {index}"), e))?;
        }
        socket
            .set_multicast_loop_v6(config.multicast_loopback)
            .map_err(|e| Error::io("cannot set IPV6_MULTICAST_LOOP", e))?;
        socket
            .set_multicast_hops_v6(config.multicast_ttl)
            .map_err(|e| Error::io("cannot set IPV6_MULTICAST_HOPS", e))?;
    }
    Ok(())
}

/// A socket for the node's sends alone: bound where the joined socket is
/// (`bind`, with address reuse), so that its datagrams leave from the same
/// address and port, but a member of no group, taking no group's datagrams
/// (`IP_MULTICAST_ALL` off) and dropping whatever else comes to it (a
/// socket filter, on Linux), sending as the joined socket does
/// ([`set_sending`]); none if the system refuses one (the node then sends
/// on its joined socket, as the legacy protocol's nodes do).
///
/// The joined socket is watched by tokio's epoll for reading, and Linux
/// calls into epoll on every send from a watched socket too: freeing a
/// sent datagram's room (`sock_wfree`, within the send call on loopback)
/// wakes the socket's waiters for writing, and epoll's callback takes its
/// lock before it finds the node watches for reading alone. In figure 2's
/// round trip that was 8% of the pong's `sendmmsg` samples; a socket
/// nothing watches skips it (p50 8.2-8.8 us against 8.6-9.3, six pairs,
/// with a first version of it on an ephemeral port, 9e5be05).
///
/// A unicast datagram to the node's port may now go to this socket (the
/// kernel spreads unicast over the sockets of a port that share it with
/// `SO_REUSEPORT`), which drops it: the native protocol sends none. The
/// legacy protocol keeps one socket: it reads unicast (repair requests
/// and answers) on the port it sends from.
fn open_sender(
    config: &Config,
    domain: Domain,
    interface: Interface,
    bind: SocketAddr,
) -> Option<std::net::UdpSocket> {
    let opened = (|| {
        let socket = shared_socket(domain)?;
        #[cfg(target_os = "linux")]
        if domain == Domain::IPV4 {
            socket
                .set_multicast_all_v4(false)
                .map_err(|e| Error::io("cannot clear IP_MULTICAST_ALL", e))?;
        } else {
            socket
                .set_multicast_all_v6(false)
                .map_err(|e| Error::io("cannot clear IPV6_MULTICAST_ALL", e))?;
        }
        #[cfg(any(target_os = "linux", target_os = "android"))]
        crate::self_filter::drop_all(&socket)
            .map_err(|e| Error::io("cannot attach a socket filter", e))?;
        set_sending(&socket, config, interface)?;
        socket
            .bind(&bind.into())
            .map_err(|e| Error::io(format!("cannot bind {bind}"), e))?;
        socket
            .set_nonblocking(true)
            .map_err(|e| Error::io("cannot make the socket non-blocking", e))?;
        Ok::<_, Error>(std::net::UdpSocket::from(socket))
    })();
    match opened {
        Ok(socket) => Some(socket),
        Err(e) => {
            warn!(target: "eventcast", error = %e, "no socket of its own for sending: sending on the joined socket");
            None
        }
    }
}

/// Asks for `wanted` bytes of receive buffer and returns what the kernel
/// granted. Linux caps the request at `net.core.rmem_max`; a process with
/// CAP_NET_ADMIN may go past it with SO_RCVBUFFORCE, which is tried.
fn grow_recv_buffer(socket: &Socket, wanted: usize) -> usize {
    if let Err(e) = socket.set_recv_buffer_size(wanted) {
        warn!(target: "eventcast", error = %e, "cannot set SO_RCVBUF");
    }
    // Linux reports double the requested size (bookkeeping included).
    let granted = socket.recv_buffer_size().unwrap_or(0);
    #[cfg(target_os = "linux")]
    if granted < wanted {
        force_recv_buffer(socket, wanted);
        let forced = socket.recv_buffer_size().unwrap_or(0);
        if forced < wanted {
            warn!(
                target: "eventcast",
                wanted, granted = forced,
                "receive buffer smaller than asked for; raise net.core.rmem_max to avoid losses in bursts"
            );
        }
        return forced;
    }
    debug!(target: "eventcast", wanted, granted, "receive buffer");
    granted
}

#[cfg(target_os = "linux")]
fn force_recv_buffer(socket: &Socket, wanted: usize) {
    let size = libc::c_int::try_from(wanted).unwrap_or(libc::c_int::MAX);
    // Failure (no CAP_NET_ADMIN) is harmless: the caller reports the size.
    let _ = set_socket_option(socket, libc::SO_RCVBUFFORCE, size);
}

/// Asks the kernel to attach its count of datagrams dropped for this
/// socket (receive buffer full) to every datagram received: Linux
/// `SO_RXQ_OVFL`, read by [`recv`](crate::recv). Elsewhere, nothing.
fn report_drops(socket: &Socket) -> std::io::Result<()> {
    #[cfg(target_os = "linux")]
    return set_socket_option(socket, libc::SO_RXQ_OVFL, 1);
    #[cfg(not(target_os = "linux"))]
    {
        let _ = socket;
        Ok(())
    }
}

/// Asks Linux to hand over the datagrams of one GSO message (a sender's
/// run of equal segments, `UDP_SEGMENT`; from a network card, datagrams
/// of one flow that arrive together, which the kernel's GRO then puts
/// together for this socket) as one message, read
/// with the size of each (`UDP_GRO`, Linux 5.0): one buffer queued and
/// one read for up to 64 datagrams. Whether it took (not elsewhere).
fn coalesce(socket: &Socket) -> std::io::Result<bool> {
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::AsRawFd;
        crate::mmsg::set_option(socket.as_raw_fd(), libc::SOL_UDP, libc::UDP_GRO, 1).map(|()| true)
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = socket;
        Ok(false)
    }
}

/// Sets the `SOL_SOCKET` option `name` to the int `value`.
#[cfg(target_os = "linux")]
fn set_socket_option(
    socket: &Socket,
    name: libc::c_int,
    value: libc::c_int,
) -> std::io::Result<()> {
    use std::os::fd::AsRawFd;
    crate::mmsg::set_option(socket.as_raw_fd(), libc::SOL_SOCKET, name, value)
}

/// The IPv4 address of the configured multicast interface, or `None` for
/// the system's choice (or an IPv6 group).
pub(crate) fn multicast_interface_v4(config: &Config) -> Result<Option<Ipv4Addr>, Error> {
    Ok(match resolve_interface(config)? {
        Interface::V4(a) => Some(a),
        _ => None,
    })
}

fn resolve_interface(config: &Config) -> Result<Interface, Error> {
    let Some(wanted) = config.multicast_interface.as_deref() else {
        return Ok(Interface::Default);
    };
    let v4 = config.multicast_membership.is_ipv4();
    if let Ok(ip) = wanted.parse::<IpAddr>() {
        return match ip {
            IpAddr::V4(a) if v4 => Ok(Interface::V4(a)),
            IpAddr::V6(a) if !v4 => find(|i| i.ip() == IpAddr::V6(a), wanted, v4),
            _ => Err(ConfigError::FamilyMismatch {
                address: ip,
                group: config.multicast_membership,
            }
            .into()),
        };
    }
    find(|i| i.name == wanted, wanted, v4)
}

fn find(
    pred: impl Fn(&if_addrs::Interface) -> bool,
    wanted: &str,
    v4: bool,
) -> Result<Interface, Error> {
    let all = if_addrs::get_if_addrs().map_err(|e| Error::io("cannot list interfaces", e))?;
    let hit = all.iter().filter(|i| pred(i)).find_map(|i| match i.ip() {
        IpAddr::V4(a) if v4 => Some(Interface::V4(a)),
        IpAddr::V6(_) if !v4 => i.index.map(Interface::V6Index),
        _ => None,
    });
    hit.ok_or_else(|| {
        let mut available: Vec<String> = all
            .iter()
            .map(|i| format!("{} ({})", i.name, i.ip()))
            .collect();
        available.dedup();
        ConfigError::UnknownInterface {
            name: wanted.to_owned(),
            available: available.join(", "),
        }
        .into()
    })
}
