//! LAN to NATS, second half: the outage buffer to the server, in order,
//! each batch confirmed by a round trip through the server before it
//! leaves the buffer.
//!
//! Core NATS does not acknowledge a publish, and a message written to a
//! connection just before it broke is lost. So after each batch the
//! publisher sends a request the server answers itself ("no responders"):
//! its answer, on the same connection (the client's `connects` count
//! unchanged), means the server took every message before it. Otherwise
//! the batch is published again once connected; receiving bridges drop
//! what they already had by its `Eventcast-Seq`.

use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::Duration;

use async_nats::Client;
use bytes::Bytes;
use tokio_util::sync::CancellationToken;

use crate::chunk::{split, MAX_CHUNKS};
use crate::connect::{confirm, RETRY_PAUSE};
use crate::headers;
use crate::outbox::Outgoing;
use crate::shared::{lock, Shared};
use crate::stats::add;

/// The most events in one confirmed batch.
const BATCH_EVENTS: usize = 256;
/// About the most bytes in one confirmed batch.
const BATCH_BYTES: usize = 8 * 1024 * 1024;
/// Room left in a message for the headers when chunking by the server's
/// `max_payload`.
const HEADER_ROOM: usize = 8 * 1024;
/// The smallest chunk.
const MIN_CHUNK: usize = 1024;

/// Publishes the outbox until `cancel`.
pub(crate) async fn run(
    shared: Arc<Shared>,
    client: Client,
    chunk_size: Option<usize>,
    resume_delay: Duration,
    cancel: CancellationToken,
) {
    let mut connected = shared.connected.subscribe();
    // The connection the buffer last went out on (1: the first).
    let mut resumed = 1;
    let confirm_subject = crate::connect::confirm_subject(&shared.id);
    loop {
        let batch = loop {
            let filled = shared.outbox_filled.notified();
            {
                let outbox = lock(&shared.outbox);
                if !outbox.is_empty() {
                    break outbox.front(BATCH_EVENTS, BATCH_BYTES);
                }
            }
            shared.outbox_emptied.notify_waiters();
            tokio::select! {
                () = filled => {}
                () = cancel.cancelled() => return,
            }
        };
        tokio::select! {
            up = connected.wait_for(|up| *up) => if up.is_err() { return },
            () = cancel.cancelled() => return,
        }
        let mut generation = client.statistics().connects.load(Relaxed);
        if generation > resumed {
            // A new connection: give the other clients of a restarted
            // server time to subscribe again.
            tokio::select! {
                () = tokio::time::sleep(resume_delay) => {}
                () = cancel.cancelled() => return,
            }
            resumed = generation;
            generation = client.statistics().connects.load(Relaxed);
        }
        let max = chunk_size
            .unwrap_or_else(|| client.server_info().max_payload.saturating_sub(HEADER_ROOM))
            .max(MIN_CHUNK);
        let mut chunks = 0;
        let mut sent = true;
        for event in &batch {
            match publish(&client, event, max).await {
                Ok(n) => chunks += n,
                Err(()) => {
                    sent = false;
                    break;
                }
            }
        }
        let confirmed = sent
            && confirm(&client, &confirm_subject).await
            && client.statistics().connects.load(Relaxed) == generation;
        let counters = &shared.counters;
        if confirmed {
            {
                let mut outbox = lock(&shared.outbox);
                outbox.release(batch.len());
                shared.outbox_gauges(&outbox);
            }
            add(&counters.lan_to_nats_events, batch.len() as u64);
            let bytes: usize = batch.iter().map(|e| e.bytes).sum();
            add(&counters.lan_to_nats_bytes, bytes as u64);
            add(&counters.chunks_sent, chunks);
        } else {
            add(&counters.resent, batch.len() as u64);
            tracing::debug!(
                events = batch.len(),
                "batch not confirmed: sending it again"
            );
            tokio::select! {
                () = tokio::time::sleep(RETRY_PAUSE) => {}
                () = cancel.cancelled() => return,
            }
        }
    }
}

/// Publishes one event, cut into chunks of at most `max` bytes when
/// larger; how many chunks (0: whole). `Err` when the client is gone.
async fn publish(client: &Client, event: &Outgoing, max: usize) -> Result<u64, ()> {
    if event.payload.len() <= max {
        return client
            .publish_with_headers(
                event.subject.clone(),
                event.headers.clone(),
                event.payload.clone(),
            )
            .await
            .map(|()| 0)
            .map_err(|e| tracing::debug!("publish failed: {e}"));
    }
    let parts: Vec<Bytes> = split(event.payload.clone(), max);
    if parts.len() > MAX_CHUNKS as usize {
        // Cannot happen with MIN_CHUNK and a 4 GiB LAN limit; never sent.
        tracing::warn!(bytes = event.bytes, "event too large to chunk: dropped");
        return Ok(0);
    }
    let count = parts.len();
    for (index, part) in parts.into_iter().enumerate() {
        let mut headers = event.headers.clone();
        headers.insert(headers::CHUNK, format!("{index}/{count}"));
        headers.insert(headers::SIZE, event.bytes.to_string());
        client
            .publish_with_headers(event.subject.clone(), headers, part)
            .await
            .map_err(|e| tracing::debug!("publish failed: {e}"))?;
    }
    Ok(count as u64)
}
