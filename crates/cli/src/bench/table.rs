//! The table `eventcast bench` prints: one row per figure, raw UDP beside
//! eventcast as `median [min-max]`, the ratio of the medians, and the
//! target with how far it is missed.

use super::args::{PingFrom, DEFAULT_BUSY_POLL_US};
use super::cells::{bytes, count, decimals, layout, mib, summary, Row};
use super::report::{Report, Settings, Status};
use super::targets::{ENCRYPTION, LARGE_EVENTS, LATENCY_P50, LATENCY_P99, SMALL_EVENTS};

/// The label of a large case: `1 MiB event, 1024 B/datagram`.
fn large_label(event_bytes: usize, max_payload_size: usize) -> String {
    format!(
        "{} event, {max_payload_size} B/datagram",
        bytes(event_bytes)
    )
}

/// The rows saying why a figure was skipped: every line of the reason,
/// since its cause (a child's stderr) comes after the first.
fn skipped(why: &str) -> Vec<Row> {
    let mut lines = why.lines().map(str::trim).filter(|l| !l.is_empty());
    let first = lines.next().unwrap_or("not measured");
    std::iter::once(Row::heading(format!("    skipped: {first}")))
        .chain(lines.map(|l| Row::heading(format!("      {l}"))))
        .collect()
}

/// The table, with a header naming the machine and the settings.
pub(crate) fn render(report: &Report) -> String {
    let m = &report.machine;
    let s = &report.settings;
    let f = &report.figures;
    let mut out = format!(
        "{} {} | {} CPUs | {} | Linux {} | {}\n",
        report.tool,
        report.version,
        m.nproc,
        m.cpu_model.as_deref().unwrap_or("unknown CPU"),
        m.kernel.as_deref().unwrap_or("?"),
        if m.private_netns {
            "private network namespace"
        } else {
            "host network"
        },
    );
    out += &format!(
        "group {} TTL {}{} | {} runs each: median [min-max] | ratio = eventcast median / raw UDP median{}{}\n\n",
        s.group,
        s.ttl,
        s.interface
            .as_deref()
            .map(|i| format!(" on {i}"))
            .unwrap_or_default(),
        s.repeat,
        if s.quick { " | --quick" } else { "" },
        options(s),
    );
    let mut rows = vec![Row {
        label: "figure".into(),
        raw: "raw UDP".into(),
        eventcast: "eventcast".into(),
        ratio: "ratio".into(),
        target: "target".into(),
    }];

    let small = &f.small_events;
    let paced = small
        .paced_events_per_sec
        .map(|r| format!(", paced at {}/s", count(r)))
        .unwrap_or_default();
    rows.push(Row::heading(format!(
        "1 small events: {} x {} B{paced}",
        count(small.events as f64),
        small.size
    )));
    rows.push(
        Row::new(
            "delivered/s",
            summary(small.raw_udp.delivered_per_sec, count),
            summary(small.eventcast.delivered_per_sec, count),
        )
        .ratio(small.delivered_per_sec_ratio)
        .target(SMALL_EVENTS, small.delivered_per_sec_ratio),
    );
    rows.push(Row::new(
        "lost",
        summary(small.raw_udp.lost, count),
        summary(small.eventcast.lost, count),
    ));
    rows.push(Row::new(
        "sent/s",
        summary(small.raw_udp.sent_per_sec, count),
        summary(small.eventcast.sent_per_sec, count),
    ));

    let lat = &f.latency;
    rows.push(Row::heading(format!(
        "2 latency: {} round trips, us",
        count(lat.pings as f64)
    )));
    rows.push(
        Row::new(
            "p50",
            summary(lat.raw_udp.p50_us, decimals(1)),
            summary(lat.eventcast.p50_us, decimals(1)),
        )
        .ratio(lat.p50_ratio)
        .target(LATENCY_P50, lat.p50_ratio),
    );
    rows.push(
        Row::new(
            "p99",
            summary(lat.raw_udp.p99_us, decimals(1)),
            summary(lat.eventcast.p99_us, decimals(1)),
        )
        .ratio(lat.p99_ratio)
        .target(LATENCY_P99, lat.p99_ratio),
    );
    rows.push(
        Row::new(
            "p50, raw UDP on tokio",
            summary(lat.raw_udp_tokio.p50_us, decimals(1)),
            String::new(),
        )
        .ratio(lat.p50_tokio_ratio),
    );
    rows.push(
        Row::new(
            "p99, raw UDP on tokio",
            summary(lat.raw_udp_tokio.p99_us, decimals(1)),
            String::new(),
        )
        .ratio(lat.p99_tokio_ratio),
    );

    rows.push(Row::heading("3 large events: MB/s"));
    for case in &f.large_events.cases {
        rows.push(
            Row::new(
                large_label(case.event_bytes, case.max_payload_size),
                summary(case.raw_udp.mb_per_sec, decimals(1)),
                summary(case.eventcast.mb_per_sec, decimals(1)),
            )
            .ratio(case.mb_per_sec_ratio)
            .target(LARGE_EVENTS, case.mb_per_sec_ratio),
        );
        rows.push(Row::new(
            "  one-way ms",
            summary(case.raw_udp.one_way_ms, decimals(2)),
            summary(case.eventcast.one_way_ms, decimals(2)),
        ));
        rows.push(Row::new(
            "  lost datagrams / runs delivered",
            summary(case.raw_udp.lost_datagrams, count),
            format!("{}/{}", case.eventcast.delivered_runs, case.eventcast.runs),
        ));
    }

    let loss = &f.loss;
    rows.push(Row::heading(format!(
        "4 loss: share of {} {} events complete",
        loss.events,
        bytes(loss.event_bytes)
    )));
    if loss.status == Status::Measured {
        for level in &loss.levels {
            rows.push(
                Row::new(
                    format!("{}% loss", level.loss_percent),
                    summary(level.raw_udp.complete_share, decimals(2)),
                    summary(level.eventcast.complete_share, decimals(2)),
                )
                .ratio(level.complete_share_ratio),
            );
        }
    } else {
        rows.extend(skipped(loss.reason.as_deref().unwrap_or("not measured")));
    }

    let enc = &f.encryption;
    rows.push(Row::heading(
        "5 encryption: eventcast with a key / plaintext",
    ));
    rows.push(
        Row::new(
            "small events delivered/s",
            String::new(),
            summary(enc.small_events_delivered_per_sec, count),
        )
        .ratio(enc.delivered_per_sec_plaintext_ratio)
        .target(ENCRYPTION, enc.delivered_per_sec_plaintext_ratio),
    );
    for case in &enc.large_events {
        rows.push(
            Row::new(
                large_label(case.event_bytes, case.max_payload_size),
                String::new(),
                summary(case.mb_per_sec, decimals(1)),
            )
            .ratio(case.mb_per_sec_plaintext_ratio)
            .target(ENCRYPTION, case.mb_per_sec_plaintext_ratio),
        );
    }

    let mem = &f.memory;
    rows.push(Row::heading("6 memory: receiver peak RSS, MiB"));
    rows.push(
        Row::new(
            "small events",
            summary(mem.small_events.raw_udp_kib, mib),
            summary(mem.small_events.eventcast_kib, mib),
        )
        .ratio(mem.small_events.peak_rss_ratio),
    );
    rows.push(
        Row::new(
            format!("{} event", bytes(mem.large_event.event_bytes)),
            summary(mem.large_event.raw_udp_kib, mib),
            summary(mem.large_event.eventcast_kib, mib),
        )
        .ratio(mem.large_event.peak_rss_ratio),
    );

    let fan = &f.fanout;
    rows.push(Row::heading(format!(
        "7 fan-out: 1 sender, {} receivers, {} events",
        fan.receivers,
        count(fan.events as f64)
    )));
    rows.push(Row::new(
        "delivered/s per receiver",
        summary(fan.raw_udp.per_receiver_per_sec, count),
        summary(fan.eventcast.per_receiver_per_sec, count),
    ));
    rows.push(Row::new(
        "lost per receiver",
        summary(fan.raw_udp.lost, count),
        summary(fan.eventcast.lost, count),
    ));
    let share = |v: Option<f64>| v.map_or_else(|| "-".into(), |v| format!("{v:.2}"));
    rows.push(
        Row::new(
            "share of one receiver",
            share(fan.raw_udp.share_of_one_receiver),
            share(fan.eventcast.share_of_one_receiver),
        )
        .ratio(fan.share_of_one_receiver_ratio),
    );

    let st = &f.stream;
    rows.push(Row::heading(format!(
        "8 stream: {} x {} events, {} B/datagram, {} ms apart",
        st.events,
        bytes(st.event_bytes),
        st.max_payload_size,
        st.gap_ms
    )));
    rows.push(
        Row::new(
            "first event one-way ms",
            summary(st.raw_udp.first_one_way_ms, decimals(2)),
            summary(st.eventcast.first_one_way_ms, decimals(2)),
        )
        .ratio(st.first_one_way_ratio),
    );
    rows.push(
        Row::new(
            "later events one-way ms",
            summary(st.raw_udp.later_one_way_ms, decimals(2)),
            summary(st.eventcast.later_one_way_ms, decimals(2)),
        )
        .ratio(st.later_one_way_ratio),
    );
    rows.push(Row::new(
        "  every later event",
        summary(st.raw_udp.later_one_way_ms_every_event, decimals(2)),
        summary(st.eventcast.later_one_way_ms_every_event, decimals(2)),
    ));
    rows.push(Row::new(
        "lost events",
        summary(st.raw_udp.lost, count),
        summary(st.eventcast.lost, count),
    ));

    out += &layout(&rows);
    out
}

