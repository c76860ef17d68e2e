//! The errors of starting a bridge.

use crate::config::ConfigError;

/// Why a bridge could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A setting that cannot work.
    #[error("invalid bridge configuration: {0}")]
    Config(#[from] ConfigError),
    /// The eventcast node refused (a bad pattern, or it could not start).
    #[error(transparent)]
    Node(#[from] eventcast::Error),
    /// A file the settings name could not be read (credentials, TLS files).
    #[error("cannot read {what}: {source}")]
    Io {
        /// Which file, and what for.
        what: String,
        /// Why.
        source: std::io::Error,
    },
    /// A file the settings name does not hold what it should (a CA file
    /// without certificates, a key that is not a key).
    #[error("{what}: {reason}")]
    File {
        /// Which file, and what for.
        what: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The NATS client could not be set up.
    #[error("cannot connect to NATS: {0}")]
    Connect(String),
}
