//! `stats [all]`: the node's counters and the REPL's, as a few lines of
//! text.
//!
//! The main counters come on fixed lines; drops are listed by reason and
//! the counters of things that went wrong by name, each only when it is
//! not 0, so that nothing wrong hides and nothing idle fills the screen.
//! `stats all` lists every counter that is not 0, by its field name.
//!
//! Drop reasons and problems are read from the counters' serialized form,
//! so that a drop reason added later is listed without a change here; a
//! counter added to `NodeStats` or `Stats` must be named in [`PROBLEMS`] or
//! [`QUIET`] (a test checks), so that nobody forgets to decide whether it
//! is one.

use std::fmt::Write as _;

use serde_json::Value;

use crate::repl::cmd::context::{Context, Spec};
use crate::repl::stats::ReplStats;
use crate::repl::tokens::Token;
use crate::stats::NodeStats;

pub(super) const SPEC: Spec = Spec {
    name: "stats",
    usage: "stats [all]",
    about: "counters: sent, received, dropped by reason, anything else that went \
            wrong (each by name, when not 0), the REPL's own; `stats all`: every \
            counter that is not 0",
};

/// A parsed `stats`.
#[derive(Debug)]
pub(crate) struct Stats {
    all: bool,
}

impl Stats {
    pub(super) fn parse(words: &[Token]) -> Option<Self> {
        match words {
            [] => Some(Self { all: false }),
            [word] if word.as_str().eq_ignore_ascii_case("all") => Some(Self { all: true }),
            _ => None,
        }
    }

    pub(super) fn run(self, cx: &mut Context<'_>) -> String {
        let node = cx.node.stats();
        let repl = cx.server.stats();
        if self.all {
            all(&node, &repl)
        } else {
            summary(&node, &repl)
        }
    }
}

/// Counters (paths into the serialized [`NodeStats`]) that count something
/// going wrong: listed by name, in this order, after the drops, when not 0.
const PROBLEMS: &[&str] = &[
    "protocol.messages_lost",
    "protocol.losses_untold",
    "protocol.gaps_unrecorded",
    "kernel_drops",
    "send_errors",
    "recv_errors",
    "recv_truncated",
    "send_batch_errors",
    "send_wait_failures",
    "batch_fallbacks",
    "gso_fallbacks",
    "fragment_fallbacks",
    "listener_panics",
    "subscription_lagged",
    "emitted_while_stopped",
    "protocol.seal_refused",
    "protocol.senders_evicted",
    "protocol.senders_forgotten_for_room",
    "protocol.senders_refused",
    "protocol.senders_reanchored",
    "protocol.replay_senders_evicted",
    "protocol.repairs_unavailable",
    "protocol.repairs_refused",
    "protocol.nacks_deferred",
    "protocol.window_lapses",
    "protocol.challenges_ignored",
    "protocol.challenges_withheld",
    "protocol.rounds_full",
    "protocol.held_displaced",
    "protocol.answers_late",
    "protocol.senders_unanswered",
    "protocol.heartbeats_implausible",
    "protocol.statuses_withheld",
    "protocol.conflicts",
];

/// Counters and gauges that are not a problem, or are on the main lines
/// already (also by path); `stats all` shows them.
const QUIET: &[&str] = &[
    "running",
    "starts",
    "recv_buffer_size",
    "send_calls",
    "send_call_datagrams",
    "recv_calls",
    "recv_call_datagrams",
    "recv_coalesced",
    "busy_polls",
    "busy_poll_hits",
    "messages_received_in_spare",
    "protocol.messages_sent",
    "protocol.datagrams_sent",
    "protocol.segments_sent",
    "protocol.bytes_sent",
    "protocol.datagrams_received",
    "protocol.bytes_received",
    "protocol.own_datagrams",
    "protocol.own_control",
    "protocol.control_received",
    "protocol.segments_received",
    "protocol.messages_received",
    "protocol.partial_messages",
    "protocol.partial_bytes",
    "protocol.window_bytes",
    "protocol.senders",
    "protocol.datagrams_sealed",
    "protocol.datagrams_opened",
    "protocol.replay_senders",
    "protocol.late_joins",
    "protocol.messages_sent_in_parts",
    "protocol.messages_sent_shared",
    "protocol.batches_sent",
    "protocol.batches_received",
    "protocol.batched_messages_received",
    "protocol.nacks_sent",
    "protocol.nacks_suppressed",
    "protocol.nacks_received",
    "protocol.nacks_overheard",
    "protocol.repairs_sent",
    "protocol.repairs_received",
    "protocol.repairs_lingered",
    "protocol.heartbeats_sent",
    "protocol.heartbeats_received",
    // Counts the same as messages_lost, in reports.
    "protocol.loss_reports",
    // Told later (messages_lost) or never (losses_untold).
    "protocol.losses_waiting",
    "protocol.pacing_waits",
    "protocol.rate_decreases",
    "protocol.send_rate",
    "protocol.statuses_sent",
    "protocol.statuses_received",
    "protocol.statuses_overheard",
    "protocol.window_waits",
    "protocol.window_receivers",
    "protocol.send_window",
    "protocol.advertised_window",
    "protocol.send_queue_bytes",
    "protocol.send_queue_released",
    "protocol.retransmit_store_bytes",
    "protocol.held_messages",
    "protocol.recovery_bytes",
    "protocol.challenges_sent",
    "protocol.challenges_received",
    "protocol.answers_sent",
    "protocol.answers_received",
    "protocol.senders_verified",
    "protocol.handshake_held",
    "protocol.handshake_held_bytes",
    "protocol.senders_remembered",
    "protocol.senders_resumed",
    "protocol.far_ahead_taken",
];

