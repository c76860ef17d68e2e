//! `eventcast play`: emits a recording again, at its recorded pace divided
//! by --speed, with the library's [`Player`].

use std::io::IsTerminal as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use eventcast_record::{PlayOptions, PlayProgress, PlayStats, Player, Reader};
use indicatif::{ProgressBar, ProgressStyle};

use crate::common::{self, event_filter, NodeArgs, UsageError};
use crate::json::plural;
use crate::parse;
use crate::running::Running;

/// Options of `eventcast play`.
#[derive(clap::Args, Debug)]
pub(crate) struct Args {
    /// The MCAP file to play (as `eventcast record` writes it)
    #[arg(value_name = "FILE")]
    file: PathBuf,

    /// Play only events of these names or patterns (sensor.*, sensor.**)
    /// [default: every event]
    #[arg(value_name = "EVENT|PATTERN")]
    events: Vec<String>,

    /// Divide the recorded gaps by this: 1 plays as recorded, 2 twice as
    /// fast, 0.5 at half speed (a millionth at the slowest), 0 as fast as
    /// the sender's pacing allows
    #[arg(long, value_name = "FACTOR", default_value_t = 1.0, allow_negative_numbers = true,
          value_parser = parse_speed)]
    speed: f64,

    /// Play again from the start when done, until Ctrl-C or SIGTERM
    #[arg(long = "loop")]
    repeat: bool,

    /// Start this many seconds into the recording (from its first record)
    #[arg(long, value_name = "SECS", allow_negative_numbers = true,
          value_parser = parse::parse_seconds)]
    from: Option<Duration>,

    /// Stop this many seconds into the recording
    #[arg(long, value_name = "SECS", allow_negative_numbers = true,
          value_parser = parse::parse_seconds)]
    to: Option<Duration>,

    #[command(flatten)]
    node: NodeArgs,
}

/// Runs `eventcast play`.
pub(crate) async fn run(args: Args) -> anyhow::Result<ExitCode> {
    if let (Some(from), Some(to)) = (args.from, args.to) {
        if from > to {
            return Err(UsageError(format!("--from {from:?} is after --to {to:?}")).into());
        }
    }
    // Before any socket: a speed so slow that the recording would take
    // longer than a clock counts is refused now, not when the player
    // reaches the event it cannot wait for.
    // That it is MCAP first: a short file of text is no summary to seek.
    Reader::open(&args.file)?;
    if let Some(info) = Reader::info(&args.file)? {
        let total = info.end.duration_since(info.start).unwrap_or_default();
        let end = args.to.map_or(total, |to| to.min(total));
        let length = end.saturating_sub(args.from.unwrap_or_default());
        check_length(length, args.speed).map_err(UsageError)?;
    }
    // It only sends: other nodes' events are not reassembled (issue 17).
    let config = args.node.config()?.send_only(true);
    let node = common::new_node(config)?;
    let mut options = PlayOptions::default();
    options.speed = args.speed;
    options.from = args.from;
    options.to = args.to;
    options.filter = event_filter(&args.events)?;
    options.repeat = args.repeat;
    // The file is checked before the group is joined.
    let player = Player::new(&node, &args.file, options)?;
    let bar = progress_bar(&args)?;
    let mut notices = node.notices();
    let more = format!("; from {}", args.file.display());
    let running = Running::start(&node, args.node.net.port.is_some(), "playing", &more).await?;
    let played = running
        .until(
            &mut notices,
            player.play(|p: &PlayProgress| {
                if let Some(bar) = &bar {
                    bar.set_position(p.position.as_millis() as u64);
                    bar.set_message(format!(
                        "{}, pass {}",
                        plural(p.emitted, "event"),
                        p.pass + 1
                    ));
                }
            }),
        )
        .await;
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    // Stay to answer the receivers' repair requests for the last events.
    crate::emit::linger(&node, Duration::from_secs(5), Duration::from_millis(300)).await;
    node.stop().await;
    match played {
        Some(stats) => {
            let (lines, ok) = summary(&args.file, &stats?, !args.events.is_empty());
            for line in lines {
                say!("{line}");
            }
            if !ok {
                return Ok(ExitCode::FAILURE);
            }
        }
        None => say!("playing stopped"),
    }
    Ok(ExitCode::SUCCESS)
}

