//! `eventcast`: listen to and emit eventcast events from the command line,
//! or watch three nodes talk (`eventcast demo`).

// Doc comments here are clap's --help text, where `[1,2]` is JSON, not a link.
#![allow(rustdoc::broken_intra_doc_links)]

/// `eprintln!` that ignores a failed write: a closed stderr (a pipe whose
/// reader has gone) must not make the command panic.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), $($arg)*);
    }};
}

mod bench;
mod bridge;
mod cat;
mod common;
mod demo;
mod emit;
mod json;
mod listen;
mod logging;
mod node;
mod output;
mod parse;
mod play;
mod record;
mod running;
mod top;

use std::process::ExitCode;

use clap::{CommandFactory as _, Parser, Subcommand};

/// Node's EventEmitter over UDP multicast: every node of a group hears every
/// event any node emits. No broker, no server.
#[derive(Parser, Debug)]
#[command(name = "eventcast", version, propagate_version = true)]
struct Cli {
    /// Log to stderr: a level (error, warn, info, debug, trace) or a tracing
    /// filter (eventcast=trace,warn) [default: off]. For `node`: a level or
    /// COMPONENT=LEVEL,... (components: eventcast, repl), changeable from
    /// its REPL
    #[arg(long, global = true, env = "EVENTCAST_LOG", value_name = "FILTER",
          value_parser = parse::parse_log_filter)]
    log: Option<String>,

    /// How log lines are written to stderr
    #[arg(
        long,
        global = true,
        value_enum,
        value_name = "FORMAT",
        default_value = "human"
    )]
    log_format: logging::LogFormat,

    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Print every event heard, one JSON object per line
    ///
    /// Joins the group and prints every event it hears (or only those named
    /// or matching a pattern such as 'sensor.*') on stdout, one JSON object
    /// per line, as it arrives:
    ///
    ///   {"event":"greet","args":["hello",5],"sender":"1f2e3d4c5b6a7980","from":"10.0.0.7:41234"}
    ///
    /// Arguments are relaxed MongoDB Extended JSON: a date is
    /// {"$date":"2013-10-28T22:40:00Z"}, a regular expression
    /// {"$regularExpression":{"pattern":"^a","options":"i"}}. "sender" is the
    /// emitting node's id (16 hex digits), "from" its address.
    ///
    /// Once joined, one line starting with "listening" goes to stderr (group
    /// and port, bound address, this node's id); so do protocol errors, one
    /// line each.
    ///
    /// Runs until Ctrl-C or SIGTERM (exit status 0), --count events (0) or
    /// --timeout (0, or 1 when --count events did not all arrive). A closed
    /// stdout (`| head -1`) ends it quietly with status 0.
    #[command(verbatim_doc_comment)]
    Listen(listen::Args),

    /// Send one event (or one per line of stdin) and exit
    ///
    /// Joins the group, sends the event to every node, stays --linger
    /// milliseconds, leaves. Each ARG is Extended JSON when it is valid JSON,
    /// else a string:
    ///
    ///   eventcast emit --port 41234 greet hello 5 '"5"' '[1,2]' '{"a":1}' \
    ///       '{"$date":"2013-10-28T22:40:00Z"}'
    ///
    /// sends "hello", the integer 5, the string "5", an array, a document and
    /// a date. JSON that is not valid Extended JSON ({"$date":"soon"}) is an
    /// error.
    ///
    /// With --stdin, events are read one per line instead (see --stdin).
    /// Exit status: 0 when everything was sent; 1 when something could not
    /// be (or a --stdin line was bad); 2 for bad options.
    #[command(verbatim_doc_comment)]
    Emit(emit::Args),

    /// Watch three nodes in this process exchange events
    ///
    /// Starts alice, bob and carol on this host (TTL 0 and multicast loopback:
    /// nothing leaves the host) on a random port or --port, has them emit a
    /// few events, one with a 1 MiB argument, and prints what each one
    /// received and a summary. Exits 0 within a few seconds, or 1 with a
    /// hint when an event did not arrive in time.
    Demo(demo::Args),

    /// Run a node with the operator's REPL until Ctrl-C or SIGTERM
    ///
    /// Joins the group and serves the REPL on 127.0.0.1 (a port the system
    /// picks, or --repl-port). Its address goes to stderr:
    ///
    ///   repl listening on 127.0.0.1:40123 (telnet 127.0.0.1 40123; ...)
    ///
    /// Connect with telnet, nc or socat and type `help`: emit, on/off/once
    /// (stream events into the session as JSON lines), listeners, start,
    /// stop, status, id, config, keys (list and rotate the group keys),
    /// stats, peers, log-level, clients, help, quit.
    ///
    /// Logging is off unless --log says otherwise (a level, or
    /// eventcast=info,repl=debug); the REPL's `log-level` changes it while
    /// the node runs. --log-format json writes JSON lines.
    ///
    /// Ctrl-C or SIGTERM stops the node (what is queued is sent, the group
    /// is left), closes the REPL and exits 0.
    #[command(verbatim_doc_comment)]
    Node(node::Args),
    /// Measure eventcast beside raw UDP multicast, in one run
    ///
    /// Runs every node as a process of its own (this binary again, with
    /// --role), eventcast and a raw-UDP baseline opened with the same socket
    /// options, each measurement --repeat times, and prints a table of
    /// median [min-max] with the ratio of eventcast to raw UDP:
    ///
    ///   1 small events delivered/s and lost   5 encryption: key / plaintext
    ///   2 ping-pong round trip, p50 and p99   6 receiver peak memory
    ///   3 large events (1, 16 MiB), MB/s      7 fan-out to 4 receivers
    ///   4 100 KiB events through 0/1/10/30% loss (each level in a network
    ///     namespace of its own, made by scripts/netns with NETNS_LOSS)
    ///
    /// Over loopback with TTL 0 by default: run it inside a private network
    /// namespace, after a release build:
    ///
    ///   scripts/netns target/release/eventcast bench --json bench.json
    ///
    /// Two hosts: `eventcast bench --role recv --port P --ttl 1` on one,
    /// then `eventcast bench --role send --port P --ttl 1` on the other
    /// (add --transport raw for the baseline; --role pong / ping for round
    /// trips). See docs/BENCHMARKS.md.
    #[command(verbatim_doc_comment)]
    Bench(bench::Args),

    /// Join this LAN to other sites through a NATS server, both ways
    ///
    /// Publishes every LAN event (or those named or matching a pattern) on
    /// PREFIX.NAME, and emits on the LAN what other sites and NATS clients
    /// publish on PREFIX.>:
    ///
    ///   eventcast bridge --nats nats://hub:4222 --site lab --port 41234
    ///
    /// A `.` in an event name separates subject tokens; what NATS forbids
    /// in a subject is escaped as %XX (`room 1` -> `room%201`). Payloads
    /// are JSON arrays of arguments in relaxed Extended JSON (or --encoding
    /// bson); headers Eventcast-Site, Eventcast-Sender, Eventcast-Name and
    /// Content-Type. A NATS client publishing ["hi",1] on eventcast.greet
    /// emits greet("hi", 1) on every bridged LAN.
    ///
    /// Once both sides are up, a line starting with "bridging" goes to
    /// stderr. While the server cannot be reached, LAN events are kept (up
    /// to --buffer-bytes) and sent in order after reconnecting; the rest
    /// are dropped and counted. Ctrl-C or SIGTERM sends what is buffered,
    /// prints the counts and exits 0. --log info logs the counters.
    #[command(verbatim_doc_comment)]
    Bridge(bridge::Args),
    /// Record every event heard into an MCAP file
    ///
    /// Joins the group (the options of `listen`) and writes each event it
    /// hears (or only those named or matching a pattern) into FILE: one
    /// channel per event name, message encoding bson (the event's body with
    /// its sender's id and address), chunked, zstd-compressed, with a
    /// summary and an index. Losses the protocol reports are recorded too,
    /// on the channel eventcast.loss. After a crash, every complete chunk
    /// of the file (all but the last second or so) can still be read.
    ///
    /// Once joined, one line starting with "recording" goes to stderr.
    /// Records until Ctrl-C or SIGTERM, --count, --duration, or
    /// --max-bytes (with --split: a new file), then writes the summary,
    /// prints what it recorded and exits 0.
    ///
    ///   eventcast record --port 41234 bus.mcap 'sensor.**'
    #[command(verbatim_doc_comment)]
    Record(record::Args),

    /// Emit the events of a recording again
    ///
    /// Joins the group (the options of `emit`) and emits the events of
    /// FILE with their arguments, the recorded gaps divided by --speed;
    /// shows its progress when stderr is a terminal; exits 0 when done.
    ///
    ///   eventcast play --port 41234 --speed 2 --from 10 --to 20 bus.mcap
    #[command(verbatim_doc_comment)]
    Play(play::Args),

    /// Print a recording as `listen` prints events
    ///
    /// One JSON object per event and line, as `listen` prints them, with
    /// the time it was recorded:
    ///
    ///   {"event":"greet","args":["hi",5],"sender":"1f2e3d4c5b6a7980","from":"10.0.0.7:41234","time":"2026-12-03T16:00:00.123456789Z"}
    ///
    /// Recorded losses, channels of other programs and a file cut short
    /// are reported on stderr. --json-mcap OUT writes a copy with JSON
    /// channels that Foxglove Studio opens instead.
    #[command(verbatim_doc_comment)]
    Cat(cat::Args),

    /// Watch the group live: events/s, bytes/s, losses by name and sender
    ///
    /// Joins the group (the options of `listen`) and shows, for each event
    /// name and each sender: events and bytes per second, totals, when last
    /// seen, and losses; repairs and kernel drops in the header. Keys: s
    /// changes the sort column, r reverses it, q (or Ctrl-C) quits.
    ///
    /// When stdout is not a terminal, prints the same as plain text every
    /// second instead, until Ctrl-C or SIGTERM.
    #[command(verbatim_doc_comment)]
    Top(top::Args),
}

