//! Node configuration: the original eventcast's options, with its defaults.

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use eventcast_proto::crypto::Secret;

use crate::error::ConfigError;
use crate::legacy::{InsecureLegacyKey, LegacyConfig};
use crate::repl_config::ReplConfig;
use crate::spare::{MAX_EXPECTED_EVENT_SIZE, MAX_EXPECTED_EVENT_SIZES, MIN_EXPECTED_EVENT_SIZE};
use crate::wire_protocol::WireProtocol;

/// How a node binds, joins and sends. `Config::default()` is the original
/// eventcast's defaults; the builder methods change one field each.
///
/// ```
/// use std::time::Duration;
/// let config = eventcast::Config::default()
///     .port(41234)
///     .multicast_ttl(0)
///     .message_ttl(Duration::from_secs(5));
/// assert_eq!(config.port, Some(41234));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Config {
    /// Address to bind (default `0.0.0.0`).
    pub address: IpAddr,
    /// UDP port, shared by every node that wants to hear the others
    /// (default: random in 49152-65535, drawn at each start).
    pub port: Option<u16>,
    /// The multicast group to join and send to (default `224.0.0.1`).
    pub multicast_membership: IpAddr,
    /// The interface to join and send on: an IP address of the interface or
    /// its name (`eth0`). Default: the system's choice (the default route).
    pub multicast_interface: Option<String>,
    /// Whether this host's other sockets hear what this node sends
    /// (default true; needed for several nodes on one host).
    pub multicast_loopback: bool,
    /// Multicast TTL / hop limit (default 1: this network segment; 0: this
    /// host only).
    pub multicast_ttl: u32,
    /// Receive buffer to ask the kernel for (default 4 MiB). What it granted
    /// is in [`NodeStats::recv_buffer_size`](crate::stats::NodeStats); a
    /// quarter of that is the receive window the node advertises to the
    /// senders it hears (status frames: they send that much at once, and
    /// the rest as it reads; `ProtocolStats::advertised_window`).
    pub recv_buffer_size: usize,
    /// Bytes of events a [`Subscription`](crate::listeners::Subscription)
    /// holds for a reader that has not taken them yet, before it drops new
    /// ones (default 64 MiB: about 150,000 small events, counted as below).
    /// What an event counts is about the memory it holds: name, arguments
    /// and a fixed share per event and per value (a received event with
    /// one small argument counts about 430 bytes).
    pub subscription_bytes: usize,
    /// Protocol settings: `max_payload_size` (default 1024), `message_ttl`
    /// (default 3000 ms) and the receive limits.
    pub protocol: eventcast_proto::Config,
    /// Whether the node logs from the start, at `info` for every component
    /// (default false: every component off). Levels can be changed while
    /// it runs; see [`logging`](crate::logging).
    pub log: bool,
    /// The operator's REPL (default: off; on `127.0.0.1` when enabled).
    pub repl: ReplConfig,
    /// The wire protocol (default [`WireProtocol::Native`];
    /// [`WireProtocol::LegacyV3`] talks with eventcast 0.1.x nodes).
    pub wire_protocol: WireProtocol,
    /// Settings of the legacy protocol, used only with
    /// [`WireProtocol::LegacyV3`].
    pub legacy: LegacyConfig,
    /// Encryption: the group key (default none: plaintext).
    pub encryption: EncryptionConfig,
    /// The node only sends (default false): it never reassembles or
    /// delivers other nodes' events, even to listeners it has (their data
    /// is dropped unread, `stats().protocol.dropped.not_receiving`), holds
    /// no partial message and sends no NACK; it still repairs what it
    /// sent, and its local emits still reach its own listeners. For
    /// emitters, such as `eventcast emit` and `eventcast play`, on a LAN
    /// where others may flood it.
    ///
    /// Without it, a node receives other nodes' events only while
    /// something listens: an [`on`](crate::Eventcast::on) or
    /// [`once`](crate::Eventcast::once) listener of any name or pattern,
    /// or a [`subscribe`](crate::Eventcast::subscribe) or
    /// [`subscribe_to`](crate::Eventcast::subscribe_to) stream not
    /// dropped. The first listener makes it join the senders as a node
    /// that starts then (owed what they send from then on, with no loss
    /// reported for what came before); when the last is gone, it lets go
    /// of what it held of them. Both protocols.
    pub send_only: bool,
    /// How long the node's task polls its socket before it parks while a
    /// reply to the node's own emit is expected (default
    /// [`DEFAULT_BUSY_POLL`], 150 us; zero: it always parks at once). At
    /// most [`MAX_BUSY_POLL`] (1 ms).
    ///
    /// For request and reply between listeners over a virtual machine's
    /// idle CPUs, where each wake-up of a parked thread costs tens of
    /// microseconds: the reply that comes while the task polls is read
    /// without one. A window set by hand must be longer than the peer
    /// takes to answer, counting its own wake-up when it parks (on the
    /// 2-CPU VM of docs/BENCHMARKS.md a parked peer took 60-80 us to
    /// answer, and 150 us kept the window whole where 50 did not). The
    /// poll spins on the task's worker thread (a non-blocking read of the
    /// socket, again and again) and gives way at once to a datagram, a
    /// command, a stop (`stop`, or every handle dropped), an emit that
    /// needs the task, or the task's next timer. The window adapts (KVM's
    /// halt-polling rule, see docs/ARCHITECTURE.md): it shrinks to nothing
    /// when what ends the park comes later than the window after the poll
    /// began, and grows back when a datagram comes within it.
    ///
    /// A reply is expected from the first time the task, about to park,
    /// sees that the node emitted since it last looked, for the window,
    /// or until a datagram comes; polls cut short by timers or commands
    /// do not stretch it. The task polls only then, and only while
    /// listeners ([`on`](crate::Eventcast::on),
    /// [`once`](crate::Eventcast::once)) take the events and no
    /// subscription ([`subscribe`](crate::Eventcast::subscribe),
    /// [`subscribe_to`](crate::Eventcast::subscribe_to)) is open:
    /// listeners run on the node's task and answer before it polls, while
    /// a subscription's reader is a task of its own, which the poll could
    /// hold up on the same worker. So an idle node, a node whose listeners
    /// only take events in and a node without listeners never poll.
    ///
    /// Costs CPU: up to the window after each emit, on the worker that
    /// would otherwise sleep. A node that emits for every event of a
    /// stream (a relay, an acknowledger) polls through the stream's gaps
    /// shorter than the window, and the datagrams it finds keep the window
    /// whole: set zero there if the CPU counts more than the latency.
    /// Tasks that a listener spawns or wakes (through a channel, a
    /// notice) may wait on that worker until the poll ends, and while
    /// every poll finds a datagram, a millisecond or more: then the
    /// node's task hands them to another worker that is free. Only on
    /// Unix and on tokio's multi-thread runtime with two workers or more:
    /// with one worker the poll would hold the thread the application's
    /// tasks need, so the setting is ignored there. It pays only where the
    /// node's own datagrams do not come back to it (Linux, native
    /// protocol: a socket filter drops them): elsewhere the copy of its
    /// own emit ends the poll at once, and with it the expectation.
    /// [`NodeStats::busy_polls`](crate::stats::NodeStats::busy_polls) and
    /// `busy_poll_hits` tell how often it polled and how often that paid.
    pub busy_poll: Duration,
    /// The sizes of the large events this node expects to send and
    /// receive, in bytes of argument (default none): at most
    /// [`MAX_EXPECTED_EVENT_SIZES`], each from [`MIN_EXPECTED_EVENT_SIZE`]
    /// (256 KiB) to [`MAX_EXPECTED_EVENT_SIZE`] (64 MiB), and at most
    /// `protocol.max_message_size` (an event of exactly 64 MiB, with its
    /// name and headers, needs that raised). A camera's frame size, a
    /// lidar scan's.
    ///
    /// Each start makes a buffer ready for each size before
    /// [`start`](crate::Eventcast::start) returns, to put together the
    /// next message of about that size the node receives (nothing on a
    /// [`send_only`](Self::send_only) node or with the legacy protocol).
    /// The first such message then takes memory already mapped and faulted
    /// in, where it would otherwise wait while fresh memory is, about
    /// 0.3 ms a MiB on the VMs of docs/BENCHMARKS.md. After each, the node
    /// makes a buffer for the next one once it is idle for 5 ms, as it does
    /// for every message of 256 KiB to 4.5 MiB without this setting: a
    /// stream of larger events (point clouds, uncompressed 4K frames)
    /// keeps one too. The sending side is left as it is (bodies the node
    /// writes get a spare from 256 KiB to 4.5 MiB):
    /// [`emit_binary`](crate::Eventcast::emit_binary), and the packages'
    /// emit of one large binary, send the caller's bytes and need none. A
    /// buffer takes an event from 0.9 to 1.125 times its size (room for
    /// the event's name and headers), so a stream whose sizes vary more
    /// than that finds none and allocates as without it. Spares of other
    /// sizes never replace an expected size's.
    ///
    /// Costs memory from the start: about 1.125 times each size, held
    /// while no such message comes, and while a stream runs a buffer for
    /// its next message beside the one its listeners hold. A stopped node
    /// holds none.
    /// [`NodeStats::messages_received_in_spare`](crate::stats::NodeStats::messages_received_in_spare)
    /// counts the messages received into such a buffer.
    pub expected_event_sizes: Vec<usize>,
}

