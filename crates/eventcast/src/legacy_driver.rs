//! The node's task in legacy mode ([`WireProtocol::LegacyV3`]): one socket,
//! a [`LegacyEndpoint`], the same handles as native mode.
//!
//! As the original, one UDP socket does everything: bound to `0.0.0.0` on
//! the group's port and joined to the group, it sends events to the group,
//! receives them, and sends and receives the unicast `__ec_retx` requests
//! and their answers. Every meta says where those go: `host` is the address
//! of the interface this node sends on (not `0.0.0.0`), `port` the group's
//! port.
//!
//! [`WireProtocol::LegacyV3`]: crate::legacy::WireProtocol::LegacyV3

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::num::NonZeroUsize;
use std::sync::Arc;
use std::time::Instant;

use bson::DateTime;
use eventcast_proto::legacy::{
    InsecureLegacyCipher, LegacyDestination, LegacyEndpoint, LegacyEndpointConfig,
    LegacyEndpointEvent, LegacyId, LegacyIdentity, ReassemblyLimits,
};
use eventcast_proto::{decode_body, SenderId};
use tokio::net::UdpSocket;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tracing::{debug, warn};

use crate::config::Config;
use crate::error::Error;
use crate::event::Event;
use crate::host::hostname;
use crate::notice::Notice;
use crate::shared::Shared;
use crate::socket;
use crate::task::{self, Command, Core, Io};

/// Bytes of sent segmented messages kept for retransmission.
const SENT_MAX_BYTES: usize = 64 * 1024 * 1024;

/// How many times each kept message may have its segment count sent again.
const RESENDS_PER_SEGMENT: usize = 4;

/// What the legacy task needs from `Eventcast::start`.
pub(crate) struct LegacyStart {
    pub(crate) config: Config,
    pub(crate) socket: UdpSocket,
    pub(crate) group: SocketAddr,
    pub(crate) id: SenderId,
    pub(crate) commands: mpsc::UnboundedReceiver<Command>,
    pub(crate) cancel: CancellationToken,
    pub(crate) shared: Arc<Shared>,
}

/// Builds the legacy endpoint and spawns the node's task.
pub(crate) fn spawn(start: LegacyStart) -> Result<JoinHandle<()>, Error> {
    let config = &start.config;
    let host = unicast_host(config, start.group)?;
    let identity = LegacyIdentity {
        id: LegacyId::from(start.id),
        host: host.to_string(),
        port: start.group.port(),
        hostname: hostname(),
    };
    debug!(
        target: "eventcast", host = identity.host, port = identity.port,
        hostname = identity.hostname, "legacy-v3: this node's address for retransmissions"
    );
    let core = Legacy {
        endpoint: LegacyEndpoint::new(endpoint_config(config, identity)),
        group: start.group,
        drop_datagram: config.legacy.test_drop_datagram,
        sent: 0,
    };
    let io = Io {
        socket: start.socket,
        commands: start.commands,
        cancel: start.cancel,
        shared: start.shared,
    };
    Ok(tokio::spawn(task::run(core, io)))
}

/// The endpoint's settings from the node's.
fn endpoint_config(config: &Config, identity: LegacyIdentity) -> LegacyEndpointConfig {
    let p = &config.protocol;
    let mut limits = ReassemblyLimits::default();
    limits.message_ttl = p.message_ttl;
    limits.max_retransmit_attempts = config.legacy.max_retransmit_attempts;
    // The reassembled bytes hold the event behind one or two metas (each
    // under 64 KiB) and, encrypted, up to 16 bytes of padding.
    limits.max_message_size = p.max_message_size.saturating_add(2 * 65_537 + 16);
    // Segments are counted against max_partial_bytes anyway (with their
    // bookkeeping); this only keeps a tiny-segment sender possible.
    limits.max_segments = u32::try_from(limits.max_message_size.div_ceil(16))
        .unwrap_or(u32::MAX)
        .clamp(65_536, i32::MAX as u32);
    limits.max_partial_bytes = p.max_partial_bytes;
    let mut c = LegacyEndpointConfig::new(identity, rand::random());
    c.max_payload_size = NonZeroUsize::new(p.max_payload_size).unwrap_or(NonZeroUsize::MIN);
    c.sent_retention = p.message_ttl.saturating_mul(10);
    c.limits = limits;
    c.sent_max_bytes = SENT_MAX_BYTES;
    c.resends_per_segment = RESENDS_PER_SEGMENT;
    c.insecure_cipher = config
        .legacy
        .insecure_legacy_key
        .as_ref()
        .map(|k| InsecureLegacyCipher::from_passphrase(k.passphrase()));
    c
}

/// The address other nodes reach this one at by unicast: the bind address
/// when it is one, else the configured interface's, else the source
/// address the system picks for the group (a UDP `connect` only looks up
/// the route; it sends nothing).
fn unicast_host(config: &Config, group: SocketAddr) -> Result<Ipv4Addr, Error> {
    if let IpAddr::V4(a) = config.address {
        if !a.is_unspecified() && !a.is_multicast() {
            return Ok(a);
        }
    }
    if let Some(a) = socket::multicast_interface_v4(config)? {
        if !a.is_unspecified() {
            return Ok(a);
        }
    }
    let probe = std::net::UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0))
        .and_then(|s| s.connect(group).and_then(|()| s.local_addr()));
    match probe {
        Ok(SocketAddr::V4(a)) if !a.ip().is_unspecified() => Ok(*a.ip()),
        other => {
            warn!(
                target: "eventcast", ?other,
                "legacy-v3: cannot tell this host's address towards the group; \
                 reporting 127.0.0.1 (retransmission requests from other hosts will not arrive; \
                 pass --interface)"
            );
            Ok(Ipv4Addr::LOCALHOST)
        }
    }
}

