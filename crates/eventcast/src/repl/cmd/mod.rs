//! The REPL's commands, one file each (or a few small ones together), as in
//! mini-redis's `cmd/`: each parses its words and runs against the node.
//!
//! Every command answers with text (`Ok`) or a one-line error (`Err`,
//! shown as `error: ...`); none can fail the session or the node.

mod clients;
mod config;
pub(super) mod context;
mod emit;
mod help;
mod keyring;
mod lifecycle;
mod listeners;
mod log_level;
mod peers;
mod quit;
mod stats;
mod status;
mod stream;

use crate::repl::cmd::context::{Context, Spec};
use crate::repl::tokens;

/// Every command, in the order `help` lists them.
pub(super) const SPECS: &[Spec] = &[
    emit::SPEC,
    stream::ON,
    stream::ONCE,
    stream::OFF,
    listeners::SPEC,
    lifecycle::START,
    lifecycle::STOP,
    status::STATUS,
    status::ID,
    config::SPEC,
    keyring::SPEC,
    stats::SPEC,
    peers::SPEC,
    log_level::SPEC,
    clients::SPEC,
    help::SPEC,
    quit::SPEC,
];

/// A parsed command line.
#[derive(Debug)]
pub(super) enum Command {
    Emit(emit::Emit),
    On(stream::On),
    Off(stream::Off),
    Listeners(listeners::Listeners),
    Start,
    Stop,
    Status,
    Id,
    Config,
    Keys(keyring::Keys),
    Stats(stats::Stats),
    Peers,
    LogLevel(log_level::LogLevel),
    Clients,
    Help(help::Help),
    Quit,
}

impl Command {
    /// Parses a line; `None` for an empty one. The error is the line to
    /// show.
    pub(super) fn parse(line: &str) -> Result<Option<Command>, String> {
        let words = tokens::split(line)?;
        let Some((first, args)) = words.split_first() else {
            return Ok(None);
        };
        let name = first.as_str().to_ascii_lowercase();
        let spec = find(&name).ok_or_else(|| {
            format!(
                "unknown command `{}`; `help` lists the commands",
                first.as_str().chars().take(40).collect::<String>()
            )
        })?;
        let usage = || format!("usage: {}", spec.usage);
        let none = |command: Command| {
            if args.is_empty() {
                Ok(command)
            } else {
                Err(usage())
            }
        };
        let command = match spec.name {
            "emit" => Command::Emit(emit::Emit::parse(args).map_err(|e| match e {
                None => usage(),
                Some(e) => format!("{e} ({})", usage()),
            })?),
            "on" => Command::On(stream::On::parse(args, false).ok_or_else(usage)?),
            "once" => Command::On(stream::On::parse(args, true).ok_or_else(usage)?),
            "off" => Command::Off(stream::Off::parse(args).ok_or_else(usage)?),
            "listeners" => Command::Listeners(listeners::Listeners::parse(args).ok_or_else(usage)?),
            "start" => none(Command::Start)?,
            "stop" => none(Command::Stop)?,
            "status" => none(Command::Status)?,
            "id" => none(Command::Id)?,
            "config" => none(Command::Config)?,
            "keys" => Command::Keys(keyring::Keys::parse(args, spec.usage)?),
            "stats" => Command::Stats(stats::Stats::parse(args).ok_or_else(usage)?),
            "peers" => none(Command::Peers)?,
            "log-level" => Command::LogLevel(log_level::LogLevel::parse(args).ok_or_else(usage)?),
            "clients" => none(Command::Clients)?,
            "help" => Command::Help(help::Help::parse(args).ok_or_else(usage)?),
            "quit" => none(Command::Quit)?,
            other => return Err(format!("command `{other}` is listed but not implemented")),
        };
        Ok(Some(command))
    }

    /// The command's name, for the log.
    pub(super) fn name(&self) -> &'static str {
        match self {
            Command::Emit(_) => "emit",
            Command::On(on) if on.once => "once",
            Command::On(_) => "on",
            Command::Off(_) => "off",
            Command::Listeners(_) => "listeners",
            Command::Start => "start",
            Command::Stop => "stop",
            Command::Status => "status",
            Command::Id => "id",
            Command::Config => "config",
            Command::Keys(_) => "keys",
            Command::Stats(_) => "stats",
            Command::Peers => "peers",
            Command::LogLevel(_) => "log-level",
            Command::Clients => "clients",
            Command::Help(_) => "help",
            Command::Quit => "quit",
        }
    }

    /// Runs the command.
    pub(super) async fn run(self, cx: &mut Context<'_>) -> Result<String, String> {
        match self {
            Command::Emit(emit) => emit.run(cx),
            Command::On(on) => on.run(cx),
            Command::Off(off) => Ok(off.run(cx)),
            Command::Listeners(listeners) => Ok(listeners.run(cx)),
            Command::Start => lifecycle::start(cx).await,
            Command::Stop => Ok(lifecycle::stop(cx).await),
            Command::Status => Ok(status::status(cx)),
            Command::Id => Ok(status::id(cx)),
            Command::Config => Ok(config::run(cx)),
            Command::Keys(keys) => keys.run(cx).await,
            Command::Stats(stats) => Ok(stats.run(cx)),
            Command::Peers => Ok(peers::run(cx).await),
            Command::LogLevel(log_level) => log_level.run(cx),
            Command::Clients => Ok(clients::run(cx)),
            Command::Help(help) => Ok(help.run(SPECS)),
            Command::Quit => Ok(quit::run(cx)),
        }
    }
}