/// Where the drop reasons are: every field under them is one.
const DROPPED: &str = "protocol.dropped";
const LEGACY_DROPPED: &str = "legacy.dropped";
/// The legacy endpoint's counters other than its drops: the same traffic
/// as `protocol` in native terms, so only `stats all` shows them.
const LEGACY: &str = "legacy";

/// The main counters on a few lines, then what was dropped and what went
/// wrong, by name, then the REPL's counters.
fn summary(node: &NodeStats, repl: &ReplStats) -> String {
    let p = &node.protocol;
    let counters = flatten(node);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "node: {}, started {}; receive buffer {} bytes",
        if node.running { "running" } else { "stopped" },
        plural(node.starts, "time"),
        node.recv_buffer_size
    );
    let _ = writeln!(
        out,
        "sent: {} in {} ({} bytes); {} sent again for {} received",
        plural(p.messages_sent, "event"),
        plural(p.datagrams_sent, "datagram"),
        p.bytes_sent,
        plural(p.repairs_sent, "repair"),
        plural(p.nacks_received, "NACK"),
    );
    let _ = writeln!(
        out,
        "received: {} from {} in {} ({} bytes; {} of this node's own ignored); \
         {} received for {} sent",
        plural(p.messages_received, "event"),
        plural(p.senders, "sender"),
        plural(p.datagrams_received, "datagram"),
        p.bytes_received,
        p.own_datagrams,
        plural(p.repairs_received, "repair"),
        plural(p.nacks_sent, "NACK"),
    );
    let dropped = nonzero(&counters, |path| under(path, DROPPED));
    let total: u64 = dropped.iter().map(|(_, n)| n).sum();
    if dropped.is_empty() {
        out.push_str("dropped: none\n");
    } else {
        let _ = writeln!(out, "dropped {total}: {}", list(&dropped, DROPPED));
    }
    let legacy = nonzero(&counters, |path| under(path, LEGACY_DROPPED));
    if !legacy.is_empty() {
        let _ = writeln!(
            out,
            "dropped by the legacy protocol: {}",
            list(&legacy, LEGACY_DROPPED)
        );
    }
    let problems = problems(&counters);
    if problems.is_empty() {
        out.push_str("problems: none\n");
    } else {
        let _ = writeln!(out, "problems: {}", list(&problems, ""));
    }
    out.push_str(&repl_line(repl));
    out.push_str("\n(`stats all` lists every counter that is not 0)");
    out
}

/// The counters of [`PROBLEMS`] that are not 0, in its order, then any
/// other that is neither quiet nor a drop: a counter added without being
/// sorted shows up here rather than nowhere.
fn problems(counters: &[(String, Counter)]) -> Vec<(String, u64)> {
    let known = nonzero(counters, |path| PROBLEMS.contains(&path));
    let mut out: Vec<(String, u64)> = PROBLEMS
        .iter()
        .filter_map(|name| known.iter().find(|(path, _)| path == name).cloned())
        .collect();
    out.extend(nonzero(counters, |path| {
        !PROBLEMS.contains(&path)
            && !QUIET.contains(&path)
            && !under(path, DROPPED)
            && !under(path, LEGACY)
    }));
    out
}

