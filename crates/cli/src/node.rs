//! `eventcast node`: a long-running node with the operator's REPL and
//! logging, until Ctrl-C or SIGTERM.

use std::net::{IpAddr, Ipv4Addr};
use std::process::ExitCode;

use clap::value_parser;
use eventcast::Config;

use crate::common::{self, NodeArgs, UsageError};
use crate::logging::{self, LogFormat};
use crate::running::Running;

/// Options of `eventcast node`.
#[derive(clap::Args, Debug)]
pub(crate) struct Args {
    #[command(flatten)]
    repl: ReplArgs,

    #[command(flatten)]
    node: NodeArgs,

    #[command(flatten)]
    limits: LimitArgs,
}

impl Args {
    /// The node's configuration; fails on a bad key or an unreadable key
    /// file.
    fn config(&self) -> anyhow::Result<Config> {
        let config = self.node.config()?;
        Ok(self.limits.apply(self.repl.apply(config)))
    }
}

/// The library's settings only `node` takes, by their flags, for its
/// configuration errors (`common::new_node_with`): those some error
/// names. (--repl-max-clients has none: its parser refuses 0, and the
/// library would say `repl max_clients`.)
const NODE_FLAGS: &[(&str, &str)] = &[
    ("max_message_size", "--max-message-size"),
    ("max_partial_bytes", "--max-partial-bytes"),
    (
        "max_partial_bytes_per_sender",
        "--max-partial-bytes-per-sender",
    ),
    (
        "max_partial_messages_per_sender",
        "--max-partial-messages-per-sender",
    ),
    ("max_senders", "--max-senders"),
    ("subscription_bytes", "--subscription-bytes"),
    ("repl_host", "--repl-host"),
    ("danger_repl_any_host", "--danger-repl-any-host"),
];

/// The receive limits, for a node that runs long enough to need them
/// (defaults: the library's).
#[derive(clap::Args, Debug, Clone)]
#[command(next_help_heading = "Limits")]
pub(crate) struct LimitArgs {
    /// Largest event sent or accepted, in bytes [default: 64 MiB]
    #[arg(long, value_name = "BYTES", value_parser = crate::parse::parse_bytes::<usize>)]
    max_message_size: Option<usize>,

    /// Memory all partly received events may hold, in bytes [default: 256 MiB]
    #[arg(long, value_name = "BYTES", value_parser = crate::parse::parse_bytes::<usize>)]
    max_partial_bytes: Option<usize>,

    /// Memory one sender's partly received events may hold [default: 128 MiB]
    #[arg(long, value_name = "BYTES", value_parser = crate::parse::parse_bytes::<usize>)]
    max_partial_bytes_per_sender: Option<usize>,

    /// Partly received events one sender may have open [default: 256]
    #[arg(long, value_name = "N")]
    max_partial_messages_per_sender: Option<usize>,

    /// Senders tracked at once; when full, a new sender replaces one heard
    /// once, not believed real or long silent, else it is refused
    /// [default: 1024]
    #[arg(long, value_name = "N")]
    max_senders: Option<usize>,

    /// Bytes of events a subscription holds for a slow reader before it
    /// drops new ones [default: 67108864, 64 MiB]
    #[arg(long, value_name = "BYTES", value_parser = crate::parse::parse_bytes::<usize>)]
    subscription_bytes: Option<usize>,
}

impl LimitArgs {
    /// Applies the limits given to `config`.
    fn apply(&self, mut config: Config) -> Config {
        let p = &mut config.protocol;
        for (value, field) in [
            (self.max_message_size, &mut p.max_message_size),
            (self.max_partial_bytes, &mut p.max_partial_bytes),
            (
                self.max_partial_bytes_per_sender,
                &mut p.max_partial_bytes_per_sender,
            ),
            (
                self.max_partial_messages_per_sender,
                &mut p.max_partial_messages_per_sender,
            ),
            (self.max_senders, &mut p.max_senders),
        ] {
            if let Some(value) = value {
                *field = value;
            }
        }
        if let Some(bytes) = self.subscription_bytes {
            config.subscription_bytes = bytes;
        }
        config
    }
}

