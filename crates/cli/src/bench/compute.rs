//! The figures computed from the runs: rates from the roles' reports,
//! min / median / max over the runs, the ratios of the medians, and each
//! ratio judged by its target.

use super::plan::Plan;
use super::proto::{self, Pinged, Received};
use super::report::{
    EncryptedLarge, Encryption, Fanout, FanoutSide, Figures, Flow, LargeCase, LargeEventcast,
    LargeEvents, LargeRaw, Latency, Loss, LossLevel, Machine, Memory, PeakRss, Report, RoundTrips,
    Settings, Share, SmallEvents, Status,
};
use super::runs::{Both, FlowRun, LargeRuns, LossLevelRuns, Measured};
use super::stats::{median, ratio, Summary};
use super::stream::stream;
use super::targets::{ENCRYPTION, LARGE_EVENTS, LATENCY_P50, LATENCY_P99, SMALL_EVENTS};

/// What to expect of figure 4.
const LOSS_NOTE: &str = "raw UDP loses an event with any one of its datagrams; eventcast repairs \
                         lost datagrams and reports as lost only what it gave up on";

/// The report of everything measured.
pub(crate) fn report(plan: &Plan, m: &Measured) -> Report {
    let small = small_events(plan, &m.small);
    let large = large_events(&m.large);
    let encryption = encryption(m, &small, &large);
    let memory = memory(plan, m);
    let fanout = fanout(plan, m, &small);
    Report {
        tool: "eventcast bench",
        version: env!("CARGO_PKG_VERSION"),
        machine: machine(),
        settings: Settings {
            quick: plan.quick,
            repeat: plan.repeat,
            current_thread: plan.base.current_thread,
            ping_from: plan.base.ping_from,
            busy_poll_us: plan.base.busy_poll_us,
            binary: plan.base.binary,
            told_size: plan.base.told_size,
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
            stream: stream(plan, &m.stream),
        },
    }
}

/// This machine.
fn machine() -> Machine {
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

/// Seconds the receiver took to get what it got, and whether that time
/// holds every delivery (it runs from before the first); `None` when too
/// little arrived to time.
///
/// The bench's roles share the host's `CLOCK_MONOTONIC`: the time runs on
/// it from the sender's first event ([`Sent::start_ns`](proto::Sent::start_ns))
/// to the receiver's last data ([`Received::last_ns`]), whatever became
/// of the start marker. Without both stamps (a role that reports none),
/// the receiver's clock, which starts at the marker, less the sender's
/// wait after it ([`Sent::lead_secs`](proto::Sent::lead_secs)); that also
/// takes off the marker's own way there, 0.06-0.4 ms and at times
/// milliseconds (a 1 MiB event read as 0.01 ms). Or, the marker lost or
/// handled late, from the first data, which leaves that delivery out.
fn transfer(run: &FlowRun, r: &Received) -> Option<(f64, bool)> {
    let (secs, whole) = match (r.last_ns, run.sent.start_ns) {
        (Some(last), Some(start)) => ((i128::from(last) - i128::from(start)) as f64 / 1e9, true),
        _ if r.from_start => (r.secs? - run.sent.lead_secs, true),
        _ => (r.secs?, false),
    };
    (secs > 0.0).then_some((secs, whole))
}

/// [`transfer`]'s seconds.
fn transfer_secs(run: &FlowRun, r: &Received) -> Option<f64> {
    transfer(run, r).map(|(secs, _)| secs)
}

/// Events (or datagrams) delivered per second by one receiver; 0 when
/// nothing arrived, `None` when too little arrived to time.
fn rate(run: &FlowRun, r: &Received) -> Option<f64> {
    match transfer(run, r) {
        Some((secs, whole)) => {
            // Timed from the first event (no stamps, and the marker lost
            // or handled late), the interval holds the deliveries of all
            // the others, not of that one.
            let timed = if whole {
                r.events
            } else {
                r.events.saturating_sub(1)
            };
            Some(timed as f64 / secs)
        }
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

fn small_events(plan: &Plan, runs: &Both<FlowRun>) -> SmallEvents {
    let raw_udp = flow(&runs.raw);
    let eventcast = flow(&runs.eventcast);
    let r = ratio(
        median(eventcast.delivered_per_sec),
        median(raw_udp.delivered_per_sec),
    );
    let none_lost = eventcast.lost.map(|l| l.max == 0.0);
    let target_met = match (r, none_lost) {
        (Some(r), Some(none_lost)) => Some(SMALL_EVENTS.met(r) && none_lost),
        _ => None,
    };
    SmallEvents {
        events: plan.events,
        size: plan.size,
        paced_events_per_sec: plan.rate,
        raw_udp,
        eventcast,
        delivered_per_sec_ratio: r,
        target: format!(
            "delivered/s at least {} raw UDP's ({}), none lost",
            SMALL_EVENTS.share(),
            SMALL_EVENTS.clause()
        ),
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

fn latency(plan: &Plan, runs: &Both<Pinged>) -> Latency {
    let raw_udp = round_trips(&runs.raw);
    let raw_udp_tokio = round_trips(&runs.raw_tokio);
    let eventcast = round_trips(&runs.eventcast);
    let p50_ratio = ratio(median(eventcast.p50_us), median(raw_udp.p50_us));
    let p99_ratio = ratio(median(eventcast.p99_us), median(raw_udp.p99_us));
    let p50_tokio_ratio = ratio(median(eventcast.p50_us), median(raw_udp_tokio.p50_us));
    let p99_tokio_ratio = ratio(median(eventcast.p99_us), median(raw_udp_tokio.p99_us));
    let target_met = match (p50_ratio, p99_ratio) {
        (Some(p50), Some(p99)) => Some(LATENCY_P50.met(p50) && LATENCY_P99.met(p99)),
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
        target: format!("p50 {}, p99 {}", LATENCY_P50.clause(), LATENCY_P99.clause()),
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

/// Of each run in which the event (raw UDP: its datagrams) arrived, the
/// milliseconds it took from the start.
fn one_way_ms(runs: &[FlowRun]) -> Vec<f64> {
    runs.iter()
        .filter_map(|run| {
            let r = first(run)?;
            (r.bytes > 0).then(|| transfer_secs(run, r))?
        })
        .map(|secs| secs * 1e3)
        .collect()
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
        one_way_ms: Summary::of(&one_way_ms(&case.runs.raw)),
    };
    let eventcast = LargeEventcast {
        mb_per_sec: Summary::of(&ec_mb),
        one_way_ms: Summary::of(&one_way_ms(&case.runs.eventcast)),
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
        target_met: r.map(|r| LARGE_EVENTS.met(r)),
    }
}

fn large_events(cases: &[LargeRuns]) -> LargeEvents {
    LargeEvents {
        target: format!(
            "MB/s at least {} of raw UDP's ({})",
            LARGE_EVENTS.share(),
            LARGE_EVENTS.clause()
        ),
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
        (Some(s), Some(l)) => Some(ENCRYPTION.met(s) && ENCRYPTION.met(l)),
        _ => None,
    };
    Encryption {
        status: Status::Measured,
        target: format!(
            "at least {} of plaintext ({})",
            ENCRYPTION.share(),
            ENCRYPTION.clause()
        ),
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

#[cfg(test)]
mod tests;
