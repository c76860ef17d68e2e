//! `eventcast emit`: sends one event, or one per line of stdin, and exits.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Context as _};
use bson::Bson;
use eventcast::Eventcast;
use serde::Deserialize;
use tokio::io::{AsyncBufRead, AsyncBufReadExt};

use crate::common::{self, NodeArgs};
use crate::json::{self, ExtJson};

/// Options of `eventcast emit`.
#[derive(clap::Args, Debug)]
pub(crate) struct Args {
    /// Name of the event
    #[arg(value_name = "EVENT", required_unless_present = "stdin", value_parser = event_name)]
    event: Option<String>,

    /// Arguments of the event: Extended JSON when valid JSON (5, '"5"',
    /// '[1,2]', '{"a":1}', '{"$date":"2013-10-28T22:40:00Z"}'), else the text
    /// as a string (hello)
    #[arg(value_name = "ARG", allow_negative_numbers = true)]
    args: Vec<String>,

    /// Read events from stdin instead, one JSON object per line:
    /// {"event": NAME, "args": [ARG, ...]} ("args" may be left out). Each is
    /// sent as soon as it is read; when the send queue is full, emit waits
    /// for room (reading no further). A bad line is reported on stderr with
    /// its number and skipped; the others are sent, and the exit status is
    /// then 1.
    #[arg(long, conflicts_with_all = ["event", "args"])]
    stdin: bool,

    /// Most milliseconds to stay in the group after the last send, to
    /// answer the receivers' repair requests (NACKs) and, with a key, their
    /// challenges: emit leaves earlier,
    /// once everything is sent and no NACK came for --quiet milliseconds
    #[arg(long, value_name = "MS", default_value_t = 5000,
          value_parser = clap::value_parser!(u64).range(0..=WEEK_MS))]
    linger: u64,

    /// Milliseconds without a NACK after which emit considers its
    /// receivers served and leaves
    #[arg(long, value_name = "MS", default_value_t = 300,
          value_parser = clap::value_parser!(u64).range(0..=WEEK_MS))]
    quiet: u64,

    #[command(flatten)]
    node: NodeArgs,
}

/// The longest --linger or --quiet, in milliseconds: a week (a time that
/// far ahead still fits the clock's instants).
const WEEK_MS: u64 = 7 * 24 * 60 * 60 * 1000;

/// One line of `--stdin`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Line {
    event: String,
    #[serde(default)]
    args: Vec<ExtJson>,
}

/// Why an empty event name is refused (as the REPL's `emit` refuses it):
/// most likely an unset shell variable.
const EMPTY_NAME: &str = "an event name must not be empty";

/// The EVENT argument as given, refused when empty.
fn event_name(text: &str) -> Result<String, String> {
    if text.is_empty() {
        return Err(EMPTY_NAME.into());
    }
    Ok(text.to_owned())
}

/// Runs `eventcast emit`.
pub(crate) async fn run(args: Args) -> anyhow::Result<ExitCode> {
    // Arguments first: a mistake in them must not send anything.
    let single = match (&args.event, args.stdin) {
        (Some(name), false) => {
            let values = args
                .args
                .iter()
                .enumerate()
                .map(|(i, text)| {
                    json::parse_arg(text).with_context(|| format!("argument {}", i + 1))
                })
                .collect::<anyhow::Result<Vec<Bson>>>()
                .map_err(|e| common::UsageError(common::describe(&e)))?;
            Some((name.clone(), values))
        }
        _ => None,
    };

    // It only sends: other nodes' events are not reassembled (issue 17).
    let config = args.node.config()?.send_only(true);
    let node = common::new_node(config)?;
    common::start(&node).await?;
    if args.node.net.port.is_none() {
        if let Some(group) = node.group_addr() {
            say!(
                "eventcast: no --port given: sending to {group}, a random port nobody \
                 listens on unless told"
            );
        }
    }
    let outcome = match single {
        Some((name, values)) => node.emit_list(&name, values).map_err(anyhow::Error::from),
        None => emit_lines(&node, tokio::io::BufReader::new(tokio::io::stdin())).await,
    };
    linger(
        &node,
        Duration::from_millis(args.linger),
        Duration::from_millis(args.quiet),
    )
    .await;
    node.stop().await;
    outcome.map(|()| ExitCode::SUCCESS)
}

/// Stays until everything is sent and no NACK (nor challenge) arrived for
/// `quiet`, or until `max` has passed since the last send, whichever comes
/// first. What is queued is always sent paced first: leaving with it
/// queued (stopping sends it unpaced, and nothing is left to repair it)
/// lost the tail of a burst whose receivers held the sender back (a
/// stranger's slow statuses did it on purpose).
pub(crate) async fn linger(node: &Eventcast, max: Duration, quiet: Duration) {
    let start = tokio::time::Instant::now();
    let mut deadline = start + max;
    // NACKs, and with a key the challenges of receivers that just heard
    // this node (each waits for the answer before it delivers anything).
    let asked = |s: &eventcast::ProtocolStats| s.nacks_received + s.challenges_received;
    let mut asks = asked(&node.stats().protocol);
    let mut last = start;
    loop {
        let now = tokio::time::Instant::now();
        let stats = node.stats().protocol;
        if asked(&stats) != asks {
            asks = asked(&stats);
            last = now;
        }
        if stats.send_queue_bytes > 0 {
            last = now;
            deadline = now + max;
        }
        if now >= deadline || now.duration_since(last) >= quiet {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10).min(deadline - now)).await;
    }
}

