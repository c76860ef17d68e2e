//! The report: the figures computed from the runs, as the JSON document
//! (`--json`) has them and the table is printed from them.
//!
//! Every eventcast figure stands beside its raw-UDP baseline from the same
//! run; every ratio (eventcast's median over raw UDP's, or over
//! plaintext's for figure 5) is in a field whose name contains `ratio`, and
//! is `null` where it is undefined (a baseline of zero, a figure not
//! measured).

use serde::Serialize;

use super::args::PingFrom;
use super::stats::Summary;

/// The whole report.
#[derive(Debug, Serialize)]
pub(crate) struct Report {
    /// `eventcast bench`.
    pub(crate) tool: &'static str,
    /// The version of this binary.
    pub(crate) version: &'static str,
    /// Where it ran.
    pub(crate) machine: Machine,
    /// What it measured.
    pub(crate) settings: Settings,
    /// The eight figures.
    pub(crate) figures: Figures,
}

/// The machine the figures come from.
#[derive(Debug, Serialize)]
pub(crate) struct Machine {
    /// Processors available.
    pub(crate) nproc: usize,
    /// `model name` from /proc/cpuinfo.
    pub(crate) cpu_model: Option<String>,
    /// The kernel release.
    pub(crate) kernel: Option<String>,
    /// Whether the bench ran in a network namespace made by
    /// `scripts/netns` (rather than on the host's network).
    pub(crate) private_netns: bool,
}

/// The parameters of the run.
#[derive(Debug, Serialize)]
pub(crate) struct Settings {
    /// `--quick`.
    pub(crate) quick: bool,
    /// Runs of each measurement.
    pub(crate) repeat: u32,
    /// `--current-thread`: every process ran on tokio's current_thread
    /// runtime.
    pub(crate) current_thread: bool,
    /// `--ping-from`: where eventcast's ping took each pong.
    pub(crate) ping_from: PingFrom,
    /// `--busy-poll`: the eventcast nodes' busy-poll window, microseconds
    /// (the library's default, 150; 0: off).
    pub(crate) busy_poll_us: u64,
    /// `--binary`: eventcast's large events were binaries sent with
    /// `emit_binary`, not strings sent with `emit`.
    pub(crate) binary: bool,
    /// `--told-size`: eventcast's nodes were told their large events'
    /// size (`Config::expected_event_sizes`) where it is 256 KiB to 64 MiB.
    pub(crate) told_size: bool,
    /// The multicast group.
    pub(crate) group: String,
    /// The multicast TTL.
    pub(crate) ttl: u32,
    /// The interface, if one was named.
    pub(crate) interface: Option<String>,
    /// Receive buffer asked for (both transports).
    pub(crate) recv_buffer_requested: usize,
    /// Figure 1: events per run.
    pub(crate) events: u64,
    /// Bytes of a small event's argument.
    pub(crate) size: usize,
    /// Pacing of figures 1 and 7, events per second (`null`: none).
    pub(crate) rate: Option<f64>,
    /// Figure 2: round trips per run.
    pub(crate) pings: u64,
    /// Figure 4: events per run.
    pub(crate) loss_events: u64,
    /// Figure 7: events per run.
    pub(crate) fanout_events: u64,
    /// Quiet a receiver waits for after the sender is done, in ms.
    pub(crate) settle_ms: u128,
}

/// The figures, numbered as in issue 6 (8 came later).
#[derive(Debug, Serialize)]
pub(crate) struct Figures {
    /// 1.
    pub(crate) small_events: SmallEvents,
    /// 2.
    pub(crate) latency: Latency,
    /// 3.
    pub(crate) large_events: LargeEvents,
    /// 4.
    pub(crate) loss: Loss,
    /// 5.
    pub(crate) encryption: Encryption,
    /// 6.
    pub(crate) memory: Memory,
    /// 7.
    pub(crate) fanout: Fanout,
    /// 8.
    pub(crate) stream: Stream,
}

/// Whether a figure was measured.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Status {
    /// Measured.
    Measured,
    /// Could not be measured here (the reason says why).
    Skipped,
}

/// Figure 1.
#[derive(Debug, Serialize)]
pub(crate) struct SmallEvents {
    /// Events per run.
    pub(crate) events: u64,
    /// Bytes of each event's argument (raw UDP: of each datagram).
    pub(crate) size: usize,
    /// The pacing applied to the sender (`null`: as fast as the API allows).
    pub(crate) paced_events_per_sec: Option<f64>,
    /// Raw UDP.
    pub(crate) raw_udp: Flow,
    /// eventcast.
    pub(crate) eventcast: Flow,
    /// eventcast's median delivered/s over raw UDP's.
    pub(crate) delivered_per_sec_ratio: Option<f64>,
    /// The goal.
    pub(crate) target: String,
    /// Whether the goal is met.
    pub(crate) target_met: Option<bool>,
}

