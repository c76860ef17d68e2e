//! What the bench's processes share: the parameters of a role, the lines a
//! role prints for its parent, the receiver's tally, and when a role ends.
//!
//! A role prints, on stdout, `ready` once it has joined the group (receivers
//! and `pong`), then one line `sent {json}` (the sender, a [`Sent`]) or
//! `result {json}` (a [`Received`] or a [`Pinged`]). Anything else it prints
//! is ignored by the parent.

use std::io::Read as _;
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use eventcast::Config;
use serde::{Deserialize, Serialize};

use super::args::{Args, PingFrom, Role, Transport, DEFAULT_BUSY_POLL_US};
use super::stamps;

/// The name of the data events.
pub(crate) const EVENT: &str = "bench";
/// The name of the event a sender emits first: the receiver's clock starts
/// when it arrives.
pub(crate) const START: &str = "bench.start";
/// Ping and pong events (figure 2).
pub(crate) const PING: &str = "ping";
/// See [`PING`].
pub(crate) const PONG: &str = "pong";

/// How long a sender waits between its start marker and its first event,
/// so that every receiver handles the marker on its own (not in the same
/// turn of its loop as the first data) and starts its clock then. The
/// sender measures the wait it really made and reports it as
/// [`Sent::lead_secs`]; transfer time is the receiver's
/// [`Received::secs`] less that, for a person who times roles run on two
/// hosts (on one host, the bench's parent times from the sender's
/// [`Sent::start_ns`] to the receiver's [`Received::last_ns`] instead: see
/// `compute::transfer`).
pub(crate) const LEAD: Duration = Duration::from_millis(50);

/// The passphrase every node of figure 5 uses.
pub(crate) const BENCH_KEY: &str = "eventcast bench: not a secret";

/// `config` with the bench key set (figure 5: encrypted runs of figures 1
/// and 3, as a ratio to plaintext).
pub(crate) fn with_key(config: Config) -> Config {
    config.key(BENCH_KEY)
}

/// Everything a role needs: where the group is and what to send or expect.
#[derive(Clone, Debug)]
pub(crate) struct Spec {
    /// The group's port.
    pub(crate) port: u16,
    /// The group.
    pub(crate) group: IpAddr,
    /// Interface by address or name.
    pub(crate) interface: Option<String>,
    /// Multicast TTL.
    pub(crate) ttl: u32,
    /// Receive buffer to ask for; `None`: the library's default.
    pub(crate) recv_buffer: Option<usize>,
    /// Events to send, or to expect.
    pub(crate) events: u64,
    /// Bytes of each event's string argument (raw UDP: of each small
    /// datagram).
    pub(crate) size: usize,
    /// The node's max_payload_size (raw UDP: datagrams of this plus the
    /// 33-byte header for events larger than one datagram).
    pub(crate) max_payload_size: usize,
    /// Pause between two events.
    pub(crate) interval: Duration,
    /// Pacing of the sender, in events per second.
    pub(crate) rate: Option<f64>,
    /// Round trips (`ping`).
    pub(crate) pings: u64,
    /// Quiet a receiver waits for, once told the sender is done.
    pub(crate) settle: Duration,
    /// How long a sender or `pong` stays after its work when not
    /// controlled by a parent.
    pub(crate) linger: Duration,
    /// How long a receiver waits for its first event when not controlled.
    pub(crate) wait: Duration,
    /// A parent bench process ends this role by closing its stdin.
    pub(crate) controlled: bool,
    /// The nodes use the bench key.
    pub(crate) encrypted: bool,
    /// The processes run on tokio's current_thread runtime.
    pub(crate) current_thread: bool,
    /// Where eventcast's ping takes each pong.
    pub(crate) ping_from: PingFrom,
    /// The nodes' busy-poll window, in microseconds (0: off).
    pub(crate) busy_poll_us: u64,
    /// The sender reports each event's send time, each receiver each
    /// event's arrival (figure 8; see `stamps`).
    pub(crate) stamped: bool,
    /// Raw UDP owns each large event (`owned.rs`).
    pub(crate) owned: bool,
    /// eventcast's sender emits each event as one binary argument with
    /// `emit_binary` (not copied), not a string with `emit`.
    pub(crate) binary: bool,
    /// eventcast's nodes are told the events' size when it is one
    /// `Config::expected_event_sizes` takes.
    pub(crate) told_size: bool,
}

