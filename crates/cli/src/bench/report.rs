//! The figures, computed from the runs: the JSON document (`--json`) and
//! the table printed from it.
//!
//! Every eventcast figure stands beside its raw-UDP baseline from the same
//! run; every ratio (eventcast's median over raw UDP's, or over
//! plaintext's for figure 5) is in a field whose name contains `ratio`, and
//! is `null` where it is undefined (a baseline of zero, a figure not
//! measured).

use std::io::Write as _;
use std::path::Path;

use anyhow::Context as _;
use serde::Serialize;

use super::figures::{bytes, FlowRun, LargeRuns, LossLevelRuns, Measured};
use super::plan::Plan;
use super::proto::{self, Pinged, Received};
use super::stats::{median, ratio, Summary};

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
    /// The seven figures.
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

/// The figures, numbered as in issue 6.
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
    pub(crate) target: &'static str,
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
    pub(crate) target: &'static str,
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
    pub(crate) target: &'static str,
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
}

/// eventcast's side of a large case.
#[derive(Debug, Serialize)]
pub(crate) struct LargeEventcast {
    /// MB (10^6 bytes) of event delivered per second (0 in a run where the
    /// event was lost).
    pub(crate) mb_per_sec: Option<Summary>,
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
    pub(crate) target: &'static str,
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

const SMALL_TARGET: &str = "delivered/s at least raw UDP's (ratio >= 1.0), none lost";
const LATENCY_TARGET: &str = "p50 ratio <= 1.3, p99 ratio <= 1.5";
const LARGE_TARGET: &str = "MB/s at least half of raw UDP's (ratio >= 0.5)";
const ENCRYPTION_TARGET: &str = "at least 85% of plaintext (ratio >= 0.85)";
const LOSS_NOTE: &str = "raw UDP loses an event with any one of its datagrams; eventcast repairs \
                         lost datagrams and reports as lost only what it gave up on";

impl Report {
    /// The report of everything measured.
    pub(crate) fn new(plan: &Plan, m: &Measured) -> Report {
        let small = small_events(plan, &m.small);
        let large = large_events(&m.large);
        let encryption = encryption(m, &small, &large);
        let memory = memory(plan, m);
        let fanout = fanout(plan, m, &small);
        Report {
            tool: "eventcast bench",
            version: env!("CARGO_PKG_VERSION"),
            machine: Machine::here(),
            settings: Settings {
                quick: plan.quick,
                repeat: plan.repeat,
                group: plan.base.group.to_string(),
                ttl: plan.base.ttl,
                interface: plan.base.interface.clone(),
                recv_buffer_requested: plan
                    .base
                    .recv_buffer
                    .unwrap_or(eventcast::Config::default().recv_buffer_size),
                events: plan.events,
                size: plan.size,
                rate: plan.rate,
                pings: plan.pings,
                loss_events: plan.loss_events,
                fanout_events: plan.fanout_events,
                settle_ms: plan.base.settle.as_millis(),
            },
            figures: Figures {
                small_events: small,
                latency: latency(plan, &m.latency),
                large_events: large,
                loss: loss(plan, &m.loss),
                encryption,
                memory,
                fanout,
            },
        }
    }
}

impl Machine {
    fn here() -> Machine {
        let cpu_model = std::fs::read_to_string("/proc/cpuinfo").ok().and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_owned())
        });
        let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .ok()
            .map(|s| s.trim().to_owned());
        Machine {
            nproc: std::thread::available_parallelism().map_or(1, |n| n.get()),
            cpu_model,
            kernel,
            private_netns: in_private_netns(),
        }
    }
}

/// Whether this process runs in the namespace `scripts/netns` made (the
/// check `netns_test::in_private_netns` makes, less its test-only extras).
fn in_private_netns() -> bool {
    use std::os::unix::fs::MetadataExt as _;
    let Ok(own) = std::fs::metadata("/proc/self/ns/net").map(|m| m.ino()) else {
        return false;
    };
    std::env::var("EVENTCAST_NETNS_INODE")
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok())
        == Some(own)
}