/// A one-sender flow's figures for one transport.
#[derive(Debug, Serialize)]
pub(crate) struct Flow {
    /// Events (raw UDP: datagrams) delivered per second at the receiver,
    /// from the start marker to the last one.
    pub(crate) delivered_per_sec: Option<Summary>,
    /// Events sent but not delivered.
    pub(crate) lost: Option<Summary>,
    /// Events per second the sender got out, from its first emit to its
    /// last datagram sent.
    pub(crate) sent_per_sec: Option<Summary>,
    /// Receive buffer the kernel granted the receiver (Linux reports twice
    /// the usable size).
    pub(crate) recv_buffer_granted: Option<u64>,
}

/// Figure 2.
#[derive(Debug, Serialize)]
pub(crate) struct Latency {
    /// Round trips per run.
    pub(crate) pings: u64,
    /// Raw UDP, blocking: the baseline of the ratios.
    pub(crate) raw_udp: RoundTrips,
    /// Raw UDP on tokio, one task: what the runtime adds.
    pub(crate) raw_udp_tokio: RoundTrips,
    /// eventcast.
    pub(crate) eventcast: RoundTrips,
    /// Median p50 over raw UDP's.
    pub(crate) p50_ratio: Option<f64>,
    /// Median p99 over raw UDP's.
    pub(crate) p99_ratio: Option<f64>,
    /// Median p50 over raw UDP on tokio's.
    pub(crate) p50_tokio_ratio: Option<f64>,
    /// Median p99 over raw UDP on tokio's.
    pub(crate) p99_tokio_ratio: Option<f64>,
    /// The goal.
    pub(crate) target: String,
    /// Whether the goal is met.
    pub(crate) target_met: Option<bool>,
}

/// Round trips of one transport.
#[derive(Debug, Serialize)]
pub(crate) struct RoundTrips {
    /// Median round trip, µs.
    pub(crate) p50_us: Option<Summary>,
    /// 99th percentile, µs.
    pub(crate) p99_us: Option<Summary>,
    /// Pings unanswered within 200 ms.
    pub(crate) lost: Option<Summary>,
}

/// Figure 3.
#[derive(Debug, Serialize)]
pub(crate) struct LargeEvents {
    /// The goal.
    pub(crate) target: String,
    /// One per event size and datagram size.
    pub(crate) cases: Vec<LargeCase>,
}

/// One event size at one datagram size.
#[derive(Debug, Serialize)]
pub(crate) struct LargeCase {
    /// Bytes of the event's argument.
    pub(crate) event_bytes: usize,
    /// max_payload_size.
    pub(crate) max_payload_size: usize,
    /// Datagrams the event takes.
    pub(crate) datagrams: u64,
    /// Raw UDP: the same datagrams.
    pub(crate) raw_udp: LargeRaw,
    /// eventcast.
    pub(crate) eventcast: LargeEventcast,
    /// Median MB/s over raw UDP's.
    pub(crate) mb_per_sec_ratio: Option<f64>,
    /// Whether the goal is met.
    pub(crate) target_met: Option<bool>,
}

/// Raw UDP's side of a large case.
#[derive(Debug, Serialize)]
pub(crate) struct LargeRaw {
    /// MB (10^6 bytes) of payload received per second.
    pub(crate) mb_per_sec: Option<Summary>,
    /// Datagrams lost.
    pub(crate) lost_datagrams: Option<Summary>,
    /// Milliseconds from the first datagram sent to the last received.
    pub(crate) one_way_ms: Option<Summary>,
}

/// eventcast's side of a large case.
#[derive(Debug, Serialize)]
pub(crate) struct LargeEventcast {
    /// MB (10^6 bytes) of event delivered per second (0 in a run where the
    /// event was lost).
    pub(crate) mb_per_sec: Option<Summary>,
    /// Milliseconds from the emit to the event's delivery, in the runs
    /// where it arrived and could be timed: a receiver starved for half of
    /// [`LEAD`](super::proto::LEAD) handles the start marker too late to
    /// start its clock, and one event alone gives no interval.
    pub(crate) one_way_ms: Option<Summary>,
    /// Runs in which the event arrived.
    pub(crate) delivered_runs: usize,
    /// Runs.
    pub(crate) runs: usize,
}

/// Figure 4.
#[derive(Debug, Serialize)]
pub(crate) struct Loss {
    /// Measured or skipped.
    pub(crate) status: Status,
    /// Why it was skipped.
    pub(crate) reason: Option<String>,
    /// Events per run.
    pub(crate) events: u64,
    /// Bytes of each event's argument.
    pub(crate) event_bytes: usize,
    /// Pause between events, ms.
    pub(crate) interval_ms: u128,
    /// One per loss level.
    pub(crate) levels: Vec<LossLevel>,
    /// How to measure one level by hand.
    pub(crate) command: String,
    /// What to expect.
    pub(crate) note: &'static str,
}

/// One loss level.
#[derive(Debug, Serialize)]
pub(crate) struct LossLevel {
    /// Percent of incoming UDP dropped.
    pub(crate) loss_percent: u8,
    /// Raw UDP: share of events all of whose datagrams arrived.
    pub(crate) raw_udp: Share,
    /// eventcast: share of events delivered.
    pub(crate) eventcast: Share,
    /// Median share over raw UDP's.
    pub(crate) complete_share_ratio: Option<f64>,
}

