//! `Eventcast(**options)`: keyword arguments to a [`Config`], each checked
//! with an error that names the option.

use std::net::IpAddr;
use std::time::Duration;

use eventcast::{Config, ConfigError, Key, Secret, WireProtocol};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyByteArray, PyBytes, PyDict, PyString};

/// Events queued for the listener thread before new ones are dropped
/// (counted in `stats()["listener_dropped"]`), unless
/// `listener_queue_size` says otherwise.
pub(crate) const LISTENER_QUEUE_SIZE: usize = 262_144;

/// What the keyword arguments make: the node's configuration and the
/// package's own settings.
pub(crate) struct Options {
    pub(crate) config: Config,
    pub(crate) listener_queue_size: usize,
}

/// Reads every keyword argument; unknown names are a `TypeError`.
pub(crate) fn from_kwargs(kwargs: Option<&Bound<'_, PyDict>>) -> PyResult<Options> {
    let mut options = Options {
        config: Config::default(),
        listener_queue_size: LISTENER_QUEUE_SIZE,
    };
    if let Some(kwargs) = kwargs {
        for (name, value) in kwargs.iter() {
            let name: String = name.extract()?;
            set(&mut options, &name, &value)?;
        }
    }
    options.config.validate().map_err(|e| config_error(&e))?;
    Ok(options)
}

fn set(options: &mut Options, name: &str, v: &Bound<'_, PyAny>) -> PyResult<()> {
    let c = &mut options.config;
    let p = &mut c.protocol;
    match name {
        "port" => c.port = optional(name, v, |v| int(name, v))?,
        "group" => c.multicast_membership = ip(name, v)?,
        "interface" => c.multicast_interface = optional(name, v, |v| string(name, v))?,
        "bind" => c.address = ip(name, v)?,
        "ttl" => c.multicast_ttl = int::<u8>(name, v)?.into(),
        "loopback" => c.multicast_loopback = boolean(name, v)?,
        "recv_buffer_size" => c.recv_buffer_size = int(name, v)?,
        "subscription_bytes" => c.subscription_bytes = int(name, v)?,
        "busy_poll" => c.busy_poll = seconds(name, v)?,
        "log" => c.log = boolean(name, v)?,
        "key" => c.encryption.key = optional(name, v, |v| secret(name, v))?,
        "decrypt_keys" => {
            c.encryption.decrypt_keys = list(
                name,
                v,
                ("keys (str passphrases or 16 bytes)", "key"),
                |_, k| secret(name, k),
            )?;
        }
        "expected_event_sizes" => {
            c.expected_event_sizes = list(name, v, ("sizes in bytes (ints)", "size"), |i, n| {
                event_size(&format!("{name}[{i}]"), n)
            })?;
        }
        "danger_accept_plaintext" => c.encryption.danger_accept_plaintext = boolean(name, v)?,
        "danger_skip_handshake" => c.encryption.danger_skip_handshake = boolean(name, v)?,
        "send_only" => c.send_only = boolean(name, v)?,
        "repl_enabled" => c.repl.enabled = boolean(name, v)?,
        "repl_port" => c.repl.port = optional(name, v, |v| int(name, v))?,
        "repl_host" => c.repl.host = ip(name, v)?,
        "danger_repl_any_host" => c.repl.danger_any_host = boolean(name, v)?,
        "repl_max_clients" => c.repl.max_clients = int(name, v)?,
        "repl_max_line_length" => c.repl.max_line_length = int(name, v)?,
        "repl_output_queue" => c.repl.output_queue = int(name, v)?,
        "wire_protocol" => {
            c.wire_protocol = match string(name, v)?.as_str() {
                "native" => WireProtocol::Native,
                "legacy-v3" => WireProtocol::LegacyV3,
                other => {
                    return Err(PyValueError::new_err(format!(
                        "wire_protocol: expected \"native\" or \"legacy-v3\", got {other:?}"
                    )))
                }
            }
        }
        "insecure_legacy_key" => {
            c.legacy.insecure_legacy_key = optional(name, v, |v| string(name, v))?
                .map(eventcast::legacy::InsecureLegacyKey::new)
        }
        "legacy_max_retransmit_attempts" => c.legacy.max_retransmit_attempts = int(name, v)?,
        "listener_queue_size" => {
            options.listener_queue_size = int(name, v)?;
            if options.listener_queue_size == 0 {
                return Err(PyValueError::new_err(
                    "listener_queue_size: must be at least 1",
                ));
            }
        }
        // The protocol's settings (`Config::protocol`).
        "max_payload_size" => p.max_payload_size = int(name, v)?,
        "message_ttl" => p.message_ttl = seconds(name, v)?,
        "max_message_size" => p.max_message_size = int(name, v)?,
        "max_partial_bytes" => p.max_partial_bytes = int(name, v)?,
        "max_partial_bytes_per_sender" => p.max_partial_bytes_per_sender = int(name, v)?,
        "max_partial_messages_per_sender" => p.max_partial_messages_per_sender = int(name, v)?,
        "max_senders" => p.max_senders = int(name, v)?,
        "ordered" => p.ordered = boolean(name, v)?,
        "max_retransmit_attempts" => p.max_retransmit_attempts = int(name, v)?,
        "nack_backoff_min" => p.nack_backoff_min = seconds(name, v)?,
        "nack_backoff_max" => p.nack_backoff_max = seconds(name, v)?,
        "repair_timeout" => p.repair_timeout = seconds(name, v)?,
        "retransmit_window" => p.retransmit_window = seconds(name, v)?,
        "retransmit_window_bytes" => p.retransmit_window_bytes = int(name, v)?,
        "repair_linger" => p.repair_linger = seconds(name, v)?,
        "heartbeat_min" => p.heartbeat_min = seconds(name, v)?,
        "heartbeat_max" => p.heartbeat_max = seconds(name, v)?,
        "rate_limit" => p.rate_limit = int(name, v)?,
        "initial_rate" => p.initial_rate = int(name, v)?,
        "min_rate" => p.min_rate = int(name, v)?,
        "burst" => p.burst = int(name, v)?,
        "adaptive_rate" => p.adaptive_rate = boolean(name, v)?,
        "max_send_queue_bytes" => p.max_send_queue_bytes = int(name, v)?,
        _ => {
            return Err(PyTypeError::new_err(format!(
                "Eventcast() got an unexpected keyword argument {name:?}"
            )))
        }
    }
    Ok(())
}

