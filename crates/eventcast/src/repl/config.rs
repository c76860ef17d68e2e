//! The REPL's settings, and the [`Config`] builder methods that set them.

use std::net::{IpAddr, Ipv4Addr};

use crate::config::Config;

/// Settings of the operator's REPL, the field `repl` of [`Config`].
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
    /// [`Eventcast::repl_addr`](crate::Eventcast::repl_addr) and logged).
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
}

impl ReplConfig {
    /// Checks the settings.
    pub fn validate(&self) -> Result<(), ReplConfigError> {
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

impl Config {
    /// Serves the REPL (or not).
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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_by_default_and_danger_to_open() {
        let c = ReplConfig::default();
        assert!(!c.enabled);
        assert_eq!(c.host, IpAddr::V4(Ipv4Addr::LOCALHOST));
        c.validate().unwrap();
        let v6 = Config::default().repl_host("::1".parse().unwrap());
        v6.repl.validate().unwrap();
        for host in ["0.0.0.0", "10.0.0.7", "::"] {
            let open = Config::default().repl_host(host.parse().unwrap());
            let err = open.repl.validate().unwrap_err().to_string();
            assert!(err.contains(host) && err.contains("danger"), "{err}");
            open.danger_repl_any_host(true).repl.validate().unwrap();
        }
        // Checked even while disabled: enabling it later must not surprise.
        assert!(Config::default()
            .repl_host("0.0.0.0".parse().unwrap())
            .validate()
            .is_err());
    }

    #[test]
    fn limits_of_zero_are_refused() {
        let zero = Config::default().repl_max_clients(0);
        assert!(zero
            .validate()
            .unwrap_err()
            .to_string()
            .contains("max_clients"));
    }
}