/// The options that change how eventcast runs, as the header names them.
fn options(s: &Settings) -> String {
    let mut out = String::new();
    if s.current_thread {
        out += " | --current-thread";
    }
    if s.ping_from != PingFrom::default() {
        out += &format!(" | --ping-from {}", s.ping_from.name());
    }
    if s.busy_poll_us != DEFAULT_BUSY_POLL_US {
        out += &format!(" | --busy-poll {}", s.busy_poll_us);
        if s.current_thread {
            out += " (ignored on current_thread)";
        }
    }
    if s.binary {
        out += " | --binary (large events: emit_binary)";
    }
    if s.told_size {
        out += " | --told-size (nodes told their large events' size)";
    }
    out
}

#[cfg(test)]
mod tests {
    use super::skipped;

    #[test]
    fn a_skipped_figure_shows_its_cause_on_the_lines_after_the_first() {
        let why = "figure 4 at 1% loss (scripts/netns): ended; its stderr:\n\
                   netns: NETNS_LOSS needs nft (apt-get install -y nftables)\n";
        let labels: Vec<String> = skipped(why).into_iter().map(|r| r.label).collect();
        assert_eq!(
            labels,
            [
                "    skipped: figure 4 at 1% loss (scripts/netns): ended; its stderr:",
                "      netns: NETNS_LOSS needs nft (apt-get install -y nftables)",
            ]
        );
        assert_eq!(skipped("")[0].label, "    skipped: not measured");
    }
}
