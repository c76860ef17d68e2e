//! What every command that opens a node shares: the network options, their
//! conversion into a [`Config`], and starting a node with errors worded for
//! the command line.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use clap::value_parser;
use eventcast::{Config, EventFilter, Eventcast, KeyFileError, Secret, WireProtocol};

use crate::parse::{parse_group, parse_protocol};

/// The options of every command that runs a node of its own: where the
/// group is, how it sends, and its keys.
#[derive(clap::Args, Debug, Clone)]
pub(crate) struct NodeArgs {
    #[command(flatten)]
    pub(crate) net: NetArgs,

    #[command(flatten)]
    pub(crate) send: SendArgs,

    #[command(flatten)]
    pub(crate) key: KeyArgs,
}

impl NodeArgs {
    /// The node's configuration; fails on a bad key.
    pub(crate) fn config(&self) -> anyhow::Result<Config> {
        self.key.apply(self.send.apply(self.net.config()))
    }

    /// A stopped node with [`config`](Self::config) (see [`new_node`]).
    pub(crate) fn new_node(&self) -> anyhow::Result<Eventcast> {
        new_node(self.config()?)
    }
}

/// Where the group is and how its datagrams are cut: options of every
/// command that opens a node.
#[derive(clap::Args, Debug, Clone)]
#[command(next_help_heading = "Network options")]
pub(crate) struct NetArgs {
    /// UDP port of the group (every node of a group uses the same one)
    /// [default: a random port in 49152-65535, printed]
    #[arg(long, short, env = "EVENTCAST_PORT", value_name = "PORT",
          value_parser = value_parser!(u16).range(1..))]
    pub(crate) port: Option<u16>,

    /// Multicast group to join and send to
    #[arg(long, short, value_name = "ADDRESS", default_value = "224.0.0.1",
          value_parser = parse_group)]
    pub(crate) group: IpAddr,

    /// Interface to join and send on: one of its addresses, or its name
    /// (eth0) [default: the system's choice]
    #[arg(long, short, value_name = "ADDRESS|NAME")]
    pub(crate) interface: Option<String>,

    /// Address to bind [default: 0.0.0.0, or :: for an IPv6 group]
    #[arg(long, value_name = "ADDRESS")]
    pub(crate) bind: Option<IpAddr>,

    /// Bytes of event per datagram (16-65474); a larger event is cut into
    /// segments. Every node of a group should use the same size.
    #[arg(long, value_name = "BYTES", default_value_t = 1024,
          value_parser = crate::parse::parse_bytes::<usize>)]
    pub(crate) max_payload_size: usize,

    /// Milliseconds a partly received event may wait for its next segment
    /// before it is dropped
    #[arg(long, value_name = "MS", default_value_t = 3000,
          value_parser = value_parser!(u64).range(1..))]
    pub(crate) message_ttl: u64,

    /// Receive buffer to ask the kernel for, in bytes [default: 4 MiB]
    #[arg(long, value_name = "BYTES", value_parser = crate::parse::parse_bytes::<usize>)]
    pub(crate) recv_buffer: Option<usize>,

    /// Size of the large events this node expects, in bytes (256K to 64M;
    /// repeat once for a second size, as a camera's frames and a lidar's
    /// scans): a buffer of about that size is made ready to receive at
    /// start, so that the first such event does not wait for fresh memory
    #[arg(long, value_name = "BYTES", value_parser = crate::parse::parse_bytes::<usize>)]
    pub(crate) expect_size: Vec<usize>,

    /// Wire protocol: native, or legacy-v3 to talk with nodes of the
    /// original Node.js eventcast 0.1.x (every node of a group must use the
    /// same)
    #[arg(long, value_name = "PROTOCOL", default_value = "native", value_parser = parse_protocol)]
    pub(crate) protocol: WireProtocol,

    /// With --protocol legacy-v3: encrypt and decrypt as eventcast 0.1.x
    /// does with this passphrase. INSECURE (fixed IV, no authentication,
    /// MD5 key derivation): for talking with 0.1.x nodes only
    #[arg(
        long,
        env = "EVENTCAST_INSECURE_LEGACY_KEY",
        value_name = "PASSPHRASE",
        hide_env_values = true
    )]
    pub(crate) insecure_legacy_key: Option<String>,
}

