//! `eventcast play`: emits a recording again, at its recorded pace divided
//! by --speed, with the library's [`Player`].

use std::io::IsTerminal as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use eventcast_record::{PlayOptions, PlayProgress, Player, Reader};
use indicatif::{ProgressBar, ProgressStyle};

use crate::common::{self, event_filter, NodeArgs, UsageError};
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
    /// fast, 0.5 at half speed, 0 as fast as the sender's pacing allows
    #[arg(long, value_name = "FACTOR", default_value_t = 1.0, allow_negative_numbers = true,
          value_parser = parse_speed)]
    speed: f64,

    /// Play again from the start when done, until Ctrl-C or SIGTERM
    #[arg(long = "loop")]
    repeat: bool,

    /// Start this many seconds into the recording (from its first record)
    #[arg(long, value_name = "SECS", value_parser = parse::parse_seconds)]
    from: Option<Duration>,

    /// Stop this many seconds into the recording
    #[arg(long, value_name = "SECS", value_parser = parse::parse_seconds)]
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
                    bar.set_message(format!("{} events, pass {}", p.emitted, p.pass + 1));
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
            let stats = stats?;
            eprintln!(
                "played {} events from {}",
                stats.emitted,
                args.file.display()
            );
            if stats.reader.truncated.is_some() {
                eprintln!(
                    "eventcast: {} ends early; every complete chunk was played",
                    args.file.display()
                );
            }
        }
        None => eprintln!("playing stopped"),
    }
    Ok(ExitCode::SUCCESS)
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

/// Parses a speed factor: a number, 0 or more.
fn parse_speed(text: &str) -> Result<f64, String> {
    let speed: f64 = text
        .trim()
        .parse()
        .map_err(|_| format!("`{text}` is not a number (like 1, 2 or 0.5)"))?;
    if speed.is_finite() && speed >= 0.0 {
        Ok(speed)
    } else {
        Err(format!(
            "`{text}`: the speed is 0 (as fast as possible) or more"
        ))
    }
}
