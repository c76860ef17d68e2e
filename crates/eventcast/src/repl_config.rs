//! The REPL's settings: plain values, so that [`Config`](crate::config::Config)
//! holds them without depending on the REPL (which is built only with the
//! `repl` feature).

use std::net::{IpAddr, Ipv4Addr};

/// Settings of the operator's REPL, the field `repl` of
/// [`Config`](crate::config::Config), set with its `repl_*` builder methods.
///
/// ```
/// let config = eventcast::Config::default().repl_enabled(true).repl_port(20001);
/// assert!(config.repl.enabled);
/// assert_eq!(config.repl.host.to_string(), "127.0.0.1");
/// config.validate().unwrap();
///
/// // Anyone who reaches the port controls the node: another address than
/// // loopback needs the `danger_` option.
/// let open = eventcast::Config::default().repl_enabled(true).repl_host("0.0.0.0".parse().unwrap());
/// assert!(open.validate().is_err());
/// assert!(open.danger_repl_any_host(true).validate().is_ok());
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ReplConfig {
    /// Whether the node serves the REPL (default false). It starts with the
    /// node's first start and serves until the last handle is dropped.
    pub enabled: bool,
    /// Address to listen on (default `127.0.0.1`). Anything but a loopback
    /// address needs [`danger_any_host`](Self::danger_any_host).
    pub host: IpAddr,
    /// TCP port (default: one the system picks, readable from
    /// `node.repl().addr()` and logged).
    pub port: Option<u16>,
    /// Allows a [`host`](Self::host) that is not a loopback address. The
    /// REPL has no authentication: whoever reaches the port can emit, stop
    /// the node and read its configuration (default false).
    pub danger_any_host: bool,
    /// Clients served at once; more are told so and disconnected (default
    /// 16).
    pub max_clients: usize,
    /// Longest input line in bytes; a longer one is refused whole (default
    /// 64 KiB).
    pub max_line_length: usize,
    /// Streamed events a client's output queue holds; while it is full, new
    /// ones for that client are dropped and counted (default 1024).
    pub output_queue: usize,
}

impl Default for ReplConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            host: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port: None,
            danger_any_host: false,
            max_clients: 16,
            max_line_length: 64 * 1024,
            output_queue: 1024,
        }
    }
}

/// REPL settings that cannot work.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReplConfigError {
    /// A host that is not a loopback address, without the danger option.
    #[error(
        "repl_host {0} is not a loopback address: anyone who reaches it controls the node; \
         set danger_repl_any_host to allow it"
    )]
    NotLoopback(IpAddr),
    /// A limit of zero.
    #[error("repl {0} must be at least 1")]
    Zero(&'static str),
    /// `enabled` in a build of the library without its `repl` feature.
    #[error("repl_enabled needs eventcast built with its `repl` feature")]
    NotBuilt,
}

impl ReplConfig {
    /// Checks the settings.
    pub fn validate(&self) -> Result<(), ReplConfigError> {
        if self.enabled && !cfg!(feature = "repl") {
            return Err(ReplConfigError::NotBuilt);
        }
        if !self.host.is_loopback() && !self.danger_any_host {
            return Err(ReplConfigError::NotLoopback(self.host));
        }
        for (name, value) in [
            ("max_clients", self.max_clients),
            ("max_line_length", self.max_line_length),
            ("output_queue", self.output_queue),
        ] {
            if value == 0 {
                return Err(ReplConfigError::Zero(name));
            }
        }
        Ok(())
    }
}
