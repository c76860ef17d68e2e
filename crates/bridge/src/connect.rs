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

/// The longest pause between two connection attempts.
pub(crate) const MAX_BACKOFF: Duration = Duration::from_secs(5);
/// The least time between two diagnoses of a failed connection.
const DIAGNOSE_PAUSE: Duration = Duration::from_secs(1);

/// Opens the client. It connects in the background and reconnects, with
/// backoff, for as long as the bridge runs; `shared.link` follows it, and
/// [`ready`] sets `shared.connected` after it.
pub(crate) async fn connect(config: &BridgeConfig, shared: &Arc<Shared>) -> Result<Client, Error> {
    let servers = server_addrs(config)?;
    let events = Arc::clone(shared);
    base_options(config)
        .await?
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
        })
        .connect(servers)
        .await
        .map_err(|e| Error::Connect(e.to_string()))
}

fn server_addrs(config: &BridgeConfig) -> Result<Vec<ServerAddr>, ConfigError> {
    config
        .servers
        .iter()
        .map(|url| {
            ServerAddr::from_str(url).map_err(|e| ConfigError::BadServer {
                url: url.clone(),
                reason: e.to_string(),
            })
        })
        .collect()
}

/// The options of the bridge's client and of a diagnosis alike: the
/// credentials and TLS.
async fn base_options(config: &BridgeConfig) -> Result<ConnectOptions, Error> {
    let mut options = ConnectOptions::new();
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
    // A CA or client certificate would be ignored on a plain connection
    // (to a nats:// URL of a server without TLS): TLS or nothing.
    if tls.tls_only() {
        options = options.require_tls(true);
    }
    Ok(options)
}

/// Reconnection delays: 0 for the first try, then doubling from 50 ms up
/// to [`MAX_BACKOFF`].
fn backoff(attempts: usize) -> Duration {
    if attempts <= 1 {
        return Duration::ZERO;
    }
    let exp = u32::try_from(attempts - 2).unwrap_or(u32::MAX).min(7);
    Duration::from_millis(50 * (1 << exp)).min(MAX_BACKOFF)
}

/// Says why the client cannot connect, each time it fails (woken by
/// `shared.connect_failed`), until `cancel`.
///
/// The client reports only the kind of a failure ("IO error", "TLS
/// error"), without the server or the cause. So this tries each server
/// once on its own, with the same credentials and TLS, and reports what
/// each answered ([`BridgeNotice::ConnectFailed`]): again only when that
/// changes, or after the bridge was connected in between. When a server
/// lets this probe in, the client is about to connect too: nothing is said.
pub(crate) async fn diagnose(shared: Arc<Shared>, config: BridgeConfig, cancel: CancellationToken) {
    let Ok(servers) = server_addrs(&config) else {
        return;
    };
    let mut link = shared.link.subscribe();
    let mut said: Vec<(String, String)> = Vec::new();
    loop {
        tokio::select! {
            () = shared.connect_failed.notified() => {}
            changed = link.changed() => {
                if changed.is_err() {
                    return;
                }
                if *link.borrow_and_update() {
                    said.clear();
                }
                continue;
            }
            () = cancel.cancelled() => return,
        }
        if *shared.link.borrow() {
            continue;
        }
        let failures = tokio::select! {
            failures = probe_all(&config, &servers, &shared.id) => failures,
            () = cancel.cancelled() => return,
        };
        if let Some(failures) = failures {
            if failures != said {
                for (server, error) in &failures {
                    shared.notify(BridgeNotice::ConnectFailed {
                        server: server.clone(),
                        error: error.clone(),
                        retry: MAX_BACKOFF,
                    });
                }
                said = failures;
            }
        }
        tokio::select! {
            () = tokio::time::sleep(DIAGNOSE_PAUSE) => {}
            () = cancel.cancelled() => return,
        }
    }
}

/// Tries each server once: what each said, or `None` if one let us in.
async fn probe_all(
    config: &BridgeConfig,
    servers: &[ServerAddr],
    id: &str,
) -> Option<Vec<(String, String)>> {
    let mut failures = Vec::new();
    for server in servers {
        match probe(config, server, id).await {
            Ok(()) => return None,
            Err(error) => failures.push((display_server(server), error)),
        }
    }
    Some(failures)
}

/// One connection to `server`, closed at once: why it failed.
async fn probe(config: &BridgeConfig, server: &ServerAddr, id: &str) -> Result<(), String> {
    let options = base_options(config)
        .await
        .map_err(|e| error_chain(&e))?
        .name(format!(
            "eventcast-bridge {} ({id}, diagnosis)",
            config.site
        ))
        .ignore_discovered_servers()
        .connection_timeout(CONFIRM_TIMEOUT);
    // The timeout covers the TLS handshake and the server's INFO too.
    match tokio::time::timeout(CONFIRM_TIMEOUT, options.connect(server.clone())).await {
        Ok(Ok(_client)) => Ok(()),
        Ok(Err(e)) => Err(error_chain(&e)),
        Err(_) => Err(format!("no answer within {CONFIRM_TIMEOUT:?}")),
    }
}

/// `server` without a user name or password it may hold.
fn display_server(server: &ServerAddr) -> String {
    let mut url = server.clone().into_inner();
    let _ = url.set_password(None);
    let _ = url.set_username("");
    url.to_string()
}

/// `error` and its sources, each one said once, with a hint for errors
/// whose cause is not obvious.
pub(crate) fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let said = cause.to_string();
        if !text.contains(&said) {
            text.push_str(": ");
            text.push_str(&said);
        }
        source = cause.source();
    }
    let hint = if text.contains("CaUsedAsEndEntity") {
        " (the server's certificate says CA:TRUE: rustls takes it only as an issuer; \
         give the server a certificate signed by it, or a self-signed one with CA:FALSE)"
    } else if text.contains("invalid peer certificate") {
        " (the server's certificate is not trusted: not signed by a certificate of the \
         CA file given, or of the system's roots without one)"
    } else if text.contains("InvalidContentType") {
        " (the server answered in plain text: it has no TLS, which this bridge requires)"
    } else {
        ""
    };
    text.push_str(hint);
    text
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
        // The connector's only client errors: a failed connection, as a
        // kind without the cause; `diagnose` finds the cause.
        Event::ClientError(e) => {
            tracing::debug!(bridge = %shared.id, "NATS: {e}");
            shared.connect_failed.notify_one();
        }
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
        assert_eq!(backoff(9), Duration::from_millis(6400).min(MAX_BACKOFF));
        assert_eq!(backoff(1000), MAX_BACKOFF);
    }
}
