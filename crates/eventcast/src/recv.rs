//! Receiving a datagram, with the kernel's count of datagrams it dropped
//! for this socket where the OS reports it (Linux `SO_RXQ_OVFL`: a
//! receive buffer that was full).

use std::io;
use std::net::SocketAddr;

use crate::node_socket::NodeSocket;

/// One message read from the socket: a datagram, or several of one
/// sender that the kernel handed over together (UDP GRO).
pub(crate) struct Received {
    /// Its slot in the batch's buffers.
    slot: usize,
    /// Its length in the buffer.
    len: usize,
    /// The size of each of its datagrams when it holds several (the last
    /// one may be shorter); 0 when it is one.
    segment: usize,
    /// Where it came from.
    pub(crate) from: SocketAddr,
    /// The kernel's count of datagrams dropped for this socket since it
    /// was opened, as it stood when this one was queued (wraps at 2^32),
    /// if the kernel said (Linux says only once the count is not 0).
    pub(crate) drops: Option<u32>,
}

/// The largest datagram the socket reads.
const RECV_BUFFER: usize = 65_536;

/// Messages one read takes at most (Linux `recvmmsg`; one elsewhere): a
/// message is a datagram, or several handed over together ([`Received`]).
#[cfg(target_os = "linux")]
const RECV_BATCH: usize = crate::mmsg::MAX_RECV;
#[cfg(not(target_os = "linux"))]
const RECV_BATCH: usize = 1;

/// A read takes about this many bytes at most (and at least one
/// datagram), judged by the largest datagram of the read before, when a
/// whole batch of such datagrams would pass [`BATCH_BYTES`]: two of
/// 65,000 bytes, and a whole batch of 8,192 or fewer. While a large event
/// streams in at 65,000-byte datagrams, each read's segments are then put
/// together while the sender still sends the next ones, from slots still
/// in the cache, rather than all after one read that lasted as long as
/// the sending (`recvmmsg` takes what arrives meanwhile).
const READ_BYTES: usize = 128 * 1024;

/// A whole batch of datagrams up to this many bytes is read at once:
/// reads of 15 datagrams of 8,192 bytes made figure 3's 1 MiB event at
/// 8,192 B slower (1.60-1.73 ms against 1.06-1.53, medians), where 32 of
/// them stay in the cache anyway.
const BATCH_BYTES: usize = 512 * 1024;

/// The most messages a read takes from a socket that hands a sender's
/// GSO message over whole, however many single datagrams the reads before
/// it took: any of them may hold 64 KiB, and each slot a whole one fills
/// stays resident (eight: 512 KiB, [`BATCH_BYTES`]). Reads of small single
/// datagrams that came back full widened to a whole batch, and a burst's
/// GSO messages then filled most slots: about 1 MiB more peak RSS.
const COALESCING_MOST: usize = BATCH_BYTES / RECV_BUFFER;

/// Preallocated buffers for the datagrams of one read: [`RECV_BATCH`]
/// slots of [`RECV_BUFFER`] bytes, allocated once (on Linux, pages mapped
/// from the kernel: only what datagrams were written to, and what
/// [`new`](Self::new) touched, becomes resident), and what the last read
/// put in them.
pub(crate) struct RecvBatch {
    buf: Slots,
    got: Vec<Received>,
    /// `recvmmsg` works here (not so after `ENOSYS`).
    #[cfg_attr(not(target_os = "linux"), allow(dead_code))]
    batched: bool,
    /// Read system calls made, the datagrams they read, and fallbacks to
    /// one datagram per call, since the last [`take_counts`](Self::take_counts).
    counts: RecvCounts,
    /// The most messages the next read takes (see [`READ_BYTES`]).
    cap: usize,
    /// The most messages the last read could take.
    asked: usize,
    /// The socket may hand over a message of several datagrams, up to 64
    /// KiB (`UDP_GRO`).
    coalescing: bool,
}

/// What reading cost since the counts were last taken.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct RecvCounts {
    pub(crate) calls: u64,
    pub(crate) datagrams: u64,
    /// Messages of several datagrams (`UDP_GRO`).
    pub(crate) coalesced: u64,
    /// Messages dropped because the kernel cut their control messages
    /// short (`MSG_CTRUNC`; see [`keep`]).
    pub(crate) truncated: u64,
    pub(crate) fallbacks: u64,
}

/// The memory of the slots.
enum Slots {
    #[cfg(target_os = "linux")]
    Pages(crate::mmsg::Pages),
    Heap(Vec<u8>),
}