/// What `play` says when done, line by line (as `cat` reports what it
/// skipped), and whether it succeeded.
///
/// It fails (status 1) when nothing was played because nothing in the file
/// could be: no eventcast record was read and messages were skipped (a copy
/// written by `cat --json-mcap`, another program's file). The user asked
/// for events to be sent and none can be; a script must not take that for
/// a replay. A recording that plays no event for other reasons (empty,
/// or `--from`, `--to` or the names leave none) is not an error: that is
/// what was asked.
fn summary(file: &std::path::Path, stats: &PlayStats, filtered: bool) -> (Vec<String>, bool) {
    let reader = &stats.reader;
    let file = file.display();
    let mut lines = vec![format!(
        "played {} from {file}",
        plural(stats.emitted, "event")
    )];
    if !reader.foreign.is_empty() {
        let channels: Vec<String> = reader
            .foreign
            .iter()
            .map(|(channel, n)| format!("{channel}: {n}"))
            .collect();
        lines.push(format!(
            "eventcast: skipped {} of channels eventcast does not write ({})",
            plural(reader.foreign_messages(), "message"),
            channels.join(", ")
        ));
    }
    if reader.unreadable > 0 {
        lines.push(format!(
            "eventcast: skipped {} whose data is not an eventcast event",
            plural(reader.unreadable, "message")
        ));
    }
    if let Some(why) = &reader.truncated {
        lines.push(format!(
            "eventcast: {file} ends early ({why}); every complete chunk was played"
        ));
    }
    // The file's own events left out by the names given are what was
    // asked, not a file that cannot be played.
    let unplayable = stats.emitted == 0
        && reader.records == 0
        && reader.filtered_out == 0
        && reader.foreign_messages() + reader.unreadable > 0;
    if unplayable {
        let which = if filtered { " of those names" } else { "" };
        let json = reader.foreign.keys().any(|k| k.ends_with(" (json)"));
        let hint = if json {
            " (a copy `cat --json-mcap` wrote is for other programs: play the recording it was \
             made from)"
        } else {
            ""
        };
        lines.push(format!(
            "eventcast: nothing played: {file} holds no eventcast events{which}{hint}"
        ));
    }
    (lines, !unplayable)
}

/// Refuses a speed at which playing `length` of the recording would take
/// more than a hundred years (too long for a deadline).
fn check_length(length: Duration, speed: f64) -> Result<(), String> {
    if speed > 0.0 && length.as_secs_f64() / speed > parse::MAX_TIMEOUT.as_secs_f64() {
        return Err(format!(
            "at --speed {speed}, the {:.3} s of the recording to play would take more than a \
             hundred years",
            length.as_secs_f64()
        ));
    }
    Ok(())
}

/// A bar over the recording's time (in ms) when stderr is a terminal.
fn progress_bar(args: &Args) -> anyhow::Result<Option<ProgressBar>> {
    if !std::io::stderr().is_terminal() {
        return Ok(None);
    }
    let length = Reader::info(&args.file)?.map(|info| {
        let total = info.end.duration_since(info.start).unwrap_or_default();
        args.to.map_or(total, |to| to.min(total))
    });
    let bar = match length {
        Some(total) => ProgressBar::new(total.as_millis() as u64),
        None => ProgressBar::new_spinner(),
    };
    let style = ProgressStyle::with_template(
        "{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} ms of recording, {msg}",
    )
    .unwrap_or_else(|_| ProgressStyle::default_bar());
    bar.set_style(style);
    Ok(Some(bar))
}

/// The slowest speed taken but 0: a second of the recording takes 11.6
/// days. Slower ones (`1e-300`) are typing mistakes, and would leave the
/// player waiting for longer than a clock counts.
const MIN_SPEED: f64 = 1e-6;