/// How far what this node sends goes: options of the commands that join a
/// real group (not of `demo`, which keeps everything on this host).
#[derive(clap::Args, Debug, Clone)]
#[command(next_help_heading = "Network options")]
pub(crate) struct SendArgs {
    /// Multicast TTL: 0 keeps events on this host, 1 on this network
    /// segment, more crosses multicast routers
    #[arg(long, value_name = "HOPS", default_value_t = 1,
          value_parser = value_parser!(u32).range(0..=255))]
    pub(crate) ttl: u32,

    /// Do not let other programs on this host hear what this node sends
    #[arg(long)]
    pub(crate) no_loopback: bool,
}

/// The group key: options of the commands that join a real group.
#[derive(clap::Args, Debug, Clone)]
#[command(next_help_heading = "Encryption options")]
pub(crate) struct KeyArgs {
    /// Group key: a passphrase (stretched with Argon2id) or `raw:` and 32
    /// hex digits. Every datagram is then encrypted and authenticated
    /// (AES-128-GCM) and unencrypted ones are refused. Repeat it for a
    /// rotation: the first key encrypts, every key decrypts. WARNING: a key
    /// given on the command line is visible to every user of this machine
    /// (ps, /proc/PID/cmdline); prefer --key-file or EVENTCAST_KEY
    // A String, checked in `apply`: clap would echo a value it refuses.
    #[arg(
        long,
        env = "EVENTCAST_KEY",
        hide_env_values = true,
        value_name = "KEY"
    )]
    pub(crate) key: Vec<String>,

    /// Read a group key from a file (as --key; one trailing line break is
    /// ignored). Keys from files come after those of --key
    #[arg(long, value_name = "FILE")]
    pub(crate) key_file: Vec<PathBuf>,

    /// With a key, also accept unencrypted events: anyone who can reach the
    /// group can then send this node events. For a group moving to
    /// encryption, node by node
    #[arg(long)]
    pub(crate) danger_accept_plaintext: bool,

    /// With a key, accept senders without challenging them first: for
    /// one-way links only. Sealed traffic recorded earlier is then
    /// delivered again when replayed to this node. Challenges to this node
    /// are still answered
    #[arg(long)]
    pub(crate) danger_skip_handshake: bool,
}

impl KeyArgs {
    /// Applies these options to `config`, reading the key files.
    pub(crate) fn apply(&self, mut config: Config) -> anyhow::Result<Config> {
        let mut keys = Vec::new();
        for (i, text) in self.key.iter().enumerate() {
            let key = Secret::parse(text)
                .map_err(|e| UsageError(format!("{}: {e}", self.key_source(i))))?;
            keys.push(key);
        }
        for path in &self.key_file {
            let bytes = read_key_file(path)?;
            let text = std::str::from_utf8(&bytes).map_err(|_| {
                UsageError(format!(
                    "key file {}: not text; a key file holds a passphrase, or `raw:` and 32 \
                     hex digits (`head -c16 /dev/urandom | xxd -p` gives the digits)",
                    path.display()
                ))
            })?;
            let key = Secret::parse(text)
                .map_err(|e| UsageError(format!("key file {}: {e}", path.display())))?;
            keys.push(key);
        }
        let mut keys = keys.into_iter();
        if let Some(first) = keys.next() {
            config = config.key(first);
        }
        for key in keys {
            config = config.decrypt_key(key);
        }
        Ok(config
            .danger_accept_plaintext(self.danger_accept_plaintext)
            .danger_skip_handshake(self.danger_skip_handshake))
    }
}

/// The bytes of the key file at `path` (see [`eventcast::read_key_file`]):
/// a pipe, as from `--key-file <(pass show key)`, is read too. A file too
/// long to be a key file is a [`UsageError`].
fn read_key_file(path: &std::path::Path) -> anyhow::Result<zeroize::Zeroizing<Vec<u8>>> {
    eventcast::read_key_file(path, eventcast::KeyFileKinds::Any).map_err(|e| match e {
        KeyFileError::TooLong { .. } => {
            UsageError(format!("{e} (a passphrase, or `raw:` and 32 hex digits)")).into()
        }
        other => other.into(),
    })
}

