//! `eventcast demo`: three nodes in this process exchange a few events,
//! one of them 1 MiB, over multicast that never leaves this host.

use std::io::Write as _;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{anyhow, bail, Context as _};
use bson::{doc, Bson, DateTime};
use eventcast::{Eventcast, NodeStats, Subscription};
use tokio::time::Instant;

use crate::common::{self, NetArgs};
use crate::json::{self, abbreviate, plural};
use crate::output;
use crate::parse;

/// Options of `eventcast demo`.
#[derive(clap::Args, Debug)]
pub(crate) struct Args {
    /// Seconds to wait for each event to reach every other node (fractions
    /// allowed)
    #[arg(long, short, value_name = "SECS", default_value = "5", allow_negative_numbers = true,
          value_parser = parse::parse_seconds)]
    timeout: Duration,

    #[command(flatten)]
    net: NetArgs,
}

/// What to tell someone whose demo failed.
const HINT: &str = "\
hint: what usually keeps the demo's nodes from hearing each other:
  - no route for multicast (a host without a network has none): on Linux
    `ip route add 224.0.0.0/4 dev lo`, or run the demo with
    --interface 127.0.0.1 (it stays on this host anyway)
  - a firewall dropping UDP to the demo's port or to 224.0.0.0/4
  - a receive buffer too small for the 1 MiB burst (some of its segments
    arrived): raise net.core.rmem_max, e.g. as root
    `sysctl -w net.core.rmem_max=4194304`";

/// `println!` that fails with [`StdoutClosed`] or a
/// [`StdoutError`](output::StdoutError) instead of panicking when stdout is
/// closed (`eventcast demo | head -3`) or cannot be written.
macro_rules! say {
    ($($arg:tt)*) => {
        write_line(format_args!($($arg)*))?
    };
}

/// Stdout was closed: whoever read it has what they wanted.
#[derive(Debug)]
struct StdoutClosed;

impl std::fmt::Display for StdoutClosed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("stdout closed")
    }
}

impl std::error::Error for StdoutClosed {}

fn write_line(args: std::fmt::Arguments<'_>) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    if output::still_open(writeln!(out, "{args}").and_then(|()| out.flush()))? {
        Ok(())
    } else {
        Err(StdoutClosed.into())
    }
}

/// The size of the large event's argument.
const BIG: usize = 1 << 20;

/// One of the demo's nodes.
struct Member {
    name: &'static str,
    node: Eventcast,
    events: Subscription,
    received: u64,
}

/// Runs `eventcast demo`.
pub(crate) async fn run(args: Args) -> anyhow::Result<ExitCode> {
    // TTL 0 and loopback: every datagram stays on this host.
    let config = args.net.config().multicast_ttl(0).multicast_loopback(true);
    // A bad option is a usage error, before anything is opened.
    config
        .validate()
        .map_err(|e| common::UsageError(format!("invalid configuration: {e}")))?;
    let mut members = Vec::new();
    let outcome = demo(config, args.timeout, &mut members).await;
    for member in &members {
        member.node.stop().await;
    }
    match outcome {
        Ok(()) => Ok(ExitCode::SUCCESS),
        Err(e) if e.is::<StdoutClosed>() => Ok(ExitCode::SUCCESS),
        Err(e) if e.is::<output::StdoutError>() || e.is::<common::UsageError>() => Err(e),
        Err(e) => {
            say!("eventcast: demo failed: {}", common::describe(&e));
            say!("{HINT}");
            Ok(ExitCode::FAILURE)
        }
    }
}

