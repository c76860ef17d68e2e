//! The legacy protocol's driver (see [`Driver`]), for
//! [`WireProtocol::LegacyV3`]: a [`LegacyEndpoint`] on the same task loop
//! and the same handles as native mode.
//!
//! As the original, one UDP socket does everything: bound to `0.0.0.0` on
//! the group's port and joined to the group, it sends events to the group,
//! receives them, and sends and receives the unicast `__ec_retx` requests
//! and their answers. Every meta says where those go: `host` is the address
//! of the interface this node sends on (not `0.0.0.0`), `port` the group's
//! port.
//!
//! [`WireProtocol::LegacyV3`]: crate::wire_protocol::WireProtocol::LegacyV3

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::num::NonZeroUsize;
use std::time::Instant;

use bson::{Bson, DateTime};
use eventcast_proto::crypto::KeyInfo;
use eventcast_proto::legacy::{
    EncodeError, EventBody, InsecureLegacyCipher, LegacyDestination, LegacyEndpoint,
    LegacyEndpointConfig, LegacyEndpointEvent, LegacyId, LegacyIdentity, ReassemblyLimits,
    RETX_EVENT,
};
use eventcast_proto::{BodyError, Datagram, EmitError, PeerInfo, SenderId};
use tracing::{debug, warn};

use crate::config::Config;
use crate::driver::{Clock, Driver, KeyChange, Outgoing, Output};
use crate::error::Error;
use crate::event::Event;
use crate::host::hostname;
use crate::legacy::{LegacyConfig, LEGACY_MAX_NAME_LEN};
use crate::notice::Notice;
use crate::socket;
use crate::stats::NodeStats;

/// Bytes of sent segmented messages kept for retransmission.
const SENT_MAX_BYTES: usize = 64 * 1024 * 1024;

/// How many times each kept message may have its segment count sent again.
const RESENDS_PER_SEGMENT: usize = 4;

/// Encodes an event for the legacy protocol: the name as it is (it goes
/// into every meta), the arguments once into `{ payload: [...] }`. Refuses
/// what the protocol cannot carry before anything is queued.
pub(crate) fn encode(name: &str, args: &[Bson]) -> Result<Outgoing, Error> {
    if name == RETX_EVENT {
        return Err(Error::Legacy(EncodeError::ReservedName));
    }
    if name.len() > LEGACY_MAX_NAME_LEN {
        return Err(Error::Legacy(EncodeError::MetaTooLarge { len: name.len() }));
    }
    let body = EventBody::encode(args).map_err(|e| match e {
        // The same error as native mode's for arguments BSON cannot hold.
        EncodeError::Bson(message) => Error::Emit(EmitError::Encode(BodyError::Encode(message))),
        other => Error::Legacy(other),
    })?;
    Ok(Outgoing::Legacy {
        name: name.to_owned(),
        body,
    })
}

/// A [`LegacyEndpoint`] with where its datagrams go.
pub(crate) struct Legacy {
    endpoint: LegacyEndpoint,
    group: SocketAddr,
    /// Bytes of emitted events whose datagrams wait in the endpoint. They
    /// are given back together once the endpoint's queue is empty: the
    /// legacy endpoint holds nothing back (it has no pacer), so that is as
    /// soon as the task has sent what it took. An endpoint that paced its
    /// datagrams would need a release per event instead.
    pending: usize,
    /// Bytes of emitted events sent or refused, not given back yet.
    released: usize,
    drop_hook: DropHook,
    /// `Config::send_only`: never receives, whoever listens.
    send_only: bool,
}

impl Legacy {
    /// The endpoint of a run that sends as `id` to `group`.
    pub(crate) fn new(config: &Config, id: SenderId, group: SocketAddr) -> Result<Self, Error> {
        let host = unicast_host(config, group)?;
        let identity = LegacyIdentity {
            id: LegacyId::from(id),
            host: host.to_string(),
            port: group.port(),
            hostname: hostname(),
        };
        debug!(
            target: "eventcast", host = identity.host, port = identity.port,
            hostname = identity.hostname, "legacy-v3: this node's address for retransmissions"
        );
        let mut endpoint = LegacyEndpoint::new(endpoint_config(config, identity));
        // Until the task says somebody listens.
        endpoint.set_receiving(false);
        Ok(Self {
            endpoint,
            group,
            pending: 0,
            released: 0,
            drop_hook: DropHook::new(&config.legacy),
            send_only: config.send_only,
        })
    }
}

/// Test support (feature `__test-support`): drops the outgoing datagram
/// with the index in [`LegacyConfig`]'s `test_drop_datagram` (a field only
/// with the feature), counted over one run, requests and answers included.
/// Without the feature it has no state and drops nothing.
#[derive(Default)]
struct DropHook {
    #[cfg(feature = "__test-support")]
    index: Option<u64>,
    #[cfg(feature = "__test-support")]
    sent: u64,
}

impl DropHook {
    #[cfg(feature = "__test-support")]
    fn new(config: &LegacyConfig) -> Self {
        Self {
            index: config.test_drop_datagram,
            sent: 0,
        }
    }

    #[cfg(not(feature = "__test-support"))]
    fn new(_config: &LegacyConfig) -> Self {
        Self::default()
    }