/// Emits one event per line of `input`, waiting for room in the send
/// queue when it is full; reports bad lines on stderr and fails at the end
/// if there were any.
async fn emit_lines(node: &Eventcast, mut input: impl AsyncBufRead + Unpin) -> anyhow::Result<()> {
    let mut line = Vec::new();
    let mut number = 0usize;
    let mut bad = 0usize;
    loop {
        line.clear();
        if input
            .read_until(b'\n', &mut line)
            .await
            .context("cannot read stdin")?
            == 0
        {
            break;
        }
        number += 1;
        if line.trim_ascii().is_empty() {
            continue;
        }
        if let Err(e) = emit_line(node, &line).await {
            say!("eventcast: stdin line {number}: {}", common::describe(&e));
            bad += 1;
        }
    }
    if bad > 0 {
        bail!("{bad} bad line(s) on stdin were not sent");
    }
    Ok(())
}

async fn emit_line(node: &Eventcast, line: &[u8]) -> anyhow::Result<()> {
    let line: Line = serde_json::from_slice(line).map_err(|e| {
        // The line number is ours; serde_json's is always 1.
        let text = e.to_string();
        match text.rsplit_once(" at line 1 column ") {
            Some((what, column)) => anyhow::anyhow!("{what} (column {column})"),
            None => anyhow::anyhow!(text),
        }
    })?;
    if line.event.is_empty() {
        anyhow::bail!("\"event\": {EMPTY_NAME}");
    }
    let args: Vec<Bson> = line.args.into_iter().map(|a| a.0).collect();
    node.emit_list_wait(&line.event, args).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    fn block_on<F: std::future::Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(f)
    }

    /// `--linger` counts from the last send, not from the end of input: a
    /// body the pacer takes longer than `max` to send is sent, paced,
    /// before emit leaves (it left with it queued, for `stop` to send
    /// unpaced and nothing to repair it).
    #[test]
    fn linger_waits_for_what_is_queued() {
        netns_test::run(|| {
            block_on(async {
                let mut config = eventcast::Config::default()
                    .send_only(true)
                    .multicast_ttl(0);
                // 512 KiB at 1 MiB/s: about half a second.
                config.protocol.adaptive_rate = false;
                config.protocol.initial_rate = 1024 * 1024;
                let node = Eventcast::new(config).unwrap();
                node.start().await.unwrap();
                node.emit("big", &("x".repeat(512 * 1024),)).unwrap();
                linger(&node, Duration::from_millis(50), Duration::from_millis(20)).await;
                assert_eq!(node.stats().protocol.send_queue_bytes, 0);
                node.stop().await;
            });
        });
    }

    /// Emits on a stopped node (local listeners only: no socket) and
    /// returns what the listeners saw.
    fn emit_all(input: &str) -> (anyhow::Result<()>, Vec<(String, Vec<Bson>)>) {
        let node = Eventcast::new(eventcast::Config::default()).unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        for name in ["a", "b", "c"] {
            let seen = seen.clone();
            node.on(name, move |e| {
                seen.lock()
                    .unwrap()
                    .push((e.name().to_owned(), e.raw_args().to_vec()));
            })
            .unwrap();
        }
        let result = block_on(emit_lines(&node, input.as_bytes()));
        let seen = seen.lock().unwrap().clone();
        (result, seen)
    }

    #[test]
    fn lines_are_emitted_in_order() {
        let (result, seen) = emit_all(
            "{\"event\":\"a\",\"args\":[1,\"x\"]}\n\n  \n{\"event\":\"b\"}\n\
             {\"event\":\"c\",\"args\":[{\"$date\":\"2013-10-28T22:40:00Z\"}]}",
        );
        result.unwrap();
        assert_eq!(seen.len(), 3);
        assert_eq!(seen[0], ("a".into(), vec![Bson::Int32(1), Bson::from("x")]));
        assert_eq!(seen[1], ("b".into(), vec![]));
        assert!(matches!(seen[2].1[..], [Bson::DateTime(_)]));
    }

    #[test]
    fn bad_lines_are_skipped_and_counted() {
        let (result, seen) = emit_all(
            "{\"event\":\"a\"}\nnot json\n{\"args\":[]}\n{\"event\":\"b\",\"extra\":1}\n\
             {\"event\":\"b\",\"args\":5}\n{\"event\":\"c\",\"args\":[{\"$date\":\"x\"}]}\n\
             {\"event\":\"c\"}\n",
        );
        let err = result.unwrap_err();
        assert_eq!(err.to_string(), "5 bad line(s) on stdin were not sent");
        let names: Vec<&str> = seen.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["a", "c"]);
    }

    #[test]
    fn line_errors_name_the_column() {
        let node = Eventcast::new(eventcast::Config::default()).unwrap();
        let err = block_on(emit_line(&node, b"{\"event\": 5}")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid type: integer `5`, expected a string (column 11)"
        );
        let err = block_on(emit_line(&node, b"{\"event\": \"\"}")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "\"event\": an event name must not be empty"
        );
    }

    #[test]
    fn an_empty_event_name_is_refused() {
        use clap::Parser as _;
        #[derive(clap::Parser)]
        struct Cli {
            #[command(flatten)]
            args: Args,
        }
        let err = Cli::try_parse_from(["emit", "", "x"])
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("an event name must not be empty"), "{err}");
        assert!(Cli::try_parse_from(["emit", "a", "x"]).is_ok());
        for option in ["--linger", "--quiet"] {
            let err = Cli::try_parse_from(["emit", option, "18446744073709551615", "a"])
                .err()
                .unwrap()
                .to_string();
            assert!(err.contains("0..=604800000"), "{option}: {err}");
        }
    }
}