impl KeyArgs {
    /// Where the `i`th `--key` value came from, for an error: clap takes
    /// `EVENTCAST_KEY` only when no `--key` is given, as the one value.
    fn key_source(&self, i: usize) -> String {
        let from_env = self.key.len() == 1
            && std::env::var_os("EVENTCAST_KEY").is_some_and(|v| v == self.key[0].as_str());
        if from_env {
            "EVENTCAST_KEY".to_owned()
        } else {
            format!("--key (number {})", i + 1)
        }
    }
}

/// An option value that parsed but cannot work (alone or with the others):
/// reported like clap's own errors, with exit status 2.
#[derive(Debug)]
pub(crate) struct UsageError(pub(crate) String);

impl std::fmt::Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

impl NetArgs {
    /// The node configuration these options describe (not yet validated).
    pub(crate) fn config(&self) -> Config {
        let bind = self.bind.unwrap_or(match self.group {
            IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
        });
        let mut config = Config::default()
            .address(bind)
            .multicast_membership(self.group)
            .max_payload_size(self.max_payload_size)
            .message_ttl(Duration::from_millis(self.message_ttl));
        if let Some(port) = self.port {
            config = config.port(port);
        }
        if let Some(interface) = &self.interface {
            config = config.multicast_interface(interface.clone());
        }
        if let Some(bytes) = self.recv_buffer {
            config = config.recv_buffer_size(bytes);
        }
        for &bytes in &self.expect_size {
            config = config.expected_event_size(bytes);
        }
        config = config.wire_protocol(self.protocol);
        if let Some(key) = &self.insecure_legacy_key {
            config = config.insecure_legacy_key(key.clone());
        }
        config
    }
}

impl SendArgs {
    /// Applies these options to `config`.
    pub(crate) fn apply(&self, config: Config) -> Config {
        config
            .multicast_ttl(self.ttl)
            .multicast_loopback(!self.no_loopback)
    }
}

/// Creates a stopped node; a configuration that cannot work is a
/// [`UsageError`].
pub(crate) fn new_node(config: Config) -> anyhow::Result<Eventcast> {
    new_node_with(config, &[])
}

/// As [`new_node`], for a command that takes more of the library's
/// settings than every command does: `more` names them with their flags,
/// for the error (see [`FLAGS`]).
pub(crate) fn new_node_with(config: Config, more: &[(&str, &str)]) -> anyhow::Result<Eventcast> {
    Eventcast::new(config).map_err(|e| node_error(e, None, more))
}

/// The library's settings that every command making a node takes, by the
/// flags that set them. The library's configuration errors name settings
/// as the library spells them (`max_payload_size`); a command's user
/// reads the flag. Only settings some configuration error names are
/// listed (`--interface` and `--recv-buffer` have none: an unknown
/// interface is named as given, and any buffer size is accepted).
const FLAGS: &[(&str, &str)] = &[
    ("max_payload_size", "--max-payload-size"),
    ("message_ttl", "--message-ttl"),
    ("multicast_ttl", "--ttl"),
    ("insecure_legacy_key", "--insecure-legacy-key"),
    ("expected_event_sizes", "--expect-size"),
];

/// `message` with each whole word that is a setting of [`FLAGS`] or
/// `more` written as its flag; the library's other names are left as
/// they are (a setting this command has no flag for), and so are parts of
/// dotted names (`repl.host`).
pub(crate) fn flag_names(message: &str, more: &[(&str, &str)]) -> String {
    let is_word = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    while let Some(start) = rest.find(is_word) {
        let (before, word) = rest.split_at(start);
        out.push_str(before);
        let len = word.find(|c| !is_word(c)).unwrap_or(word.len());
        let (word, after) = word.split_at(len);
        let dotted =
            before.ends_with('.') || (after.starts_with('.') && after[1..].starts_with(is_word));
        let flag = FLAGS.iter().chain(more).find(|(name, _)| *name == word);
        match flag {
            Some((_, flag)) if !dotted => out.push_str(flag),
            _ => out.push_str(word),
        }
        rest = after;
    }
    out.push_str(rest);
    out
}