/// The REPL's counters, on one line.
fn repl_line(r: &ReplStats) -> String {
    format!(
        "repl: {} now, {} served, {} turned away, {} failed to accept; \
         {} ({} failed, {} too long); {} streamed, {} dropped for slow clients",
        plural(r.clients as u64, "client"),
        r.accepted,
        r.rejected,
        r.accept_errors,
        plural(r.commands, "command"),
        r.command_errors,
        plural(r.lines_too_long, "line"),
        plural(r.events_streamed, "event"),
        r.events_dropped,
    )
}

/// Every counter that is not 0, one `path = value` per line, then the
/// REPL's.
fn all(node: &NodeStats, repl: &ReplStats) -> String {
    let counters = flatten(node);
    let mut out = String::new();
    let mut zero = 0;
    for (path, value) in &counters {
        match value {
            Counter::Number(0) | Counter::Flag(false) => zero += 1,
            Counter::Number(n) => {
                let _ = writeln!(out, "{path} = {n}");
            }
            Counter::Flag(true) => {
                let _ = writeln!(out, "{path} = true");
            }
        }
    }
    let _ = writeln!(out, "({zero} others are 0)");
    out.push_str(&repl_line(repl));
    out
}

/// A counter's value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Counter {
    Number(u64),
    Flag(bool),
}

/// Every field of `node`, by dotted path (`protocol.dropped.duplicate`),
/// sorted by path.
fn flatten(node: &NodeStats) -> Vec<(String, Counter)> {
    // Plain structs of integers and booleans: serializing cannot fail.
    serde_json::to_value(node)
        .map(|value| flatten_value(&value))
        .unwrap_or_default()
}

fn flatten_value(value: &Value) -> Vec<(String, Counter)> {
    let mut out = Vec::new();
    walk("", value, &mut out);
    // Whatever order the JSON map keeps (serde_json's `preserve_order`).
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

fn walk(prefix: &str, value: &Value, out: &mut Vec<(String, Counter)>) {
    match value {
        Value::Object(fields) => {
            for (name, value) in fields {
                let path = if prefix.is_empty() {
                    name.clone()
                } else {
                    format!("{prefix}.{name}")
                };
                walk(&path, value, out);
            }
        }
        Value::Bool(flag) => out.push((prefix.to_owned(), Counter::Flag(*flag))),
        // A count too large for u64 cannot happen; shown as the largest.
        Value::Number(n) => out.push((
            prefix.to_owned(),
            Counter::Number(n.as_u64().unwrap_or(u64::MAX)),
        )),
        other => out.push((
            format!("{prefix} (unexpected {other})"),
            Counter::Number(u64::MAX),
        )),
    }
}

/// `path` is `parent` or a field under it.
fn under(path: &str, parent: &str) -> bool {
    path.strip_prefix(parent)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('.'))
}

/// The counters that `keep` selects and are not 0 (a flag set counts 1).
fn nonzero(counters: &[(String, Counter)], keep: impl Fn(&str) -> bool) -> Vec<(String, u64)> {
    counters
        .iter()
        .filter(|(path, _)| keep(path))
        .filter_map(|(path, value)| match value {
            Counter::Number(0) | Counter::Flag(false) => None,
            Counter::Number(n) => Some((path.clone(), *n)),
            Counter::Flag(true) => Some((path.clone(), 1)),
        })
        .collect()
}

