//! `eventcast bench` as a user runs it: a whole (tiny) run inside a private
//! network namespace, its JSON checked for every figure and every ratio.
//! Nothing here looks at how fast anything was: the figures' values are
//! the bench's business, their presence and consistency the test's.

use std::collections::BTreeSet;
use std::time::Duration;

use serde_json::Value;

use crate::support::{eventcast, run, run_for};

/// How long the whole tiny bench may take: far more than it needs (a few
/// seconds in a debug build), so that only a hang fails it.
const BENCH_LIMIT: Duration = Duration::from_secs(300);

/// Every ratio field the report has with two large sizes at two datagram
/// sizes and two loss levels.
const RATIOS: &[&str] = &[
    "figures.small_events.delivered_per_sec_ratio",
    "figures.latency.p50_ratio",
    "figures.latency.p99_ratio",
    "figures.latency.p50_tokio_ratio",
    "figures.latency.p99_tokio_ratio",
    "figures.large_events.cases[0].mb_per_sec_ratio",
    "figures.large_events.cases[1].mb_per_sec_ratio",
    "figures.large_events.cases[2].mb_per_sec_ratio",
    "figures.large_events.cases[3].mb_per_sec_ratio",
    "figures.loss.levels[0].complete_share_ratio",
    "figures.loss.levels[1].complete_share_ratio",
    "figures.encryption.delivered_per_sec_plaintext_ratio",
    "figures.encryption.large_mb_per_sec_plaintext_ratio",
    "figures.encryption.large_events[0].mb_per_sec_plaintext_ratio",
    "figures.encryption.large_events[1].mb_per_sec_plaintext_ratio",
    "figures.encryption.large_events[2].mb_per_sec_plaintext_ratio",
    "figures.encryption.large_events[3].mb_per_sec_plaintext_ratio",
    "figures.memory.small_events.peak_rss_ratio",
    "figures.memory.large_event.peak_rss_ratio",
    "figures.fanout.share_of_one_receiver_ratio",
    "figures.stream.first_one_way_ratio",
    "figures.stream.later_one_way_ratio",
];

/// The paths of every field whose name contains `ratio`, and its value.
fn ratios(value: &Value, path: String, out: &mut Vec<(String, Value)>) {
    match value {
        Value::Object(map) => {
            for (key, v) in map {
                let p = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                if key.contains("ratio") {
                    out.push((p.clone(), v.clone()));
                }
                ratios(v, p, out);
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                ratios(v, format!("{path}[{i}]"), out);
            }
        }
        _ => {}
    }
}

fn at<'a>(value: &'a Value, path: &str) -> &'a Value {
    path.split('.').fold(value, |v, key| &v[key])
}

/// A min/median/max summary over `runs` runs, in order.
fn assert_summary(value: &Value, what: &str, runs: u64) {
    let n = |k: &str| {
        value[k]
            .as_f64()
            .unwrap_or_else(|| panic!("{what}.{k} is not a number: {value}"))
    };
    assert!(
        n("min") <= n("median") && n("median") <= n("max"),
        "{what}: {value}"
    );
    assert_eq!(value["runs"].as_u64(), Some(runs), "{what}: {value}");
}