impl Spec {
    /// The role parameters given on the command line.
    pub(crate) fn from_args(args: &Args, port: u16) -> Self {
        Spec {
            port,
            group: args.group,
            interface: args.interface.clone(),
            ttl: args.ttl,
            recv_buffer: args.recv_buffer,
            events: args.events.unwrap_or(1_000_000),
            size: args.size,
            max_payload_size: args.max_payload_size,
            interval: Duration::from_millis(args.interval_ms),
            rate: args.rate,
            pings: args.pings.unwrap_or(10_000),
            settle: Duration::from_millis(args.settle_ms),
            linger: Duration::from_millis(args.linger_ms),
            wait: Duration::from_secs(args.wait_secs),
            controlled: args.controlled,
            encrypted: args.encrypted,
            current_thread: args.current_thread,
            ping_from: args.ping_from,
            busy_poll_us: args.busy_poll,
            stamped: args.stamped,
            owned: args.owned,
            binary: args.binary,
            told_size: args.told_size,
        }
    }

    /// The command-line arguments that make a child process play `role`
    /// with these parameters, under its parent's control.
    pub(crate) fn child_args(&self, role: Role, transport: Transport) -> Vec<String> {
        // eventcast's events only: the raw roles and ping-pong refuse it.
        let binary = self.binary
            && transport == Transport::Eventcast
            && matches!(role, Role::Send | Role::Recv);
        let role = match role {
            Role::Send => "send",
            Role::Recv => "recv",
            Role::Ping => "ping",
            Role::Pong => "pong",
            Role::Loss => "loss",
        };
        let mut args: Vec<String> = vec![
            "bench".into(),
            "--controlled".into(),
            "--role".into(),
            role.into(),
            "--transport".into(),
            transport.name().into(),
            "--port".into(),
            self.port.to_string(),
            "--group".into(),
            self.group.to_string(),
            "--ttl".into(),
            self.ttl.to_string(),
            "--events".into(),
            self.events.to_string(),
            "--size".into(),
            self.size.to_string(),
            "--max-payload-size".into(),
            self.max_payload_size.to_string(),
            "--interval-ms".into(),
            self.interval.as_millis().to_string(),
            "--pings".into(),
            self.pings.to_string(),
            "--settle-ms".into(),
            self.settle.as_millis().to_string(),
        ];
        if let Some(interface) = &self.interface {
            args.extend(["--interface".into(), interface.clone()]);
        }
        if let Some(bytes) = self.recv_buffer {
            args.extend(["--recv-buffer".into(), bytes.to_string()]);
        }
        if let Some(rate) = self.rate {
            args.extend(["--rate".into(), rate.to_string()]);
        }
        if self.encrypted {
            args.push("--encrypted".into());
        }
        if self.current_thread {
            args.push("--current-thread".into());
        }
        if self.ping_from != PingFrom::default() {
            args.extend(["--ping-from".into(), self.ping_from.name().into()]);
        }
        if self.busy_poll_us != DEFAULT_BUSY_POLL_US {
            args.extend(["--busy-poll".into(), self.busy_poll_us.to_string()]);
        }
        if self.stamped {
            args.push("--stamped".into());
        }
        if binary {
            args.push("--binary".into());
        }
        if self.told_size && transport == Transport::Eventcast {
            args.push("--told-size".into());
        }
        args
    }