/// Where the REPL listens and how many it serves.
#[derive(clap::Args, Debug, Clone)]
#[command(next_help_heading = "REPL options")]
pub(crate) struct ReplArgs {
    /// TCP port of the REPL [default: one the system picks, printed]
    #[arg(long, value_name = "PORT", value_parser = value_parser!(u16).range(1..))]
    repl_port: Option<u16>,

    /// Address the REPL listens on; anything but loopback needs
    /// --danger-repl-any-host
    #[arg(long, value_name = "ADDRESS", default_value_t = IpAddr::V4(Ipv4Addr::LOCALHOST))]
    repl_host: IpAddr,

    /// Let the REPL listen on an address that is not loopback. It has no
    /// authentication: whoever reaches it can emit, stop the node and read
    /// its configuration.
    #[arg(long)]
    danger_repl_any_host: bool,

    /// REPL clients served at once
    #[arg(long, value_name = "N", default_value_t = 16,
          value_parser = value_parser!(u64).range(1..10_000))]
    repl_max_clients: u64,

    /// Run without the REPL
    #[arg(long, conflicts_with_all = ["repl_port", "danger_repl_any_host"])]
    no_repl: bool,
}

impl ReplArgs {
    /// Applies these options to `config`.
    fn apply(&self, mut config: Config) -> Config {
        config = config
            .repl_enabled(!self.no_repl)
            .repl_host(self.repl_host)
            .danger_repl_any_host(self.danger_repl_any_host)
            .repl_max_clients(usize::try_from(self.repl_max_clients).unwrap_or(usize::MAX));
        if let Some(port) = self.repl_port {
            config = config.repl_port(port);
        }
        config
    }
}

