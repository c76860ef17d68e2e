//! The measurements: which role processes each figure starts, in what
//! order, and what it keeps of their reports (a [`Measured`]). Turning
//! those into figures is `compute`'s business.
//!
//! Every measurement is repeated `--repeat` times, raw UDP and eventcast
//! taking turns, each run on a port of its own (so that nothing of one run
//! reaches the next).

use std::hash::BuildHasher as _;
use std::io::IsTerminal as _;
use std::time::Duration;

use anyhow::Context as _;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::args::{Role, Transport};
use super::cells::bytes;
use super::child::Child;
use super::plan::Plan;
use super::proto::{self, Pinged, Sent, Spec};
use super::raw::PING_TIMEOUT;
use super::runs::{Both, EncryptedRuns, FlowRun, LargeRuns, LossLevelRuns, Measured};

/// How long a receiver or `pong` may take to join.
const READY: Duration = Duration::from_secs(30);
/// How long a role may take to exit once released.
const EXIT: Duration = Duration::from_secs(30);

/// Measures every figure, with a progress bar on a terminal.
pub(crate) fn measure(plan: &Plan) -> anyhow::Result<Measured> {
    let mut bench = Bench::new(plan, true);
    let measured = bench.measure();
    bench.progress.finish_and_clear();
    measured
}

/// `eventcast bench --role loss`: figure 4 in this namespace (whose loss
/// `scripts/netns` set up), printed as one `result` line.
pub(crate) fn run_loss_level(plan: Plan, level: u8) -> anyhow::Result<()> {
    let mut bench = Bench::new(&plan, false);
    let mut runs = bench.loss_here()?;
    runs.loss_percent = level;
    proto::report("result", &runs)
}

/// The running benchmark.
struct Bench<'a> {
    plan: &'a Plan,
    progress: ProgressBar,
    port: u16,
}

impl<'a> Bench<'a> {
    fn new(plan: &'a Plan, visible: bool) -> Self {
        let progress = if visible && std::io::stderr().is_terminal() {
            let bar =
                ProgressBar::with_draw_target(Some(plan.steps()), ProgressDrawTarget::stderr());
            if let Ok(style) = ProgressStyle::with_template(
                "{elapsed:>4} [{bar:30.cyan/blue}] {pos}/{len} {wide_msg}",
            ) {
                bar.set_style(style.progress_chars("=> "));
            }
            bar.enable_steady_tick(Duration::from_millis(200));
            bar
        } else {
            ProgressBar::hidden()
        };
        // A random first port, then one more per run.
        let draw = std::hash::RandomState::new().hash_one(std::process::id());
        let port = 49152 + (draw % 16000) as u16;
        Bench {
            plan,
            progress,
            port,
        }
    }

    fn next_port(&mut self) -> u16 {
        let port = self.port;
        self.port = port.checked_add(1).unwrap_or(49152);
        port
    }

    fn step(&self, message: String) {
        self.progress.set_message(message);
    }

    fn measure(&mut self) -> anyhow::Result<Measured> {
        let small = self.small_events(false)?;
        let latency = self.latency()?;
        let large = self.large_events()?;
        let stream = self.stream()?;
        let fanout = self.fanout()?;
        let encrypted = self.encrypted()?;
        let loss = self.loss();
        Ok(Measured {
            small,
            latency,
            large,
            loss,
            encrypted,
            fanout,
            stream,
        })
    }

    /// The parameters of figure 1 (and of figure 5's first half).
    fn small_spec(&self, events: u64) -> Spec {
        let mut spec = self.plan.base.clone();
        spec.events = events;
        spec.size = self.plan.size;
        spec.rate = self.plan.rate;
        spec.interval = Duration::ZERO;
        // Small events are strings whatever `--binary` says.
        spec.binary = false;
        spec
    }

    fn large_spec(&self, size: usize, payload: usize) -> Spec {
        let mut spec = self.plan.base.clone();
        spec.events = 1;
        spec.size = size;
        spec.max_payload_size = payload;
        spec.rate = None;
        spec.interval = Duration::ZERO;
        spec
    }

    fn small_events(&mut self, encrypted: bool) -> anyhow::Result<Both<FlowRun>> {
        let mut spec = self.small_spec(self.plan.events);
        spec.encrypted = encrypted;
        let transports: &[Transport] = if encrypted {
            &[Transport::Eventcast]
        } else {
            &[Transport::Raw, Transport::Eventcast]
        };
        self.repeat("figure 1: small events", transports, |bench, t| {
            bench.flow(t, &spec, 1)
        })
    }