    /// The configuration of an eventcast node playing a role.
    pub(crate) fn config(&self) -> anyhow::Result<Config> {
        let mut config = Config::default()
            .port(self.port)
            .multicast_membership(self.group)
            .multicast_ttl(self.ttl)
            .multicast_loopback(true)
            .max_payload_size(self.max_payload_size)
            .busy_poll(Duration::from_micros(self.busy_poll_us));
        if self.group.is_ipv6() {
            config = config.address(IpAddr::V6(std::net::Ipv6Addr::UNSPECIFIED));
        }
        if let Some(interface) = &self.interface {
            config = config.multicast_interface(interface.clone());
        }
        if let Some(bytes) = self.recv_buffer {
            config = config.recv_buffer_size(bytes);
        }
        // Events up to 64 MiB, as the library allows by default; a larger
        // --size needs the limits raised with it.
        let needed = self.size + 1024;
        if needed > config.protocol.max_message_size {
            config.protocol.max_message_size = needed;
            config.protocol.max_partial_bytes_per_sender = needed * 2 + 64 * 1024 * 1024;
            config.protocol.max_partial_bytes = needed * 2 + 64 * 1024 * 1024;
        }
        let expectable = eventcast::MIN_EXPECTED_EVENT_SIZE..=eventcast::MAX_EXPECTED_EVENT_SIZE;
        if self.told_size && expectable.contains(&self.size) {
            config = config.expected_event_size(self.size);
        }
        if self.encrypted {
            config = with_key(config);
        }
        Ok(config)
    }
}

/// What a sender reports once everything was handed to the socket.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub(crate) struct Sent {
    /// Events emitted (the start marker not counted).
    pub(crate) events: u64,
    /// Seconds from the first event's emit until the last datagram was
    /// sent.
    pub(crate) secs: f64,
    /// Seconds from the start marker's emit to the first event's.
    pub(crate) lead_secs: f64,
    /// The first event's emit (the end of the lead), ns on
    /// `CLOCK_MONOTONIC`. Not comparable across hosts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) start_ns: Option<u64>,
    /// Sends the operating system refused.
    pub(crate) send_errors: u64,
    /// With `--stamped`: each event's send time, ns on `CLOCK_MONOTONIC`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) sent_ns: Vec<u64>,
    /// With `--binary`: messages the node queued with their bytes shared,
    /// not copied (its `messages_sent_shared`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) shared_messages: Option<u64>,
}

/// What a receiver reports.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub(crate) struct Received {
    /// Complete events of the expected size received.
    pub(crate) events: u64,
    /// Their argument bytes (raw UDP: payload bytes past the header).
    pub(crate) bytes: u64,
    /// Seconds from the start marker (or, when it was lost, the first
    /// event) to the last event; `None` for fewer than two time points.
    pub(crate) secs: Option<f64>,
    /// Whether `secs` runs from the start marker (then it includes the
    /// sender's [`Sent::lead_secs`]).
    pub(crate) from_start: bool,
    /// The last data counted (the end of `secs`), ns on
    /// `CLOCK_MONOTONIC`: on one host, with [`Sent::start_ns`], the
    /// transfer's time. Not comparable across hosts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) last_ns: Option<u64>,
    /// Datagrams received (raw UDP: data datagrams only; eventcast: every
    /// datagram the node read).
    pub(crate) datagrams: u64,
    /// Receive buffer the kernel granted (Linux reports twice the usable
    /// size).
    pub(crate) recv_buffer: u64,
    /// Peak resident memory of the receiving process (VmHWM), in KiB.
    pub(crate) peak_rss_kib: Option<u64>,
    /// With `--stamped`: when each event was whole, by event number, ns on
    /// `CLOCK_MONOTONIC` (`null`: it never was).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) arrived_ns: Vec<Option<u64>>,
    /// With `--owned`: events put together whole in buffers of their own,
    /// and the payload bytes copied into them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) owned: Option<Owned>,
}

/// What an `--owned` raw receiver put together (`owned.rs`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Owned {
    /// Events whole in buffers of their own.
    pub(crate) events: u64,
    /// Payload bytes copied into them.
    pub(crate) bytes: u64,
}

/// What a pinger reports.
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize)]
pub(crate) struct Pinged {
    /// Round trips timed (warm-up excluded).
    pub(crate) samples: u64,
    /// Pings whose pong did not come back in time.
    pub(crate) lost: u64,
    /// Median round trip, in microseconds.
    pub(crate) p50_us: Option<f64>,
    /// 99th percentile round trip, in microseconds.
    pub(crate) p99_us: Option<f64>,
}

/// Prints one line for the parent (and for a person running a role).
pub(crate) fn say(line: &str) {
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    // A parent that went away is no reason to fail the measurement.
    let _ = writeln!(out, "{line}").and_then(|()| out.flush());
}