#[test]
fn a_quick_run_reports_every_figure_and_every_ratio() {
    netns_test::run(|| {
        let mut cmd = eventcast();
        cmd.args([
            "bench",
            "--quick",
            "--json",
            "-",
            "--repeat",
            "2",
            "--events",
            "300",
            "--pings",
            "30",
            "--large-sizes",
            "20000,70000",
            "--payload-sizes",
            "1024,8192",
            "--loss-levels",
            "0,10",
            "--loss-events",
            "4",
            "--loss-size",
            "4096",
            "--loss-interval-ms",
            "1",
            "--fanout-events",
            "300",
            "--stream-events",
            "3",
            "--stream-size",
            "20000",
            "--stream-payload-size",
            "8192",
            "--stream-gap-ms",
            "5",
            "--settle-ms",
            "200",
        ]);
        let done = run_for(cmd, b"", BENCH_LIMIT);
        assert!(done.status.success(), "bench failed: {done:?}");
        let report: Value = serde_json::from_str(&done.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {}", done.stdout));

        // The table went to stderr, since the JSON took stdout.
        assert!(done.stderr.contains("1 small events"), "{}", done.stderr);
        assert!(done.stderr.contains("7 fan-out"), "{}", done.stderr);
        assert!(done.stderr.contains("8 stream"), "{}", done.stderr);

        for figure in [
            "small_events",
            "latency",
            "large_events",
            "loss",
            "encryption",
            "memory",
            "fanout",
            "stream",
        ] {
            assert!(report["figures"][figure].is_object(), "no figure {figure}");
        }
        assert_eq!(report["machine"]["private_netns"], true);
        assert!(report["machine"]["nproc"].as_u64().unwrap_or(0) >= 1);

        let mut found = Vec::new();
        ratios(&report, String::new(), &mut found);
        let names: BTreeSet<&str> = found.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(names, RATIOS.iter().copied().collect(), "ratio fields");
        assert_eq!(report["figures"]["encryption"]["status"], "measured");
        // An encrypted large case's rate, like a plaintext one's one-way
        // time below, needs a run whose receiver's clock started at the
        // marker: under load one may have none, and its ratio is null.
        let mut keyed_large = 0;
        for (path, value) in &found {
            if path.starts_with("figures.encryption.large_events[") && value.is_null() {
                continue;
            }
            assert!(value.is_number(), "{path} is {value}, not a number");
            keyed_large += usize::from(path.starts_with("figures.encryption.large_events["));
        }
        assert!(keyed_large > 0, "no encrypted large case timed: {found:?}");

        let small = &report["figures"]["small_events"];
        assert_eq!(small["events"], 300);
        for side in ["raw_udp", "eventcast"] {
            for field in ["lost", "sent_per_sec"] {
                assert_summary(&small[side][field], &format!("small {side} {field}"), 2);
            }
            // A delivery rate needs a receiver whose clock started at the
            // marker: one starved past the sender's lead (a loaded machine,
            // tests side by side) has none, as for the one-way times below.
            let what = format!("small {side} delivered_per_sec");
            let rates = &small[side]["delivered_per_sec"];
            let timed = rates["runs"].as_u64().unwrap_or(0);
            assert!((1..=2).contains(&timed), "{what}: {rates}");
            assert_summary(rates, &what, timed);
        }
        for side in ["raw_udp", "raw_udp_tokio", "eventcast"] {
            let latency = &report["figures"]["latency"][side];
            assert_summary(&latency["p50_us"], &format!("latency {side} p50"), 2);
            assert_summary(&latency["p99_us"], &format!("latency {side} p99"), 2);
        }
        for side in ["raw_udp", "eventcast"] {
            for which in ["small_events", "large_event"] {
                let key = format!("{side}_kib");
                let kib = &report["figures"]["memory"][which][key.as_str()];
                assert_summary(kib, &format!("memory {which} {side}"), 2);
            }
        }
        let cases = at(&report, "figures.large_events.cases");
        let cases = cases.as_array().expect("cases");
        let shapes: Vec<(u64, u64)> = cases
            .iter()
            .map(|c| {
                (
                    c["event_bytes"].as_u64().unwrap_or(0),
                    c["max_payload_size"].as_u64().unwrap_or(0),
                )
            })
            .collect();
        assert_eq!(
            shapes,
            [(20000, 1024), (20000, 8192), (70000, 1024), (70000, 8192)]
        );
        // 70,000 bytes of argument + 40 of BSON in 1,024-byte payloads.
        assert_eq!(cases[2]["datagrams"], 69);
        assert_eq!(cases[2]["eventcast"]["runs"], 2);
        // Each case's one-way time, over every run in which it arrived:
        // timed on the host's clock from the sender's first event to the
        // receiver's last data, a receiver that handled the start marker
        // late (a loaded CI machine) still times its one event.
        for (i, case) in cases.iter().enumerate() {
            let ec = &case["eventcast"];
            let delivered = ec["delivered_runs"].as_u64().expect("delivered_runs");
            assert!(delivered > 0, "case {i}: {case}");
            let one_way = &ec["one_way_ms"];
            let runs = one_way["runs"].as_u64().expect("one_way_ms.runs");
            assert_eq!(runs, delivered, "case {i}: {case}");
            assert_summary(one_way, &format!("case {i} one-way"), runs);
            assert!(one_way["min"].as_f64() > Some(0.0), "{case}");
        }

        // The loss levels ran in namespaces of their own; at 0% loss both
        // transports delivered all four events in both runs.
        let loss = &report["figures"]["loss"];
        assert_eq!(loss["status"], "measured", "{loss}");
        assert_eq!(loss["levels"][0]["loss_percent"], 0);
        assert_eq!(loss["levels"][1]["loss_percent"], 10);
        for side in ["raw_udp", "eventcast"] {
            let share = &loss["levels"][0][side]["complete_share"];
            assert_eq!(share["min"], 1.0, "{side} at 0% loss: {share}");
        }

        let fanout = &report["figures"]["fanout"];
        assert_eq!(fanout["receivers"], 4);
        // Four receivers in each of two runs: each counts its losses. A
        // rate needs a receiver whose clock started at the marker, which a
        // receiver starved past the lead (a loaded CI machine) cannot
        // give, as for the one-way times above: most receivers, not all.
        assert_summary(&fanout["eventcast"]["lost"], "fan-out lost", 8);
        let rates = &fanout["eventcast"]["per_receiver_per_sec"];
        let timed = rates["runs"].as_u64().expect("fan-out rates");
        assert!((4..=8).contains(&timed), "fan-out: {rates}");
        assert_summary(rates, "fan-out", timed);

        // Three events in each of two runs, each timed on the host's clock
        // from its send to its arrival: no start marker is needed, so every
        // run that got its events has its times.
        let stream = &report["figures"]["stream"];
        assert_eq!(stream["events"], 3);
        assert_eq!(stream["event_bytes"], 20000);
        assert_eq!(stream["max_payload_size"], 8192);
        assert_eq!(stream["datagrams"], 3);
        assert_eq!(stream["gap_ms"], 5);
        for side in ["raw_udp", "eventcast"] {
            let s = &stream[side];
            assert_summary(&s["lost"], &format!("stream {side} lost"), 2);
            for field in ["first_one_way_ms", "later_one_way_ms"] {
                let what = format!("stream {side} {field}");
                let runs = s[field]["runs"].as_u64().unwrap_or(0);
                assert!((1..=2).contains(&runs), "{what}: {s}");
                assert_summary(&s[field], &what, runs);
                assert!(s[field]["min"].as_f64() > Some(0.0), "{what}: {s}");
            }
            let every = &s["later_one_way_ms_every_event"];
            let events = every["runs"].as_u64().unwrap_or(0);
            assert!((2..=4).contains(&events), "stream {side}: {s}");
        }
        assert_eq!(stream["eventcast"]["lost"]["max"], 0.0, "{stream}");
    });
}

#[test]
fn a_role_needs_a_port() {
    let mut cmd = eventcast();
    cmd.args(["bench", "--role", "recv"]);
    let done = run(cmd, b"");
    assert_eq!(done.status.code(), Some(2), "{done:?}");
    assert!(done.stderr.contains("--port"), "{}", done.stderr);
}

/// In a namespace, a `--role recv` and a `--role send` with `args` (and a
/// port) send 3 events of 100,000 bytes at 8,192 B per datagram, 20 ms
/// apart; `check` is given the receiver's result line and the sender's
/// `sent` line. (Called in the test's own function: `netns_test::run`
/// runs the test again inside.)
fn three_large_events(args: &[&str], port: &str, check: impl FnOnce(&Value, &Value)) {
    use std::io::{BufRead, BufReader};
    netns_test::run(|| {
        let role = |role: &str, extra: &[&str]| {
            let mut cmd = eventcast();
            cmd.args(["bench", "--role", role]);
            cmd.args(args);
            cmd.args(["--port", port, "--events", "3", "--size", "100000"]);
            cmd.args(["--max-payload-size", "8192"]);
            cmd.args(extra);
            cmd
        };
        let mut receiver = role("recv", &["--settle-ms", "300", "--wait-secs", "60"])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("receiver starts");
        let stdout = receiver.stdout.take().expect("receiver's stdout");
        let mut lines = BufReader::new(stdout).lines().map_while(Result::ok);
        assert!(
            lines.by_ref().any(|l| l == "ready"),
            "the receiver ended before it was ready"
        );
        // 13 datagrams an event, 20 ms apart: a receive buffer of the
        // system's default (if forcing 4 MiB is refused) holds an event.
        let sent = run_for(
            role("send", &["--interval-ms", "20", "--linger-ms", "100"]),
            b"",
            BENCH_LIMIT,
        );
        assert_eq!(sent.status.code(), Some(0), "{sent:?}");
        let line = lines
            .find_map(|l| l.strip_prefix("result ").map(str::to_owned))
            .expect("a result line");
        assert!(receiver.wait().expect("receiver ends").success());
        let sent = sent
            .stdout
            .lines()
            .find_map(|l| l.strip_prefix("sent "))
            .expect("a sent line");
        check(
            &serde_json::from_str(&line).expect("result is JSON"),
            &serde_json::from_str(sent).expect("sent is JSON"),
        );
    });
}

#[test]
fn owned_raw_roles_put_each_large_event_together() {
    three_large_events(&["--transport", "raw", "--owned"], "41277", |result, _| {
        // Three events of 100,000 bytes (a body of 100,040 each).
        assert_eq!(result["events"], 3, "{result}");
        assert_eq!(result["owned"]["events"], 3, "{result}");
        assert_eq!(result["owned"]["bytes"], 3 * 100_040, "{result}");
    });
}

#[test]
fn binary_roles_send_and_count_large_binaries() {
    // A receiver that counted strings alone would count none.
    three_large_events(&["--binary"], "41278", |result, sent| {
        assert_eq!(result["events"], 3, "{result}");
        assert_eq!(result["bytes"], 3 * 100_000, "{result}");
        assert!(result.get("owned").is_none(), "{result}");
        // Sent with emit_binary, their bytes shared.
        assert_eq!(sent["shared_messages"], 3, "{sent}");
    });
}