/// A share of events delivered complete.
#[derive(Debug, Serialize)]
pub(crate) struct Share {
    /// Between 0 and 1.
    pub(crate) complete_share: Option<Summary>,
}

/// Figure 5.
#[derive(Debug, Serialize)]
pub(crate) struct Encryption {
    /// Always measured (the field keeps the JSON's shape like the other
    /// figures').
    pub(crate) status: Status,
    /// The goal.
    pub(crate) target: String,
    /// Figure 1 encrypted: delivered/s.
    pub(crate) small_events_delivered_per_sec: Option<Summary>,
    /// Over figure 1's plaintext median.
    pub(crate) delivered_per_sec_plaintext_ratio: Option<f64>,
    /// Figure 3 encrypted, case by case.
    pub(crate) large_events: Vec<EncryptedLarge>,
    /// The smallest ratio of the large cases.
    pub(crate) large_mb_per_sec_plaintext_ratio: Option<f64>,
    /// Whether the goal is met.
    pub(crate) target_met: Option<bool>,
}

/// One large case encrypted.
#[derive(Debug, Serialize)]
pub(crate) struct EncryptedLarge {
    /// Bytes of the event's argument.
    pub(crate) event_bytes: usize,
    /// max_payload_size.
    pub(crate) max_payload_size: usize,
    /// MB/s encrypted.
    pub(crate) mb_per_sec: Option<Summary>,
    /// Over the plaintext median of the same case.
    pub(crate) mb_per_sec_plaintext_ratio: Option<f64>,
}

/// Figure 6.
#[derive(Debug, Serialize)]
pub(crate) struct Memory {
    /// During figure 1.
    pub(crate) small_events: PeakRss,
    /// During the largest event of figure 3 (default datagram size).
    pub(crate) large_event: PeakRss,
}

/// The receiving process's peak resident memory.
#[derive(Debug, Serialize)]
pub(crate) struct PeakRss {
    /// Bytes of the event (figure 1: of each event).
    pub(crate) event_bytes: usize,
    /// Raw UDP receiver, KiB.
    pub(crate) raw_udp_kib: Option<Summary>,
    /// eventcast receiver, KiB.
    pub(crate) eventcast_kib: Option<Summary>,
    /// Median over raw UDP's.
    pub(crate) peak_rss_ratio: Option<f64>,
}

/// Figure 7.
#[derive(Debug, Serialize)]
pub(crate) struct Fanout {
    /// Receiver processes.
    pub(crate) receivers: u32,
    /// Events per run.
    pub(crate) events: u64,
    /// Raw UDP.
    pub(crate) raw_udp: FanoutSide,
    /// eventcast.
    pub(crate) eventcast: FanoutSide,
    /// eventcast's share over raw UDP's.
    pub(crate) share_of_one_receiver_ratio: Option<f64>,
}

/// One transport's fan-out.
#[derive(Debug, Serialize)]
pub(crate) struct FanoutSide {
    /// Delivered per second at each receiver (over every receiver of every
    /// run).
    pub(crate) per_receiver_per_sec: Option<Summary>,
    /// Lost per receiver.
    pub(crate) lost: Option<Summary>,
    /// Median per-receiver rate over figure 1's median (one receiver).
    pub(crate) share_of_one_receiver: Option<f64>,
}

/// Figure 8: a stream of large events, one after another with a pause,
/// each timed from its send to its arrival on the host's clock.
#[derive(Debug, Serialize)]
pub(crate) struct Stream {
    /// Events per run.
    pub(crate) events: u64,
    /// Bytes of each event's argument.
    pub(crate) event_bytes: usize,
    /// max_payload_size.
    pub(crate) max_payload_size: usize,
    /// Datagrams each event takes.
    pub(crate) datagrams: u64,
    /// Pause between two events, ms.
    pub(crate) gap_ms: u128,
    /// Raw UDP: the same datagrams.
    pub(crate) raw_udp: StreamSide,
    /// eventcast.
    pub(crate) eventcast: StreamSide,
    /// Median first-event time over raw UDP's.
    pub(crate) first_one_way_ratio: Option<f64>,
    /// Median later-event time over raw UDP's.
    pub(crate) later_one_way_ratio: Option<f64>,
}

/// One transport's stream.
#[derive(Debug, Serialize)]
pub(crate) struct StreamSide {
    /// The first event of each run (cold, as figure 3's), ms from the send
    /// (eventcast: the call to `emit`; raw UDP: the first datagram's
    /// `send_to`) to its arrival (the listener; the last datagram).
    pub(crate) first_one_way_ms: Option<Summary>,
    /// The median of each run's later events (warm), ms.
    pub(crate) later_one_way_ms: Option<Summary>,
    /// Every later event of every run, ms (its `runs` counts events): the
    /// median `scripts/bench-lcm` reports for LCM.
    pub(crate) later_one_way_ms_every_event: Option<Summary>,
    /// Events that did not arrive (raw UDP: not whole), per run.
    pub(crate) lost: Option<Summary>,
}
