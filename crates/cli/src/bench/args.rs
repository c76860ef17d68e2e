//! The options of `eventcast bench`, and the roles and transports they
//! name: what every other part of the bench reads, importing nothing of it.

use std::net::IpAddr;
use std::path::PathBuf;

use clap::value_parser;

/// The library's default busy-poll window, in microseconds (`--busy-poll`'s
/// default: the bench measures eventcast as it comes).
pub(crate) const DEFAULT_BUSY_POLL_US: u64 = eventcast::DEFAULT_BUSY_POLL.as_micros() as u64;

/// Options of `eventcast bench`.
#[derive(clap::Args, Debug, Clone)]
pub(crate) struct Args {
    /// A short run (3 runs of each measurement, fewer events): under a
    /// minute in a release build
    #[arg(long)]
    pub(crate) quick: bool,

    /// Also write every figure as JSON to FILE ("-": JSON on stdout, the
    /// table on stderr)
    #[arg(long, value_name = "FILE")]
    pub(crate) json: Option<PathBuf>,

    /// Runs of each measurement (min / median / max are over these)
    /// [default: 5, --quick: 3]
    #[arg(long, value_name = "N", value_parser = value_parser!(u32).range(1..=1000))]
    pub(crate) repeat: Option<u32>,

    /// Figure 1 (small events): events the sender emits
    /// [default: 1000000, --quick: 100000]; with --role: events to send or
    /// expect
    #[arg(long, value_name = "N", value_parser = value_parser!(u64).range(1..))]
    pub(crate) events: Option<u64>,

    /// Bytes of the one string argument of each small event (and of each
    /// raw-UDP datagram of figure 1); with --role: of every event
    #[arg(long, value_name = "BYTES", default_value_t = 64)]
    pub(crate) size: usize,

    /// Pace the senders of figures 1 and 7 (both transports) at this many
    /// events per second, reported as such [default: as fast as the API
    /// allows]
    #[arg(long, value_name = "EVENTS_PER_SEC")]
    pub(crate) rate: Option<f64>,

    /// Figure 2 (latency): round trips per run [default: 10000, --quick:
    /// 1000]; with --role ping: round trips
    #[arg(long, value_name = "N", value_parser = value_parser!(u64).range(1..))]
    pub(crate) pings: Option<u64>,

    /// Figure 2: where eventcast's ping takes each pong and sends the
    /// next ping: in a listener, on the node's task, as EventEmitter code
    /// would, or awaiting a subscription in the application's task (the
    /// pong always answers from a listener)
    #[arg(long, value_enum, value_name = "WHERE", default_value = "listener")]
    pub(crate) ping_from: PingFrom,