async fn demo(
    mut config: eventcast::Config,
    timeout: Duration,
    members: &mut Vec<Member>,
) -> anyhow::Result<()> {
    for name in ["alice", "bob", "carol"] {
        let node = common::new_node(config.clone())?;
        let events = node.subscribe();
        common::start(&node)
            .await
            .with_context(|| format!("{name} cannot join the group"))?;
        // Without --port the first node drew a random one: the others follow.
        let group = node.group_addr().context("node stopped")?;
        config = config.port(group.port());
        members.push(Member {
            name,
            node,
            events,
            received: 0,
        });
    }
    let group = members[0].node.group_addr().context("node stopped")?;
    say!("3 nodes on {group}, TTL 0 with loopback: nothing leaves this host");
    for m in members.iter() {
        say!(
            "  {:<5}  sender {}  bound to {}",
            m.name,
            m.node.id(),
            m.node.local_addr().context("node stopped")?
        );
    }
    say!("");

    let regex =
        json::parse_arg(r#"{"$regularExpression":{"pattern":"^ev(ent)?cast$","options":"i"}}"#)?;
    let small: [(usize, &str, Vec<Bson>); 3] = [
        (0, "greet", vec!["hello from alice".into()]),
        (
            1,
            "reading",
            vec![
                "kitchen".into(),
                Bson::Double(21.5),
                Bson::DateTime(DateTime::now()),
                Bson::Document(doc! {"unit": "°C", "sensor": 7}),
            ],
        ),
        (
            2,
            "match",
            vec![
                regex,
                Bson::Array(vec![1.into(), 2.into(), 3.into()]),
                true.into(),
                Bson::Null,
            ],
        ),
    ];
    for (from, name, args) in small {
        exchange(members, from, name, args, timeout).await?;
    }

    // The large one: count the segments it takes from the receivers' stats.
    let before: Vec<NodeStats> = members.iter().map(|m| m.node.stats()).collect();
    let smallest = before.iter().map(|s| s.recv_buffer_size).min().unwrap_or(0);
    if smallest < BIG {
        say!(
            "eventcast: note: the kernel granted a receive buffer of only {} \
             (net.core.rmem_max); the 1 MiB event arrives as a burst that may overflow it",
            json::size(smallest)
        );
    }
    exchange(
        members,
        2,
        "blob",
        vec![Bson::String("x".repeat(BIG))],
        timeout,
    )
    .await?;
    let segments: Vec<u64> = members
        .iter()
        .zip(&before)
        .take(2)
        .map(|(m, b)| {
            let after = m.node.stats().protocol.segments_received;
            after.saturating_sub(b.protocol.segments_received)
        })
        .collect();

    say!("");
    summary(members, &segments)?;
    Ok(())
}

/// `members[from]` emits; every other member must receive exactly that.
async fn exchange(
    members: &mut [Member],
    from: usize,
    name: &str,
    args: Vec<Bson>,
    timeout: Duration,
) -> anyhow::Result<()> {
    let sender = members[from].node.id();
    let sender_name = members[from].name;
    // How many datagrams it takes, to tell how much of it arrived if not all.
    let payload = members[from].node.config().protocol.max_payload_size;
    let segments = eventcast_proto::encode_body(name, &args)
        .map_or(1, |body| body.len().div_ceil(payload.max(1)));
    let before: Vec<u64> = members.iter().map(segments_received).collect();
    say!("{sender_name} emits {name:?}");
    members[from].node.emit(name, &args)?;
    let deadline = Instant::now() + timeout;
    for (i, m) in members.iter_mut().enumerate() {
        if i == from {
            continue;
        }
        let event = loop {
            let event = tokio::time::timeout_at(deadline, m.events.recv())
                .await
                .map_err(|_| {
                    let mut message = format!(
                        "{} did not receive {name:?} from {sender_name} within {timeout:?}",
                        m.name
                    );
                    if segments > 1 {
                        let got = segments_received(m).saturating_sub(before[i]);
                        let buffer = json::size(m.node.stats().recv_buffer_size);
                        message += &format!(
                            " ({got} of its {segments} segments arrived; receive buffer {buffer})"
                        );
                    }
                    anyhow!(message)
                })?
                .context("node stopped")?;
            // Each node's subscription also sees its own emits.
            if !event.is_local() {
                break event;
            }
        };
        if event.name() != name || event.sender() != sender || event.raw_args() != args {
            bail!(
                "{} expected {name:?} from {sender_name} but received {:?} from {} with {}",
                m.name,
                event.name(),
                event.sender(),
                abbreviate(event.raw_args())
            );
        }
        m.received += 1;
        let from_addr = event
            .from()
            .map_or_else(|| "here".to_owned(), |a| a.to_string());
        say!(
            "  {:<5} got {name}({}) from {sender_name} ({from_addr})",
            m.name,
            abbreviate(event.raw_args())
        );
    }
    Ok(())
}

fn segments_received(member: &Member) -> u64 {
    member.node.stats().protocol.segments_received
}

fn summary(members: &[Member], big_segments: &[u64]) -> anyhow::Result<()> {
    let total: u64 = members.iter().map(|m| m.received).sum();
    let counts: Vec<String> = members
        .iter()
        .map(|m| format!("{} {}", m.name, m.received))
        .collect();
    say!(
        "3 nodes, {total} events delivered: every event reached both other nodes \
         (received: {})",
        counts.join(", ")
    );
    let at = members
        .iter()
        .take(big_segments.len())
        .map(|m| m.name)
        .collect::<Vec<_>>()
        .join(" and ");
    let segments = match big_segments {
        [first, rest @ ..] if rest.iter().all(|n| n == first) => first.to_string(),
        _ => big_segments
            .iter()
            .map(u64::to_string)
            .collect::<Vec<_>>()
            .join(" and "),
    };
    say!(
        "the {} event was reassembled from {segments} segments at {at}",
        json::size(BIG)
    );
    let mut dropped = 0;
    for m in members {
        let p = m.node.stats().protocol;
        dropped += p.dropped.total();
        say!(
            "  {:<5}  sent {} in {}; received {} in {} (+{} of its own heard back); dropped {}",
            m.name,
            plural(p.messages_sent, "event"),
            plural(p.datagrams_sent, "datagram"),
            plural(p.messages_received, "event"),
            plural(
                p.datagrams_received.saturating_sub(p.own_datagrams),
                "datagram"
            ),
            p.own_datagrams,
            p.dropped.total()
        );
    }
    if dropped == 0 {
        say!("nothing lost, nothing dropped");
    }
    Ok(())
}