/// A configuration the library refused, in the Python option names.
fn config_error(e: &ConfigError) -> PyErr {
    let message = match e {
        ConfigError::NotMulticast(group) => {
            format!("group: {group} is not a multicast address (224.0.0.0/4 or ff00::/8)")
        }
        ConfigError::FamilyMismatch { address, group } => {
            format!("bind and group: {address} and {group} must both be IPv4 or both IPv6")
        }
        ConfigError::Ttl(ttl) => format!("ttl: must be 0-255, got {ttl}"),
        ConfigError::DecryptKeysWithoutKey => {
            "decrypt_keys: needs key (the key that seals)".to_owned()
        }
        other => other.to_string(),
    };
    PyValueError::new_err(message)
}

fn type_error(name: &str, expected: &str, v: &Bound<'_, PyAny>) -> PyErr {
    let got = v
        .get_type()
        .name()
        .map_or_else(|_| "?".to_owned(), |n| n.to_string());
    PyTypeError::new_err(format!("{name}: expected {expected}, got {got}"))
}

fn optional<T>(
    _name: &str,
    v: &Bound<'_, PyAny>,
    read: impl FnOnce(&Bound<'_, PyAny>) -> PyResult<T>,
) -> PyResult<Option<T>> {
    if v.is_none() {
        Ok(None)
    } else {
        read(v).map(Some)
    }
}

fn int<T>(name: &str, v: &Bound<'_, PyAny>) -> PyResult<T>
where
    T: TryFrom<i128> + num_bounds::Bounds,
{
    if v.is_instance_of::<pyo3::types::PyBool>() || !v.is_instance_of::<pyo3::types::PyInt>() {
        return Err(type_error(name, "an int", v));
    }
    let out_of_range = || {
        PyValueError::new_err(format!(
            "{name}: must be {}..={}, got {}",
            T::MIN,
            T::MAX,
            v.str().map_or_else(|_| "?".to_owned(), |s| s.to_string())
        ))
    };
    let wide: i128 = v.extract().map_err(|_| out_of_range())?;
    T::try_from(wide).map_err(|_| out_of_range())
}

/// The range of each integer type an option may have, for messages.
mod num_bounds {
    pub(crate) trait Bounds {
        const MIN: i128;
        const MAX: i128;
    }
    macro_rules! bounds {
        ($($t:ty),*) => {$(
            impl Bounds for $t {
                const MIN: i128 = <$t>::MIN as i128;
                const MAX: i128 = <$t>::MAX as i128;
            }
        )*};
    }
    bounds!(u8, u16, u32, u64, usize);
}

/// A list (any iterable but a `str`, `bytes` or `bytearray`) of what
/// `item` reads, or `None` for none. `(items, one)` name what it holds in
/// a message: `("keys (...)", "key")`.
fn list<T>(
    name: &str,
    v: &Bound<'_, PyAny>,
    (items, one): (&str, &str),
    item: impl Fn(usize, &Bound<'_, PyAny>) -> PyResult<T>,
) -> PyResult<Vec<T>> {
    if v.is_none() {
        return Ok(Vec::new());
    }
    if v.is_instance_of::<PyString>()
        || v.is_instance_of::<PyBytes>()
        || v.is_instance_of::<PyByteArray>()
    {
        // Iterable, but one value, not a list: a str would become
        // one-character values, bytes a list of ints.
        let got = v
            .get_type()
            .name()
            .map_or_else(|_| "?".to_owned(), |n| n.to_string());
        return Err(PyTypeError::new_err(format!(
            "{name}: expected a list of {items}, got a single {got}: write [{one}] for one {one}"
        )));
    }
    v.try_iter()
        .map_err(|_| type_error(name, &format!("a list of {items}"), v))?
        .enumerate()
        .map(|(i, x)| item(i, &x?))
        .collect()
}

/// One of `expected_event_sizes`, named `name` (`expected_event_sizes[1]`):
/// an int in the library's range, else an error that names the item.
fn event_size(name: &str, v: &Bound<'_, PyAny>) -> PyResult<usize> {
    if v.is_instance_of::<pyo3::types::PyBool>() || !v.is_instance_of::<pyo3::types::PyInt>() {
        return Err(type_error(name, "an int", v));
    }
    let range = eventcast::MIN_EXPECTED_EVENT_SIZE..=eventcast::MAX_EXPECTED_EVENT_SIZE;
    v.extract::<usize>()
        .ok()
        .filter(|size| range.contains(size))
        .ok_or_else(|| {
            PyValueError::new_err(format!(
                "{name}: must be from {} to {} bytes, got {}",
                range.start(),
                range.end(),
                v.str().map_or_else(|_| "?".to_owned(), |s| s.to_string())
            ))
        })
}

fn boolean(name: &str, v: &Bound<'_, PyAny>) -> PyResult<bool> {
    v.cast::<pyo3::types::PyBool>()
        .map(|b| b.is_true())
        .map_err(|_| type_error(name, "a bool", v))
}

fn string(name: &str, v: &Bound<'_, PyAny>) -> PyResult<String> {
    v.extract().map_err(|_| type_error(name, "a str", v))
}

fn ip(name: &str, v: &Bound<'_, PyAny>) -> PyResult<IpAddr> {
    let text = string(name, v)?;
    text.parse().map_err(|_| {
        PyValueError::new_err(format!("{name}: {text:?} is not an IPv4 or IPv6 address"))
    })
}

/// Seconds as an int or float, at least zero.
fn seconds(name: &str, v: &Bound<'_, PyAny>) -> PyResult<Duration> {
    if v.is_instance_of::<pyo3::types::PyBool>() {
        return Err(type_error(name, "seconds (an int or float)", v));
    }
    let secs: f64 = v
        .extract()
        .map_err(|_| type_error(name, "seconds (an int or float)", v))?;
    Duration::try_from_secs_f64(secs).map_err(|_| {
        PyValueError::new_err(format!(
            "{name}: must be a finite number of seconds, at least 0, got {secs}"
        ))
    })
}

/// A key: a `str` is a passphrase (or `raw:` and 32 hex digits, as on the
/// command line); 16 `bytes` are a raw key.
fn secret(name: &str, v: &Bound<'_, PyAny>) -> PyResult<Secret> {
    if let Ok(bytes) = v.cast::<PyBytes>() {
        let raw: [u8; 16] = bytes.as_bytes().try_into().map_err(|_| {
            PyValueError::new_err(format!(
                "{name}: a raw key is 16 bytes, got {}",
                bytes.as_bytes().len()
            ))
        })?;
        return Ok(Secret::Raw(Key::from_bytes(raw)));
    }
    let text = v
        .extract::<String>()
        .map_err(|_| type_error(name, "a str passphrase or 16 bytes", v))?;
    Secret::parse(&text).map_err(|e| PyValueError::new_err(format!("{name}: {e}")))
}
