//! The raw-UDP baseline: the bench's roles over a bare socket, opened with
//! the same calls and options as an eventcast node's (socket2: address and
//! port reuse, the receive buffer asked for and forced past
//! `net.core.rmem_max` where allowed, bind, join, multicast loopback, TTL,
//! IP_MULTICAST_ALL off), but blocking, with no protocol above it.
//!
//! A raw datagram starts with a 17-byte header of its own, then filler:
//!
//! | offset | size | field |
//! | --- | --- | --- |
//! | 0 | 1 | kind: `S` start, `D` data, `P` ping, `Q` pong |
//! | 1 | 8 | event number (ping: sequence number) |
//! | 9 | 4 | datagram index within the event |
//! | 13 | 4 | datagrams in the event |
//!
//! An event that fits one datagram (`--size` up to `--max-payload-size`,
//! figure 1's 64 bytes) is one datagram of `--size` bytes (at least 17).
//! A larger one is cut as eventcast cuts its body: the body's length in
//! chunks of `--max-payload-size`, each sent with a 33-byte header, so both
//! transports move the same datagrams. With `--owned`, those events are
//! copied into fresh memory on both sides as a protocol's must be
//! (`owned.rs`).

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use anyhow::{anyhow, Context as _};
use socket2::{Domain, Protocol, Socket, Type};

use super::owned::{self, OwnedBodies, OwnedSender};
use super::proto::{self, Pacer, Pinged, Received, Sent, Spec, Tally};
use super::stamps::{self, Arrivals};
use super::stats;

/// Bytes of the raw header.
pub(crate) const HEADER: usize = 17;
/// eventcast's data header, which the raw datagrams of large events mimic.
const EVENTCAST_HEADER: usize = 33;

const KIND_START: u8 = b'S';
const KIND_DATA: u8 = b'D';
pub(crate) const KIND_PING: u8 = b'P';
pub(crate) const KIND_PONG: u8 = b'Q';

/// How long a blocking receive waits before the role checks whether it
/// is done.
pub(crate) const POLL: Duration = Duration::from_millis(5);

/// How long a ping waits for its pong.
pub(crate) const PING_TIMEOUT: Duration = Duration::from_millis(200);

/// A joined socket and where the group is.
pub(crate) struct Joined {
    /// The socket, blocking, with a read timeout of [`POLL`].
    pub(crate) socket: UdpSocket,
    /// Where to send.
    pub(crate) group: SocketAddr,
    /// What the kernel granted.
    pub(crate) recv_buffer: usize,
}

/// Opens a socket as `eventcast::socket::open` does, blocking.
pub(crate) fn open(spec: &Spec) -> anyhow::Result<Joined> {
    let domain = if spec.group.is_ipv4() {
        Domain::IPV4
    } else {
        Domain::IPV6
    };
    let socket = Socket::new(domain, Type::DGRAM, Some(Protocol::UDP))
        .context("cannot create a UDP socket")?;
    socket.set_reuse_address(true).context("SO_REUSEADDR")?;
    socket.set_reuse_port(true).context("SO_REUSEPORT")?;
    let wanted = spec
        .recv_buffer
        .unwrap_or(eventcast::Config::default().recv_buffer_size);
    let recv_buffer = grow_recv_buffer(&socket, wanted);
    let any = match spec.group {
        IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
    };
    let bind = SocketAddr::new(any, spec.port);
    socket
        .bind(&bind.into())
        .with_context(|| format!("cannot bind {bind}"))?;
    let mut group = SocketAddr::new(spec.group, spec.port);
    match spec.group {
        IpAddr::V4(g) => {
            let iface = match &spec.interface {
                Some(name) => interface_v4(name)?,
                None => Ipv4Addr::UNSPECIFIED,
            };
            socket
                .join_multicast_v4(&g, &iface)
                .with_context(|| format!("cannot join {g} on {iface}"))?;
            if spec.interface.is_some() {
                socket
                    .set_multicast_if_v4(&iface)
                    .context("IP_MULTICAST_IF")?;
            }
            socket
                .set_multicast_loop_v4(true)
                .context("IP_MULTICAST_LOOP")?;
            socket
                .set_multicast_ttl_v4(spec.ttl)
                .context("IP_MULTICAST_TTL")?;
            #[cfg(target_os = "linux")]
            socket
                .set_multicast_all_v4(false)
                .context("IP_MULTICAST_ALL")?;
        }
        IpAddr::V6(g) => {
            let index = match &spec.interface {
                Some(name) => interface_v6(name)?,
                None => 0,
            };
            socket
                .join_multicast_v6(&g, index)
                .with_context(|| format!("cannot join {g} on interface {index}"))?;
            if index != 0 {
                socket
                    .set_multicast_if_v6(index)
                    .context("IPV6_MULTICAST_IF")?;
                group = SocketAddr::V6(std::net::SocketAddrV6::new(g, spec.port, 0, index));
            }
            socket
                .set_multicast_loop_v6(true)
                .context("IPV6_MULTICAST_LOOP")?;
            socket
                .set_multicast_hops_v6(spec.ttl)
                .context("IPV6_MULTICAST_HOPS")?;
            #[cfg(target_os = "linux")]
            socket
                .set_multicast_all_v6(false)
                .context("IPV6_MULTICAST_ALL")?;
        }
    }
    socket.set_read_timeout(Some(POLL)).context("SO_RCVTIMEO")?;
    Ok(Joined {
        socket: socket.into(),
        group,
        recv_buffer,
    })
}