/// Parses a speed factor: 0, or a millionth ([`MIN_SPEED`]) or more.
fn parse_speed(text: &str) -> Result<f64, String> {
    let speed: f64 = text
        .trim()
        .parse()
        .map_err(|_| format!("`{text}` is not a number (like 1, 2 or 0.5)"))?;
    if speed == 0.0 || (speed.is_finite() && speed >= MIN_SPEED) {
        // -0 is 0.
        Ok(speed.abs())
    } else {
        Err(format!(
            "`{text}`: --speed is 0 (as fast as possible), or from 0.000001 (a millionth) up"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn speeds() {
        for (text, speed) in [
            ("0", 0.0),
            ("-0", 0.0),
            ("1", 1.0),
            ("0.5", 0.5),
            ("1e-6", 1e-6),
            ("1e300", 1e300),
        ] {
            assert_eq!(parse_speed(text), Ok(speed), "{text}");
        }
        // Trial item 12: 1e-300 was taken, then failed after joining.
        for text in [
            "1e-300",
            "5e-324",
            "0.0000009",
            "-1",
            "-1e-300",
            "inf",
            "NaN",
        ] {
            let err = parse_speed(text).unwrap_err();
            assert!(
                err.contains(&format!("`{text}`: --speed is 0")),
                "{text}: {err}"
            );
        }
        assert!(parse_speed("fast").unwrap_err().contains("not a number"));
    }

    #[test]
    fn a_recording_too_long_for_its_speed_is_refused() {
        let hour = Duration::from_secs(3600);
        assert_eq!(check_length(hour, 1.0), Ok(()));
        assert_eq!(check_length(hour, 0.0), Ok(()));
        assert_eq!(check_length(Duration::from_secs(1), MIN_SPEED), Ok(()));
        let err = check_length(hour, MIN_SPEED).unwrap_err();
        assert_eq!(
            err,
            "at --speed 0.000001, the 3600.000 s of the recording to play would take more than \
             a hundred years"
        );
    }

    fn stats(emitted: u64, records: u64, foreign: &[(&str, u64)], unreadable: u64) -> PlayStats {
        let mut stats = PlayStats::default();
        stats.emitted = emitted;
        stats.reader.records = records;
        stats.reader.unreadable = unreadable;
        for (channel, n) in foreign {
            stats.reader.foreign.insert((*channel).to_owned(), *n);
        }
        stats
    }

    /// Trial item 10: a file of other channels played "played 0 events",
    /// status 0, and nothing else.
    #[test]
    fn what_was_skipped_is_said_and_nothing_playable_fails() {
        let file = std::path::Path::new("x.mcap");
        let (lines, ok) = summary(
            file,
            &stats(0, 0, &[("a (json)", 2), ("b (json)", 1)], 0),
            false,
        );
        assert!(!ok);
        assert_eq!(
            lines,
            [
                "played 0 events from x.mcap",
                "eventcast: skipped 3 messages of channels eventcast does not write (a (json): 2, b (json): 1)",
                "eventcast: nothing played: x.mcap holds no eventcast events (a copy `cat --json-mcap` \
                 wrote is for other programs: play the recording it was made from)",
            ]
        );
        let (lines, ok) = summary(file, &stats(0, 0, &[], 4), true);
        assert!(!ok);
        assert_eq!(
            lines[1],
            "eventcast: skipped 4 messages whose data is not an eventcast event"
        );
        assert_eq!(
            lines[2],
            "eventcast: nothing played: x.mcap holds no eventcast events of those names"
        );
        // The names given left out the file's own events: what was asked.
        let mut some_left_out = stats(0, 0, &[("a (json)", 2)], 0);
        some_left_out.reader.filtered_out = 3;
        let (lines, ok) = summary(file, &some_left_out, true);
        assert!(ok, "{lines:?}");
        assert!(
            !lines.iter().any(|l| l.contains("nothing played")),
            "{lines:?}"
        );
        // Some played, some skipped: said, and a success.
        let (lines, ok) = summary(file, &stats(5, 5, &[("cam (cdr)", 7)], 0), false);
        assert!(ok);
        assert_eq!(lines.len(), 2, "{lines:?}");
        assert!(lines[1].contains("skipped 7 messages"), "{lines:?}");
        // Nothing to skip, nothing played (empty, or --from past the end):
        // what was asked.
        let (lines, ok) = summary(file, &stats(0, 0, &[], 0), false);
        assert!(ok);
        assert_eq!(lines, ["played 0 events from x.mcap"]);
        // One of each is said in the singular ("played 1 events").
        let (lines, ok) = summary(file, &stats(1, 1, &[("cam (cdr)", 1)], 1), false);
        assert!(ok);
        assert_eq!(
            lines[..3],
            [
                "played 1 event from x.mcap",
                "eventcast: skipped 1 message of channels eventcast does not write (cam (cdr): 1)",
                "eventcast: skipped 1 message whose data is not an eventcast event",
            ]
        );
    }
}
