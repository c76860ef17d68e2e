//! The options the JS layer hands over (already checked for names and
//! types there) into the library's `Config`. Values that need parsing
//! (addresses, keys) and settings that cannot work together are refused
//! here, with a message naming the option as JavaScript spells it.

use std::net::IpAddr;
use std::time::Duration;

use eventcast::{Config, Key, Secret, WireProtocol};
use napi::bindgen_prelude::{Buffer, Either};
use napi::Result;
use napi_derive::napi;

use crate::to_bson::type_error;

/// The options of a node, camelCase (see index.d.ts for each).
#[napi(object)]
#[derive(Default)]
pub struct NodeOptions {
    /// Bind address.
    pub address: Option<String>,
    /// UDP port.
    pub port: Option<u32>,
    /// Multicast group.
    pub multicast_membership: Option<String>,
    /// Interface: address or name.
    pub multicast_interface: Option<String>,
    /// Multicast loopback.
    pub multicast_loopback: Option<bool>,
    /// Multicast TTL.
    pub multicast_ttl: Option<u32>,
    /// REPL port.
    pub repl_port: Option<u32>,
    /// REPL address (`localhost` is 127.0.0.1).
    pub repl_host: Option<String>,
    /// Serve the REPL.
    pub repl_enabled: Option<bool>,
    /// Allow a REPL address that is not loopback.
    pub danger_repl_any_host: Option<bool>,
    /// REPL clients served at once.
    pub repl_max_clients: Option<u32>,
    /// The group key: a passphrase, or 16 bytes of raw key.
    pub key: Option<Either<String, Buffer>>,
    /// More keys that open received datagrams.
    pub decrypt_keys: Option<Vec<Either<String, Buffer>>>,
    /// Accept plaintext even with a key.
    pub danger_accept_plaintext: Option<bool>,
    /// With a key, accept senders without challenging them first.
    pub danger_skip_handshake: Option<bool>,
    /// Only send: other nodes' events are not reassembled.
    pub send_only: Option<bool>,
    /// Bytes of payload per datagram.
    pub max_payload_size: Option<f64>,
    /// Milliseconds a partial message lives without progress.
    pub message_ttl: Option<f64>,
    /// Log at the start.
    pub log: Option<bool>,
    /// `native` or `legacy-v3`.
    pub protocol: Option<String>,
    /// The legacy protocol's passphrase.
    pub insecure_legacy_key: Option<String>,
    /// The legacy protocol's retransmission requests per partial message.
    pub legacy_max_retransmit_attempts: Option<u32>,
    /// Receive buffer to ask for.
    pub recv_buffer_size: Option<f64>,
    /// Bytes of events a subscription holds for a slow reader.
    pub subscription_bytes: Option<f64>,
    /// Milliseconds the node polls its socket before it parks (0: never).
    pub busy_poll: Option<f64>,
    /// Sizes of the large events the node expects, bytes: a buffer of
    /// each is made ready to receive in at start.
    pub expected_event_sizes: Option<Vec<f64>>,
    /// Largest message body.
    pub max_message_size: Option<f64>,
    /// Memory of all partial messages.
    pub max_partial_bytes: Option<f64>,
    /// Memory of one sender's partial messages.
    pub max_partial_bytes_per_sender: Option<f64>,
    /// Partial messages per sender.
    pub max_partial_messages_per_sender: Option<f64>,
    /// Senders tracked.
    pub max_senders: Option<f64>,
    /// Deliver in sequence order.
    pub ordered: Option<bool>,
    /// NACKs without an answer before a sender is given up.
    pub max_retransmit_attempts: Option<u32>,
    /// Milliseconds.
    pub nack_backoff_min: Option<f64>,
    /// Milliseconds.
    pub nack_backoff_max: Option<f64>,
    /// Milliseconds.
    pub repair_timeout: Option<f64>,
    /// Milliseconds.
    pub retransmit_window: Option<f64>,
    /// Bytes.
    pub retransmit_window_bytes: Option<f64>,
    /// Milliseconds.
    pub repair_linger: Option<f64>,
    /// Milliseconds.
    pub heartbeat_min: Option<f64>,
    /// Milliseconds.
    pub heartbeat_max: Option<f64>,
    /// Bytes per second.
    pub rate_limit: Option<f64>,
    /// Bytes per second.
    pub initial_rate: Option<f64>,
    /// Bytes per second.
    pub min_rate: Option<f64>,
    /// Bytes.
    pub burst: Option<f64>,
    /// Adapt the rate to NACKs.
    pub adaptive_rate: Option<bool>,
    /// Bytes.
    pub max_send_queue_bytes: Option<f64>,
}

fn ip(name: &str, text: &str) -> Result<IpAddr> {
    let text = if name == "replHost" && text == "localhost" {
        "127.0.0.1"
    } else {
        text
    };
    text.parse()
        .map_err(|_| type_error(format!("{name}: {text:?} is not an IP address")))
}

/// A duration from milliseconds (a finite number, at least 0: checked in
/// JavaScript); `name` says which option when it is too long to hold.
fn ms(name: &str, n: f64) -> Result<Duration> {
    Duration::try_from_secs_f64(n / 1000.0).map_err(|_| {
        type_error(format!(
            "{}: {n:e} ms is longer than a duration can be",
            js_names(name)
        ))
    })
}

/// Numbers of bytes (integers, at least 0: checked in JavaScript); the
/// library checks how many and their range.
fn sizes(_name: &str, bytes: Vec<f64>) -> Result<Vec<usize>> {
    Ok(bytes.into_iter().map(|n| n as usize).collect())
}

