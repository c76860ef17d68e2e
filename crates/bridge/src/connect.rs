//! The NATS connection: options from the config, the client's events
//! turned into counters and notices, and the round trip that tells when a
//! new connection is ready.

use std::str::FromStr as _;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::Duration;

use async_nats::client::RequestErrorKind;
use async_nats::{Client, ConnectOptions, Event, ServerAddr};
use bytes::Bytes;
use tokio_util::sync::CancellationToken;

use crate::config::{Auth, BridgeConfig, ConfigError};
use crate::error::Error;
use crate::notice::BridgeNotice;
use crate::shared::Shared;
use crate::stats::add;

/// How long the server's answer to a round trip may take.
pub(crate) const CONFIRM_TIMEOUT: Duration = Duration::from_secs(5);
/// How long to wait before trying a round trip that failed again, while
/// the link is still up.
pub(crate) const RETRY_PAUSE: Duration = Duration::from_millis(200);

/// Opens the client. It connects in the background and reconnects, with
/// backoff, for as long as the bridge runs; `shared.link` follows it, and
/// [`ready`] sets `shared.connected` after it.
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
            shared.link.send_replace(true);
        }
        Event::Disconnected => {
            add(&counters.disconnects, 1);
            down(shared);
            shared.notify(BridgeNotice::Disconnected);
        }
        Event::Closed => down(shared),
        Event::SlowConsumer(_) => add(&counters.slow_consumer_events, 1),
        Event::ServerError(e) => shared.notify(BridgeNotice::Error(e.to_string())),
        Event::ClientError(e) => shared.notify(BridgeNotice::Error(e.to_string())),
        other => tracing::info!(bridge = %shared.id, "NATS: {other}"),
    }
}

fn down(shared: &Shared) {
    shared.link.send_replace(false);
    shared.counters.connected.store(false, Relaxed);
    shared.connected.send_replace(false);
}

/// Sets `shared.connected` each time a new connection is ready, until
/// `cancel`.
///
/// The client reports a connection as soon as the server accepted it, and
/// only then writes the subscriptions to it; an event published by another
/// bridge in between would miss this one. A round trip through the server
/// on the new connection ([`confirm`]) closes that gap: the server handles
/// a connection's messages in order, so its answer comes after it took
/// every subscription.
pub(crate) async fn ready(
    shared: Arc<Shared>,
    client: Client,
    subject: String,
    cancel: CancellationToken,
) {
    let mut link = shared.link.subscribe();
    loop {
        tokio::select! {
            up = link.wait_for(|up| *up) => if up.is_err() { return },
            () = cancel.cancelled() => return,
        }
        let generation = client.statistics().connects.load(Relaxed);
        let answered = tokio::select! {
            answered = confirm(&client, &subject) => answered,
            () = cancel.cancelled() => return,
        };
        let same = client.statistics().connects.load(Relaxed) == generation;
        if answered && same && *shared.link.borrow() {
            shared.counters.connected.store(true, Relaxed);
            shared.connected.send_replace(true);
            tokio::select! {
                down = link.wait_for(|up| !*up) => if down.is_err() { return },
                () = cancel.cancelled() => return,
            }
        } else {
            tokio::select! {
                () = tokio::time::sleep(RETRY_PAUSE) => {}
                () = cancel.cancelled() => return,
            }
        }
    }
}

/// The subject of `bridge`'s round trips: nobody subscribes to it.
pub(crate) fn confirm_subject(bridge: &str) -> String {
    format!("_EVENTCAST.confirm.{bridge}")
}

/// A round trip through the server on `subject`, which nobody answers:
/// true when the server did ("no responders").
pub(crate) async fn confirm(client: &Client, subject: &str) -> bool {
    let request = client.request(subject.to_owned(), Bytes::new());
    match tokio::time::timeout(CONFIRM_TIMEOUT, request).await {
        Ok(Ok(_)) => true,
        Ok(Err(e)) => e.kind() == RequestErrorKind::NoResponders,
        Err(_) => false,
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