/// Prints `ready`.
pub(crate) fn ready() {
    say("ready");
}

/// Prints `PREFIX {json}`.
pub(crate) fn report<T: Serialize>(prefix: &str, value: &T) -> anyhow::Result<()> {
    say(&format!("{prefix} {}", serde_json::to_string(value)?));
    Ok(())
}

/// Set once the parent closes our stdin (controlled roles); never set for
/// a role run by a person.
pub(crate) fn stop_signal(controlled: bool) -> Arc<AtomicBool> {
    let flag = Arc::new(AtomicBool::new(false));
    if controlled {
        let set = flag.clone();
        std::thread::spawn(move || {
            let mut sink = [0u8; 256];
            let mut stdin = std::io::stdin().lock();
            while matches!(stdin.read(&mut sink), Ok(n) if n > 0) {}
            set.store(true, Ordering::SeqCst);
        });
    }
    flag
}

/// How many arrivals a receiver counts between two readings of the clock
/// (see [`Tally::count`]).
pub(crate) const STAMP_EVERY: u64 = 64;

/// The receiver's count of what arrived and when.
#[derive(Clone, Debug)]
pub(crate) struct Tally {
    began: Instant,
    start: Option<Instant>,
    first: Option<Instant>,
    last: Option<Instant>,
    /// `last` on `CLOCK_MONOTONIC`, in ns.
    last_ns: Option<u64>,
    activity: Option<Instant>,
    /// Arrivals counted: events (eventcast) or datagrams (raw UDP).
    arrivals: u64,
    /// Arrivals were counted since the last stamp (their time not read).
    unstamped: bool,
    /// Complete events received.
    pub(crate) events: u64,
    /// Their bytes.
    pub(crate) bytes: u64,
}

impl Tally {
    /// A tally that begins now.
    pub(crate) fn new(now: Instant) -> Self {
        Tally {
            began: now,
            start: None,
            first: None,
            last: None,
            last_ns: None,
            activity: None,
            arrivals: 0,
            unstamped: false,
            events: 0,
            bytes: 0,
        }
    }

    /// The start marker arrived (only the first one counts).
    pub(crate) fn start(&mut self, now: Instant) {
        self.start.get_or_insert(now);
        self.activity = Some(now);
    }

    /// Data arrived: `bytes` of it, completing `complete` events, its
    /// time not read yet; `expected`: the events the receiver waits for.
    /// Returns whether the time is to be read and given to
    /// [`Tally::stamp`]: for the first arrival, every [`STAMP_EVERY`]th,
    /// and the one that completes the `expected`th event. Both
    /// transports' receivers read the clock this way rather than per
    /// arrival (a clock read costs a receiver of 2M small events a second
    /// about 5% of its time, the bench's cost, not the transport's); when
    /// events are lost, the last stamp may be up to `STAMP_EVERY - 1`
    /// arrivals early. A receiver that finds nothing to read calls
    /// [`Tally::idle`], so that arrivals not stamped still count as
    /// activity.
    pub(crate) fn count(&mut self, bytes: u64, complete: u64, expected: u64) -> bool {
        self.arrivals += 1;
        self.events += complete;
        self.bytes += bytes;
        let due = self.arrivals == 1
            || self.arrivals % STAMP_EVERY == 0
            || (complete > 0 && self.events >= expected);
        self.unstamped = !due;
        due
    }

    /// The time of the data just counted. The host's clock is read too,
    /// for [`Tally::last_ns`].
    pub(crate) fn stamp(&mut self, now: Instant) {
        self.first.get_or_insert(now);
        self.last = Some(now);
        self.last_ns = stamps::monotonic_ns();
        self.activity = Some(now);
        self.unstamped = false;
    }

    /// Nothing arrived until `now` (a read timed out): arrivals counted
    /// since the last stamp were activity at most that long ago.
    pub(crate) fn idle(&mut self, now: Instant) {
        if std::mem::take(&mut self.unstamped) {
            self.activity = Some(now);
        }
    }

