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
    batch.got.clear();
    let max = batch.next_max(max);
    batch.asked = max;
    let n = socket.try_read(|socket| read(socket, batch, max))?;
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
mod tests {
    use super::*;

    #[test]
    fn large_datagrams_make_reads_small_at_once() {
        for full in [false, true] {
            // A whole batch, or all but one of it.
            let got = RECV_BATCH - usize::from(!full && RECV_BATCH > 1);
            let next = |largest| next_cap(RECV_BATCH, got, largest, full);
            assert_eq!(next(Some(65_033)), 2.min(RECV_BATCH));
            assert_eq!(next(Some(32_801)), 3.min(RECV_BATCH));
            assert_eq!(next(Some(8_225)), RECV_BATCH);
            // Larger than the bound: one at a time.
            assert_eq!(next(Some(READ_BYTES + 1)), 1);
            assert_eq!(next(Some(1_057)), RECV_BATCH);
            assert_eq!(next(Some(0)), RECV_BATCH);
            // A read that took nothing changes nothing.
            assert_eq!(next_cap(1, 0, None, full), 1);
        }
    }

    // Elsewhere a read takes one datagram whatever its size.
    #[cfg(target_os = "linux")]
    #[test]
    fn a_read_that_empties_the_queue_makes_the_next_one_smaller() {
        // One datagram of a whole batch asked for: a quiet socket.
        assert_eq!(next_cap(RECV_BATCH, 1, Some(100), false), FEW);
        assert_eq!(next_cap(FEW, 1, Some(100), false), FEW);
        // Half a batch: room for twice as many next time, no more than before.
        assert_eq!(next_cap(RECV_BATCH, 12, Some(100), false), 24);
        assert_eq!(next_cap(RECV_BATCH, 20, Some(100), false), RECV_BATCH);
        // A burst after a quiet spell: full reads double it back.
        assert_eq!(next_cap(FEW, FEW, Some(100), true), 2 * FEW);
        // Large datagrams: never more than fit.
        assert_eq!(next_cap(2, 1, Some(65_033), false), 2);
    }

    // Elsewhere a read takes one datagram whatever its size.
    #[cfg(target_os = "linux")]
    #[test]
    fn only_full_reads_of_small_datagrams_widen_reads_step_by_step() {
        let mut cap = next_cap(RECV_BATCH, RECV_BATCH, Some(65_033), true);
        // A heartbeat between two large events: the next read stays small.
        assert_eq!(next_cap(cap, 1, Some(33), false), cap);
        let mut steps = 0;
        while cap < RECV_BATCH {
            let wider = next_cap(cap, cap, Some(40), true);
            assert!(wider <= 2 * cap && wider > cap);
            cap = wider;
            steps += 1;
        }
        assert!(steps > 1, "back to the whole batch in {steps} step");
        assert_eq!(next_cap(cap, cap, Some(40), true), RECV_BATCH);
    }

    #[test]
    fn the_first_read_fits_the_nodes_own_datagrams() {
        assert_eq!(RecvBatch::new(65_256, false).cap, fitting(65_256));
        assert_eq!(RecvBatch::new(1_280, false).cap, RECV_BATCH);
    }

    /// Makes `batch` hold what a read of `messages` (length, segment size)
    /// took, the `k`th in slot `k`.
    fn put(batch: &mut RecvBatch, messages: &[(usize, usize)]) {
        batch.got.clear();
        for (slot, &(len, segment)) in messages.iter().enumerate() {
            batch.got.push(Received {
                slot,
                len,
                from: SocketAddr::from(([10, 0, 0, 1], 1)),
                segment,
                drops: None,
            });
        }
    }

    /// A message of several datagrams (UDP GRO) is handed on as its
    /// datagrams, the last one shorter; one datagram, and an empty one,
    /// as they are.
    #[test]
    fn a_coalesced_message_is_its_datagrams() {
        let mut batch = RecvBatch::new(1, false);
        let bytes = batch.buf.bytes_mut();
        for (i, b) in bytes[..2500].iter_mut().enumerate() {
            *b = (i / 1000) as u8 + 1;
        }
        bytes[RECV_BUFFER..RECV_BUFFER + 10].fill(9);
        put(&mut batch, &[(2500, 1000), (10, 0), (0, 0), (0, 1000)]);
        let got: Vec<(usize, Vec<u8>)> = batch
            .datagrams()
            .map(|(r, d)| (r.slot, d.to_vec()))
            .collect();
        assert_eq!(
            got,
            [
                (0, vec![1; 1000]),
                (0, vec![2; 1000]),
                (0, vec![3; 500]),
                (1, vec![9; 10]),
                (2, vec![]),
                (3, vec![]),
            ]
        );
        assert_eq!(pieces(2500, 1000), 3);
        assert_eq!(pieces(2000, 1000), 2);
        assert_eq!(pieces(0, 1000), 1);
        assert_eq!(pieces(7, 0), 1);
    }

