//! The NATS connection: options from the config, and the client's events
//! turned into counters and notices.

use std::str::FromStr as _;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::Duration;

use async_nats::{Client, ConnectOptions, Event, ServerAddr};

use crate::config::{Auth, BridgeConfig, ConfigError};
use crate::error::Error;
use crate::notice::BridgeNotice;
use crate::shared::Shared;
use crate::stats::add;

/// Opens the client. It connects in the background and reconnects, with
/// backoff, for as long as the bridge runs; `shared.connected` follows it.
pub(crate) async fn connect(config: &BridgeConfig, shared: &Arc<Shared>) -> Result<Client, Error> {
    let servers = config
        .servers
        .iter()
        .map(|url| {
            ServerAddr::from_str(url).map_err(|e| ConfigError::BadServer {
                url: url.clone(),
                reason: e.to_string(),
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let events = Arc::clone(shared);
    let mut options = ConnectOptions::new()
        .name(format!("eventcast-bridge {} ({})", config.site, shared.id))
        // Never receive our own publishes back.
        .no_echo()
        .retry_on_initial_connect()
        .max_reconnects(None)
        .reconnect_delay_callback(backoff)
        .client_capacity(4096)
        .event_callback(move |event| {
            let shared = Arc::clone(&events);
            async move { on_event(&shared, event) }
        });
    options = match &config.auth {
        Auth::None => options,
        Auth::Token(token) => options.token(token.clone()),
        Auth::UserPassword { user, password } => {
            options.user_and_password(user.clone(), password.clone())
        }
        Auth::Nkey(seed) => options.nkey(seed.trim().to_owned()),
        Auth::CredsFile(path) => {
            options
                .credentials_file(path)
                .await
                .map_err(|source| Error::Io {
                    what: format!("credentials file {}", path.display()),
                    source,
                })?
        }
    };
    let tls = &config.tls;
    if let Some(ca) = &tls.ca {
        options = options.add_root_certificates(ca.clone());
    }
    if let (Some(cert), Some(key)) = (&tls.client_cert, &tls.client_key) {
        options = options.add_client_certificate(cert.clone(), key.clone());
    }
    if tls.required {
        options = options.require_tls(true);
    }
    options
        .connect(servers)
        .await
        .map_err(|e| Error::Connect(e.to_string()))
}

/// Reconnection delays: 0 for the first try, then doubling from 50 ms up
/// to 5 s.
fn backoff(attempts: usize) -> Duration {
    if attempts <= 1 {
        return Duration::ZERO;
    }
    let exp = u32::try_from(attempts - 2).unwrap_or(u32::MAX).min(7);
    Duration::from_millis(50 * (1 << exp)).min(Duration::from_secs(5))
}

fn on_event(shared: &Shared, event: Event) {
    let counters = &shared.counters;
    match event {
        Event::Connected => {
            add(&counters.connects, 1);
            counters.connected.store(true, Relaxed);
            shared.connected.send_replace(true);
        }
        Event::Disconnected => {
            add(&counters.disconnects, 1);
            counters.connected.store(false, Relaxed);
            shared.connected.send_replace(false);
            shared.notify(BridgeNotice::Disconnected);
        }
        Event::Closed => {
            counters.connected.store(false, Relaxed);
            shared.connected.send_replace(false);
        }
        Event::SlowConsumer(_) => add(&counters.slow_consumer_events, 1),
        Event::ServerError(e) => shared.notify(BridgeNotice::Error(e.to_string())),
        Event::ClientError(e) => shared.notify(BridgeNotice::Error(e.to_string())),
        other => tracing::info!(bridge = %shared.id, "NATS: {other}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_to_a_ceiling() {
        assert_eq!(backoff(1), Duration::ZERO);
        assert_eq!(backoff(2), Duration::from_millis(50));
        assert_eq!(backoff(3), Duration::from_millis(100));
        assert_eq!(
            backoff(9),
            Duration::from_millis(6400).min(Duration::from_secs(5))
        );
        assert_eq!(backoff(1000), Duration::from_secs(5));
    }
}
