//! NATS to LAN: messages on `PREFIX.>` from other sites become events on
//! this LAN; announcements of the other bridges feed [`Rivals`](crate::rivals).

use std::collections::HashMap;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_nats::{Client, Message, Subscriber};
use bytes::Bytes;
use eventcast::Eventcast;
use futures_util::StreamExt as _;
use tokio_util::sync::CancellationToken;

use crate::chunk::{Arrival, Chunk, Reassembler};
use crate::headers::{Meta, MAX_ID_LEN};
use crate::payload;
use crate::shared::{lock, Shared};
use crate::stats::add;
use crate::subject;

/// The most publishing bridges whose last sequence number is remembered.
const MAX_ORIGINS: usize = 4096;

/// The subject bridges of `prefix` announce themselves on.
pub(crate) fn announce_subject(prefix: &str) -> String {
    format!("_EVENTCAST.bridges.{prefix}")
}

/// What a bridge announces about itself.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct Announcement {
    bridge: String,
    site: String,
    node: String,
    /// The bridges the announcer found on its LAN.
    #[serde(default)]
    on_lan: Vec<String>,
}

/// The inbound side's settings.
pub(crate) struct Inbound {
    pub(crate) shared: Arc<Shared>,
    pub(crate) client: Client,
    pub(crate) node: Eventcast,
    pub(crate) reassembler: Reassembler,
    pub(crate) announce_interval: Duration,
}

/// Runs until `cancel` (or the subscriptions end).
pub(crate) async fn run(
    mut inbound: Inbound,
    mut events: Subscriber,
    mut announcements: Subscriber,
    cancel: CancellationToken,
) {
    let mut last_seq: HashMap<String, (u64, Instant)> = HashMap::new();
    let mut announce = tokio::time::interval(inbound.announce_interval);
    let far = Duration::from_secs(3600);
    loop {
        let expiry = inbound
            .reassembler
            .next_deadline()
            .unwrap_or_else(|| Instant::now() + far);
        tokio::select! {
            biased;
            () = cancel.cancelled() => break,
            message = events.next() => match message {
                Some(message) => inbound.event(message, &mut last_seq).await,
                None => break,
            },
            message = announcements.next() => {
                if let Some(message) = message {
                    inbound.announcement(&message);
                }
            }
            _ = announce.tick() => inbound.announce().await,
            () = tokio::time::sleep_until(expiry.into()) => {
                let expired = inbound.reassembler.expire(Instant::now());
                add(&inbound.shared.counters.dropped_reassembly, expired);
                inbound.reassembly_gauge();
            }
        }
    }
}

impl Inbound {
    async fn announce(&self) {
        let me = Announcement {
            bridge: self.shared.id.clone(),
            site: self.shared.site.clone(),
            node: self.node.id().to_string(),
            on_lan: lock(&self.shared.rivals).on_lan(),
        };
        if let Ok(json) = serde_json::to_vec(&me) {
            let subject = announce_subject(&self.shared.prefix);
            let _ = self.client.publish(subject, Bytes::from(json)).await;
        }
        self.shared.standing_by(Instant::now());
    }

    fn announcement(&self, message: &Message) {
        match serde_json::from_slice::<Announcement>(&message.payload) {
            Ok(other) => {
                lock(&self.shared.rivals).announced(
                    Instant::now(),
                    &other.bridge,
                    &other.site,
                    &other.node,
                    &other.on_lan,
                );
            }
            Err(e) => {
                add(&self.shared.counters.dropped_bad_headers, 1);
                tracing::debug!("bad bridge announcement: {e}");
            }
        }
    }

    fn reassembly_gauge(&self) {
        let reserved = self.reassembler.reserved() as u64;
        self.shared
            .counters
            .reassembly_bytes
            .store(reserved, Relaxed);
    }