    /// Something arrived that is not (yet) an event: a segment.
    pub(crate) fn activity(&mut self, now: Instant) {
        self.activity = Some(now);
    }

    /// Whether the start marker arrived and was handled on time: at least
    /// half of [`LEAD`] before the first data. A receiver that was not
    /// scheduled in time (a loaded machine) handles the marker in the same
    /// turn as data that arrived long after it; timing from the marker less
    /// the sender's lead would then leave too little, or nothing.
    pub(crate) fn started(&self) -> bool {
        self.start.is_some_and(|start| {
            self.first.is_none_or(|first| {
                first
                    .checked_duration_since(start)
                    .is_some_and(|gap| gap >= LEAD / 2)
            })
        })
    }

    /// Seconds from the start marker, or from the first data when the
    /// marker was lost or handled late (see [`Tally::started`]), to the
    /// last data.
    pub(crate) fn secs(&self) -> Option<f64> {
        let from = if self.started() {
            self.start
        } else {
            self.first
        }?;
        let secs = self.last?.checked_duration_since(from)?.as_secs_f64();
        (secs > 0.0).then_some(secs)
    }

    /// When the last data counted came, ns on `CLOCK_MONOTONIC`: with
    /// [`Sent::start_ns`] from the same host, the end of the transfer.
    pub(crate) fn last_ns(&self) -> Option<u64> {
        self.last_ns
    }

    /// Whether the receiver is done: it has every event, or (controlled)
    /// the parent said the sender is done and nothing arrived for `settle`,
    /// or (not controlled) nothing arrived for `settle` after the first
    /// datagram, or nothing at all for `wait`.
    pub(crate) fn done(&self, now: Instant, spec: &Spec, stopped_at: Option<Instant>) -> bool {
        if self.events >= spec.events {
            return true;
        }
        let quiet_since = match (spec.controlled, stopped_at, self.activity) {
            (true, None, _) => return false,
            (true, Some(stop), activity) => activity.map_or(stop, |a| a.max(stop)),
            (false, _, Some(activity)) => activity,
            (false, _, None) => return now.duration_since(self.began) >= spec.wait,
        };
        now.duration_since(quiet_since) >= spec.settle
    }
}

/// A sender's simple pacing (`--rate`): event `i` is due `i / rate`
/// seconds after the start; a sender that is ahead sleeps until then, in
/// steps of at least a millisecond (so events leave in small bursts).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Pacer {
    start: Instant,
    rate: Option<f64>,
}

impl Pacer {
    /// Paces at `rate` events per second from `start`; `None`: no pacing.
    pub(crate) fn new(start: Instant, rate: Option<f64>) -> Self {
        let rate = rate.filter(|r| r.is_finite() && *r > 0.0);
        Pacer { start, rate }
    }

    /// How long to sleep before event `i`, if at all; `now` reads the
    /// clock, only when pacing (an unpaced sender's loop then costs no
    /// clock reading per event, on either transport).
    pub(crate) fn delay(&self, i: u64, now: impl FnOnce() -> Instant) -> Option<Duration> {
        let rate = self.rate?;
        let due = self.start + Duration::from_secs_f64(i as f64 / rate);
        due.checked_duration_since(now())
            .filter(|d| *d >= Duration::from_millis(1))
    }
}

/// The length of the body eventcast encodes for one event named [`EVENT`]
/// with one string argument of `size` bytes: what the raw-UDP baseline cuts
/// into datagrams for events larger than one datagram. Worked out rather
/// than encoded, so that a raw-UDP receiver of a 16 MiB event does not
/// hold 32 MiB for it (its peak memory is figure 6's baseline).
pub(crate) fn body_len(size: usize) -> usize {
    // { int32 length, "name": string, "args": [ "0": string ], 0 }
    let string = |len: usize| 4 + len + 1;
    let element = |key: &str, value: usize| 1 + key.len() + 1 + value;
    let args = 4 + element("0", string(size)) + 1;
    4 + element("name", string(EVENT.len())) + element("args", args) + 1
}

/// The peak resident memory of this process (VmHWM), in KiB.
pub(crate) fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    parse_vmhwm(&status)
}

fn parse_vmhwm(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

#[cfg(test)]
mod tests;