impl Slots {
    fn new(len: usize) -> Self {
        #[cfg(target_os = "linux")]
        if let Ok(pages) = crate::mmsg::Pages::new(len) {
            return Slots::Pages(pages);
        }
        Slots::Heap(vec![0; len])
    }

    fn bytes(&self) -> &[u8] {
        match self {
            #[cfg(target_os = "linux")]
            Slots::Pages(pages) => pages.bytes(),
            Slots::Heap(v) => v,
        }
    }

    fn bytes_mut(&mut self) -> &mut [u8] {
        match self {
            #[cfg(target_os = "linux")]
            Slots::Pages(pages) => pages.bytes_mut(),
            Slots::Heap(v) => v,
        }
    }
}

impl RecvBatch {
    /// Buffers for datagrams of up to `expected` bytes (the node's own
    /// size: larger ones are read too); the first read takes as many of
    /// those as [`fitting`] says. The part of each slot such a
    /// datagram fills is touched now, so that the first large event does
    /// not wait for the kernel to map it page by page: on a virtual
    /// machine, a page touched for the first time costs about 2 us, and a
    /// burst of 65,000-byte datagrams touches 16 per datagram. (With the
    /// default `max_payload_size` that is one page per slot.)
    /// `coalescing`: the socket hands a sender's GSO message over whole;
    /// reads then take two messages until reads of single datagrams come
    /// back full, and at most [`COALESCING_MOST`] (see
    /// [`took`](Self::took)).
    pub(crate) fn new(expected: usize, coalescing: bool) -> Self {
        let mut buf = Slots::new(RECV_BATCH * RECV_BUFFER);
        let touched = expected.clamp(1, RECV_BUFFER);
        for slot in buf.bytes_mut().chunks_mut(RECV_BUFFER) {
            slot[..touched].fill(0);
        }
        Self {
            buf,
            got: Vec::with_capacity(RECV_BATCH),
            batched: cfg!(target_os = "linux"),
            counts: RecvCounts::default(),
            cap: fitting(if coalescing { RECV_BUFFER } else { touched }),
            asked: RECV_BATCH,
            coalescing,
        }
    }

    /// The datagrams the last read took, in order, each with its bytes
    /// and the message it came in.
    pub(crate) fn datagrams(&self) -> impl Iterator<Item = (&Received, &[u8])> {
        self.got.iter().flat_map(|r| {
            let start = r.slot * RECV_BUFFER;
            let bytes = self
                .buf
                .bytes()
                .get(start..start + r.len.min(RECV_BUFFER))
                .unwrap_or_default();
            let size = if r.segment == 0 {
                bytes.len()
            } else {
                r.segment
            };
            (0..pieces(bytes.len(), size)).map(move |i| {
                let at = i * size;
                (
                    r,
                    bytes
                        .get(at..(at + size).min(bytes.len()))
                        .unwrap_or_default(),
                )
            })
        })
    }

    /// Whether the last read, which took `n` messages, took as many as
    /// it could: one that took fewer emptied the socket's queue.
    pub(crate) fn read_full(&self, n: usize) -> bool {
        n >= self.asked
    }

    /// The most messages the next read takes (of `max`).
    fn next_max(&self, max: usize) -> usize {
        if self.batched {
            max.clamp(1, self.cap)
        } else {
            1
        }
    }

    /// Counts the read that just took `n` messages, and sets how many the
    /// next one takes.
    fn took(&mut self, n: usize) {
        self.counts.calls += 1;
        let full = self.read_full(n);
        let mut largest = None;
        for r in &self.got {
            let len = r.len.min(RECV_BUFFER);
            let pieces = pieces(len, r.segment);
            self.counts.datagrams += pieces as u64;
            self.counts.coalesced += u64::from(pieces > 1);
            // After a message of several datagrams, or a read that emptied
            // a socket that hands them over, the next may hold up to 64
            // KiB: a read then takes as many as of the largest datagrams
            // (two), so that it stays within `READ_BYTES`, fills two slots'
            // pages, and its events go to the listeners in a few parts
            // (task.rs, `HANDLED_AT_ONCE`). Only reads that come back full
            // of single datagrams (statuses of many receivers, peers that
            // cannot send GSO) widen: to `COALESCING_MOST` on such a
            // socket, to a whole batch on one that does not coalesce.
            let judged = if pieces > 1 || (self.coalescing && !full) {
                RECV_BUFFER
            } else {
                len
            };
            largest = largest.max(Some(judged));
        }
        if full && self.asked < self.cap {
            // It asked for fewer than it could (a busy-poll's read, or
            // one near the turn's bound) and took them all: it says
            // nothing of how many wait, and the next takes as many as
            // before. (Widened, a poll's every hit doubled the reads of a
            // ping-pong, each empty read after it setting up a whole
            // batch of message headers.)
            return;
        }
        self.cap = next_cap(self.cap, n, largest, full);
        if self.coalescing {
            self.cap = self.cap.min(COALESCING_MOST);
        }
    }