/// Seconds the receiver took to get what it got: from the start marker,
/// less the sender's wait after it, or from the first data when the marker
/// was lost; `None` when too little arrived to time.
fn transfer_secs(run: &FlowRun, r: &Received) -> Option<f64> {
    let secs = r.secs?;
    let secs = if r.from_start {
        secs - run.sent.lead_secs
    } else {
        secs
    };
    (secs > 0.0).then_some(secs)
}

/// Events (or datagrams) delivered per second by one receiver; 0 when
/// nothing arrived, `None` when too little arrived to time.
fn rate(run: &FlowRun, r: &Received) -> Option<f64> {
    // Timed from the first event (the marker lost or handled late), the
    // interval holds the deliveries of all the others, not of that one.
    let timed = if r.from_start {
        r.events
    } else {
        r.events.saturating_sub(1)
    };
    match transfer_secs(run, r) {
        Some(secs) => Some(timed as f64 / secs),
        None if r.events == 0 => Some(0.0),
        None => None,
    }
}

fn first(run: &FlowRun) -> Option<&Received> {
    run.received.first()
}

fn flow(runs: &[FlowRun]) -> Flow {
    let delivered: Vec<f64> = runs
        .iter()
        .filter_map(|run| rate(run, first(run)?))
        .collect();
    let lost: Vec<f64> = runs
        .iter()
        .filter_map(|r| Some(r.sent.events.saturating_sub(first(r)?.events) as f64))
        .collect();
    let sent: Vec<f64> = runs
        .iter()
        .filter(|r| r.sent.secs > 0.0)
        .map(|r| r.sent.events as f64 / r.sent.secs)
        .collect();
    Flow {
        delivered_per_sec: Summary::of(&delivered),
        lost: Summary::of(&lost),
        sent_per_sec: Summary::of(&sent),
        recv_buffer_granted: runs.iter().filter_map(first).map(|r| r.recv_buffer).max(),
    }
}

fn small_events(plan: &Plan, runs: &super::figures::Both<FlowRun>) -> SmallEvents {
    let raw_udp = flow(&runs.raw);
    let eventcast = flow(&runs.eventcast);
    let r = ratio(
        median(eventcast.delivered_per_sec),
        median(raw_udp.delivered_per_sec),
    );
    let none_lost = eventcast.lost.map(|l| l.max == 0.0);
    let target_met = match (r, none_lost) {
        (Some(r), Some(none_lost)) => Some(r >= 1.0 && none_lost),
        _ => None,
    };
    SmallEvents {
        events: plan.events,
        size: plan.size,
        paced_events_per_sec: plan.rate,
        raw_udp,
        eventcast,
        delivered_per_sec_ratio: r,
        target: SMALL_TARGET,
        target_met,
    }
}

fn round_trips(runs: &[Pinged]) -> RoundTrips {
    let p50: Vec<f64> = runs.iter().filter_map(|p| p.p50_us).collect();
    let p99: Vec<f64> = runs.iter().filter_map(|p| p.p99_us).collect();
    let lost: Vec<f64> = runs.iter().map(|p| p.lost as f64).collect();
    RoundTrips {
        p50_us: Summary::of(&p50),
        p99_us: Summary::of(&p99),
        lost: Summary::of(&lost),
    }
}

