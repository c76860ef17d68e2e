//! `eventcast bench`: eventcast measured beside raw UDP multicast, in the
//! same run, over the same kind of socket.
//!
//! The command re-executes its own binary for every node (`--role send`,
//! `recv`, `ping`, `pong`), so that every datagram crosses the kernel between
//! two processes, and runs the raw-UDP baseline through the same roles with
//! `--transport raw`. Each figure is measured `--repeat` times, alternating
//! raw UDP and eventcast, and reported as min / median / max with the ratio
//! of the medians (eventcast to raw UDP).
//!
//! The modules, each importing only those below it:
//!
//! | module | what |
//! | --- | --- |
//! | this one | runs a role, or measures, computes, prints and writes |
//! | `figures` | the eight figures: which processes to start, what to keep |
//! | `compute` | the report's figures, computed from the runs |
//! | `stream` | figure 8's, computed from its runs |
//! | `table` | the table printed from the report |
//! | `cells` | the table's rows and cells: numbers, summaries, targets |
//! | `plan` | the options resolved into what to measure |
//! | `child` | starting a role process and reading its lines |
//! | `flow`, `pingpong` | what a role does with an eventcast node |
//! | `raw_tokio` | ping and pong over a bare socket on tokio (figure 2) |
//! | `raw` | the roles over a bare socket |
//! | `owned` | raw UDP's large events owned, as a protocol must (`--owned`) |
//! | `runs` | what the measurements kept: the roles' reports, run by run |
//! | `report` | the report: the figures and the JSON document |
//! | `targets` | the goals of the ratios, in one table |
//! | `proto` | the lines roles print, the flow parameters they share |
//! | `stamps` | figure 8's clock: send and arrival times on the host's |
//! | `stats` | min / median / max, percentiles, ratios |
//! | `args` | the options, the roles, the transports |

mod args;
mod cells;
mod child;
mod compute;
mod figures;
mod flow;
mod owned;
mod pingpong;
mod plan;
mod proto;
mod raw;
mod raw_tokio;
mod report;
mod runs;
mod stamps;
mod stats;
mod stream;
mod table;
mod targets;

use std::io::Write as _;
use std::path::Path;
use std::process::ExitCode;

use anyhow::Context as _;

pub(crate) use args::Args;
use args::{Role, Transport};
use plan::Plan;
use report::Report;

/// Runs `eventcast bench`: one role, or the whole benchmark.
pub(crate) async fn run(args: Args) -> anyhow::Result<ExitCode> {
    if !args.group.is_multicast() {
        return Err(crate::common::UsageError(format!(
            "{} is not a multicast address (224.0.0.0/4 or ff00::/8)",
            args.group
        ))
        .into());
    }
    let owned_role = matches!(args.role, Some(Role::Send | Role::Recv));
    if args.owned && (args.transport != Transport::Raw || !owned_role) {
        return Err(crate::common::UsageError(
            "--owned goes with --transport raw and --role send or recv".into(),
        )
        .into());
    }
    let binary_role = matches!(args.role, None | Some(Role::Send | Role::Recv));
    if args.binary && (args.transport != Transport::Eventcast || !binary_role) {
        return Err(crate::common::UsageError(
            "--binary goes with eventcast's events: the whole bench, or --role send or recv".into(),
        )
        .into());
    }
    if args.told_size && args.transport != Transport::Eventcast {
        return Err(
            crate::common::UsageError("--told-size goes with eventcast's nodes".into()).into(),
        );
    }
    let role = match args.role {
        None => return run_all(&Plan::new(&args)?),
        Some(Role::Loss) => {
            figures::run_loss_level(Plan::new(&args)?, args.loss_percent)?;
            return Ok(ExitCode::SUCCESS);
        }
        Some(role) => role,
    };
    let port = args.port.ok_or_else(|| {
        crate::common::UsageError("--role needs --port (the same on every host)".into())
    })?;
    let spec = proto::Spec::from_args(&args, port);
    match (role, args.transport) {
        (Role::Send, Transport::Eventcast) => flow::send(&spec).await,
        (Role::Recv, Transport::Eventcast) => flow::receive(&spec).await,
        (Role::Ping, Transport::Eventcast) => pingpong::ping(&spec).await,
        (Role::Pong, Transport::Eventcast) => pingpong::pong(&spec).await,
        (Role::Send, Transport::Raw) => raw::send(&spec),
        (Role::Recv, Transport::Raw) => raw::receive(&spec),
        (Role::Ping, Transport::Raw) => raw::ping(&spec),
        (Role::Pong, Transport::Raw) => raw::pong(&spec),
        (Role::Ping, Transport::RawTokio) => raw_tokio::ping(&spec).await,
        (Role::Pong, Transport::RawTokio) => raw_tokio::pong(&spec).await,
        (Role::Send | Role::Recv, Transport::RawTokio) => Err(crate::common::UsageError(
            "--transport raw-tokio plays only --role ping and pong".into(),
        )
        .into()),
        (Role::Loss, _) => unreachable!("handled above"),
    }
    .with_context(|| format!("bench role {role:?} ({})", args.transport.name()))?;
    Ok(ExitCode::SUCCESS)
}

/// `eventcast bench`: measures everything, prints the table, writes the
/// JSON.
fn run_all(plan: &Plan) -> anyhow::Result<ExitCode> {
    let measured = figures::measure(plan)?;
    let report = compute::report(plan, &measured);
    publish(&report, plan.json.as_deref())?;
    Ok(ExitCode::SUCCESS)
}

/// Prints the table and writes the JSON: to `json` as a file, or with
/// `-` to stdout (the table then goes to stderr).
fn publish(report: &Report, json: Option<&Path>) -> anyhow::Result<()> {
    let text = table::render(report);
    let document = serde_json::to_string_pretty(report)?;
    match json {
        Some(path) if path == Path::new("-") => {
            let _ = write!(std::io::stderr(), "{text}");
            let mut out = std::io::stdout().lock();
            writeln!(out, "{document}")?;
            out.flush()?;
        }
        Some(path) => {
            print!("{text}");
            std::fs::write(path, document + "\n")
                .with_context(|| format!("cannot write {}", path.display()))?;
            println!("JSON written to {}", path.display());
        }
        None => print!("{text}"),
    }
    Ok(())
}