    /// The counts since the last call.
    pub(crate) fn take_counts(&mut self) -> RecvCounts {
        std::mem::take(&mut self.counts)
    }
}

/// How many datagrams of `size` bytes (the last one shorter) a message of
/// `len` bytes holds: one when it is empty or `size` is 0.
fn pieces(len: usize, size: usize) -> usize {
    if size == 0 {
        1
    } else {
        len.div_ceil(size).max(1)
    }
}

/// Waits for datagrams and reads up to `max` messages (at least 1; fewer
/// after large ones, see [`READ_BYTES`]) into `batch`; returns how many.
pub(crate) async fn recv(
    socket: &NodeSocket,
    batch: &mut RecvBatch,
    max: usize,
) -> io::Result<usize> {
    loop {
        socket.readable().await?;
        match try_recv(socket, batch, max) {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
            other => return other,
        }
    }
}

/// Reads up to `max` messages (at least 1; fewer after large ones, see
/// [`READ_BYTES`]) into `batch` if any are there (`WouldBlock` if not);
/// returns how many.
pub(crate) fn try_recv(
    socket: &NodeSocket,
    batch: &mut RecvBatch,
    max: usize,
) -> io::Result<usize> {
    read_with(batch, max, |batch, max| {
        socket.try_read(|socket| read(socket, batch, max))
    })
}

/// Reads as [`try_recv`] does, but asks the kernel whatever tokio's
/// readiness says (a read that finds nothing leaves that readiness as
/// it is): for the task's [`busy_poll`](crate::busy_poll), which reads
/// while its worker is not in `epoll_wait` to hear of datagrams. A read
/// that finds some takes them at once, where a poll for readiness would
/// cost a system call more before the read.
pub(crate) fn try_recv_now(
    socket: &NodeSocket,
    batch: &mut RecvBatch,
    max: usize,
) -> io::Result<usize> {
    read_with(batch, max, |batch, max| read(socket.get_ref(), batch, max))
}

/// Reads into `batch` with `read_up_to` (given the batch and how many
/// messages the read may take, of `max`; `WouldBlock` if there are
/// none), and counts the read.
fn read_with(
    batch: &mut RecvBatch,
    max: usize,
    read_up_to: impl FnOnce(&mut RecvBatch, usize) -> io::Result<usize>,
) -> io::Result<usize> {
    batch.got.clear();
    let max = batch.next_max(max);
    batch.asked = max;
    let n = read_up_to(batch, max)?;
    batch.took(n);
    Ok(n)
}

/// How many datagrams of `len` bytes a read takes: a whole batch if it
/// is within [`BATCH_BYTES`], [`READ_BYTES`] of them otherwise (at least
/// one).
fn fitting(len: usize) -> usize {
    if len.saturating_mul(RECV_BATCH) <= BATCH_BYTES {
        RECV_BATCH
    } else {
        (READ_BYTES / len.max(1)).clamp(1, RECV_BATCH)
    }
}

/// The most messages a read takes after one that took `got` of up to
/// `cap`, the largest of `largest` bytes (`None`: it took none); `full`:
/// it took `cap`. As many as [`fitting`] at once if that is fewer; more
/// only after a full read, and at most twice as many: the odd small
/// datagram between two large events (a heartbeat, a status) leaves the
/// next event's reads small, and a burst of small ones widens them in a
/// few reads. A read that was not full emptied the queue, and the next
/// one asks for at most twice as many (and [`FEW`]): every datagram asked
/// for costs a message header set up for the call, most of a quiet
/// read's work when it asks for a whole batch and gets one.
fn next_cap(cap: usize, got: usize, largest: Option<usize>, full: bool) -> usize {
    let Some(largest) = largest else {
        return cap;
    };
    let next = if full {
        cap.saturating_mul(2)
    } else {
        cap.min(got.saturating_mul(2).max(FEW))
    };
    next.min(fitting(largest)).max(1)
}