/// [`Config::busy_poll`]'s default window: 150 us, longer than a parked
/// peer took to answer on the 2-CPU VM of docs/BENCHMARKS.md (60-80 us),
/// where 50 us was too short to stay whole. It applies only on Unix and
/// on tokio's multi-thread runtime with two workers or more.
pub const DEFAULT_BUSY_POLL: Duration = Duration::from_micros(150);

/// The longest [`Config::busy_poll`] allowed.
pub const MAX_BUSY_POLL: Duration = Duration::from_millis(1);

/// Encryption settings: with a key, every datagram is sealed with
/// AES-128-GCM and every received datagram must be sealed with a key of the
/// ring (see docs/SECURITY.md).
///
/// ```
/// let config = eventcast::Config::default().key("correct horse battery staple");
/// assert!(config.encryption.key.is_some());
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct EncryptionConfig {
    /// The key that seals what this node sends (and opens what it
    /// receives): a passphrase, stretched with Argon2id once per node handle,
    /// or a
    /// raw 128-bit key. `Debug` never shows it.
    pub key: Option<Secret>,
    /// More keys that open what this node receives, during a rotation.
    pub decrypt_keys: Vec<Secret>,
    /// With a key, also accept unencrypted datagrams. Anyone who can reach
    /// the group can then send this node events.
    pub danger_accept_plaintext: bool,
    /// With a key, accept a sender's datagrams without challenging it first
    /// (docs/PROTOCOL.md §16.8): for one-way links, where senders cannot
    /// hear challenges. Sealed traffic recorded earlier is then delivered
    /// again when it is replayed to a node that never saw it. Challenges
    /// to this node are still answered.
    pub danger_skip_handshake: bool,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            address: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            port: None,
            multicast_membership: IpAddr::V4(Ipv4Addr::new(224, 0, 0, 1)),
            multicast_interface: None,
            multicast_loopback: true,
            multicast_ttl: 1,
            recv_buffer_size: 4 * 1024 * 1024,
            subscription_bytes: 64 * 1024 * 1024,
            protocol: eventcast_proto::Config::default(),
            log: false,
            repl: ReplConfig::default(),
            wire_protocol: WireProtocol::Native,
            legacy: LegacyConfig::default(),
            encryption: EncryptionConfig::default(),
            send_only: false,
            busy_poll: DEFAULT_BUSY_POLL,
            expected_event_sizes: Vec::new(),
        }
    }
}