/// Asks for `wanted` bytes of receive buffer as the library does (then
/// SO_RCVBUFFORCE when the kernel granted less); what was granted.
fn grow_recv_buffer(socket: &Socket, wanted: usize) -> usize {
    let _ = socket.set_recv_buffer_size(wanted);
    let granted = socket.recv_buffer_size().unwrap_or(0);
    if granted >= wanted {
        return granted;
    }
    force_recv_buffer(socket, wanted);
    socket.recv_buffer_size().unwrap_or(0)
}

#[cfg(target_os = "linux")]
fn force_recv_buffer(socket: &Socket, wanted: usize) {
    use std::os::fd::AsRawFd;
    let size = libc::c_int::try_from(wanted).unwrap_or(libc::c_int::MAX);
    // SAFETY: a valid socket descriptor and a c_int option value of the
    // size passed; failure (no CAP_NET_ADMIN) is harmless and ignored, as
    // in the library.
    let _ = unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_RCVBUFFORCE,
            (&size as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
}

#[cfg(not(target_os = "linux"))]
fn force_recv_buffer(_: &Socket, _: usize) {}

fn interface_v4(name: &str) -> anyhow::Result<Ipv4Addr> {
    if let Ok(ip) = name.parse::<Ipv4Addr>() {
        return Ok(ip);
    }
    if_addrs::get_if_addrs()
        .context("cannot list interfaces")?
        .into_iter()
        .filter(|i| i.name == name)
        .find_map(|i| match i.ip() {
            IpAddr::V4(a) => Some(a),
            IpAddr::V6(_) => None,
        })
        .ok_or_else(|| anyhow!("no interface {name} with an IPv4 address"))
}

fn interface_v6(name: &str) -> anyhow::Result<u32> {
    let wanted: Option<IpAddr> = name.parse().ok();
    if_addrs::get_if_addrs()
        .context("cannot list interfaces")?
        .into_iter()
        .filter(|i| i.name == name || Some(i.ip()) == wanted)
        .find_map(|i| i.index)
        .ok_or_else(|| anyhow!("no interface {name}"))
}

/// How the events of a spec are cut into datagrams.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Shape {
    /// Datagrams per event.
    count: u32,
    /// Bytes of each datagram but the last.
    full: usize,
    /// Bytes of the last.
    last: usize,
    /// Bytes each datagram carries past its header, counted as delivered
    /// (the whole datagram for one-datagram events).
    header: usize,
}