/// The fewest datagrams a read asks for after one that emptied the queue
/// (unless fewer fit, see [`fitting`]).
const FEW: usize = 4;

#[cfg(target_os = "linux")]
fn read(socket: &std::net::UdpSocket, batch: &mut RecvBatch, max: usize) -> io::Result<usize> {
    use std::os::fd::AsRawFd;

    use crate::mmsg;

    let fd = socket.as_raw_fd();
    let RecvBatch {
        buf, got, counts, ..
    } = batch;
    if batch.batched {
        let push = |slot, len, from, controls| keep(got, counts, slot, len, from, controls);
        match mmsg::recv_many(fd, buf.bytes_mut(), RECV_BUFFER, max.max(1), push) {
            Err(e) if e.raw_os_error() == Some(libc::ENOSYS) => {
                tracing::warn!(
                    target: "eventcast", error = %e,
                    "recvmmsg refused: reading one datagram per system call"
                );
                batch.batched = false;
                batch.counts.fallbacks += 1;
            }
            other => return other,
        }
    }
    let (len, from, controls) = mmsg::recv_one(fd, &mut batch.buf.bytes_mut()[..RECV_BUFFER])?;
    keep(&mut batch.got, &mut batch.counts, 0, len, from, controls);
    Ok(1)
}

/// Puts a message read into slot `slot` in `got`, unless the kernel cut
/// its control messages short (`MSG_CTRUNC`): then whether it holds
/// several datagrams (`UDP_GRO`'s segment size) is not known, and taking
/// it for one datagram would misread it; it is dropped, counted in
/// `counts`, and loss recovery repairs it as any other lost datagram.
/// (The buffer holds the control messages the socket asks for, so this
/// takes a kernel that sends more.)
#[cfg(target_os = "linux")]
fn keep(
    got: &mut Vec<Received>,
    counts: &mut RecvCounts,
    slot: usize,
    len: usize,
    from: SocketAddr,
    controls: crate::mmsg::Controls,
) {
    if controls.truncated {
        // Said once per process at warning level: were it to go on, every
        // message would be dropped (`NodeStats::recv_truncated`).
        static SAID: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
        counts.truncated += 1;
        if SAID.swap(true, std::sync::atomic::Ordering::Relaxed) {
            tracing::debug!(
                target: "eventcast", %from, len,
                "message dropped: the kernel cut its control messages short"
            );
        } else {
            tracing::warn!(
                target: "eventcast", %from, len,
                "message dropped: the kernel cut its control messages short \
                 (said once; recv_truncated counts them)"
            );
        }
        return;
    }
    got.push(Received {
        slot,
        len,
        from,
        segment: controls.segment,
        drops: controls.drops,
    });
}

#[cfg(not(target_os = "linux"))]
fn read(socket: &std::net::UdpSocket, batch: &mut RecvBatch, _max: usize) -> io::Result<usize> {
    let (len, from) = socket.recv_from(&mut batch.buf.bytes_mut()[..RECV_BUFFER])?;
    batch.got.push(Received {
        slot: 0,
        len,
        from,
        segment: 0,
        drops: None,
    });
    Ok(1)
}

/// Turns the kernel's wrapping drop counts into a total of datagrams
/// dropped for a full receive buffer: the kernel's count also holds the
/// node's own datagrams its socket filter dropped, which are taken out
/// (see [`OwnCopies`](crate::node_socket::OwnCopies)).
#[derive(Debug, Default)]
pub(crate) struct DropCounter {
    /// The kernel's last count, as it gave it (modulo 2^32).
    last: u32,
    /// Every drop the kernel counted, own copies included.
    total: u64,
    /// Drops for a full buffer already reported.
    reported: u64,
}

impl DropCounter {
    /// The drops for a full buffer newly seen in the kernel's `count`
    /// (which only grows, modulo 2^32), given that `own` of the node's
    /// own datagrams have been filtered or are about to be.
    pub(crate) fn update(&mut self, count: u32, own: u64) -> u64 {
        self.total += u64::from(count.wrapping_sub(self.last));
        self.last = count;
        let full = self.total.saturating_sub(own);
        let new = full.saturating_sub(self.reported);
        self.reported += new;
        new
    }

    /// Drops for a full buffer reported so far.
    pub(crate) fn reported(&self) -> u64 {
        self.reported
    }
}

#[cfg(test)]
mod tests;
