//! The table `eventcast bench` prints: one row per figure, raw UDP beside
//! eventcast as `median [min-max]`, the ratio of the medians, and the
//! target with how far it is missed.

use super::report::{Report, Status};
use super::stats::Summary;
use super::targets::{
    Comparison, Target, ENCRYPTION, LARGE_EVENTS, LATENCY_P50, LATENCY_P99, SMALL_EVENTS,
};

/// One line of the table; a section heading has only a label.
struct Row {
    label: String,
    raw: String,
    eventcast: String,
    ratio: String,
    target: String,
}

impl Row {
    fn heading(label: impl Into<String>) -> Row {
        Row {
            label: label.into(),
            raw: String::new(),
            eventcast: String::new(),
            ratio: String::new(),
            target: String::new(),
        }
    }

    fn new(label: impl Into<String>, raw: String, eventcast: String) -> Row {
        Row {
            label: format!("    {}", label.into()),
            raw,
            eventcast,
            ratio: String::new(),
            target: String::new(),
        }
    }

    fn ratio(mut self, ratio: Option<f64>) -> Row {
        self.ratio = ratio.map_or_else(|| "-".into(), |r| format!("{r:.2}"));
        self
    }

    fn target(mut self, target: Target, ratio: Option<f64>) -> Row {
        self.target = judge(target, ratio);
        self
    }
}

/// `>= 1.00 met`, `>= 1.00 MISSED by 48%`.
fn judge(target: Target, ratio: Option<f64>) -> String {
    let (sign, goal) = (target.sign(), target.value);
    let short = ratio.map(|r| match target.comparison {
        Comparison::AtLeast => (goal - r) / goal,
        Comparison::AtMost => (r - goal) / goal,
    });
    match short {
        None => format!("{sign} {goal:.2}"),
        Some(s) if s <= 0.0 => format!("{sign} {goal:.2} met"),
        Some(s) => format!("{sign} {goal:.2} MISSED by {:.0}%", s * 100.0),
    }
}

/// `1 MiB`, `16 MiB`, `100 KiB`, `1000 B`.
pub(crate) fn bytes(n: usize) -> String {
    match n {
        n if n >= 1 << 20 && n % (1 << 20) == 0 => format!("{} MiB", n >> 20),
        n if n >= 1 << 10 && n % (1 << 10) == 0 => format!("{} KiB", n >> 10),
        n => format!("{n} B"),
    }
}

/// The label of a large case: `1 MiB event, 1024 B/datagram`.
fn large_label(event_bytes: usize, max_payload_size: usize) -> String {
    format!(
        "{} event, {max_payload_size} B/datagram",
        bytes(event_bytes)
    )
}

/// `186,012`.
fn count(v: f64) -> String {
    let n = v.round() as i64;
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 {
        out.insert(0, '-');
    }
    out
}

/// `median [min-max]` with `fmt` for each number; `-` without values.
fn summary(s: Option<Summary>, fmt: impl Fn(f64) -> String) -> String {
    match s {
        None => "-".into(),
        Some(s) if s.min == s.max => fmt(s.median),
        Some(s) => format!("{} [{}-{}]", fmt(s.median), fmt(s.min), fmt(s.max)),
    }
}

fn decimals(places: usize) -> impl Fn(f64) -> String {
    move |v| format!("{v:.places$}")
}

fn mib(kib: f64) -> String {
    format!("{:.1}", kib / 1024.0)
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
        if s.current_thread {
            " | --current-thread"
        } else {
            ""
        },
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
        let why = loss.reason.as_deref().unwrap_or("not measured");
        let why = why.lines().next().unwrap_or(why);
        rows.push(Row::heading(format!("    skipped: {why}")));
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

    out += &layout(&rows);
    out
}

/// The rows in aligned columns; a heading runs across.
fn layout(rows: &[Row]) -> String {
    let width = |f: fn(&Row) -> &String| {
        rows.iter()
            .filter(|r| !r.raw.is_empty() || !r.eventcast.is_empty())
            .map(|r| f(r).chars().count())
            .max()
            .unwrap_or(0)
    };
    let w = [
        width(|r| &r.label),
        width(|r| &r.raw),
        width(|r| &r.eventcast),
        width(|r| &r.ratio),
    ];
    let pad = |s: &str, w: usize| format!("{s}{}", " ".repeat(w.saturating_sub(s.chars().count())));
    let mut out = String::new();
    for r in rows {
        let line = if r.raw.is_empty() && r.eventcast.is_empty() && r.ratio.is_empty() {
            r.label.clone()
        } else {
            format!(
                "{}  {}  {}  {}  {}",
                pad(&r.label, w[0]),
                pad(&r.raw, w[1]),
                pad(&r.eventcast, w[2]),
                pad(&r.ratio, w[3]),
                r.target
            )
        };
        out += line.trim_end();
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_have_thousands_separators() {
        assert_eq!(count(186_012.4), "186,012");
        assert_eq!(count(1_000_000.0), "1,000,000");
        assert_eq!(count(999.0), "999");
        assert_eq!(count(0.0), "0");
        assert_eq!(count(-1234.0), "-1,234");
    }

    #[test]
    fn targets_say_by_how_much_they_are_missed() {
        let goal = |comparison, value| Target {
            name: "test",
            figure: 0,
            comparison,
            value,
        };
        let at_least = |value| goal(Comparison::AtLeast, value);
        let at_most = |value| goal(Comparison::AtMost, value);
        assert_eq!(judge(at_least(1.0), Some(0.52)), ">= 1.00 MISSED by 48%");
        assert_eq!(judge(at_least(0.5), Some(0.6)), ">= 0.50 met");
        assert_eq!(judge(at_most(1.3), Some(1.69)), "<= 1.30 MISSED by 30%");
        assert_eq!(judge(at_most(1.5), Some(1.2)), "<= 1.50 met");
        assert_eq!(judge(at_most(1.5), None), "<= 1.50");
    }

    #[test]
    fn sizes_read_as_people_write_them() {
        assert_eq!(bytes(1 << 20), "1 MiB");
        assert_eq!(bytes(16 << 20), "16 MiB");
        assert_eq!(bytes(100 * 1024), "100 KiB");
        assert_eq!(bytes(1000), "1000 B");
    }

    #[test]
    fn summaries_show_the_median_first() {
        let s = Summary::of(&[3.0, 1.0, 2.0]);
        assert_eq!(summary(s, decimals(1)), "2.0 [1.0-3.0]");
        assert_eq!(summary(Summary::of(&[4.0]), decimals(0)), "4");
        assert_eq!(summary(None, decimals(0)), "-");
    }
}