    /// Every eventcast node of the bench polls its socket for up to this
    /// many microseconds before its task parks, while a reply to its own
    /// emit is expected (the library's `Config::busy_poll`, whose default
    /// this is; 0: off; ignored with --current-thread)
    #[arg(long, value_name = "MICROS", default_value_t = DEFAULT_BUSY_POLL_US,
          value_parser = value_parser!(u64).range(0..=1000))]
    pub(crate) busy_poll: u64,

    /// Figure 3 (large events): sizes of the single large event, in bytes
    /// [default: 1048576,16777216]
    #[arg(long, value_name = "BYTES,...", value_delimiter = ',')]
    pub(crate) large_sizes: Vec<usize>,

    /// Figure 3: the max_payload_size values to measure each size with
    /// (65000 is LCM's fragment size, for loopback and jumbo frames)
    /// [default: 1024,8192,65000]
    #[arg(long, value_name = "BYTES,...", value_delimiter = ',')]
    pub(crate) payload_sizes: Vec<usize>,

    /// Figure 4 (loss): percentages of incoming UDP to drop, each level in
    /// a network namespace of its own made by scripts/netns with
    /// NETNS_LOSS [default: 0,1,10,30]
    #[arg(long, value_name = "PERCENT,...", value_delimiter = ',',
          value_parser = value_parser!(u8).range(0..=100))]
    pub(crate) loss_levels: Vec<u8>,

    /// Figure 4: events per run [default: 100, --quick: 20]
    #[arg(long, value_name = "N", value_parser = value_parser!(u64).range(1..))]
    pub(crate) loss_events: Option<u64>,

    /// Figure 4: bytes of each event's argument
    #[arg(long, value_name = "BYTES", default_value_t = 100 * 1024)]
    pub(crate) loss_size: usize,

    /// Figure 4: milliseconds between two events (the figure measures
    /// injected loss, not a sender outrunning its receiver)
    #[arg(long, value_name = "MS", default_value_t = 10)]
    pub(crate) loss_interval_ms: u64,

    /// Figure 4: the script that makes a network namespace with loss
    /// [default: scripts/netns beside the binary's target/ directory, or in
    /// the current directory]
    #[arg(long, value_name = "PATH", env = "EVENTCAST_NETNS_SCRIPT")]
    pub(crate) netns_script: Option<PathBuf>,

    /// Figure 7 (fan-out): receiver processes
    #[arg(long, value_name = "N", default_value_t = 4,
          value_parser = value_parser!(u32).range(2..=64))]
    pub(crate) fanout_receivers: u32,

    /// Figure 7: events the sender emits [default: 250000, --quick: 50000]
    #[arg(long, value_name = "N", value_parser = value_parser!(u64).range(1..))]
    pub(crate) fanout_events: Option<u64>,

    /// Figure 8 (a stream of large events): events per run, sent one
    /// after another [default: 10, --quick: 5]
    #[arg(long, value_name = "N", value_parser = value_parser!(u64).range(2..))]
    pub(crate) stream_events: Option<u64>,

    /// Figure 8: bytes of each event's argument
    #[arg(long, value_name = "BYTES", default_value_t = 1 << 20)]
    pub(crate) stream_size: usize,

    /// Figure 8: the max_payload_size of the stream
    #[arg(long, value_name = "BYTES", default_value_t = 65_000)]
    pub(crate) stream_payload_size: usize,

    /// Figure 8: milliseconds between two events (scripts/bench-lcm's
    /// publisher waits 100 before each message)
    #[arg(long, value_name = "MS", default_value_t = 100)]
    pub(crate) stream_gap_ms: u64,

    /// Milliseconds of quiet a receiver waits for, once the sender is done,
    /// before it reports what it got (late datagrams still count)
    #[arg(long, value_name = "MS", default_value_t = 500)]
    pub(crate) settle_ms: u64,

    /// Run one role only, for two hosts of a real network: `recv` on one
    /// host, then `send` on the other (figure 1 or, with --size, figure
    /// 3); `pong`, then `ping` (figure 2). Give both the same --port, and
    /// --ttl 1. Each prints its result as a JSON line starting with
    /// "result" (the sender: "sent").
    #[arg(long, value_enum, value_name = "ROLE")]
    pub(crate) role: Option<Role>,

    /// With --role: eventcast, or the raw-UDP baseline (raw-tokio: the
    /// same socket on tokio, for ping and pong)
    #[arg(
        long,
        value_enum,
        value_name = "TRANSPORT",
        default_value = "eventcast"
    )]
    pub(crate) transport: Transport,

    /// With --role: bytes of event per datagram (the node's
    /// max_payload_size; raw UDP sends datagrams of this plus 33 bytes)
    #[arg(long, value_name = "BYTES", default_value_t = 1024)]
    pub(crate) max_payload_size: usize,

    /// With --role send or recv and --transport raw: own each event larger
    /// than a datagram as a protocol that delivers it must (the sender
    /// copies it into a fresh body and sends slices of it, the receiver
    /// puts it together in a fresh buffer): a floor for such a protocol
    /// on this machine
    #[arg(long)]
    pub(crate) owned: bool,

    /// The eventcast sender of large events (figures 3, 5's large events,
    /// 6's 16 MiB event and 8; with --role send, every event) emits each
    /// as one binary argument with `emit_binary`, which takes the bytes
    /// over rather than copying them, instead of a string with `emit`
    #[arg(long)]
    pub(crate) binary: bool,

    /// eventcast's nodes are told the size of their events where it is
    /// 256 KiB to 64 MiB (the library's `Config::expected_event_sizes`,
    /// `--expect-size` of the other commands): each makes a buffer of about
    /// that size ready to receive at start, so that its first large event
    /// takes no fresh memory. Figures 3, 5, 6 and 8's large events; raw UDP
    /// is unchanged
    #[arg(long)]
    pub(crate) told_size: bool,

    /// With --role send: milliseconds between two events
    #[arg(long, value_name = "MS", default_value_t = 0)]
    pub(crate) interval_ms: u64,

    /// With --role send or pong: milliseconds to stay in the group after
    /// the last send (pong: after the last ping)
    #[arg(long, value_name = "MS", default_value_t = 2000)]
    pub(crate) linger_ms: u64,

    /// With --role recv or pong: seconds to wait for the first event
    #[arg(long, value_name = "SECS", default_value_t = 60)]
    pub(crate) wait_secs: u64,

    /// With --role: UDP port of the group (required)
    #[arg(long, short, value_name = "PORT", value_parser = value_parser!(u16).range(1..))]
    pub(crate) port: Option<u16>,

    /// Multicast group
    #[arg(long, short, value_name = "ADDRESS", default_value = "224.0.0.1")]
    pub(crate) group: IpAddr,

    /// Interface to join and send on: an address or a name
    /// [default: the system's choice]
    #[arg(long, short, value_name = "ADDRESS|NAME")]
    pub(crate) interface: Option<String>,

    /// Multicast TTL: 0 keeps everything on this host; 1 for two hosts
    #[arg(long, value_name = "HOPS", default_value_t = 0,
          value_parser = value_parser!(u32).range(0..=255))]
    pub(crate) ttl: u32,

    /// Run every process of the bench on tokio's current_thread runtime
    /// (the node's task and the application's on one thread) instead of
    /// the multi-thread one that `#[tokio::main]` starts
    #[arg(long)]
    pub(crate) current_thread: bool,

    /// Receive buffer to ask the kernel for, in bytes (both transports)
    /// [default: the library's, 4 MiB]
    #[arg(long, value_name = "BYTES")]
    pub(crate) recv_buffer: Option<usize>,

    /// (internal) The parent bench process ends this role by closing its
    /// stdin.
    #[arg(long, hide = true)]
    pub(crate) controlled: bool,

    /// (internal) Nodes use the bench key (figure 5).
    #[arg(long, hide = true)]
    pub(crate) encrypted: bool,

    /// (internal) The sender reports each event's send time, receivers
    /// each event's arrival, on CLOCK_MONOTONIC (figure 8; one host).
    #[arg(long, hide = true)]
    pub(crate) stamped: bool,

    /// (internal) The loss level of this namespace, for `--role loss`.
    #[arg(long, hide = true, default_value_t = 0)]
    pub(crate) loss_percent: u8,
}

