//! The protocol's tunables and limits, with the defaults documented in
//! `docs/PROTOCOL.md`.

use std::time::Duration;

use crate::wire::MAX_SEGMENT_PAYLOAD;

/// Bytes charged against the partial-message budgets for each buffered
/// segment, on top of its payload, for the bookkeeping that holds it.
pub(crate) const SEGMENT_OVERHEAD: usize = 64;

/// Protocol settings for one [`Endpoint`](crate::Endpoint).
///
/// Limits protect the receiver: a datagram that would break one is dropped
/// and counted, never buffered.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Config {
    /// Bytes of message body per datagram (default 1024). A body longer than
    /// this is cut into segments. The datagram adds a 33-byte header.
    pub max_payload_size: usize,
    /// A partial message that receives no new segment for this long is
    /// dropped and counted as expired (default 3000 ms).
    pub message_ttl: Duration,
    /// The largest message body this node sends or accepts (default 64 MiB).
    pub max_message_size: usize,
    /// Memory all partial messages may hold together (default 256 MiB).
    pub max_partial_bytes: usize,
    /// Memory one sender's partial messages may hold (default 128 MiB).
    pub max_partial_bytes_per_sender: usize,
    /// Partial messages one sender may have open at once (default 256).
    pub max_partial_messages_per_sender: usize,
    /// Senders whose state is tracked at once (default 1024); when full, the
    /// one heard from least recently is forgotten.
    pub max_senders: usize,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            max_payload_size: 1024,
            message_ttl: Duration::from_millis(3000),
            max_message_size: 64 * 1024 * 1024,
            max_partial_bytes: 256 * 1024 * 1024,
            max_partial_bytes_per_sender: 128 * 1024 * 1024,
            max_partial_messages_per_sender: 256,
            max_senders: 1024,
        }
    }
}

/// A setting that cannot work.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// `max_payload_size` outside 16..=65474.
    #[error("max_payload_size must be between 16 and {MAX_SEGMENT_PAYLOAD} bytes, got {0}")]
    PayloadSize(usize),
    /// `max_payload_size` too large for a sealed datagram to fit in UDP.
    #[error(
        "max_payload_size must be at most {max} bytes with encryption, got {0}",
        max = MAX_SEGMENT_PAYLOAD - crate::wire::SEAL_OVERHEAD
    )]
    SealedPayloadSize(usize),
    /// `message_ttl` of zero.
    #[error("message_ttl must be longer than zero")]
    MessageTtl,
    /// `max_message_size` outside 5 bytes..=4 GiB - 1.
    #[error("max_message_size must be between 5 bytes and 4 GiB - 1, got {0}")]
    MessageSize(usize),
    /// A budget too small to hold one message of `max_message_size`.
    #[error(
        "{name} ({value} bytes) cannot hold one message of max_message_size \
         ({needed} bytes with bookkeeping)"
    )]
    Budget {
        /// The setting's name.
        name: &'static str,
        /// Its value.
        value: usize,
        /// The least that works.
        needed: usize,
    },
    /// A count limit of zero.
    #[error("{0} must be at least 1")]
    Zero(&'static str),
}

impl Config {
    /// Checks that the settings can work together.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if !(16..=MAX_SEGMENT_PAYLOAD).contains(&self.max_payload_size) {
            return Err(ConfigError::PayloadSize(self.max_payload_size));
        }
        if self.message_ttl.is_zero() {
            return Err(ConfigError::MessageTtl);
        }
        if self.max_message_size < 5 || u32::try_from(self.max_message_size).is_err() {
            return Err(ConfigError::MessageSize(self.max_message_size));
        }
        let needed = self.max_message_size
            + self.max_message_size.div_ceil(self.max_payload_size) * SEGMENT_OVERHEAD;
        for (name, value) in [
            (
                "max_partial_bytes_per_sender",
                self.max_partial_bytes_per_sender,
            ),
            ("max_partial_bytes", self.max_partial_bytes),
        ] {
            if value < needed {
                return Err(ConfigError::Budget {
                    name,
                    value,
                    needed,
                });
            }
        }
        if self.max_partial_messages_per_sender == 0 {
            return Err(ConfigError::Zero("max_partial_messages_per_sender"));
        }
        if self.max_senders == 0 {
            return Err(ConfigError::Zero("max_senders"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_is_valid() {
        Config::default().validate().unwrap();
    }

    #[test]
    fn rejects_bad_settings() {
        let c = |f: fn(&mut Config)| {
            let mut c = Config::default();
            f(&mut c);
            c.validate()
        };
        assert_eq!(
            c(|c| c.max_payload_size = 8),
            Err(ConfigError::PayloadSize(8))
        );
        assert_eq!(
            c(|c| c.max_payload_size = 70_000),
            Err(ConfigError::PayloadSize(70_000))
        );
        assert_eq!(
            c(|c| c.message_ttl = Duration::ZERO),
            Err(ConfigError::MessageTtl)
        );
        assert!(matches!(
            c(|c| c.max_partial_bytes_per_sender = 1024),
            Err(ConfigError::Budget { .. })
        ));
        assert_eq!(
            c(|c| c.max_senders = 0),
            Err(ConfigError::Zero("max_senders"))
        );
        let msg = c(|c| c.max_payload_size = 8).unwrap_err().to_string();
        assert!(msg.contains("max_payload_size"), "{msg}");
    }
}