/// Runs `eventcast node`. `log` is the global `--log`: for this command, a
/// level for every component or `COMPONENT=LEVEL,...`.
pub(crate) async fn run(
    args: Args,
    log: Option<String>,
    format: LogFormat,
) -> anyhow::Result<ExitCode> {
    let node = common::new_node_with(args.config()?, NODE_FLAGS)?;
    if let Some(spec) = &log {
        node.log_levels().set_spec(spec).map_err(|e| {
            UsageError(format!(
                "--log {spec:?}: {e}; for `node`, --log takes a level or \
                 COMPONENT=LEVEL,... (components: eventcast, repl)"
            ))
        })?;
    }
    // The node's filter: the REPL's `log-level` changes what is written.
    logging::install_node(node.log_levels().filter(), format);

    // What goes wrong (a sender under a key this node lacks, events lost)
    // is said on stderr once: as `listen` says it, or as the log's warning
    // when the levels show the library's warnings.
    let mut notices = node.notices();
    let running = Running::start(&node, args.node.net.port.is_some(), "node running", "").await?;
    match node.repl().addr() {
        Some(repl) => say!(
            "repl listening on {repl} (telnet {} {}; `help` lists the commands)",
            repl.ip(),
            repl.port()
        ),
        None => say!("no repl (--no-repl)"),
    }
    say!(
        "log levels: {} (change them from the REPL: log-level)",
        node.log_levels()
    );

    running
        .until(&mut notices, std::future::pending::<()>())
        .await;
    // Sends what is queued and leaves the group, then closes the REPL.
    node.stop().await;
    node.repl().close().await;
    say!("stopped");
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser, Debug)]
    struct Try {
        #[command(flatten)]
        node: Args,
    }

    fn config(args: &[&str]) -> Result<Config, clap::Error> {
        let t = Try::try_parse_from(std::iter::once("try").chain(args.iter().copied()))?;
        Ok(t.node.config().expect("a valid key"))
    }

    #[test]
    fn the_repl_is_on_and_on_loopback_by_default() {
        let c = config(&[]).unwrap();
        assert!(c.repl.enabled);
        assert_eq!(c.repl.host.to_string(), "127.0.0.1");
        assert_eq!(c.repl.port, None);
        assert_eq!(c.repl.max_clients, 16);
        assert!(!c.log);
        c.validate().unwrap();
    }

    #[test]
    fn every_repl_option_reaches_the_config() {
        let c = config(&[
            "--repl-port",
            "20001",
            "--repl-host",
            "0.0.0.0",
            "--danger-repl-any-host",
            "--repl-max-clients",
            "3",
            "--port",
            "41234",
        ])
        .unwrap();
        assert_eq!(c.repl.port, Some(20001));
        assert_eq!(c.repl.host.to_string(), "0.0.0.0");
        assert!(c.repl.danger_any_host);
        assert_eq!(c.repl.max_clients, 3);
        assert_eq!(c.port, Some(41234));
        c.validate().unwrap();
        assert!(!config(&["--no-repl"]).unwrap().repl.enabled);
        let c = config(&[
            "--max-message-size",
            "1000000",
            "--max-partial-bytes",
            "2000000",
            "--max-partial-bytes-per-sender",
            "1500000",
            "--max-partial-messages-per-sender",
            "7",
            "--max-senders",
            "9",
            "--subscription-bytes",
            "11",
        ])
        .unwrap();
        let p = &c.protocol;
        assert_eq!(
            (
                p.max_message_size,
                p.max_partial_bytes,
                p.max_partial_bytes_per_sender,
                p.max_partial_messages_per_sender,
                p.max_senders,
                c.subscription_bytes
            ),
            (1_000_000, 2_000_000, 1_500_000, 7, 9, 11)
        );
        // Sizes with units, as `listen --subscription-bytes` takes them.
        let c = config(&[
            "--max-message-size",
            "1G",
            "--max-partial-bytes",
            "3G",
            "--max-partial-bytes-per-sender",
            "2GiB",
            "--subscription-bytes",
            "64M",
            "--recv-buffer",
            "8m",
        ])
        .unwrap();
        let p = &c.protocol;
        let budgets = [p.max_partial_bytes, p.max_partial_bytes_per_sender];
        assert_eq!((p.max_message_size, budgets), (1 << 30, [3 << 30, 2 << 30]));
        assert_eq!(
            (c.subscription_bytes, c.recv_buffer_size),
            (64 << 20, 8 << 20)
        );
        // Unset, they are the library's defaults.
        assert_eq!(
            config(&[]).unwrap().protocol,
            eventcast::Config::default().protocol
        );
    }

    #[test]
    fn keys_reach_the_config_first_one_sealing() {
        let c = config(&["--key", "new passphrase", "--key", "old passphrase"]).unwrap();
        assert_eq!(
            c.encryption.key,
            Some(eventcast::Secret::passphrase("new passphrase"))
        );
        assert_eq!(c.encryption.decrypt_keys.len(), 1);
    }

    /// Every entry of [`NODE_FLAGS`] names a setting that some
    /// configuration error of the library names: each one is seen written
    /// as its flag.
    #[test]
    fn every_flag_of_the_table_is_named_by_some_error() {
        let mut no_room = config(&[]).unwrap();
        // --subscription-bytes 0 is refused by its parser.
        no_room.subscription_bytes = 0;
        let configs = [
            &["--max-message-size", "4"][..],
            &["--max-partial-bytes", "10"],
            &["--max-partial-bytes-per-sender", "10"],
            &["--max-partial-messages-per-sender", "0"],
            &["--max-senders", "0"],
            &["--repl-host", "0.0.0.0"],
        ]
        .map(|args| config(args).unwrap());
        let messages = configs.into_iter().chain([no_room]).map(|c| {
            let err = common::new_node_with(c, NODE_FLAGS).unwrap_err();
            err.downcast_ref::<UsageError>()
                .expect("a usage error")
                .0
                .clone()
        });
        common::assert_each_flag_said(NODE_FLAGS, &messages.collect::<Vec<_>>());
    }

    #[test]
    fn an_open_repl_needs_the_danger_option() {
        let c = config(&["--repl-host", "0.0.0.0"]).unwrap();
        let err = c.validate().unwrap_err().to_string();
        assert!(err.contains("danger_repl_any_host"), "{err}");
        assert!(config(&["--no-repl", "--repl-port", "5"]).is_err());
        assert!(config(&["--repl-max-clients", "0"]).is_err());
    }
}
