//! The options of a whole benchmark run, resolved: `--quick` picks smaller
//! defaults, every list gets its default, and the parameters every role
//! shares are gathered in a [`Spec`].

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context as _;

use super::args::Args;
use super::proto::Spec;
use crate::common::UsageError;

/// What to measure, and how.
#[derive(Clone, Debug)]
pub(crate) struct Plan {
    /// `--quick`.
    pub(crate) quick: bool,
    /// Where to write the JSON.
    pub(crate) json: Option<PathBuf>,
    /// Runs of each measurement.
    pub(crate) repeat: u32,
    /// Figure 1: events per run.
    pub(crate) events: u64,
    /// Figures 1, 2 and 7: bytes of the string argument.
    pub(crate) size: usize,
    /// Figures 1 and 7: pacing of the sender.
    pub(crate) rate: Option<f64>,
    /// Figure 2: round trips per run.
    pub(crate) pings: u64,
    /// Figure 3: event sizes.
    pub(crate) large_sizes: Vec<usize>,
    /// Figure 3: max_payload_size values.
    pub(crate) payload_sizes: Vec<usize>,
    /// Figure 4: loss levels, in percent.
    pub(crate) loss_levels: Vec<u8>,
    /// Figure 4: events per run.
    pub(crate) loss_events: u64,
    /// Figure 4: bytes per event.
    pub(crate) loss_size: usize,
    /// Figure 4: pause between events.
    pub(crate) loss_interval: Duration,
    /// Figure 4: `--netns-script` as given.
    pub(crate) netns_script: Option<PathBuf>,
    /// Figure 7: receiver processes.
    pub(crate) fanout_receivers: u32,
    /// Figure 7: events per run.
    pub(crate) fanout_events: u64,
    /// Figure 8: events per run.
    pub(crate) stream_events: u64,
    /// Figure 8: bytes of each event's argument.
    pub(crate) stream_size: usize,
    /// Figure 8: max_payload_size.
    pub(crate) stream_payload: usize,
    /// Figure 8: pause between two events.
    pub(crate) stream_gap: Duration,
    /// What every role shares (group, TTL, interface, receive buffer,
    /// settle time); the port is drawn per run.
    pub(crate) base: Spec,
    /// This binary, re-executed for every role.
    pub(crate) exe: PathBuf,
}

impl Plan {
    /// Resolves the options; refuses values that cannot work.
    pub(crate) fn new(args: &Args) -> anyhow::Result<Plan> {
        let quick = args.quick;
        let pick = |given: Option<u64>, full: u64, short: u64| {
            given.unwrap_or(if quick { short } else { full })
        };
        let or = |given: &[usize], default: &[usize]| {
            if given.is_empty() {
                default.to_vec()
            } else {
                given.to_vec()
            }
        };
        let payload_sizes = or(&args.payload_sizes, &[1024, 8192, 65_000]);
        for &p in &payload_sizes {
            eventcast::Config::default()
                .max_payload_size(p)
                .validate()
                .map_err(|e| UsageError(format!("--payload-sizes {p}: {e}")))?;
        }
        let large_sizes = or(&args.large_sizes, &[1 << 20, 16 << 20]);
        if large_sizes.contains(&0) {
            return Err(UsageError("--large-sizes: sizes must be above 0".into()).into());
        }
        eventcast::Config::default()
            .max_payload_size(args.stream_payload_size)
            .validate()
            .map_err(|e| UsageError(format!("--stream-payload-size: {e}")))?;
        if args.stream_size == 0 {
            return Err(UsageError("--stream-size must be above 0".into()).into());
        }
        if args.rate.is_some_and(|r| !(r.is_finite() && r > 0.0)) {
            return Err(
                UsageError("--rate must be a positive number of events per second".into()).into(),
            );
        }
        let loss_levels = if args.loss_levels.is_empty() {
            vec![0, 1, 10, 30]
        } else {
            args.loss_levels.clone()
        };
        let mut base = Spec::from_args(args, 0);
        base.controlled = true;
        let exe = std::env::current_exe().context("cannot find this program's own binary")?;
        Ok(Plan {
            quick,
            json: args.json.clone(),
            repeat: args.repeat.unwrap_or(if quick { 3 } else { 5 }),
            events: pick(args.events, 1_000_000, 100_000),
            size: args.size,
            rate: args.rate,
            pings: pick(args.pings, 10_000, 1_000),
            large_sizes,
            payload_sizes,
            loss_levels,
            loss_events: pick(args.loss_events, 100, 20),
            loss_size: args.loss_size,
            loss_interval: Duration::from_millis(args.loss_interval_ms),
            netns_script: args.netns_script.clone(),
            fanout_receivers: args.fanout_receivers,
            fanout_events: pick(args.fanout_events, 250_000, 50_000),
            stream_events: pick(args.stream_events, 10, 5),
            stream_size: args.stream_size,
            stream_payload: args.stream_payload_size,
            stream_gap: Duration::from_millis(args.stream_gap_ms),
            base,
            exe,
        })
    }