impl Config {
    /// Sets the bind address.
    pub fn address(mut self, address: IpAddr) -> Self {
        self.address = address;
        self
    }

    /// Sets the port.
    pub fn port(mut self, port: u16) -> Self {
        self.port = Some(port);
        self
    }

    /// Sets the multicast group.
    pub fn multicast_membership(mut self, group: IpAddr) -> Self {
        self.multicast_membership = group;
        self
    }

    /// Sets the multicast interface, by address or name.
    pub fn multicast_interface(mut self, interface: impl Into<String>) -> Self {
        self.multicast_interface = Some(interface.into());
        self
    }

    /// Sets multicast loopback.
    pub fn multicast_loopback(mut self, on: bool) -> Self {
        self.multicast_loopback = on;
        self
    }

    /// Sets the multicast TTL.
    pub fn multicast_ttl(mut self, ttl: u32) -> Self {
        self.multicast_ttl = ttl;
        self
    }

    /// Sets the bytes of payload per datagram.
    pub fn max_payload_size(mut self, bytes: usize) -> Self {
        self.protocol.max_payload_size = bytes;
        self
    }

    /// Makes the node send only (see [`Config::send_only`]).
    pub fn send_only(mut self, on: bool) -> Self {
        self.send_only = on;
        self
    }

    /// Sets how long the node's task polls its socket before it parks
    /// (see [`Config::busy_poll`]).
    pub fn busy_poll(mut self, window: Duration) -> Self {
        self.busy_poll = window;
        self
    }

