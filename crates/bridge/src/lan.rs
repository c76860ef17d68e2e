//! LAN to NATS, first half: every LAN event the bridge takes becomes an
//! [`Outgoing`] in the outage buffer (the publisher sends it on).

use std::sync::Arc;
use std::time::Instant;

use async_nats::{HeaderMap, Subject};
use bytes::Bytes;
use eventcast::{Event, Subscription};
use tokio_util::sync::CancellationToken;

use crate::headers;
use crate::notice::BridgeNotice;
use crate::outbox::Outgoing;
use crate::payload::{self, Encoding};
use crate::shared::{lock, Shared};
use crate::stats::add;
use crate::subject;

/// Takes LAN events from `events` until `cancel` (or the node ends).
pub(crate) async fn run(
    shared: Arc<Shared>,
    mut events: Subscription,
    encoding: Encoding,
    cancel: CancellationToken,
) {
    let mut lan = Lan {
        shared,
        encoding,
        seq: 0,
        overflow: None,
    };
    loop {
        tokio::select! {
            biased;
            () = cancel.cancelled() => break,
            event = events.recv() => match event {
                Some(event) => lan.take(&event),
                None => break,
            },
        }
    }
}

struct Lan {
    shared: Arc<Shared>,
    encoding: Encoding,
    /// The last sequence number given to an event.
    seq: u64,
    /// While the buffer is full: how many events were dropped since.
    overflow: Option<u64>,
}

impl Lan {
    fn take(&mut self, event: &Event) {
        // What this bridge emitted from NATS: never sent back.
        if event.is_local() {
            return;
        }
        let shared = Arc::clone(&self.shared);
        let counters = &shared.counters;
        let now = Instant::now();
        let sender = event.sender().to_string();
        let from_lan = lock(&shared.rivals).lan_event(now, &sender);
        if !from_lan || shared.standing_by(now) {
            add(&counters.dropped_other_bridge, 1);
            return;
        }
        let payload = match payload::encode_event(self.encoding, event) {
            Ok(payload) => payload,
            Err(e) => {
                add(&counters.dropped_unencodable, 1);
                tracing::warn!(name = event.name(), "cannot bridge an event: {e}");
                return;
            }
        };
        self.seq += 1;
        let mut headers = HeaderMap::new();
        headers.insert(headers::SITE, shared.site.as_str());
        headers.insert(headers::SENDER, sender.as_str());
        headers.insert(headers::NAME, subject::to_header_value(event.name()));
        headers.insert(headers::BRIDGE, shared.id.as_str());
        headers.insert(headers::SEQ, self.seq.to_string());
        headers.insert(headers::CONTENT_TYPE, self.encoding.content_type());
        let bytes = payload.len();
        let outgoing = Outgoing {
            subject: Subject::from(subject::to_subject(&shared.prefix, event.name())),
            headers,
            payload: Bytes::from(payload),
            bytes,
        };
        let (queued, limit) = {
            let mut outbox = lock(&shared.outbox);
            let queued = outbox.push(outgoing);
            shared.outbox_gauges(&outbox);
            (queued, outbox.limit())
        };
        if queued {
            shared.outbox_filled.notify_one();
            if let Some(dropped) = self.overflow.take() {
                shared.notify(BridgeNotice::BufferDropped { dropped });
            }
        } else {
            add(&counters.dropped_buffer_full, 1);
            match &mut self.overflow {
                Some(dropped) => *dropped += 1,
                None => {
                    self.overflow = Some(1);
                    shared.notify(BridgeNotice::BufferFull { limit });
                }
            }
        }
    }
}
