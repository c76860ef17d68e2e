//! `eventcast top`: a live view of the group, by event name and sender.
//!
//! Modules, each importing only those before it: `model` (the counts, a
//! leaf), `text` (numbers and the plain summary), `view` (ratatui).

mod model;
mod text;
mod view;

use std::io::{IsTerminal as _, Write as _};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use eventcast::{Eventcast, Notice};

use self::model::{Model, SortBy};
use crate::common::{event_filter, NodeArgs};
use crate::output;
use crate::running::Running;

/// Options of `eventcast top`.
#[derive(clap::Args, Debug)]
pub(crate) struct Args {
    /// Count only events of these names or patterns (sensor.*, sensor.**)
    /// [default: every event]
    #[arg(value_name = "EVENT|PATTERN")]
    events: Vec<String>,

    #[command(flatten)]
    node: NodeArgs,
}

/// Runs `eventcast top`.
pub(crate) async fn run(args: Args) -> anyhow::Result<ExitCode> {
    let node = args.node.new_node()?;
    let filter = event_filter(&args.events)?;
    let model = Arc::new(Mutex::new(Model::new(Instant::now())));
    {
        let model = Arc::clone(&model);
        node.on("**", move |event| {
            if filter.as_ref().is_some_and(|f| !f.matches(event.name())) {
                return;
            }
            // Read from the body kept as it arrived; encoded again only for
            // events whose arguments were decoded (small, with documents or
            // arrays; 0.1.x ones).
            let bytes = event
                .received_body_len()
                .or_else(|| {
                    eventcast_proto::encode_body(event.name(), event.raw_args())
                        .ok()
                        .map(|body| body.len())
                })
                .map_or(0, |len| len as u64);
            let mut model = model.lock().unwrap_or_else(|e| e.into_inner());
            model.event(
                event.name(),
                event.sender(),
                event.from(),
                bytes,
                Instant::now(),
            );
        })?;
    }
    {
        let model = Arc::clone(&model);
        node.on_notice(move |notice| {
            if let Notice::Loss(loss) = notice {
                let mut model = model.lock().unwrap_or_else(|e| e.into_inner());
                model.loss(loss.sender, loss.count);
            }
        });
    }
    let running = Running::start(&node, args.node.net.port.is_some(), "watching", "").await?;
    if std::io::stdout().is_terminal() {
        interactive(&node, model, running).await?;
    } else {
        let mut notices = node.notices();
        let printed = running.until(&mut notices, plain(&node, &model)).await;
        printed.transpose()?;
    }
    node.stop().await;
    Ok(ExitCode::SUCCESS)
}

/// The node's repairs received and kernel drops.
fn node_counters(node: &Eventcast) -> (u64, u64) {
    let stats = node.stats();
    (stats.protocol.repairs_received, stats.kernel_drops)
}

/// The terminal view, on a thread of its own, until it quits or a signal
/// comes.
async fn interactive(
    node: &Eventcast,
    model: Arc<Mutex<Model>>,
    running: Running,
) -> anyhow::Result<()> {
    let stop = Arc::new(AtomicBool::new(false));
    let weak = node.downgrade();
    let view = {
        let stop = Arc::clone(&stop);
        tokio::task::spawn_blocking(move || {
            let counters = || weak.upgrade().map_or((0, 0), |n| node_counters(&n));
            view::run(&model, counters, &stop)
        })
    };
    tokio::pin!(view);
    let ended = tokio::select! {
        ended = &mut view => ended,
        () = running.wait() => {
            stop.store(true, Ordering::Relaxed);
            view.await
        }
    };
    ended
        .context("the terminal view panicked")?
        .context("cannot draw on the terminal")
}

/// A plain summary on stdout every second, until stdout is closed.
async fn plain(node: &Eventcast, model: &Mutex<Model>) -> anyhow::Result<()> {
    let mut ticks = tokio::time::interval(Duration::from_secs(1));
    ticks.tick().await;
    loop {
        ticks.tick().await;
        let now = Instant::now();
        let mut snapshot = {
            let mut model = model.lock().unwrap_or_else(|e| e.into_inner());
            model.tick(now);
            model.snapshot(now, SortBy::Rate, false)
        };
        (snapshot.repairs, snapshot.kernel_drops) = node_counters(node);
        let mut out = std::io::stdout().lock();
        let written = out
            .write_all(text::plain(&snapshot).as_bytes())
            .and_then(|()| out.flush());
        if !output::still_open(written)? {
            return Ok(());
        }
    }
}