fn latency(plan: &Plan, runs: &super::figures::Both<Pinged>) -> Latency {
    let raw_udp = round_trips(&runs.raw);
    let raw_udp_tokio = round_trips(&runs.raw_tokio);
    let eventcast = round_trips(&runs.eventcast);
    let p50_ratio = ratio(median(eventcast.p50_us), median(raw_udp.p50_us));
    let p99_ratio = ratio(median(eventcast.p99_us), median(raw_udp.p99_us));
    let p50_tokio_ratio = ratio(median(eventcast.p50_us), median(raw_udp_tokio.p50_us));
    let p99_tokio_ratio = ratio(median(eventcast.p99_us), median(raw_udp_tokio.p99_us));
    let target_met = match (p50_ratio, p99_ratio) {
        (Some(p50), Some(p99)) => Some(p50 <= 1.3 && p99 <= 1.5),
        _ => None,
    };
    Latency {
        pings: plan.pings,
        raw_udp,
        raw_udp_tokio,
        eventcast,
        p50_ratio,
        p99_ratio,
        p50_tokio_ratio,
        p99_tokio_ratio,
        target: LATENCY_TARGET,
        target_met,
    }
}

/// MB/s of one receiver's report (0 when nothing arrived).
fn mb_per_sec(run: &FlowRun, r: &Received) -> Option<f64> {
    match transfer_secs(run, r) {
        Some(secs) => Some(r.bytes as f64 / secs / 1e6),
        None if r.bytes == 0 => Some(0.0),
        None => None,
    }
}

/// MB/s of an event delivered whole, 0 in a run where it was lost.
fn event_mb_per_sec(run: &FlowRun) -> Option<f64> {
    let r = first(run)?;
    if r.events == 0 {
        Some(0.0)
    } else {
        mb_per_sec(run, r)
    }
}

fn datagrams(size: usize, payload: usize) -> u64 {
    proto::body_len(size).div_ceil(payload) as u64
}

fn large_case(case: &LargeRuns) -> LargeCase {
    let datagrams = datagrams(case.size, case.payload);
    let raw: Vec<&Received> = case.runs.raw.iter().filter_map(first).collect();
    let ec: Vec<&Received> = case.runs.eventcast.iter().filter_map(first).collect();
    let raw_mb: Vec<f64> = case
        .runs
        .raw
        .iter()
        .filter_map(|run| mb_per_sec(run, first(run)?))
        .collect();
    // A lost event delivered nothing: 0 MB/s in that run.
    let ec_mb: Vec<f64> = case
        .runs
        .eventcast
        .iter()
        .filter_map(event_mb_per_sec)
        .collect();
    let lost: Vec<f64> = raw
        .iter()
        .map(|r| datagrams.saturating_sub(r.datagrams) as f64)
        .collect();
    let raw_udp = LargeRaw {
        mb_per_sec: Summary::of(&raw_mb),
        lost_datagrams: Summary::of(&lost),
    };
    let eventcast = LargeEventcast {
        mb_per_sec: Summary::of(&ec_mb),
        delivered_runs: ec.iter().filter(|r| r.events > 0).count(),
        runs: ec.len(),
    };
    let r = ratio(median(eventcast.mb_per_sec), median(raw_udp.mb_per_sec));
    LargeCase {
        event_bytes: case.size,
        max_payload_size: case.payload,
        datagrams,
        raw_udp,
        eventcast,
        mb_per_sec_ratio: r,
        target_met: r.map(|r| r >= 0.5),
    }
}

fn large_events(cases: &[LargeRuns]) -> LargeEvents {
    LargeEvents {
        target: LARGE_TARGET,
        cases: cases.iter().map(large_case).collect(),
    }
}

fn loss(plan: &Plan, measured: &Result<Vec<LossLevelRuns>, String>) -> Loss {
    let (status, reason, levels) = match measured {
        Ok(levels) => (Status::Measured, None, levels.as_slice()),
        Err(why) => (Status::Skipped, Some(why.clone()), &[][..]),
    };
    let levels = levels
        .iter()
        .map(|l| {
            let raw = Summary::of(&l.raw);
            let ec = Summary::of(&l.eventcast);
            LossLevel {
                loss_percent: l.loss_percent,
                raw_udp: Share {
                    complete_share: raw,
                },
                eventcast: Share { complete_share: ec },
                complete_share_ratio: ratio(median(ec), median(raw)),
            }
        })
        .collect();
    Loss {
        status,
        reason,
        events: plan.loss_events,
        event_bytes: plan.loss_size,
        interval_ms: plan.loss_interval.as_millis(),
        levels,
        command: "NETNS_LOSS=10 scripts/netns target/release/eventcast bench --role loss \
                  --loss-percent 10"
            .into(),
        note: LOSS_NOTE,
    }
}