impl Shape {
    fn of(spec: &Spec) -> anyhow::Result<Self> {
        if spec.size <= spec.max_payload_size {
            let len = spec.size.max(HEADER);
            return Ok(Shape {
                count: 1,
                full: len,
                last: len,
                header: 0,
            });
        }
        let body = proto::body_len(spec.size);
        let chunk = spec.max_payload_size;
        let count = u32::try_from(body.div_ceil(chunk)).context("too many datagrams")?;
        Ok(Shape {
            count,
            full: EVENTCAST_HEADER + chunk,
            last: EVENTCAST_HEADER + (body - chunk * (count as usize - 1)),
            header: EVENTCAST_HEADER,
        })
    }
}

/// Writes the raw header at the start of `buf`.
pub(crate) fn write_header(buf: &mut [u8], kind: u8, event: u64, index: u32, count: u32) {
    buf[0] = kind;
    buf[1..9].copy_from_slice(&event.to_be_bytes());
    buf[9..13].copy_from_slice(&index.to_be_bytes());
    buf[13..17].copy_from_slice(&count.to_be_bytes());
}

/// A raw datagram's header fields, if it has one.
pub(crate) fn read_header(datagram: &[u8]) -> Option<(u8, u64, u32, u32)> {
    let (head, _) = datagram.split_first_chunk::<HEADER>()?;
    let kind = head[0];
    let event = u64::from_be_bytes(head[1..9].try_into().ok()?);
    let index = u32::from_be_bytes(head[9..13].try_into().ok()?);
    let count = u32::from_be_bytes(head[13..17].try_into().ok()?);
    Some((kind, event, index, count))
}

/// `--role send --transport raw`.
pub(crate) fn send(spec: &Spec) -> anyhow::Result<()> {
    let stop = proto::stop_signal(spec.controlled);
    let joined = open(spec)?;
    let shape = Shape::of(spec)?;
    let mut buf = vec![0x78u8; shape.full.max(HEADER)];
    let owner =
        (spec.owned && shape.count > 1).then(|| OwnedSender::new(proto::body_len(spec.size)));
    let group = socket2::SockAddr::from(joined.group);
    let mut errors = 0u64;
    let mut sendto = |parts: &[std::io::IoSlice<'_>]| {
        let sent = match parts {
            [whole] => joined.socket.send_to(whole, joined.group),
            parts => socket2::SockRef::from(&joined.socket).send_to_vectored(parts, &group),
        };
        if sent.is_err() {
            errors += 1;
        }
    };
    let marked = Instant::now();
    write_header(&mut buf, KIND_START, spec.events, 0, 1);
    sendto(&[std::io::IoSlice::new(&buf[..HEADER])]);
    std::thread::sleep(proto::LEAD);
    let t0 = Instant::now();
    let start_ns = stamps::monotonic_ns();
    let lead_secs = t0.duration_since(marked).as_secs_f64();
    let pacer = Pacer::new(t0, spec.rate);
    let mut sent_ns = Vec::new();
    for event in 0..spec.events {
        if let Some(wait) = pacer.delay(event, Instant::now) {
            std::thread::sleep(wait);
        }
        if event > 0 && !spec.interval.is_zero() {
            std::thread::sleep(spec.interval);
        }
        if spec.stamped {
            sent_ns.extend(stamps::monotonic_ns());
        }
        let mut body = owner.as_ref().map(OwnedSender::body);
        for index in 0..shape.count {
            let len = if index + 1 == shape.count {
                shape.last
            } else {
                shape.full
            };
            write_header(&mut buf, KIND_DATA, event, index, shape.count);
            match (&owner, &mut body) {
                (Some(owner), Some(body)) => {
                    let start = index as usize * (shape.full - shape.header);
                    let payload = len - shape.header;
                    owner.fill(body, start + payload);
                    sendto(&owned::parts(&buf[..shape.header], body, start, payload));
                }
                _ => sendto(&[std::io::IoSlice::new(&buf[..len])]),
            }
        }
    }
    let secs = t0.elapsed().as_secs_f64();
    proto::report(
        "sent",
        &Sent {
            events: spec.events,
            secs,
            lead_secs,
            start_ns,
            send_errors: errors,
            sent_ns,
            shared_messages: None,
        },
    )?;
    linger(spec, &stop);
    Ok(())
}