    /// Whether to drop the next outgoing datagram.
    #[cfg(feature = "__test-support")]
    fn drops(&mut self) -> bool {
        let index = self.sent;
        self.sent += 1;
        self.index == Some(index)
    }

    #[cfg(not(feature = "__test-support"))]
    fn drops(&mut self) -> bool {
        false
    }
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

impl Driver for Legacy {
    fn poll_timeout(&self) -> Option<Instant> {
        self.endpoint.poll_timeout()
    }

    fn handle_timeout(&mut self, now: Instant) {
        self.endpoint.handle_timeout(now, DateTime::now());
    }

    fn emit(&mut self, clock: &mut Clock, event: Outgoing) {
        let reserved = event.reserved();
        let Outgoing::Legacy { name, body } = &event else {
            warn!(target: "eventcast", "a native event reached the legacy driver (a bug): not sent");
            self.released += reserved;
            return;
        };
        match self
            .endpoint
            .emit_body(clock.now(), DateTime::now(), name, body)
        {
            Ok(()) => self.pending += reserved,
            Err(e) => {
                // The handle checked what it could; this is a bug or a limit.
                warn!(target: "eventcast", name, error = %e, "legacy-v3: event not sent");
                self.released += reserved;
            }
        }
    }

    fn change_keys(&mut self, _change: KeyChange) {
        // Refused by the handle in legacy mode: the 0.1.x protocol has no
        // keyring. Nothing to do.
    }

    fn peers(&self, _now: Instant) -> Vec<PeerInfo> {
        // The 0.1.x protocol has no sequence numbers or heartbeats, and
        // its endpoint keeps no state per sender: nobody to list.
        Vec::new()
    }

    fn set_receiving(&mut self, listening: Option<Instant>) {
        let receiving = listening.is_some() && !self.send_only;
        if receiving != self.endpoint.is_receiving() {
            debug!(target: "eventcast", receiving, "legacy-v3: receiving other nodes' events: switched");
            self.endpoint.set_receiving(receiving);
        }
    }

    fn handle_datagram(&mut self, now: Instant, from: SocketAddr, datagram: &[u8]) {
        self.endpoint.handle_datagram(now, from, datagram);
    }

    fn poll_transmit(&mut self, _now: Instant, out: &mut Datagram) -> Option<SocketAddr> {
        loop {
            let Some(transmit) = self.endpoint.poll_transmit() else {
                // Every datagram of every event emitted so far is out: the
                // events have left the send queue.
                self.released += std::mem::take(&mut self.pending);
                return None;
            };
            let to = match transmit.destination {
                LegacyDestination::Unicast(to) => to,
                _ => self.group,
            };
            if self.drop_hook.drops() {
                debug!(target: "eventcast", %to, "test: outgoing datagram dropped");
                continue;
            }
            // The legacy endpoint builds each datagram in a Vec of its own:
            // hand that one over rather than copy it.
            *out = Datagram::from(transmit.contents);
            return Some(to);
        }
    }

    fn poll_control(&mut self, _now: Instant, _out: &mut Datagram) -> Option<SocketAddr> {
        // 0.1.x has no flow control: no sender waits for a receiver's
        // word, and its requests go with the turn's other datagrams.
        None
    }

    fn stopping(&mut self) {
        // Nothing is paced: every datagram goes out as soon as it is made.
    }

    fn poll_released(&mut self) -> usize {
        std::mem::take(&mut self.released)
    }

    fn data_taken(&self) -> Option<u64> {
        // Not counted: an event's body and its datagrams differ in size
        // (metas, padding), and inline emits fill the batch whole.
        None
    }

    fn publish_stats(&self, stats: &mut NodeStats) {
        let legacy = self.endpoint.stats();
        stats.legacy = legacy;
        stats.protocol = legacy.to_native();
    }

    fn poll_keys(&mut self) -> Option<Vec<KeyInfo>> {
        // No keyring: the 0.1.x encryption is one passphrase, never counted.
        None
    }

    fn poll_output(&mut self) -> Option<Output> {
        loop {
            let output = match self.endpoint.poll_event()? {
                LegacyEndpointEvent::Event(received) => {
                    let event = received.event;
                    debug!(
                        target: "eventcast",
                        name = event.name(), sender = %received.sender, from = %received.from,
                        "legacy event received"
                    );
                    Output::Event(Event::new(
                        event.origin.name,
                        event.args,
                        received.sender,
                        Some(received.from),
                        None,
                    ))
                }
                LegacyEndpointEvent::Problem(problem) => {
                    warn!(target: "eventcast", %problem, "legacy-v3 protocol error");
                    Output::Notice(Notice::LegacyProtocolError(problem))
                }
                other => {
                    debug!(target: "eventcast", ?other, "legacy endpoint event ignored");
                    continue;
                }
            };
            return Some(output);
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

    #[test]
    fn emit_refusals() {
        assert!(encode("e", &[]).is_ok());
        assert!(encode("__ec_retx", &[])
            .err()
            .expect("refused")
            .to_string()
            .contains("reserved"));
        assert!(encode(&"n".repeat(LEGACY_MAX_NAME_LEN + 1), &[]).is_err());
    }
}