/// Asserts that each flag of `flags` is written, as a whole word, in one
/// of `messages`: that its entry matched a name in the library's error.
#[cfg(test)]
pub(crate) fn assert_each_flag_said(flags: &[(&str, &str)], messages: &[String]) {
    let is_flag = |c: char| c.is_ascii_alphanumeric() || c == '-';
    for (_, flag) in flags {
        let said = |m: &String| m.split(|c| !is_flag(c)).any(|word| word == *flag);
        assert!(messages.iter().any(said), "{flag} in none of {messages:#?}");
    }
}

/// The names and patterns a command is given (sensor.*, sensor.**), as a
/// filter: `None` (every event) when there are none; a bad pattern is a
/// [`UsageError`].
pub(crate) fn event_filter(events: &[String]) -> anyhow::Result<Option<EventFilter>> {
    if events.is_empty() {
        return Ok(None);
    }
    EventFilter::new(events.to_vec())
        .map(Some)
        .map_err(|e| UsageError(e.to_string()).into())
}

/// Starts `node`: binds, joins the group. An unknown interface is a
/// [`UsageError`]; what the operating system refuses is an ordinary error.
pub(crate) async fn start(node: &Eventcast) -> anyhow::Result<()> {
    node.start()
        .await
        .map_err(|e| node_error(e, node.config().multicast_interface.as_deref(), &[]))
}

/// Where a started node is, for its first line on stderr: `GROUP (bound to
/// LOCAL, sender ID` and, when the port was picked at random, the port the
/// others need (the caller closes the parenthesis).
pub(crate) fn where_it_runs(node: &Eventcast, port_given: bool) -> anyhow::Result<String> {
    let stopped = "the node stopped right after starting";
    let group = node.group_addr().context(stopped)?;
    let local = node.local_addr().context(stopped)?;
    let random = if port_given {
        String::new()
    } else {
        format!("; random port, give the others --port {}", group.port())
    };
    Ok(format!(
        "{group} (bound to {local}, sender {}{random}",
        node.id()
    ))
}

/// The library's error as the command line says it; `interface` is the
/// `--interface` given, if any, and `more` the command's own settings by
/// their flags (see [`FLAGS`]).
fn node_error(
    error: eventcast::Error,
    interface: Option<&str>,
    more: &[(&str, &str)],
) -> anyhow::Error {
    /// What Linux says when joining a group no route leads to, or on an
    /// address that is not this host's.
    const ENODEV: i32 = 19;
    match error {
        eventcast::Error::Config(e) => UsageError(format!(
            "invalid configuration: {}",
            flag_names(&e.to_string(), more)
        ))
        .into(),
        eventcast::Error::Io { ref source, .. }
            if cfg!(target_os = "linux") && source.raw_os_error() == Some(ENODEV) =>
        {
            match interface {
                Some(given) if given.parse::<std::net::IpAddr>().is_ok() => anyhow::anyhow!(
                    "{error} (--interface {given} is not an address of this host's \
                     interfaces: `ip -brief address` lists them)"
                ),
                Some(given) => anyhow::anyhow!(
                    "{error} (the system refused interface {given} for multicast: is it up, \
                     with an address of the group's family? `ip -brief address` shows)"
                ),
                None => anyhow::anyhow!(
                    "{error} (no route for multicast on this host: pass --interface, or add \
                     one, e.g. `ip route add 224.0.0.0/4 dev eth0`)"
                ),
            }
        }
        other => other.into(),
    }
}

/// The error and its causes on one line, `a: b: c`, leaving out a cause
/// whose text the message before it already ends with (some errors print
/// their source in their own message and also return it as their source).
pub(crate) fn describe(error: &anyhow::Error) -> String {
    let mut text = String::new();
    for cause in error.chain() {
        let cause = cause.to_string();
        if text.is_empty() {
            text = cause;
        } else if !text.ends_with(&cause) {
            text.push_str(": ");
            text.push_str(&cause);
        }
    }
    text
}

#[cfg(test)]
mod tests;