    /// On a socket that hands over whole GSO messages, reads take two
    /// messages (as of 64 KiB) until reads of single datagrams come back
    /// full, then widen up to [`COALESCING_MOST`]; a message of several
    /// datagrams, or a read that emptied the queue, narrows them again.
    /// Each datagram is counted, each such message once. A socket that
    /// does not coalesce keeps the old rule.
    #[test]
    fn a_coalescing_socket_widens_reads_only_for_single_datagrams() {
        let read = |batch: &mut RecvBatch, messages: &[(usize, usize)]| {
            batch.asked = batch.next_max(RECV_BATCH);
            put(batch, messages);
            batch.took(messages.len());
            batch.cap
        };
        let mut batch = RecvBatch::new(1_280, true);
        assert_eq!(batch.cap, 2);
        assert_eq!(read(&mut batch, &[(61 * 1_057, 1_057), (1_057, 0)]), 2);
        let counts = batch.take_counts();
        assert_eq!(
            (counts.calls, counts.datagrams, counts.coalesced),
            (1, 62, 1)
        );
        // Full reads of single datagrams (one whose segment size says one
        // datagram among them) widen, a read that emptied the queue not.
        assert_eq!(read(&mut batch, &[(1_057, 1_057), (1_057, 0)]), 4);
        assert_eq!(batch.take_counts().coalesced, 0);
        assert_eq!(read(&mut batch, &[(90, 0); 4]), 8);
        assert_eq!(read(&mut batch, &[(90, 0); 8]), COALESCING_MOST);
        assert_eq!(COALESCING_MOST, 8);
        assert_eq!(read(&mut batch, &[(90, 0)]), 2);
        assert_eq!(read(&mut batch, &[(90, 0); 2]), 4);
        assert_eq!(
            read(&mut batch, &[(90, 0), (3 * 90, 90), (90, 0), (90, 0)]),
            2
        );

        let mut batch = RecvBatch::new(1_280, false);
        assert_eq!(batch.cap, RECV_BATCH);
        assert_eq!(read(&mut batch, &[(90, 0); 3]), 6);
    }

    /// A message whose control messages the kernel cut short is not
    /// handed on (it could be several datagrams taken for one), and is
    /// counted; the others are kept in their slots.
    #[cfg(target_os = "linux")]
    #[test]
    fn a_message_with_truncated_controls_is_dropped_and_counted() {
        let mut batch = RecvBatch::new(1, true);
        let bytes = batch.buf.bytes_mut();
        bytes[..2000].fill(1);
        bytes[RECV_BUFFER..RECV_BUFFER + 10].fill(2);
        let from = SocketAddr::from(([10, 0, 0, 1], 1));
        let cut = crate::mmsg::Controls {
            truncated: true,
            ..Default::default()
        };
        let whole = crate::mmsg::Controls {
            segment: 1000,
            ..Default::default()
        };
        let RecvBatch { got, counts, .. } = &mut batch;
        keep(got, counts, 0, 2000, from, cut);
        keep(got, counts, 1, 10, from, Default::default());
        keep(got, counts, 2, 2000, from, whole);
        batch.took(3);
        let got: Vec<(usize, usize)> = batch.datagrams().map(|(r, d)| (r.slot, d.len())).collect();
        assert_eq!(got, [(1, 10), (2, 1000), (2, 1000)]);
        let counts = batch.take_counts();
        assert_eq!(
            (
                counts.calls,
                counts.datagrams,
                counts.coalesced,
                counts.truncated
            ),
            (1, 3, 1, 1)
        );
    }

    #[test]
    fn counts_wrap() {
        let mut c = DropCounter::default();
        assert_eq!(c.update(5, 0), 5);
        assert_eq!(c.update(5, 0), 0);
        assert_eq!(c.update(9, 0), 4);
        let mut c = DropCounter {
            last: u32::MAX - 1,
            ..DropCounter::default()
        };
        assert_eq!(c.update(3, 0), 5);
    }

    #[test]
    fn own_copies_are_not_drops() {
        let mut c = DropCounter::default();
        // 10 own datagrams filtered, none dropped for a full buffer.
        assert_eq!(c.update(10, 10), 0);
        // 3 more sent, not filtered yet: nothing is counted early.
        assert_eq!(c.update(10, 13), 0);
        // They were filtered, and 2 datagrams dropped for a full buffer.
        assert_eq!(c.update(15, 13), 2);
        // A drop seen while own copies were announced but not yet
        // filtered shows once they are.
        assert_eq!(c.update(16, 20), 0);
        assert_eq!(c.update(23, 20), 1);
        assert_eq!(c.update(23, 20), 0);
    }
}