    /// Steps of the progress bar: one per run, one per loss level.
    pub(crate) fn steps(&self) -> u64 {
        let repeat = u64::from(self.repeat);
        let cases = (self.large_sizes.len() * self.payload_sizes.len()) as u64;
        let encrypted = repeat * (1 + cases);
        2 * repeat // figure 1
            + 3 * repeat // figure 2
            + 2 * repeat * cases // figure 3
            + self.loss_levels.len() as u64 // figure 4
            + encrypted // figure 5
            + 2 * repeat // figure 7
            + 2 * repeat // figure 8
    }

    /// The script that makes network namespaces: `--netns-script`, else
    /// `scripts/netns` of the source tree this binary was built in
    /// (`target/*/eventcast` → `scripts/netns`), else of the current
    /// directory or the nearest directory above it that has one (a
    /// binary built with `CARGO_TARGET_DIR` outside the tree, run from
    /// inside it).
    pub(crate) fn netns_script(&self) -> Option<PathBuf> {
        if let Some(script) = &self.netns_script {
            return Some(script.clone());
        }
        let beside_target = self
            .exe
            .parent()
            .and_then(Path::parent)
            .and_then(Path::parent)
            .map(|root| root.join("scripts/netns"));
        let cwd = std::env::current_dir().ok();
        let above = cwd
            .iter()
            .flat_map(|dir| dir.ancestors())
            .map(|dir| dir.join("scripts/netns"));
        beside_target
            .into_iter()
            .chain(std::iter::once(PathBuf::from("scripts/netns")))
            .chain(above)
            .find(|p| p.is_file())
    }

    /// The arguments of `eventcast bench --role loss` for one loss level:
    /// figure 4 measured inside the lossy namespace.
    pub(crate) fn loss_args(&self, level: u8) -> Vec<String> {
        let b = &self.base;
        let mut args: Vec<String> = vec![
            "bench".into(),
            "--role".into(),
            "loss".into(),
            "--loss-percent".into(),
            level.to_string(),
            "--repeat".into(),
            self.repeat.to_string(),
            "--loss-events".into(),
            self.loss_events.to_string(),
            "--loss-size".into(),
            self.loss_size.to_string(),
            "--loss-interval-ms".into(),
            self.loss_interval.as_millis().to_string(),
            "--settle-ms".into(),
            b.settle.as_millis().to_string(),
            "--group".into(),
            b.group.to_string(),
            "--ttl".into(),
            b.ttl.to_string(),
        ];
        if let Some(interface) = &b.interface {
            args.extend(["--interface".into(), interface.clone()]);
        }
        if let Some(bytes) = b.recv_buffer {
            args.extend(["--recv-buffer".into(), bytes.to_string()]);
        }
        args
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(argv: &[&str]) -> anyhow::Result<Plan> {
        let cli = <super::super::args::tests::Cli as clap::Parser>::try_parse_from(
            std::iter::once("bench").chain(argv.iter().copied()),
        )?;
        Plan::new(&cli.args)
    }

    #[test]
    fn defaults_are_the_issue_figures() {
        let p = plan(&[]).unwrap();
        assert_eq!(p.repeat, 5);
        assert_eq!(p.events, 1_000_000);
        assert_eq!(p.size, 64);
        assert_eq!(p.large_sizes, vec![1 << 20, 16 << 20]);
        assert_eq!(p.payload_sizes, vec![1024, 8192, 65_000]);
        assert_eq!(p.loss_levels, vec![0, 1, 10, 30]);
        assert_eq!(p.loss_size, 100 * 1024);
        assert_eq!(p.fanout_receivers, 4);
        assert_eq!(
            (p.stream_events, p.stream_size, p.stream_payload),
            (10, 1 << 20, 65_000)
        );
        assert_eq!(p.stream_gap, Duration::from_millis(100));
        assert_eq!(p.base.ttl, 0);
        assert!(p.base.controlled);
    }

    #[test]
    fn quick_is_smaller_and_explicit_values_win() {
        let p = plan(&["--quick"]).unwrap();
        assert_eq!((p.repeat, p.events, p.pings), (3, 100_000, 1_000));
        assert_eq!(p.stream_events, 5);
        let p = plan(&["--quick", "--events", "7", "--repeat", "2"]).unwrap();
        assert_eq!((p.repeat, p.events), (2, 7));
    }

    #[test]
    fn impossible_values_are_refused() {
        assert!(plan(&["--payload-sizes", "8"]).is_err());
        assert!(plan(&["--large-sizes", "0"]).is_err());
        assert!(plan(&["--stream-size", "0"]).is_err());
        assert!(plan(&["--stream-payload-size", "8"]).is_err());
        assert!(plan(&["--stream-events", "1"]).is_err());
        assert!(plan(&["--rate", "0"]).is_err());
        assert!(plan(&["--loss-levels", "101"]).is_err());
        assert!(plan(&["--fanout-receivers", "1"]).is_err());
    }

    #[test]
    fn loss_arguments_parse_back() {
        let p = plan(&["--quick", "--loss-events", "9", "--settle-ms", "300"]).unwrap();
        let args = p.loss_args(10);
        let cli = <super::super::args::tests::Cli as clap::Parser>::try_parse_from(
            std::iter::once("bench").chain(args[1..].iter().map(String::as_str)),
        )
        .unwrap();
        assert_eq!(cli.args.loss_percent, 10);
        assert_eq!(cli.args.loss_events, Some(9));
        assert_eq!(cli.args.repeat, Some(3));
        assert_eq!(cli.args.settle_ms, 300);
    }
}