/// Waits for the parent's word (controlled) or `--linger-ms`.
fn linger(spec: &Spec, stop: &std::sync::atomic::AtomicBool) {
    if spec.controlled {
        while !stop.load(Ordering::SeqCst) {
            std::thread::sleep(POLL);
        }
    } else {
        std::thread::sleep(spec.linger);
    }
}

/// `--role recv --transport raw`.
pub(crate) fn receive(spec: &Spec) -> anyhow::Result<()> {
    let joined = open(spec)?;
    let shape = Shape::of(spec)?;
    let stop = proto::stop_signal(spec.controlled);
    proto::ready();
    let mut buf = vec![0u8; 65_536];
    let mut tally = Tally::new(Instant::now());
    let mut partial: HashMap<u64, u32> = HashMap::new();
    let mut arrivals = Arrivals::new(spec.stamped, spec.events);
    let mut bodies = (spec.owned && shape.count > 1).then(OwnedBodies::default);
    let body_len = proto::body_len(spec.size);
    let mut datagrams = 0u64;
    let mut stopped_at = None;
    loop {
        let received = joined.socket.recv_from(&mut buf);
        // The clock is read for what is not data, and for data only when
        // the tally asks (as eventcast's receiver does: `Tally::count`).
        let mut now = None;
        if let Ok((len, _)) = received {
            match read_header(&buf[..len]) {
                Some((KIND_START, ..)) => tally.start(*now.insert(Instant::now())),
                Some((KIND_DATA, event, index, count)) if count == shape.count => {
                    datagrams += 1;
                    if let Some(bodies) = bodies.as_mut() {
                        let payload = buf.get(shape.header..len).unwrap_or_default();
                        let chunk = shape.full - shape.header;
                        bodies.put(event, index, chunk, body_len, payload);
                    }
                    let complete = if count == 1 {
                        1
                    } else {
                        let have = partial.entry(event).or_insert(0);
                        *have += 1;
                        if *have == count {
                            partial.remove(&event);
                            1
                        } else {
                            0
                        }
                    };
                    if complete == 1 {
                        if let Some(bodies) = bodies.as_mut() {
                            bodies.finish(event);
                        }
                        arrivals.arrived(event);
                    }
                    let bytes = if shape.header == 0 {
                        len
                    } else {
                        len.saturating_sub(shape.header)
                    };
                    if tally.count(bytes as u64, complete, spec.events) {
                        tally.stamp(*now.insert(Instant::now()));
                    }
                }
                _ => tally.activity(*now.insert(Instant::now())),
            }
        }
        if received.is_err() {
            // Timed out: what was counted unstamped is activity.
            tally.idle(*now.insert(Instant::now()));
        }
        let Some(now) = now else {
            // Data, not stamped: the next stamp or time-out looks again
            // (the arrival that completes the last event is stamped).
            continue;
        };
        if stopped_at.is_none() && stop.load(Ordering::SeqCst) {
            stopped_at = Some(now);
        }
        if tally.done(now, spec, stopped_at) {
            break;
        }
    }
    proto::report(
        "result",
        &Received {
            events: tally.events,
            bytes: tally.bytes,
            secs: tally.secs(),
            from_start: tally.started(),
            last_ns: tally.last_ns(),
            datagrams,
            recv_buffer: joined.recv_buffer as u64,
            peak_rss_kib: proto::peak_rss_kib(),
            arrived_ns: arrivals.into_vec(),
            owned: bodies.as_ref().map(OwnedBodies::done),
        },
    )
}