    fn latency(&mut self) -> anyhow::Result<Both<Pinged>> {
        let mut spec = self.plan.base.clone();
        spec.size = self.plan.size;
        spec.pings = self.plan.pings;
        self.repeat(
            "figure 2: ping-pong",
            &[Transport::Raw, Transport::RawTokio, Transport::Eventcast],
            |bench, t| bench.pingpong(t, &spec),
        )
    }

    fn large_events(&mut self) -> anyhow::Result<Vec<LargeRuns>> {
        let mut cases = Vec::new();
        for size in self.plan.large_sizes.clone() {
            for payload in self.plan.payload_sizes.clone() {
                let spec = self.large_spec(size, payload);
                let label = format!("figure 3: {} event, {payload} B/datagram", bytes(size));
                let runs =
                    self.repeat(&label, &[Transport::Raw, Transport::Eventcast], |b, t| {
                        b.flow(t, &spec, 1)
                    })?;
                cases.push(LargeRuns {
                    size,
                    payload,
                    runs,
                });
            }
        }
        Ok(cases)
    }

    /// Figure 8: events of figure 3's kind one after another, each timed
    /// on the host's clock from its send to its arrival.
    fn stream(&mut self) -> anyhow::Result<Both<FlowRun>> {
        let plan = self.plan;
        let mut spec = self.large_spec(plan.stream_size, plan.stream_payload);
        spec.events = plan.stream_events;
        spec.interval = plan.stream_gap;
        spec.stamped = true;
        let label = format!(
            "figure 8: {} x {} events, {} B/datagram",
            plan.stream_events,
            bytes(plan.stream_size),
            plan.stream_payload
        );
        self.repeat(&label, &[Transport::Raw, Transport::Eventcast], |b, t| {
            b.flow(t, &spec, 1)
        })
    }

    fn fanout(&mut self) -> anyhow::Result<Both<FlowRun>> {
        let spec = self.small_spec(self.plan.fanout_events);
        let receivers = self.plan.fanout_receivers;
        let label = format!("figure 7: fan-out to {receivers}");
        self.repeat(&label, &[Transport::Raw, Transport::Eventcast], |b, t| {
            b.flow(t, &spec, receivers)
        })
    }

    fn encrypted(&mut self) -> anyhow::Result<EncryptedRuns> {
        let small = self.small_events(true)?.eventcast;
        let mut large = Vec::new();
        for size in self.plan.large_sizes.clone() {
            for payload in self.plan.payload_sizes.clone() {
                let mut spec = self.large_spec(size, payload);
                spec.encrypted = true;
                let label = format!("figure 5: {} event, encrypted", bytes(size));
                let runs =
                    self.repeat(&label, &[Transport::Eventcast], |b, t| b.flow(t, &spec, 1))?;
                large.push((size, payload, runs.eventcast));
            }
        }
        Ok(EncryptedRuns { small, large })
    }

    /// Figure 4 at every level, each in a namespace of its own with
    /// NETNS_LOSS; `Err` says why it could not be measured.
    fn loss(&mut self) -> Result<Vec<LossLevelRuns>, String> {
        let Some(script) = self.plan.netns_script() else {
            for _ in &self.plan.loss_levels {
                self.progress.inc(1);
            }
            return Err("scripts/netns not found (give --netns-script)".into());
        };
        let mut levels = Vec::new();
        let mut failure = None;
        for level in self.plan.loss_levels.clone() {
            self.step(format!(
                "figure 4: {level}% loss, in a namespace of its own"
            ));
            if failure.is_none() {
                match self.loss_level(&script, level) {
                    Ok(runs) => levels.push(runs),
                    Err(e) => failure = Some(format!("{e:#}")),
                }
            }
            self.progress.inc(1);
        }
        match failure {
            None => Ok(levels),
            Some(why) => Err(why),
        }
    }

    fn loss_level(&mut self, script: &std::path::Path, level: u8) -> anyhow::Result<LossLevelRuns> {
        let mut args = vec![self.plan.exe.display().to_string()];
        args.extend(self.plan.loss_args(level));
        let mut child = Child::spawn(
            format!("figure 4 at {level}% loss ({})", script.display()),
            script,
            &args,
            &[("NETNS_LOSS", level.to_string())],
        )?;
        let per_run = self.plan.loss_interval * self.plan.loss_events as u32
            + self.plan.base.settle
            + Duration::from_secs(30);
        let limit = per_run * 2 * self.plan.repeat + Duration::from_secs(60);
        let runs: LossLevelRuns = child.json("result", limit)?;
        child.finish(EXIT)?;
        Ok(runs)
    }

