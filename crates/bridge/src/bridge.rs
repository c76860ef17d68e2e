//! [`Bridge`]: an eventcast node's LAN joined to a NATS server.

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_nats::Client;
use eventcast::Eventcast;
use tokio::sync::broadcast;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::chunk::Reassembler;
use crate::config::BridgeConfig;
use crate::connect::{self, connect};
use crate::error::Error;
use crate::inbound::{self, announce_subject, Inbound};
use crate::lan;
use crate::notice::BridgeNotice;
use crate::outbox::Outbox;
use crate::publish;
use crate::rivals::Rivals;
use crate::shared::{lock, Shared};
use crate::stats::BridgeStats;

/// An eventcast LAN joined to NATS: LAN events go out on `PREFIX.NAME`,
/// and messages on `PREFIX.>` from other sites come in as LAN events.
///
/// ```no_run
/// use eventcast::{Config, Eventcast};
/// use eventcast_bridge::{Bridge, BridgeConfig};
///
/// # async fn f() -> Result<(), Box<dyn std::error::Error>> {
/// let node = Eventcast::new(Config::default().port(41234))?;
/// let config = BridgeConfig::new(["nats://hub.example:4222"]).site("lab-a");
/// let bridge = Bridge::start(&node, config).await?;
/// bridge.connected().await;
/// // ...
/// let stats = bridge.stop().await; // flushes the buffer first
/// println!("{} out, {} in", stats.lan_to_nats_events, stats.nats_to_lan_events);
/// # Ok(()) }
/// ```
///
/// The bridge runs tasks of its own on the current tokio runtime. It never
/// sends back what it emitted (its own emits are local events to its
/// node), the server never echoes its publishes (`no_echo`), and another
/// bridge of the same prefix on the same LAN is found and reported
/// ([`BridgeNotice::OtherBridge`]). Dropping the handle without
/// [`stop`](Self::stop) stops the tasks without flushing.
#[derive(Debug)]
pub struct Bridge {
    shared: Arc<Shared>,
    node: Eventcast,
    client: Client,
    /// Ends the LAN side (first, at stop).
    stop_lan: CancellationToken,
    /// Ends everything else.
    stop_all: CancellationToken,
    tasks: JoinSet<()>,
    flush_timeout: Duration,
}

impl Bridge {
    /// Subscribes to `node`'s events (those of `config.events`, or every
    /// one), starts the node if it is not running, and opens the NATS
    /// connection, which comes up in the background (see
    /// [`connected`](Self::connected)) and is re-opened whenever it breaks.
    ///
    /// Fails on a bad setting or pattern, a node that cannot start, or a
    /// file of the settings that cannot be read or holds the wrong thing
    /// ([`BridgeConfig::check_files`]). Call it within a tokio runtime.
    pub async fn start(node: &Eventcast, config: BridgeConfig) -> Result<Bridge, Error> {
        config.validate()?;
        config.check_files().await?;
        let events = if config.events.is_empty() {
            node.subscribe()
        } else {
            node.subscribe_to(config.events.iter().cloned())?
        };
        if !node.is_running() {
            node.start().await?;
        }
        let id = format!("{:016x}", rand::random::<u64>());
        let shared = Arc::new(Shared::new(
            id.clone(),
            config.site.clone(),
            config.prefix.clone(),
            Outbox::new(config.buffer_bytes),
            Rivals::new(id, config.announce_interval),
        ));
        let client = connect(&config, &shared).await?;
        let subscribe_error = |e: async_nats::SubscribeError| Error::Connect(e.to_string());
        let nats_events = client
            .subscribe(format!("{}.>", config.prefix))
            .await
            .map_err(subscribe_error)?;
        let announcements = client
            .subscribe(announce_subject(&config.prefix))
            .await
            .map_err(subscribe_error)?;

        let stop_lan = CancellationToken::new();
        let stop_all = CancellationToken::new();
        let mut tasks = JoinSet::new();
        tasks.spawn(lan::run(
            Arc::clone(&shared),
            events,
            config.encoding,
            stop_lan.clone(),
        ));
        tasks.spawn(publish::run(
            Arc::clone(&shared),
            client.clone(),
            config.chunk_size,
            config.resume_delay,
            stop_all.clone(),
        ));
        let inbound = Inbound {
            shared: Arc::clone(&shared),
            client: client.clone(),
            node: node.clone(),
            reassembler: Reassembler::new(config.reassembly_bytes, config.reassembly_timeout),
            announce_interval: config.announce_interval,
        };
        tasks.spawn(inbound::run(
            inbound,
            nats_events,
            announcements,
            stop_all.clone(),
        ));
        tasks.spawn(connect::ready(
            Arc::clone(&shared),
            client.clone(),
            connect::confirm_subject(&shared.id),
            stop_all.clone(),
        ));
        tasks.spawn(connect::diagnose(
            Arc::clone(&shared),
            config.clone(),
            stop_all.clone(),
        ));
        tasks.spawn(monitor(
            Arc::clone(&shared),
            client.clone(),
            config.stats_interval,
            stop_all.clone(),
        ));
        tracing::info!(
            bridge = %shared.id,
            site = %shared.site,
            prefix = %shared.prefix,
            servers = ?config.servers,
            "bridge started"
        );
        Ok(Bridge {
            shared,
            node: node.clone(),
            client,
            stop_lan,
            stop_all,
            tasks,
            flush_timeout: Duration::from_secs(10),
        })
    }