/// What one process of the bench does.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Role {
    /// Emit events (figures 1, 3, 4, 7).
    Send,
    /// Receive them and report the rate and what was lost.
    Recv,
    /// Time round trips to a `pong` (figure 2).
    Ping,
    /// Answer every ping.
    Pong,
    /// Measure figure 4 in this (lossy) namespace and report it.
    #[value(hide = true)]
    Loss,
}

/// Where eventcast's ping of figure 2 takes each pong (`--ping-from`).
#[derive(clap::ValueEnum, Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum PingFrom {
    /// In a listener, on the node's task, which emits the next ping.
    #[default]
    Listener,
    /// Awaiting a subscription in the application's task.
    Subscription,
}

impl PingFrom {
    /// The name used on the command line.
    pub(crate) fn name(self) -> &'static str {
        match self {
            PingFrom::Subscription => "subscription",
            PingFrom::Listener => "listener",
        }
    }
}

/// eventcast, or the raw-UDP baseline.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Transport {
    /// A bare socket, opened as eventcast opens its own, blocking.
    Raw,
    /// The same socket on tokio, one task (ping and pong only).
    RawTokio,
    /// An eventcast node.
    Eventcast,
}

impl Transport {
    /// The name used on the command line and in the JSON.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Transport::Raw => "raw",
            Transport::RawTokio => "raw-tokio",
            Transport::Eventcast => "eventcast",
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    /// The bench's options alone, for parsing them in tests.
    #[derive(clap::Parser, Debug)]
    pub(crate) struct Cli {
        #[command(flatten)]
        pub(crate) args: super::Args,
    }
}
