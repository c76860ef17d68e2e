//! `eventcast cat`: prints a recording as `listen` prints events, or
//! writes a JSON copy of it for Foxglove Studio.

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use eventcast_record::{rfc3339, write_json_copy, Reader, ReaderStats, Record, RecordedEventJson};

use crate::common::event_filter;
use crate::json::plural;
use crate::output;

/// Options of `eventcast cat`.
#[derive(clap::Args, Debug)]
pub(crate) struct Args {
    /// The MCAP file to read (as `eventcast record` writes it)
    #[arg(value_name = "FILE")]
    file: PathBuf,

    /// Only events of these names or patterns (sensor.*, sensor.**)
    /// [default: every event]
    #[arg(value_name = "EVENT|PATTERN")]
    events: Vec<String>,

    /// Instead of printing, write a copy of the recording to OUT with
    /// JSON-encoded, schemaless channels (one per event name, each message
    /// a line as printed), which Foxglove Studio opens
    #[arg(long, value_name = "OUT")]
    json_mcap: Option<PathBuf>,
}

/// Runs `eventcast cat`.
pub(crate) async fn run(args: Args) -> anyhow::Result<ExitCode> {
    let filter = event_filter(&args.events)?;
    if let Some(out) = &args.json_mcap {
        let stats = write_json_copy(&args.file, out, filter)?;
        say!(
            "wrote {} and {} to {} (JSON channels, for Foxglove Studio)",
            plural(stats.events, "event"),
            plural(stats.losses, "loss report"),
            out.display()
        );
        report(&args.file, &stats.reader);
        return Ok(ExitCode::SUCCESS);
    }
    let mut reader = Reader::open(&args.file)?.with_filter(filter);
    let mut out = BufWriter::new(std::io::stdout().lock());
    for record in reader.by_ref() {
        let written = match record {
            Record::Event(event) => {
                let mut line = RecordedEventJson(&event).to_line();
                line.push('\n');
                out.write_all(line.as_bytes())
            }
            Record::Loss(loss) => {
                // Losses are not events: they go beside the output.
                out.flush().map(|()| {
                    say!(
                        "eventcast: recorded at {}: {} from {} lost (first seq {}): {}",
                        rfc3339(loss.log_time),
                        plural(loss.count, "message"),
                        loss.sender,
                        loss.first,
                        loss.reason
                    );
                })
            }
        };
        if !output::still_open(written)? {
            return Ok(ExitCode::SUCCESS);
        }
    }
    output::still_open(out.flush())?;
    report(&args.file, reader.stats());
    Ok(ExitCode::SUCCESS)
}

/// What was skipped, and a file cut short, on stderr.
fn report(file: &Path, stats: &ReaderStats) {
    if !stats.foreign.is_empty() {
        let channels: Vec<String> = stats
            .foreign
            .iter()
            .map(|(channel, n)| format!("{channel}: {n}"))
            .collect();
        say!(
            "eventcast: skipped {} of channels eventcast does not write ({})",
            plural(stats.foreign_messages(), "message"),
            channels.join(", ")
        );
    }
    if stats.unreadable > 0 {
        say!(
            "eventcast: skipped {} whose data is not an eventcast event",
            plural(stats.unreadable, "message")
        );
    }
    if let Some(why) = &stats.truncated {
        say!(
            "eventcast: {} ends early ({why}); every complete chunk was read ({})",
            file.display(),
            plural(stats.records, "record")
        );
    }
}
