//! `eventcast listen`: joins the group and prints every event it hears as one
//! JSON object per line.

use std::io::{BufWriter, Write};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::bail;
use clap::value_parser;
use eventcast::extjson::EventJson;
use eventcast::Event;
use tokio::time::Instant;

use crate::common::{self, NodeArgs, UsageError};
use crate::output;
use crate::parse;
use crate::running::Running;

/// Options of `eventcast listen`.
#[derive(clap::Args, Debug)]
pub(crate) struct Args {
    /// Print only events of these names or patterns (sensor.*, sensor.**)
    /// [default: every event]
    ///
    /// A pattern has a `*`: `*` stands for one dot-separated segment, `**`
    /// for any number of them, none included. `sensor.*` matches sensor.a
    /// but not sensor.a.b; `sensor.**` matches both, and sensor itself. A
    /// `*` must be a whole segment (`sensor*` is refused). Quote patterns
    /// for the shell.
    #[arg(value_name = "PATTERN")]
    events: Vec<String>,

    /// Exit (status 0) once this many events are printed
    #[arg(long, short = 'n', value_name = "N", value_parser = value_parser!(u64).range(1..))]
    count: Option<u64>,

    /// Exit after this many seconds (fractions allowed): status 0, or 1 when
    /// fewer than --count events arrived
    #[arg(long, short, value_name = "SECS", allow_negative_numbers = true,
          value_parser = parse::parse_seconds)]
    timeout: Option<Duration>,

    /// Bytes of events held for the output while it catches up with a
    /// burst (K, M, G: powers of 1024); beyond, new events are dropped and
    /// counted [default: 256M, about 600,000 small events]
    #[arg(long, value_name = "BYTES", value_parser = parse::parse_bytes::<usize>)]
    subscription_bytes: Option<usize>,

    #[command(flatten)]
    node: NodeArgs,
}

/// What `listen` holds for its output by default: four times the
/// library's 64 MiB. Printing an event costs more than receiving it, so
/// the output falls behind a burst while the node keeps up; a 1,000,000
/// event burst from `emit --stdin` left the 64 MiB full in some runs when
/// other work shared the CPUs. Memory is used only while the output lags.
const SUBSCRIPTION_BYTES: usize = 256 * 1024 * 1024;

/// How the receiving loop ended.
enum End {
    /// --count reached, --timeout without --count, a signal, or stdout
    /// closed: all fine.
    Done,
    /// --timeout before --count events.
    TooFew {
        received: u64,
        wanted: u64,
        after: Duration,
    },
}

/// Runs `eventcast listen`.
pub(crate) async fn run(args: Args) -> anyhow::Result<ExitCode> {
    let mut config = args.node.config()?;
    config.subscription_bytes = args.subscription_bytes.unwrap_or(SUBSCRIPTION_BYTES);
    let node = common::new_node(config)?;
    let mut events = if args.events.is_empty() {
        node.subscribe()
    } else {
        // A bad pattern is the caller's mistake: reported as clap's are.
        node.subscribe_to(args.events.iter().cloned())
            .map_err(|e| UsageError(e.to_string()))?
    };
    let mut notices = node.notices();
    let only = if args.events.is_empty() {
        String::new()
    } else {
        format!("; only {}", args.events.join(", "))
    };
    let running = Running::start(&node, args.node.net.port.is_some(), "listening", &only).await?;

    let received = receive(&mut events, args.count, args.timeout);
    // Ctrl-C or SIGTERM: all fine.
    let end = running
        .until(&mut notices, received)
        .await
        .unwrap_or(Ok(End::Done));
    let lagged = node.stats().subscription_lagged;
    node.stop().await;
    if lagged > 0 {
        say!("eventcast: {lagged} events dropped because the output did not keep up");
    }
    match end? {
        End::Done => Ok(ExitCode::SUCCESS),
        End::TooFew {
            received,
            wanted,
            after,
        } => bail!("timed out after {after:?}: {received} of {wanted} events arrived"),
    }
}

/// Prints `events` until --count of them are printed, --timeout expires or
/// stdout is closed.
async fn receive(
    events: &mut eventcast::Subscription,
    count: Option<u64>,
    timeout: Option<Duration>,
) -> anyhow::Result<End> {
    let deadline = timeout.map(|t| Instant::now() + t);
    let expired = async {
        match deadline {
            Some(deadline) => tokio::time::sleep_until(deadline).await,
            None => std::future::pending().await,
        }
    };
    tokio::pin!(expired);
    let mut out = BufWriter::with_capacity(OUTPUT_BUFFER, std::io::stdout().lock());
    let mut received = 0u64;
    loop {
        if count.is_some_and(|wanted| received >= wanted) {
            return Ok(End::Done);
        }
        tokio::select! {
            event = events.recv() => {
                let Some(event) = event else {
                    bail!("the node stopped unexpectedly");
                };
                let written = write_waiting(&mut out, event, events, count, &mut received)
                    // Nothing more is waiting: what was written goes out now.
                    .and_then(|()| out.flush());
                if !output::still_open(written)? {
                    return Ok(End::Done);
                }
            }
            () = &mut expired => {
                return Ok(match (count, timeout) {
                    (Some(wanted), Some(after)) if received < wanted => {
                        End::TooFew { received, wanted, after }
                    }
                    _ => End::Done,
                });
            }
        }
    }
}

/// The buffer events are written through: one write for many lines.
const OUTPUT_BUFFER: usize = 64 * 1024;

/// Events written in one go before the loop looks at its timeout and the
/// signals again.
const BATCH: usize = 4096;

/// Writes `first`, then the events already waiting (up to [`BATCH`], and no
/// more than --count), counting them in `received`. Does not flush.
fn write_waiting(
    out: &mut impl Write,
    first: Event,
    events: &mut eventcast::Subscription,
    count: Option<u64>,
    received: &mut u64,
) -> std::io::Result<()> {
    let mut event = first;
    for written in 1.. {
        EventJson(&event).write_line(&mut *out)?;
        *received += 1;
        if written == BATCH || count.is_some_and(|wanted| *received >= wanted) {
            break;
        }
        match events.try_recv() {
            Some(next) => event = next,
            None => break,
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use bson::Bson;

    #[test]
    fn one_line_per_event() {
        let sent = eventcast::Eventcast::new(eventcast::Config::default()).unwrap();
        let mut sub = sent.subscribe();
        // Emitting on a stopped node only fires local listeners: no socket.
        sent.emit("greet", &("hi", 5)).unwrap();
        let event = sub.try_recv().unwrap();
        let mut out = Vec::new();
        EventJson(&event).write_line(&mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert_eq!(
            text,
            format!(
                "{{\"event\":\"greet\",\"args\":[\"hi\",5],\"sender\":\"{}\",\"from\":null}}\n",
                sent.id()
            )
        );
        assert_eq!(event.raw_args()[1], Bson::Int32(5));
    }
}