fn encryption(m: &Measured, small: &SmallEvents, large: &LargeEvents) -> Encryption {
    let enc = &m.encrypted;
    let delivered = flow(&enc.small).delivered_per_sec;
    let small_ratio = ratio(median(delivered), median(small.eventcast.delivered_per_sec));
    let large_events: Vec<EncryptedLarge> = enc
        .large
        .iter()
        .map(|(size, payload, runs)| {
            let mb: Vec<f64> = runs.iter().filter_map(event_mb_per_sec).collect();
            let mb = Summary::of(&mb);
            let plain = large
                .cases
                .iter()
                .find(|c| c.event_bytes == *size && c.max_payload_size == *payload)
                .and_then(|c| median(c.eventcast.mb_per_sec));
            EncryptedLarge {
                event_bytes: *size,
                max_payload_size: *payload,
                mb_per_sec: mb,
                mb_per_sec_plaintext_ratio: ratio(median(mb), plain),
            }
        })
        .collect();
    let worst = large_events
        .iter()
        .filter_map(|c| c.mb_per_sec_plaintext_ratio)
        .min_by(f64::total_cmp);
    let target_met = match (small_ratio, worst) {
        (Some(s), Some(l)) => Some(s >= 0.85 && l >= 0.85),
        _ => None,
    };
    Encryption {
        status: Status::Measured,
        target: ENCRYPTION_TARGET,
        small_events_delivered_per_sec: delivered,
        delivered_per_sec_plaintext_ratio: small_ratio,
        large_events,
        large_mb_per_sec_plaintext_ratio: worst,
        target_met,
    }
}

fn peak_rss(event_bytes: usize, raw: &[FlowRun], ec: &[FlowRun]) -> PeakRss {
    let kib = |runs: &[FlowRun]| {
        let v: Vec<f64> = runs
            .iter()
            .filter_map(first)
            .filter_map(|r| r.peak_rss_kib)
            .map(|k| k as f64)
            .collect();
        Summary::of(&v)
    };
    let raw_udp_kib = kib(raw);
    let eventcast_kib = kib(ec);
    PeakRss {
        event_bytes,
        raw_udp_kib,
        eventcast_kib,
        peak_rss_ratio: ratio(median(eventcast_kib), median(raw_udp_kib)),
    }
}

fn memory(plan: &Plan, m: &Measured) -> Memory {
    // The largest event at the first (default) datagram size.
    let largest = m
        .large
        .iter()
        .filter(|c| Some(&c.payload) == plan.payload_sizes.first())
        .max_by_key(|c| c.size);
    let large_event = match largest {
        Some(c) => peak_rss(c.size, &c.runs.raw, &c.runs.eventcast),
        None => peak_rss(0, &[], &[]),
    };
    Memory {
        small_events: peak_rss(plan.size, &m.small.raw, &m.small.eventcast),
        large_event,
    }
}

fn fanout_side(runs: &[FlowRun], one: Option<Summary>) -> FanoutSide {
    let rates: Vec<f64> = runs
        .iter()
        .flat_map(|run| run.received.iter().filter_map(move |r| rate(run, r)))
        .collect();
    let lost: Vec<f64> = runs
        .iter()
        .flat_map(|r| {
            r.received
                .iter()
                .map(|x| r.sent.events.saturating_sub(x.events) as f64)
        })
        .collect();
    let per = Summary::of(&rates);
    FanoutSide {
        per_receiver_per_sec: per,
        lost: Summary::of(&lost),
        share_of_one_receiver: ratio(median(per), median(one)),
    }
}