    /// Figure 4 in this namespace: shares of events delivered complete.
    fn loss_here(&mut self) -> anyhow::Result<LossLevelRuns> {
        let mut spec = self.plan.base.clone();
        spec.events = self.plan.loss_events;
        spec.size = self.plan.loss_size;
        spec.interval = self.plan.loss_interval;
        spec.rate = None;
        let both = self.repeat(
            "figure 4",
            &[Transport::Raw, Transport::Eventcast],
            |b, t| b.flow(t, &spec, 1),
        )?;
        let share = |runs: &[FlowRun]| -> Vec<f64> {
            runs.iter()
                .flat_map(|r| &r.received)
                .map(|r| r.events as f64 / spec.events as f64)
                .collect()
        };
        Ok(LossLevelRuns {
            loss_percent: 0,
            raw: share(&both.raw),
            eventcast: share(&both.eventcast),
        })
    }

    /// `--repeat` runs of `measure` for each transport, taking turns.
    fn repeat<T>(
        &mut self,
        label: &str,
        transports: &[Transport],
        mut measure: impl FnMut(&mut Self, Transport) -> anyhow::Result<T>,
    ) -> anyhow::Result<Both<T>> {
        let mut both = Both::default();
        for run in 1..=self.plan.repeat {
            for &t in transports {
                let name = match t {
                    Transport::Raw => "raw UDP",
                    Transport::RawTokio => "raw UDP on tokio",
                    Transport::Eventcast => "eventcast",
                };
                self.step(format!("{label}: {name}, run {run}/{}", self.plan.repeat));
                let result =
                    measure(self, t).with_context(|| format!("{label}, {name}, run {run}"))?;
                both.push(t, result);
                self.progress.inc(1);
            }
        }
        Ok(both)
    }

    /// One run: receivers join, the sender sends, the receivers are told
    /// the sender is done and report.
    fn flow(
        &mut self,
        transport: Transport,
        spec: &Spec,
        receivers: u32,
    ) -> anyhow::Result<FlowRun> {
        let mut spec = spec.clone();
        spec.port = self.next_port();
        let exe = self.plan.exe.clone();
        let mut listening = Vec::new();
        for n in 1..=receivers {
            let what = format!("{} receiver {n}", transport.name());
            let args = spec.child_args(Role::Recv, transport);
            listening.push(Child::spawn(what, &exe, &args, &[])?);
        }
        for receiver in &mut listening {
            receiver.line("ready", READY)?;
        }
        let mut sender = Child::spawn(
            format!("{} sender", transport.name()),
            &exe,
            &spec.child_args(Role::Send, transport),
            &[],
        )?;
        let sent: Sent = sender.json("sent", send_limit(&spec))?;
        for receiver in &mut listening {
            receiver.release();
        }
        let mut received = Vec::new();
        for mut receiver in listening {
            received.push(receiver.json("result", spec.settle + Duration::from_secs(60))?);
            receiver.finish(EXIT)?;
        }
        sender.finish(EXIT)?;
        Ok(FlowRun { sent, received })
    }

    /// One run of figure 2: `pong` joins, `ping` times its round trips.
    fn pingpong(&mut self, transport: Transport, spec: &Spec) -> anyhow::Result<Pinged> {
        let mut spec = spec.clone();
        spec.port = self.next_port();
        let exe = self.plan.exe.clone();
        let mut pong = Child::spawn(
            format!("{} pong", transport.name()),
            &exe,
            &spec.child_args(Role::Pong, transport),
            &[],
        )?;
        pong.line("ready", READY)?;
        let mut ping = Child::spawn(
            format!("{} ping", transport.name()),
            &exe,
            &spec.child_args(Role::Ping, transport),
            &[],
        )?;
        // At worst every ping waits out its timeout.
        let limit = Duration::from_secs(60) + PING_TIMEOUT * (spec.pings as u32 + 100);
        let pinged: Pinged = ping.json("result", limit)?;
        ping.finish(EXIT)?;
        pong.finish(EXIT)?;
        Ok(pinged)
    }
}

/// How long a sender may take to send everything: generous, for a busy
/// machine; only a hung role ever reaches it.
fn send_limit(spec: &Spec) -> Duration {
    let events = spec.events as f64;
    let bytes = events * spec.size as f64;
    let interval = spec.interval.as_secs_f64() * events;
    let paced = spec.rate.map_or(0.0, |r| events / r);
    Duration::from_secs(120)
        + Duration::from_secs_f64(events * 2e-4 + bytes / 2e6 + interval + paced)
}