/// `--role ping --transport raw`.
pub(crate) fn ping(spec: &Spec) -> anyhow::Result<()> {
    let joined = open(spec)?;
    let len = spec.size.max(HEADER);
    let mut out = vec![0x78u8; len];
    let mut buf = vec![0u8; 65_536];
    let mut trips = RoundTrips::new(spec.pings);
    for seq in 0..trips.total() {
        write_header(&mut out, KIND_PING, seq, 0, 1);
        let t0 = Instant::now();
        joined
            .socket
            .send_to(&out, joined.group)
            .context("cannot send a ping")?;
        let answered = loop {
            let left = PING_TIMEOUT.saturating_sub(t0.elapsed());
            if left.is_zero() {
                break false;
            }
            joined.socket.set_read_timeout(Some(left))?;
            let Ok((n, _)) = joined.socket.recv_from(&mut buf) else {
                continue;
            };
            if matches!(read_header(&buf[..n]), Some((KIND_PONG, s, ..)) if s == seq) {
                break true;
            }
        };
        trips.record(seq, t0, answered);
    }
    trips.report()
}

/// A pinger's tally over `warmup(pings) + pings` round trips: the first
/// ones warm up and are not counted.
pub(crate) struct RoundTrips {
    warmup: u64,
    pings: u64,
    samples: Vec<f64>,
    lost: u64,
}

impl RoundTrips {
    /// A tally for `pings` counted round trips.
    pub(crate) fn new(pings: u64) -> Self {
        RoundTrips {
            warmup: warmup(pings),
            pings,
            samples: Vec::with_capacity(pings as usize),
            lost: 0,
        }
    }

    /// Round trips to make in all, the warm-up included.
    pub(crate) fn total(&self) -> u64 {
        self.warmup + self.pings
    }

    /// Round trip `n` (from 0), started at `t0`, was answered or not.
    pub(crate) fn record(&mut self, n: u64, t0: Instant, answered: bool) {
        if n < self.warmup {
            return;
        }
        if answered {
            self.samples.push(t0.elapsed().as_secs_f64() * 1e6);
        } else {
            self.lost += 1;
        }
    }

    /// Round trips counted so far: answered, lost.
    #[cfg(test)]
    pub(crate) fn counts(&self) -> (usize, u64) {
        (self.samples.len(), self.lost)
    }

    /// Prints the result line.
    pub(crate) fn report(self) -> anyhow::Result<()> {
        proto::report("result", &pinged(self.samples, self.lost))
    }
}

/// Round trips not counted at the start of a ping run: the first ones
/// warm caches and wake the other process.
pub(crate) fn warmup(pings: u64) -> u64 {
    (pings / 10).min(100)
}

/// The pinger's report from its samples (microseconds).
pub(crate) fn pinged(samples: Vec<f64>, lost: u64) -> Pinged {
    let sorted = stats::sorted_finite(&samples);
    Pinged {
        samples: sorted.len() as u64,
        lost,
        p50_us: stats::percentile(&sorted, 50.0),
        p99_us: stats::percentile(&sorted, 99.0),
    }
}

/// `--role pong --transport raw`.
pub(crate) fn pong(spec: &Spec) -> anyhow::Result<()> {
    let joined = open(spec)?;
    let stop = proto::stop_signal(spec.controlled);
    proto::ready();
    let mut buf = vec![0u8; 65_536];
    let began = Instant::now();
    let mut last_ping: Option<Instant> = None;
    let mut answered = 0u64;
    loop {
        if let Ok((n, _)) = joined.socket.recv_from(&mut buf) {
            if let Some((KIND_PING, ..)) = read_header(&buf[..n]) {
                buf[0] = KIND_PONG;
                let _ = joined.socket.send_to(&buf[..n], joined.group);
                last_ping = Some(Instant::now());
                answered += 1;
            }
        }
        if pong_done(spec, stop.load(Ordering::SeqCst), began, last_ping) {
            break;
        }
    }
    proto::say(&format!("answered {answered} pings"));
    Ok(())
}

/// Whether a `pong` role is done: its parent said so (controlled), or
/// (a person's run) it heard nothing for `--linger-ms` after the last ping,
/// or no ping at all for `--wait-secs`.
pub(crate) fn pong_done(
    spec: &Spec,
    stopped: bool,
    began: Instant,
    last_ping: Option<Instant>,
) -> bool {
    if spec.controlled {
        return stopped;
    }
    match last_ping {
        Some(t) => t.elapsed() >= spec.linger,
        None => began.elapsed() >= spec.wait,
    }
}

#[cfg(test)]
mod tests;