fn fanout(plan: &Plan, m: &Measured, small: &SmallEvents) -> Fanout {
    let raw_udp = fanout_side(&m.fanout.raw, small.raw_udp.delivered_per_sec);
    let eventcast = fanout_side(&m.fanout.eventcast, small.eventcast.delivered_per_sec);
    let r = ratio(
        eventcast.share_of_one_receiver,
        raw_udp.share_of_one_receiver,
    );
    Fanout {
        receivers: plan.fanout_receivers,
        events: plan.fanout_events,
        raw_udp,
        eventcast,
        share_of_one_receiver_ratio: r,
    }
}

/// Prints the table and writes the JSON: to `json` as a file, or with
/// `-` to stdout (the table then goes to stderr).
pub(crate) fn emit(report: &Report, json: Option<&Path>) -> anyhow::Result<()> {
    let text = super::table::render(report);
    let document = serde_json::to_string_pretty(report)?;
    match json {
        Some(path) if path == Path::new("-") => {
            eprint!("{text}");
            let mut out = std::io::stdout().lock();
            writeln!(out, "{document}")?;
            out.flush()?;
        }
        Some(path) => {
            print!("{text}");
            std::fs::write(path, document + "\n")
                .with_context(|| format!("cannot write {}", path.display()))?;
            println!("JSON written to {}", path.display());
        }
        None => print!("{text}"),
    }
    Ok(())
}

/// The label of a large case.
pub(crate) fn large_label(case: &LargeCase) -> String {
    format!(
        "{} event, {} B/datagram",
        bytes(case.event_bytes),
        case.max_payload_size
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::proto::Sent;

    fn run(secs: Option<f64>, from_start: bool, events: u64, bytes: u64) -> FlowRun {
        FlowRun {
            sent: Sent {
                events: 10,
                secs: 1.0,
                lead_secs: 0.5,
                send_errors: 0,
            },
            received: vec![Received {
                events,
                bytes,
                secs,
                from_start,
                ..Received::default()
            }],
        }
    }

    #[test]
    fn the_senders_lead_is_not_transfer_time() {
        let timed = run(Some(2.5), true, 10, 4_000_000);
        let r = &timed.received[0];
        assert_eq!(transfer_secs(&timed, r), Some(2.0));
        assert_eq!(rate(&timed, r), Some(5.0));
        assert_eq!(mb_per_sec(&timed, r), Some(2.0));
        // Marker lost: the clock ran from the first data, no lead in it.
        let unmarked = run(Some(2.5), false, 10, 0);
        assert_eq!(transfer_secs(&unmarked, &unmarked.received[0]), Some(2.5));
        // Timed from the first of 10 events: 9 deliveries in 2.5 s.
        assert_eq!(rate(&unmarked, &unmarked.received[0]), Some(3.6));
    }

    #[test]
    fn nothing_delivered_is_zero_and_too_little_is_unknown() {
        let nothing = run(None, true, 0, 0);
        assert_eq!(rate(&nothing, &nothing.received[0]), Some(0.0));
        assert_eq!(event_mb_per_sec(&nothing), Some(0.0));
        let one = run(None, false, 1, 100);
        assert_eq!(rate(&one, &one.received[0]), None);
        // A clock shorter than the lead is no measurement.
        let odd = run(Some(0.4), true, 10, 100);
        assert_eq!(rate(&odd, &odd.received[0]), None);
    }

    #[test]
    fn a_lost_large_event_counts_as_zero_mb_per_sec() {
        let lost = run(Some(3.0), true, 0, 0);
        assert_eq!(event_mb_per_sec(&lost), Some(0.0));
        let whole = run(Some(1.5), true, 1, 3_000_000);
        assert_eq!(event_mb_per_sec(&whole), Some(3.0));
    }
}