    /// Adds a size of the large events this node expects (see
    /// [`Config::expected_event_sizes`]).
    ///
    /// ```
    /// let config = eventcast::Config::default().expected_event_size(1 << 20);
    /// assert_eq!(config.expected_event_sizes, [1 << 20]);
    /// ```
    pub fn expected_event_size(mut self, bytes: usize) -> Self {
        self.expected_event_sizes.push(bytes);
        self
    }

    /// Sets how long a partial message may go without a new segment.
    pub fn message_ttl(mut self, ttl: Duration) -> Self {
        self.protocol.message_ttl = ttl;
        self
    }

    /// Sets the receive buffer size to ask for.
    pub fn recv_buffer_size(mut self, bytes: usize) -> Self {
        self.recv_buffer_size = bytes;
        self
    }

    /// Logs from the start (at `info`), or not.
    pub fn log(mut self, on: bool) -> Self {
        self.log = on;
        self
    }

    /// Sets the wire protocol.
    pub fn wire_protocol(mut self, protocol: WireProtocol) -> Self {
        self.wire_protocol = protocol;
        self
    }

    /// Turns on the original eventcast 0.1.x's encryption with this
    /// passphrase (legacy protocol only). **Insecure**: see
    /// [`InsecureLegacyKey`].
    pub fn insecure_legacy_key(mut self, passphrase: impl Into<String>) -> Self {
        self.legacy.insecure_legacy_key = Some(InsecureLegacyKey::new(passphrase));
        self
    }

    /// Sets the group key: a passphrase (`&str`, `String`) or a raw key
    /// ([`Key`](eventcast_proto::crypto::Key)).
    pub fn key(mut self, key: impl Into<Secret>) -> Self {
        self.encryption.key = Some(key.into());
        self
    }

    /// Adds a key that opens received datagrams but does not seal.
    pub fn decrypt_key(mut self, key: impl Into<Secret>) -> Self {
        self.encryption.decrypt_keys.push(key.into());
        self
    }

    /// Accepts unencrypted datagrams even with a key (see
    /// [`EncryptionConfig::danger_accept_plaintext`]).
    pub fn danger_accept_plaintext(mut self, accept: bool) -> Self {
        self.encryption.danger_accept_plaintext = accept;
        self
    }

    /// Accepts keyed senders without the handshake (see
    /// [`EncryptionConfig::danger_skip_handshake`]).
    pub fn danger_skip_handshake(mut self, skip: bool) -> Self {
        self.encryption.danger_skip_handshake = skip;
        self
    }