/// A key from a passphrase or 16 raw bytes; `name` says which option in an
/// error.
pub(crate) fn secret(name: &str, key: Either<String, Buffer>) -> Result<Secret> {
    match key {
        Either::A(text) if text.is_empty() => {
            Err(type_error(format!("{name}: the passphrase is empty")))
        }
        Either::A(text) => Ok(Secret::passphrase(text)),
        Either::B(bytes) => {
            let bytes: [u8; 16] = bytes.as_ref().try_into().map_err(|_| {
                type_error(format!(
                    "{name}: a raw key is 16 bytes, got {}",
                    bytes.len()
                ))
            })?;
            Ok(Secret::from(Key::from_bytes(bytes)))
        }
    }
}

/// Sets `$config.$($path).+` from `$opts.$field` through `$f` when given.
macro_rules! apply {
    ($opts:ident, $config:ident, $($field:ident => $($path:ident).+ $(with $f:expr)?;)*) => {
        $(if let Some(value) = $opts.$field.take() {
            $config.$($path).+ = apply!(@conv $field, value $(, $f)?);
        })*
    };
    (@conv $name:ident, $v:ident) => { $v as _ };
    (@conv $name:ident, $v:ident, $f:expr) => { $f(stringify!($name), $v)? };
}

/// The library's configuration from these options, checked.
pub(crate) fn to_config(mut o: NodeOptions) -> Result<Config> {
    let mut c = Config::default();
    if let Some(a) = o.address.take() {
        c.address = ip("address", &a)?;
    }
    if let Some(a) = o.multicast_membership.take() {
        c.multicast_membership = ip("multicastMembership", &a)?;
    }
    if let Some(a) = o.repl_host.take() {
        c.repl.host = ip("replHost", &a)?;
    }
    c.port = o.port.map(|p| p as u16);
    c.repl.port = o.repl_port.map(|p| p as u16);
    c.multicast_interface = o.multicast_interface.take();
    if let Some(key) = o.key.take() {
        c.encryption.key = Some(secret("encrypt.key", key)?);
    }
    for key in o.decrypt_keys.take().unwrap_or_default() {
        c.encryption
            .decrypt_keys
            .push(secret("encrypt.decryptKeys", key)?);
    }
    if let Some(p) = o.protocol.take() {
        c.wire_protocol = match p.as_str() {
            "native" => WireProtocol::Native,
            "legacy-v3" => WireProtocol::LegacyV3,
            _ => {
                return Err(type_error(format!(
                    "protocol: {p:?} is neither 'native' nor 'legacy-v3'"
                )))
            }
        };
    }
    if let Some(k) = o.insecure_legacy_key.take() {
        c = c.insecure_legacy_key(k);
    }
    apply!(o, c,
        multicast_loopback => multicast_loopback;
        multicast_ttl => multicast_ttl;
        repl_enabled => repl.enabled;
        danger_repl_any_host => repl.danger_any_host;
        repl_max_clients => repl.max_clients;
        danger_accept_plaintext => encryption.danger_accept_plaintext;
        danger_skip_handshake => encryption.danger_skip_handshake;
        send_only => send_only;
        log => log;
        legacy_max_retransmit_attempts => legacy.max_retransmit_attempts;
        recv_buffer_size => recv_buffer_size;
        subscription_bytes => subscription_bytes;
        busy_poll => busy_poll with ms;
        expected_event_sizes => expected_event_sizes with sizes;
        max_payload_size => protocol.max_payload_size;
        message_ttl => protocol.message_ttl with ms;
        max_message_size => protocol.max_message_size;
        max_partial_bytes => protocol.max_partial_bytes;
        max_partial_bytes_per_sender => protocol.max_partial_bytes_per_sender;
        max_partial_messages_per_sender => protocol.max_partial_messages_per_sender;
        max_senders => protocol.max_senders;
        ordered => protocol.ordered;
        max_retransmit_attempts => protocol.max_retransmit_attempts;
        nack_backoff_min => protocol.nack_backoff_min with ms;
        nack_backoff_max => protocol.nack_backoff_max with ms;
        repair_timeout => protocol.repair_timeout with ms;
        retransmit_window => protocol.retransmit_window with ms;
        retransmit_window_bytes => protocol.retransmit_window_bytes;
        repair_linger => protocol.repair_linger with ms;
        heartbeat_min => protocol.heartbeat_min with ms;
        heartbeat_max => protocol.heartbeat_max with ms;
        rate_limit => protocol.rate_limit;
        initial_rate => protocol.initial_rate;
        min_rate => protocol.min_rate;
        burst => protocol.burst;
        adaptive_rate => protocol.adaptive_rate;
        max_send_queue_bytes => protocol.max_send_queue_bytes;
    );
    c.validate()
        .map_err(|e| type_error(js_names(&e.to_string())))?;
    Ok(c)
}

/// A message of the library's with its option names in JavaScript's
/// spelling: `max_payload_size` becomes `maxPayloadSize`.
pub(crate) fn js_names(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut chars = message.chars().peekable();
    let mut in_word = false;
    while let Some(c) = chars.next() {
        if c == '_' && in_word && chars.peek().is_some_and(|n| n.is_ascii_lowercase()) {
            if let Some(n) = chars.next() {
                out.push(n.to_ascii_uppercase());
            }
            continue;
        }
        in_word = c.is_ascii_alphanumeric();
        out.push(c);
    }
    out.replace("repl.host", "replHost")
        .replace("legacy.insecureLegacyKey", "insecureLegacyKey")
        .replace("encryption.key", "encrypt.key")
        .replace("encryption.decryptKeys", "encrypt.decryptKeys")
}