/// A [`LegacyEndpoint`] with where its datagrams go.
struct Legacy {
    endpoint: LegacyEndpoint,
    group: SocketAddr,
    /// Test support: the index of an outgoing datagram not to send.
    drop_datagram: Option<u64>,
    /// Outgoing datagrams so far.
    sent: u64,
}

impl Core for Legacy {
    fn poll_timeout(&self) -> Option<Instant> {
        self.endpoint.poll_timeout()
    }

    fn handle_timeout(&mut self, now: Instant) {
        self.endpoint.handle_timeout(now, DateTime::now());
    }

    fn apply(&mut self, command: Command) {
        let body = match command {
            Command::Emit(body) => body,
            // Refused by the handle in legacy mode; nothing to do here.
            Command::AddKey(_) | Command::UseKey(_) | Command::RemoveKey(_) => return,
            // The 0.1.x protocol has no sequence numbers or heartbeats, and
            // its endpoint keeps no state per sender: nobody to list.
            Command::Peers(reply) => {
                let _ = reply.send(Vec::new());
                return;
            }
        };
        // The handle encoded the event as a native body; read it back.
        let (name, args) = match decode_body(&body) {
            Ok(event) => event,
            Err(e) => {
                warn!(target: "eventcast", error = %e, "event not sent (a bug)");
                return;
            }
        };
        if let Err(e) = self
            .endpoint
            .emit(Instant::now(), DateTime::now(), &name, &args)
        {
            // The handle checked what it could; this is a bug or a limit.
            warn!(target: "eventcast", name, error = %e, "legacy-v3: event not sent");
        }
    }

    fn handle_datagram(&mut self, now: Instant, from: SocketAddr, datagram: &[u8]) {
        self.endpoint.handle_datagram(now, from, datagram);
    }

    fn poll_transmit(&mut self, _now: Instant) -> Option<(Vec<u8>, SocketAddr)> {
        loop {
            let transmit = self.endpoint.poll_transmit()?;
            let to = match transmit.destination {
                LegacyDestination::Unicast(to) => to,
                _ => self.group,
            };
            let index = self.sent;
            self.sent += 1;
            if self.drop_datagram == Some(index) {
                debug!(target: "eventcast", index, %to, "test: outgoing datagram dropped");
                continue;
            }
            return Some((transmit.contents, to));
        }
    }

    fn publish(&mut self, shared: &Shared) {
        {
            let legacy = self.endpoint.stats();
            let mut stats = shared.stats_mut();
            stats.legacy = legacy;
            stats.protocol = legacy.to_native();
        }
        while let Some(event) = self.endpoint.poll_event() {
            match event {
                LegacyEndpointEvent::Event(received) => {
                    let event = received.event;
                    debug!(
                        target: "eventcast",
                        name = event.name(), sender = %received.sender, from = %received.from,
                        "legacy event received"
                    );
                    shared.listeners.dispatch(&Event::new(
                        event.origin.name,
                        event.args,
                        received.sender,
                        Some(received.from),
                        None,
                    ));
                }
                LegacyEndpointEvent::Problem(problem) => {
                    warn!(target: "eventcast", %problem, "legacy-v3 protocol error");
                    shared.notify(Notice::LegacyProtocolError(problem));
                }
                other => debug!(target: "eventcast", ?other, "legacy endpoint event ignored"),
            }
        }
    }

    fn id(&self) -> String {
        self.endpoint.id().to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_settings_follow_the_node_config() {
        let config = Config::default()
            .max_payload_size(512)
            .message_ttl(std::time::Duration::from_millis(700));
        let identity = LegacyIdentity {
            id: LegacyId::new("x"),
            host: "127.0.0.1".into(),
            port: 1,
            hostname: "h".into(),
        };
        let c = endpoint_config(&config, identity);
        assert_eq!(c.max_payload_size.get(), 512);
        assert_eq!(c.limits.message_ttl, std::time::Duration::from_millis(700));
        assert_eq!(c.sent_retention, std::time::Duration::from_millis(7000));
        assert_eq!(c.limits.max_retransmit_attempts, 1);
        assert!(c.limits.max_message_size > config.protocol.max_message_size);
        assert!(c.insecure_cipher.is_none());
    }

    #[test]
    fn a_bind_address_is_the_unicast_host() {
        let config = Config::default().address("127.0.0.2".parse().unwrap());
        let group = "224.0.0.1:1".parse().unwrap();
        assert_eq!(
            unicast_host(&config, group).unwrap(),
            Ipv4Addr::new(127, 0, 0, 2)
        );
        let config = Config::default().multicast_interface("127.0.0.3");
        assert_eq!(
            unicast_host(&config, group).unwrap(),
            Ipv4Addr::new(127, 0, 0, 3)
        );
    }
}