/// The command of that name (or alias), if there is one.
fn find(name: &str) -> Option<&'static Spec> {
    crate::repl::cmd::context::find(SPECS, name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(line: &str) -> Result<Option<Command>, String> {
        Command::parse(line)
    }

    #[test]
    fn every_command_parses() {
        for line in [
            "emit greet",
            "emit greet hello 5 {\"a\": 1}",
            "on greet",
            "once greet",
            "off greet",
            "off",
            "listeners",
            "listeners greet",
            "start",
            "stop",
            "status",
            "id",
            "config",
            "keys",
            "keys primary 0123456789abcdef",
            "stats",
            "stats all",
            "STATS ALL",
            "peers",
            "log-level",
            "log-level debug",
            "log-level repl",
            "log-level repl debug",
            "clients",
            "help",
            "help emit",
            "quit",
            "exit",
            "  STATUS  ",
        ] {
            assert!(matches!(parse(line), Ok(Some(_))), "{line}");
        }
        assert!(matches!(parse(""), Ok(None)));
        assert!(matches!(parse("   \t"), Ok(None)));
    }

    #[test]
    fn bad_lines_get_one_line_errors() {
        for (line, expected) in [
            (
                "frobnicate",
                "unknown command `frobnicate`; `help` lists the commands",
            ),
            ("emit", "usage: emit NAME [ARG...]"),
            ("on", "usage: on NAME"),
            ("on a b", "usage: on NAME"),
            ("once", "usage: once NAME"),
            ("off a b", "usage: off [NAME]"),
            ("status now", "usage: status"),
            ("log-level a b c", "usage: log-level [COMPONENT] [LEVEL]"),
            ("help a b", "usage: help [COMMAND]"),
            ("emit 'x", "unterminated ' quote"),
            ("emit ''", "usage: emit NAME [ARG...]"),
        ] {
            match parse(line) {
                Err(error) => {
                    assert!(error.starts_with(expected), "{line}: {error}");
                    assert!(!error.contains('\n'), "{line}: {error}");
                }
                Ok(other) => panic!("{line}: parsed as {other:?}"),
            }
        }
        let err = parse(r#"emit x {"$date":"soon"}"#).unwrap_err();
        assert!(err.contains("not valid Extended JSON"), "{err}");
        assert!(err.contains("usage: emit"), "{err}");
    }

    /// Trial item 8: `emit` alone said "usage: emit NAME [ARG...] (usage:
    /// emit NAME [ARG...])".
    #[test]
    fn the_usage_is_given_once() {
        for line in [
            "emit",
            "emit ''",
            "emit x {\"$date\":\"soon\"}",
            "on",
            "on a b",
            "once",
            "off a b",
            "listeners a b",
            "start now",
            "stop now",
            "status now",
            "id x",
            "config x",
            "keys x",
            "stats x y",
            "peers x",
            "log-level a b c",
            "clients x",
            "help a b",
            "quit now",
        ] {
            let error = parse(line).unwrap_err();
            assert_eq!(error.matches("usage:").count(), 1, "{line}: {error}");
        }
        assert_eq!(parse("emit").unwrap_err(), "usage: emit NAME [ARG...]");
    }

    proptest::proptest! {
        /// Whatever a client types parses to a command or a one-line error.
        #[test]
        fn any_line_parses_or_is_one_line_of_error(line in "\\PC{0,200}") {
            if let Err(error) = parse(&line) {
                proptest::prop_assert!(!error.contains('\n'), "{}", error);
            }
        }

        /// Lines made of the REPL's own words and quoting, in any order.
        #[test]
        fn command_like_lines(words in proptest::collection::vec(
            proptest::prop_oneof![
                proptest::strategy::Just("emit".to_owned()),
                proptest::strategy::Just("log-level".to_owned()),
                proptest::strategy::Just("'".to_owned()),
                proptest::strategy::Just("\"".to_owned()),
                proptest::strategy::Just("{\"$date\":".to_owned()),
                proptest::strategy::Just("[".to_owned()),
                proptest::strategy::Just("}".to_owned()),
                "[a-z0-9]{0,5}",
            ],
            0..12,
        )) {
            let line = words.join(" ");
            if let Err(error) = parse(&line) {
                proptest::prop_assert!(!error.contains('\n'), "{}", error);
            }
        }
    }

    #[test]
    fn every_spec_is_reachable_by_name() {
        for spec in SPECS {
            assert!(find(spec.name).is_some());
            assert!(spec.usage.starts_with(spec.name), "{}", spec.usage);
        }
    }
}
