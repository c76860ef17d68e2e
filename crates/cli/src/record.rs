//! `eventcast record`: joins the group and writes every event it hears
//! into an MCAP file, with the library's [`Recorder`].

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::value_parser;
use eventcast_record::{RecordSummary, Recorder, RecorderOptions};

use crate::common::{self, NodeArgs, UsageError};
use crate::json::size;
use crate::parse;
use crate::running::Running;

/// Options of `eventcast record`.
#[derive(clap::Args, Debug)]
pub(crate) struct Args {
    /// The MCAP file to write (replaced if it exists, once the group is
    /// joined, with the later files of an earlier --split recording there)
    #[arg(value_name = "FILE")]
    file: PathBuf,

    /// Record only events of these names or patterns (sensor.*, sensor.**)
    /// [default: every event]
    #[arg(value_name = "EVENT|PATTERN")]
    events: Vec<String>,

    /// Stop (status 0) once this many events are recorded
    #[arg(long, short = 'n', value_name = "N", value_parser = value_parser!(u64).range(1..))]
    count: Option<u64>,

    /// Stop after this many seconds (fractions allowed)
    #[arg(long, short, value_name = "SECS", allow_negative_numbers = true,
          value_parser = parse::parse_seconds)]
    duration: Option<Duration>,

    /// Keep the file within this many bytes (65536 or more; suffixes K, M,
    /// G for KiB, MiB, GiB): recording stops there, or with --split goes
    /// on in a new file
    #[arg(long, value_name = "BYTES", value_parser = parse::parse_bytes::<u64>)]
    max_bytes: Option<u64>,

    /// At --max-bytes, go on in FILE's stem + .0001, .0002, ... (bus.mcap,
    /// bus.0001.mcap, ...). Those an earlier recording into FILE left are
    /// removed when the recording begins, with or without --split
    #[arg(long, requires = "max_bytes")]
    split: bool,

    #[command(flatten)]
    node: NodeArgs,
}

/// Runs `eventcast record`.
pub(crate) async fn run(args: Args) -> anyhow::Result<ExitCode> {
    let mut options = RecorderOptions::new(&args.file);
    options.count = args.count;
    options.max_bytes = args.max_bytes;
    options.split = args.split;
    // Before the group is joined: the library's words, with the flag.
    options.check().map_err(|e| {
        UsageError(common::flag_names(
            &e.to_string(),
            &[("max_bytes", "--max-bytes")],
        ))
    })?;
    let node = args.node.new_node()?;
    options.filter = common::event_filter(&args.events)?;
    let mut notices = node.notices();
    let what = if args.events.is_empty() {
        "every event".to_owned()
    } else {
        format!("only {}", args.events.join(", "))
    };
    let more = format!("; into {}, {what}", args.file.display());
    // The file is created (an older one replaced) only once the node has
    // started: a recording that cannot begin (an address that cannot be
    // bound, a group that cannot be joined) leaves it as it was. The
    // recorder listens before the line is written: everything sent once
    // it is read is recorded.
    let port_given = args.node.net.port.is_some();
    let (running, recorder) = Running::start_then(&node, port_given, "recording", &more, || {
        Ok(Recorder::start(&node, options)?)
    })
    .await?;
    match recorder.removed_files() {
        [] => {}
        [one] => say!(
            "removed 1 later file of the recording replaced ({})",
            one.display()
        ),
        all @ [first, .., last] => say!(
            "removed {} later files of the recording replaced ({} .. {})",
            all.len(),
            first.display(),
            last.display()
        ),
    }
    let work = async {
        match args.duration {
            Some(duration) => {
                tokio::select! {
                    () = recorder.stopped() => {}
                    () = tokio::time::sleep(duration) => {}
                }
            }
            None => recorder.stopped().await,
        }
    };
    // Ctrl-C or SIGTERM end it as well as its own limits.
    running.until(&mut notices, work).await;
    let finished = recorder.finish().await;
    node.stop().await;
    let summary = finished?;
    report(&summary);
    Ok(ExitCode::SUCCESS)
}

/// The summary on stderr.
fn report(summary: &RecordSummary) {
    let stats = &summary.stats;
    let files = match summary.files.as_slice() {
        [(path, _)] => path.display().to_string(),
        files => format!(
            "{} files ({})",
            files.len(),
            files
                .iter()
                .map(|(p, _)| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    let events = if stats.events == 1 { "event" } else { "events" };
    let reports = if stats.loss_reports > 0 {
        format!(", recorded as losses: {} reports", stats.loss_reports)
    } else {
        String::new()
    };
    say!(
        "recorded {} {events} ({}) into {files}; {} lost (reported by the protocol{reports})",
        stats.events,
        size(stats.bytes as usize),
        stats.events_lost,
    );
    if stats.queue_waits > 0 {
        say!(
            "eventcast: the node waited {} times for the file to be written",
            stats.queue_waits
        );
    }
    if stats.refused > 0 {
        say!(
            "eventcast: {} events arrived after the recording ended (--count or --max-bytes) \
             and are not in the file",
            stats.refused
        );
    }
}