impl Command {
    fn name(&self) -> &'static str {
        match self {
            Command::Listen(_) => "listen",
            Command::Emit(_) => "emit",
            Command::Demo(_) => "demo",
            Command::Node(_) => "node",
            Command::Bench(_) => "bench",
            Command::Bridge(_) => "bridge",
            Command::Record(_) => "record",
            Command::Play(_) => "play",
            Command::Cat(_) => "cat",
            Command::Top(_) => "top",
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let log = cli.log.clone().filter(|f| !f.trim().is_empty());
    // `node` installs its own, with levels its REPL can change.
    if let (Some(filter), false) = (&log, matches!(cli.command, Command::Node(_))) {
        logging::install_env_filter(filter, cli.log_format);
    }
    let name = cli.command.name();
    // `bench --current-thread` measures the other runtime a user may pick.
    let runtime = match &cli.command {
        Command::Bench(args) if args.current_thread => {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
        }
        _ => tokio::runtime::Runtime::new(),
    };
    let runtime = match runtime {
        Ok(runtime) => runtime,
        Err(e) => {
            say!("eventcast: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Listen(args) => listen::run(args).await,
            Command::Emit(args) => emit::run(args).await,
            Command::Demo(args) => demo::run(args).await,
            Command::Node(args) => node::run(args, log, cli.log_format).await,
            Command::Bench(args) => bench::run(args).await,
            Command::Bridge(args) => bridge::run(args).await,
            Command::Record(args) => record::run(args).await,
            Command::Play(args) => play::run(args).await,
            Command::Cat(args) => cat::run(args).await,
            Command::Top(args) => top::run(args).await,
        }
    });
    drop(runtime);
    match result {
        Ok(code) => code,
        Err(e) => match e.downcast_ref::<common::UsageError>() {
            Some(usage) => usage_error(name, usage),
            None => {
                say!("eventcast: {}", common::describe(&e));
                ExitCode::FAILURE
            }
        },
    }
}

/// Reports an option value that cannot work as clap reports its own errors
/// (with the subcommand's usage), exit status 2.
fn usage_error(subcommand: &str, error: &common::UsageError) -> ExitCode {
    let mut cli = Cli::command();
    cli.build();
    let cmd = cli.find_subcommand_mut(subcommand).cloned();
    let err = cmd
        .unwrap_or(cli)
        .error(clap::error::ErrorKind::ValueValidation, &error.0);
    let _ = err.print();
    ExitCode::from(2)
}