/// `name n, name n`, each path without `parent.`.
fn list(counters: &[(String, u64)], parent: &str) -> String {
    counters
        .iter()
        .map(|(path, n)| {
            let name = path
                .strip_prefix(parent)
                .map_or(path.as_str(), |rest| rest.trim_start_matches('.'));
            format!("{name} {n}")
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// `1 event`, `2 events`.
fn plural(n: u64, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn quiet_node() -> NodeStats {
        let mut node = NodeStats {
            running: true,
            starts: 1,
            recv_buffer_size: 425_984,
            send_calls: 3,
            ..NodeStats::default()
        };
        node.protocol.messages_sent = 1;
        node.protocol.datagrams_sent = 3;
        node.protocol.bytes_sent = 200;
        node.protocol.messages_received = 4;
        node.protocol.senders = 2;
        node.protocol.heartbeats_sent = 2;
        node
    }

    fn repl() -> ReplStats {
        ReplStats {
            clients: 1,
            accepted: 2,
            commands: 3,
            ..ReplStats::default()
        }
    }

    /// Trial item 2: `stats` printed about 200 lines of `{:#?}`.
    #[test]
    fn a_quiet_node_fits_a_few_lines() {
        let text = summary(&quiet_node(), &repl());
        assert_eq!(
            text,
            "node: running, started 1 time; receive buffer 425984 bytes\n\
             sent: 1 event in 3 datagrams (200 bytes); 0 repairs sent again for 0 NACKs received\n\
             received: 4 events from 2 senders in 0 datagrams (0 bytes; 0 of this node's own \
             ignored); 0 repairs received for 0 NACKs sent\n\
             dropped: none\n\
             problems: none\n\
             repl: 1 client now, 2 served, 0 turned away, 0 failed to accept; 3 commands \
             (0 failed, 0 lines too long); 0 events streamed, 0 dropped for slow clients\n\
             (`stats all` lists every counter that is not 0)"
        );
        assert!(!text.contains('{'), "{text}");
    }

    #[test]
    fn drops_and_problems_are_named_when_not_zero() {
        let mut node = quiet_node();
        node.protocol.dropped.duplicate = 10;
        node.protocol.dropped.bad_tag = 2;
        node.protocol.messages_lost = 3;
        node.kernel_drops = 7;
        node.send_errors = 1;
        node.listener_panics = 1;
        node.legacy.dropped.malformed = 4;
        let text = summary(&node, &repl());
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[3], "dropped 12: bad_tag 2, duplicate 10");
        assert_eq!(lines[4], "dropped by the legacy protocol: malformed 4");
        assert_eq!(
            lines[5],
            "problems: protocol.messages_lost 3, kernel_drops 7, send_errors 1, listener_panics 1"
        );
        assert_eq!(lines.len(), 8, "{text}");
    }

    /// Every field of the node's counters is a drop reason, a problem or
    /// known to be quiet; each problem, when not 0, is on the summary.
    #[test]
    fn every_counter_is_sorted_and_no_problem_hides() {
        let counters = flatten(&NodeStats::default());
        assert!(counters.len() > 100, "{}", counters.len());
        for (path, _) in &counters {
            let sorted = under(path, DROPPED)
                || under(path, LEGACY)
                || PROBLEMS.contains(&path.as_str())
                || QUIET.contains(&path.as_str());
            assert!(
                sorted,
                "{path}: add it to PROBLEMS or QUIET in repl/cmd/stats.rs"
            );
        }
        for name in PROBLEMS.iter().chain(QUIET) {
            assert!(
                counters.iter().any(|(path, _)| path == name),
                "{name} is not a counter"
            );
            assert!(
                !(PROBLEMS.contains(name) && QUIET.contains(name)),
                "{name} twice"
            );
        }
        // Each problem and each drop reason set alone is named.
        let paths: Vec<String> = counters.iter().map(|(p, _)| p.clone()).collect();
        for path in paths.iter().filter(|p| {
            !QUIET.contains(&p.as_str()) && (!under(p, LEGACY) || under(p, LEGACY_DROPPED))
        }) {
            let mut value = serde_json::to_value(NodeStats::default()).unwrap();
            let mut at = &mut value;
            for part in path.split('.') {
                at = &mut at[part];
            }
            *at = Value::from(5u64);
            let set = flatten_value(&value);
            let text = render_counters(&set);
            let name = path.rsplit('.').next().unwrap();
            assert!(text.contains(&format!("{name} 5")), "{path}:\n{text}");
        }
    }

    /// The drop, legacy and problem lines of [`summary`], from counters.
    fn render_counters(counters: &[(String, Counter)]) -> String {
        let dropped = nonzero(counters, |p| under(p, DROPPED));
        let legacy = nonzero(counters, |p| under(p, LEGACY_DROPPED));
        format!(
            "{}\n{}\n{}",
            list(&dropped, DROPPED),
            list(&legacy, LEGACY_DROPPED),
            list(&problems(counters), "")
        )
    }

    #[test]
    fn all_lists_what_is_not_zero() {
        let text = all(&quiet_node(), &repl());
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            &lines[..10],
            [
                "protocol.bytes_sent = 200",
                "protocol.datagrams_sent = 3",
                "protocol.heartbeats_sent = 2",
                "protocol.messages_received = 4",
                "protocol.messages_sent = 1",
                "protocol.senders = 2",
                "recv_buffer_size = 425984",
                "running = true",
                "send_calls = 3",
                "starts = 1",
            ]
        );
        assert!(lines[10].ends_with(" others are 0)"), "{text}");
        assert!(lines[11].starts_with("repl: 1 client now"), "{text}");
        assert_eq!(lines.len(), 12, "{text}");
    }
}