    /// One message on `PREFIX.>`.
    async fn event(&mut self, message: Message, last_seq: &mut HashMap<String, (u64, Instant)>) {
        let shared = Arc::clone(&self.shared);
        let counters = &shared.counters;
        let meta = Meta::read(message.headers.as_ref());
        let now = Instant::now();
        if meta.bridge.as_deref() == Some(shared.id.as_str()) {
            add(&counters.dropped_own, 1);
            return;
        }
        if meta.bridge.as_ref().is_some_and(|b| b.len() > MAX_ID_LEN) {
            add(&counters.dropped_bad_headers, 1);
            tracing::debug!(subject = message.subject.as_str(), "bridge id too long");
            return;
        }
        if let (Some(bridge), Some(sender)) = (&meta.bridge, &meta.sender) {
            let site = meta.site.as_deref().unwrap_or("?");
            let own = self.node.id().to_string();
            if !lock(&shared.rivals).nats_event(now, bridge, site, sender, &own) {
                add(&counters.dropped_other_bridge, 1);
                shared.standing_by(now);
                return;
            }
        }
        if shared.standing_by(now) {
            add(&counters.dropped_other_bridge, 1);
            return;
        }
        let seq = match (&meta.bridge, &meta.seq) {
            (Some(bridge), Some(seq)) => match seq.trim().parse::<u64>() {
                Ok(seq) => Some((bridge.clone(), seq)),
                Err(_) => {
                    add(&counters.dropped_bad_headers, 1);
                    return;
                }
            },
            _ => None,
        };
        if let Some((bridge, seq)) = &seq {
            if last_seq.get(bridge).is_some_and(|(last, _)| seq <= last) {
                add(&counters.dropped_duplicate, 1);
                return;
            }
        }
        let payload = match &meta.chunk {
            None => message.payload,
            Some(chunk) => {
                let size = meta.size.as_deref().unwrap_or("");
                let (Some(key), Some(chunk)) = (seq.clone(), Chunk::parse(chunk, size)) else {
                    add(&counters.dropped_bad_headers, 1);
                    return;
                };
                add(&counters.chunks_received, 1);
                let arrival = self.reassembler.insert(now, key, &chunk, message.payload);
                self.reassembly_gauge();
                match arrival {
                    Arrival::Complete(whole) => whole,
                    Arrival::Pending => return,
                    Arrival::Duplicate => {
                        add(&counters.dropped_duplicate, 1);
                        return;
                    }
                    Arrival::OverBudget { first } => {
                        if first {
                            add(&counters.dropped_reassembly, 1);
                            tracing::warn!(
                                subject = message.subject.as_str(),
                                bytes = chunk.total,
                                "chunked event dropped: reassembly budget full"
                            );
                        }
                        return;
                    }
                    Arrival::Invalid => {
                        add(&counters.dropped_reassembly, 1);
                        return;
                    }
                }
            }
        };
        if let Some((bridge, seq)) = seq {
            remember(last_seq, bridge, seq, now);
        }
        let subject = message.subject.as_str();
        let name = match &meta.name {
            Some(value) => subject::from_header_value(value),
            None => match subject::to_name(&shared.prefix, subject) {
                Some(name) => name,
                None => return,
            },
        };
        let lenient = meta.bridge.is_none();
        let args = match payload::decode(meta.content_type.as_deref(), &payload, lenient) {
            Ok(args) => args,
            Err(e) => return shared.bad_payload(subject, e.to_string()),
        };
        match self.node.emit_list_wait(&name, args).await {
            Ok(()) => {
                add(&counters.nats_to_lan_events, 1);
                add(&counters.nats_to_lan_bytes, payload.len() as u64);
            }
            Err(e) => {
                add(&counters.dropped_emit_failed, 1);
                tracing::warn!(name, "cannot emit an event from NATS on the LAN: {e}");
            }
        }
    }
}

/// Records `seq` as the last delivered of `bridge`, within [`MAX_ORIGINS`]
/// (the longest unheard are forgotten first).
fn remember(
    last_seq: &mut HashMap<String, (u64, Instant)>,
    bridge: String,
    seq: u64,
    now: Instant,
) {
    if last_seq.len() >= MAX_ORIGINS && !last_seq.contains_key(&bridge) {
        let oldest = last_seq
            .iter()
            .min_by_key(|(_, (_, at))| *at)
            .map(|(k, _)| k.clone());
        if let Some(oldest) = oldest {
            last_seq.remove(&oldest);
        }
    }
    last_seq.insert(bridge, (seq, now));
}
