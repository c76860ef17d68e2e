//! The node's counters.

/// Everything a node counts: the protocol's counters for the current (or
/// last) run, and the driver's own.
///
/// `protocol` and `legacy` start from zero at each start; every other
/// counter counts from the node's creation, across stops and starts
/// (`starts` says how many there were).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct NodeStats {
    /// Sent, received and dropped datagrams and messages, by reason, since
    /// the last start.
    pub protocol: eventcast_proto::Stats,
    /// Whether the node is running.
    pub running: bool,
    /// How many times it was started.
    pub starts: u64,
    /// Receive buffer the kernel granted at the last start (Linux reports
    /// twice the usable size).
    pub recv_buffer_size: usize,
    /// Sends the operating system refused.
    pub send_errors: u64,
    /// Receives that failed.
    pub recv_errors: u64,
    /// Send system calls made, refused ones included: on Linux a
    /// `sendmmsg` carries a batch (a run of equal segments in it as one
    /// UDP GSO message), elsewhere a `sendto` carries one.
    /// `send_call_datagrams / send_calls` is the datagrams per call.
    pub send_calls: u64,
    /// Datagrams those calls handed over.
    pub send_call_datagrams: u64,
    /// Batched sends that stopped at a message the kernel refused (its
    /// datagrams counted in `send_errors`; the rest went in the next call).
    pub send_batch_errors: u64,
    /// Times the kernel refused a batched system call (`sendmmsg` or
    /// `recvmmsg`: `ENOSYS`, or `EOPNOTSUPP` for `sendmmsg`) and the node
    /// went on with one datagram per call.
    pub batch_fallbacks: u64,
    /// Times the kernel refused UDP GSO (`EIO` or `EINVAL`: no
    /// segmentation offload on the interface) and the node went on
    /// sending each segment as a datagram of its own.
    pub gso_fallbacks: u64,
    /// Times a datagram was refused as larger than the route to the group
    /// takes (`EMSGSIZE`) with IPv4's don't-fragment bit, which a native
    /// node's socket for sending sets on Linux (its datagrams then need no
    /// IP id), and the node let the kernel fragment its datagrams from then
    /// on: 0 or 1 a run; 1 says `max_payload_size` is above the MTU.
    pub fragment_fallbacks: u64,
    /// Times the send buffer was full and the node could not set up a
    /// wait for room in it (no file descriptor or epoll watch left): it
    /// logs the first, retries 5 ms later, and counts each here.
    pub send_wait_failures: u64,
    /// Receive system calls that read datagrams: one `recvmmsg` reads
    /// many on Linux. `recv_call_datagrams / recv_calls` is the datagrams
    /// per call.
    pub recv_calls: u64,
    /// Datagrams those calls read (each datagram of a message the kernel
    /// handed over whole, `UDP_GRO`, counted; a message dropped as
    /// `recv_truncated` not).
    pub recv_call_datagrams: u64,
    /// Messages those calls read that held several datagrams of one
    /// sender, handed over together by the kernel (Linux `UDP_GRO`: a
    /// sender's run of equal segments sent as one GSO message, or
    /// datagrams of one flow that arrived together from a network card).
    /// 0 where the kernel does not do so.
    pub recv_coalesced: u64,
    /// Messages those calls read that were dropped because the kernel cut
    /// their control messages short (Linux `MSG_CTRUNC`): whether such a
    /// message holds several datagrams (`UDP_GRO`) is not known, so none
    /// of it is taken; loss recovery repairs it. The buffer holds what
    /// the node asks for: not 0 means the kernel sent more. Always 0
    /// elsewhere.
    pub recv_truncated: u64,
    /// Datagrams the kernel dropped because the socket's receive buffer
    /// was full, as far as it reports them (Linux `SO_RXQ_OVFL`, counted
    /// when the next datagram arrives; always 0 elsewhere). The kernel
    /// counts the node's own datagrams that its socket filter drops in
    /// the same count; they are taken out (whether they come back is
    /// measured at the first send: should the route to the group move
    /// later so that they stop coming back, each one sent after that
    /// hides a drop). Loss recovery repairs these drops; many mean the
    /// buffer is too small or this node too slow for the traffic. The
    /// kernel counts what it drops as it was queued: a sender's GSO
    /// message, which the socket takes whole (`UDP_GRO`), counts once
    /// however many datagrams it holds.
    pub kernel_drops: u64,
    /// Times the node's task polled its socket before parking
    /// ([`Config::busy_poll`](crate::Config::busy_poll)).
    pub busy_polls: u64,
    /// Polls of those that found a datagram before their window passed:
    /// wake-ups saved. Few of many means the window costs CPU for
    /// nothing.
    pub busy_poll_hits: u64,
    /// Large messages (256 KiB to 4.5 MiB) begun in a buffer the node made
    /// ready after an earlier one was delivered, or at start for
    /// [`Config::expected_event_sizes`](crate::Config::expected_event_sizes),
    /// rather than in freshly allocated memory (counted when the buffer is handed over, whether
    /// or not the message then completes).
    pub messages_received_in_spare: u64,
    /// Events emitted while stopped (only local listeners fired).
    pub emitted_while_stopped: u64,
    /// Listener calls that panicked (caught).
    pub listener_panics: u64,
    /// Events dropped because a subscription was full.
    pub subscription_lagged: u64,
    /// With the legacy protocol: every counter of the legacy endpoint, drop
    /// reasons in full, since the last start. `protocol` then holds the
    /// same traffic in native terms
    /// ([`LegacyStats::to_native`](eventcast_proto::legacy::LegacyStats::to_native)).
    /// All zero with the native protocol.
    pub legacy: eventcast_proto::legacy::LegacyStats,
}