    /// Serves the REPL (or not); needs the `repl` feature (on by default).
    pub fn repl_enabled(mut self, on: bool) -> Self {
        self.repl.enabled = on;
        self
    }

    /// Sets the REPL's TCP port.
    pub fn repl_port(mut self, port: u16) -> Self {
        self.repl.port = Some(port);
        self
    }

    /// Sets the address the REPL listens on.
    pub fn repl_host(mut self, host: IpAddr) -> Self {
        self.repl.host = host;
        self
    }

    /// Allows the REPL to listen on an address that is not loopback: anyone
    /// who reaches it controls the node.
    pub fn danger_repl_any_host(mut self, allow: bool) -> Self {
        self.repl.danger_any_host = allow;
        self
    }

    /// Sets how many REPL clients are served at once.
    pub fn repl_max_clients(mut self, clients: usize) -> Self {
        self.repl.max_clients = clients;
        self
    }

    /// Checks everything that can be checked without touching the network.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if !self.multicast_membership.is_multicast() {
            return Err(ConfigError::NotMulticast(self.multicast_membership));
        }
        if self.address.is_ipv4() != self.multicast_membership.is_ipv4() {
            return Err(ConfigError::FamilyMismatch {
                address: self.address,
                group: self.multicast_membership,
            });
        }
        if self.multicast_ttl > 255 {
            return Err(ConfigError::Ttl(self.multicast_ttl));
        }
        if self.subscription_bytes == 0 {
            return Err(ConfigError::SubscriptionBytes);
        }
        if self.busy_poll > MAX_BUSY_POLL {
            return Err(ConfigError::BusyPoll(self.busy_poll));
        }
        self.check_expected_event_sizes()?;
        self.protocol.validate()?;
        self.repl.validate()?;
        self.legacy
            .check(
                self.wire_protocol == WireProtocol::LegacyV3,
                self.multicast_membership,
                self.protocol.max_payload_size,
            )
            .map_err(ConfigError::Legacy)?;
        if self.encryption.key.is_none() && !self.encryption.decrypt_keys.is_empty() {
            return Err(ConfigError::DecryptKeysWithoutKey);
        }
        let max = eventcast_proto::wire::MAX_SEALED_SEGMENT_PAYLOAD;
        if self.encryption.key.is_some() && self.protocol.max_payload_size > max {
            return Err(eventcast_proto::ConfigError::SealedPayloadSize(
                self.protocol.max_payload_size,
            )
            .into());
        }
        if 1 + self.encryption.decrypt_keys.len() > eventcast_proto::crypto::MAX_KEYS {
            return Err(ConfigError::TooManyKeys);
        }
        if self.wire_protocol == WireProtocol::LegacyV3
            && (self.encryption.key.is_some() || self.encryption.danger_accept_plaintext)
        {
            return Err(ConfigError::Legacy(
                "encryption.key is for the native protocol; the legacy protocol's \
                 encryption is legacy.insecure_legacy_key"
                    .to_owned(),
            ));
        }
        Ok(())
    }

    fn check_expected_event_sizes(&self) -> Result<(), ConfigError> {
        let sizes = &self.expected_event_sizes;
        if sizes.len() > MAX_EXPECTED_EVENT_SIZES {
            return Err(ConfigError::TooManyExpectedEventSizes { got: sizes.len() });
        }
        let range = MIN_EXPECTED_EVENT_SIZE..=MAX_EXPECTED_EVENT_SIZE;
        if let Some(&got) = sizes.iter().find(|s| !range.contains(s)) {
            return Err(ConfigError::ExpectedEventSize { got });
        }
        let max_message_size = self.protocol.max_message_size;
        match sizes.iter().find(|&&s| s > max_message_size) {
            Some(&got) => Err(ConfigError::ExpectedEventSizeAboveMax {
                got,
                max_message_size,
            }),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests;