    /// Waits until the NATS connection is up and the server holds this
    /// bridge's subscriptions (at once if it is): from then on, nothing
    /// another bridge publishes misses it.
    pub async fn connected(&self) {
        let mut up = self.shared.connected.subscribe();
        let _ = up.wait_for(|up| *up).await;
    }

    /// Whether the NATS connection is up, as [`connected`](Self::connected)
    /// waits for it.
    pub fn is_connected(&self) -> bool {
        *self.shared.connected.borrow()
    }

    /// This bridge's id (16 hex digits, new at each start), its
    /// `Eventcast-Bridge` header.
    pub fn id(&self) -> &str {
        &self.shared.id
    }

    /// The site name it sends.
    pub fn site(&self) -> &str {
        &self.shared.site
    }

    /// The subject prefix.
    pub fn prefix(&self) -> &str {
        &self.shared.prefix
    }

    /// The server's largest message (payload and headers), as it last said;
    /// larger events are chunked.
    pub fn max_payload(&self) -> usize {
        self.client.server_info().max_payload
    }

    /// Every counter, now.
    pub fn stats(&self) -> BridgeStats {
        let mut stats = self.shared.counters.snapshot();
        stats.lan_lagged = self.node.stats().subscription_lagged;
        stats.rivals_not_remembered = lock(&self.shared.rivals).not_remembered();
        stats
    }

    /// What happens as it happens: connections, a full buffer, bad
    /// payloads (once per subject), another bridge on the LAN.
    pub fn notices(&self) -> broadcast::Receiver<BridgeNotice> {
        self.shared.notices.subscribe()
    }

    /// Stops taking LAN events, sends what the outage buffer holds (for at
    /// most 10 s while connected), then closes the connection. The node
    /// keeps running; stop it yourself. Returns the final counters.
    pub async fn stop(mut self) -> BridgeStats {
        self.stop_lan.cancel();
        let deadline = Instant::now() + self.flush_timeout;
        loop {
            let emptied = self.shared.outbox_emptied.notified();
            if lock(&self.shared.outbox).is_empty() || Instant::now() >= deadline {
                break;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            let _ = tokio::time::timeout(left.min(Duration::from_millis(100)), emptied).await;
        }
        self.stop_all.cancel();
        while self.tasks.join_next().await.is_some() {}
        let _ = self.client.drain().await;
        let stats = self.stats();
        tracing::info!(bridge = %self.shared.id, ?stats, "bridge stopped");
        stats
    }
}

impl Drop for Bridge {
    fn drop(&mut self) {
        self.stop_lan.cancel();
        self.stop_all.cancel();
    }
}

/// Reports connections, and logs the counters every `interval`.
async fn monitor(
    shared: Arc<Shared>,
    client: Client,
    interval: Option<Duration>,
    cancel: CancellationToken,
) {
    let mut up = shared.connected.subscribe();
    let mut tick = interval.map(tokio::time::interval);
    loop {
        let ticked = async {
            match &mut tick {
                Some(tick) => {
                    tick.tick().await;
                }
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            () = cancel.cancelled() => return,
            changed = up.changed() => {
                if changed.is_err() {
                    return;
                }
                if *up.borrow_and_update() {
                    let info = client.server_info();
                    let server = format!("{}:{} ({})", info.host, info.port, info.server_name);
                    shared.notify(BridgeNotice::Connected { server });
                }
            }
            () = ticked => {
                let s = shared.counters.snapshot();
                tracing::info!(
                    bridge = %shared.id,
                    lan_to_nats_events = s.lan_to_nats_events,
                    lan_to_nats_bytes = s.lan_to_nats_bytes,
                    nats_to_lan_events = s.nats_to_lan_events,
                    nats_to_lan_bytes = s.nats_to_lan_bytes,
                    dropped = s.dropped(),
                    reconnects = s.reconnects,
                    buffered_bytes = s.buffered_bytes,
                    "bridge stats"
                );
            }
        }
    }
}
