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

/// The furthest a bridge's sequence number may move from the last one
/// delivered from it and be taken as its place (events this bridge missed
/// in between: the server dropped them for a slow consumer, say). A
/// further move, either way, is delivered but not taken until the number
/// just past it follows ([`SeqCheck::Far`], counted in `seq_jumps`), so
/// that one forged message under a real bridge's id cannot make its later
/// events duplicates.
const MAX_SEQ_JUMP: u64 = 1 << 20;

/// The warning of a chunked event refused by the reassembly budget is
/// logged at most once this often, the others at debug: past
/// [`MAX_REFUSED`](crate::chunk::MAX_REFUSED) every chunk of a refused
/// event is refused as if it were its first, so that forged chunks would
/// otherwise log a warning each.
const REFUSED_WARN_EVERY: Duration = Duration::from_secs(1);

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
    let mut last_seq = Sequences::default();
    let mut refused = Throttle::default();
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
                Some(message) => inbound.event(message, &mut last_seq, &mut refused).await,
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

    /// One message on `PREFIX.>`; `refused` limits the warnings of chunked
    /// events refused by the reassembly budget.
    async fn event(&mut self, message: Message, last_seq: &mut Sequences, refused: &mut Throttle) {
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
        let mut far = false;
        if let Some((bridge, seq)) = &seq {
            match last_seq.check(bridge, *seq) {
                SeqCheck::Fresh => {}
                SeqCheck::Duplicate => {
                    add(&counters.dropped_duplicate, 1);
                    return;
                }
                SeqCheck::Far { last } => {
                    far = true;
                    tracing::debug!(bridge, seq, last, "sequence number far from the last one");
                }
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
                            let subject = message.subject.as_str();
                            let bytes = chunk.total;
                            let what = "chunked event dropped: reassembly budget full";
                            match refused.warn(now) {
                                Some(not_shown) => {
                                    tracing::warn!(subject, bytes, not_shown, "{what}");
                                }
                                None => tracing::debug!(subject, bytes, "{what}"),
                            }
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
        // Only now: a message that could not be read says nothing of its
        // publisher's sequence.
        if let Some((bridge, seq)) = seq {
            if far {
                add(&counters.seq_jumps, 1);
            }
            last_seq.remember(bridge, seq, far, now);
        }
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

/// A warning logged at most once per [`REFUSED_WARN_EVERY`].
#[derive(Debug, Default)]
struct Throttle {
    /// When it was last logged as a warning.
    last: Option<Instant>,
    /// How many times it was not, since.
    not_shown: u64,
}

impl Throttle {
    /// Whether the warning at `now` is logged as one: `Some` with how
    /// many were not since the last one logged (these are logged at
    /// debug), or `None` if one was logged less than
    /// [`REFUSED_WARN_EVERY`] ago (and this one is counted).
    fn warn(&mut self, now: Instant) -> Option<u64> {
        if self
            .last
            .is_some_and(|at| now.saturating_duration_since(at) < REFUSED_WARN_EVERY)
        {
            self.not_shown += 1;
            return None;
        }
        self.last = Some(now);
        Some(std::mem::take(&mut self.not_shown))
    }
}

/// What a sequence number says of a message.
#[derive(Debug, PartialEq, Eq)]
enum SeqCheck {
    /// Not seen before, near its bridge's last (or its bridge new here):
    /// delivered, and taken as the bridge's last.
    Fresh,
    /// At or below the last one delivered from its bridge, and near it; or
    /// a copy of the far number already delivered.
    Duplicate,
    /// More than [`MAX_SEQ_JUMP`] from `last`, the last one delivered,
    /// either way: delivered (a bridge whose events this one missed, or a
    /// forged number), but not taken as the bridge's last until the number
    /// just past it follows.
    Far { last: u64 },
}

/// The last sequence number delivered from each publishing bridge.
#[derive(Debug, Default)]
struct Sequences {
    origins: HashMap<String, Origin>,
}

#[derive(Debug)]
struct Origin {
    last: u64,
    at: Instant,
    /// The last far number (its chunks pass while it is put together),
    /// and whether its event was delivered (a copy of it then is a
    /// duplicate). A number just past it is taken as the bridge's place:
    /// two consecutive events re-anchor, so that a bridge whose events this
    /// one really missed, or whose place a forged number moved, is
    /// followed again; one forged number alone moves nothing.
    far: Option<(u64, bool)>,
}

/// Whether `seq` is past `from` by at most [`MAX_SEQ_JUMP`].
fn just_past(from: u64, seq: u64) -> bool {
    seq > from && seq - from <= MAX_SEQ_JUMP
}

impl Sequences {
    /// Checks `seq` from `bridge` (and notes a far one).
    fn check(&mut self, bridge: &str, seq: u64) -> SeqCheck {
        let Some(origin) = self.origins.get_mut(bridge) else {
            return SeqCheck::Fresh;
        };
        if just_past(origin.last, seq) {
            return SeqCheck::Fresh;
        }
        if seq <= origin.last && origin.last - seq <= MAX_SEQ_JUMP {
            return SeqCheck::Duplicate;
        }
        match origin.far {
            Some((far, true)) if far == seq => return SeqCheck::Duplicate,
            Some((far, false)) if far == seq => {}
            Some((far, _)) if just_past(far, seq) => return SeqCheck::Fresh,
            _ => origin.far = Some((seq, false)),
        }
        SeqCheck::Far { last: origin.last }
    }

    /// Records `seq`, delivered, as the last of `bridge` (`far`: as its
    /// far number only; see [`SeqCheck::Far`]), within [`MAX_ORIGINS`]
    /// (the longest unheard are forgotten first).
    fn remember(&mut self, bridge: String, seq: u64, far: bool, now: Instant) {
        if far {
            if let Some(origin) = self.origins.get_mut(&bridge) {
                origin.far = Some((seq, true));
                origin.at = now;
            }
            return;
        }
        if self.origins.len() >= MAX_ORIGINS && !self.origins.contains_key(&bridge) {
            let oldest = self
                .origins
                .iter()
                .min_by_key(|(_, origin)| origin.at)
                .map(|(k, _)| k.clone());
            if let Some(oldest) = oldest {
                self.origins.remove(&oldest);
            }
        }
        let origin = Origin {
            last: seq,
            at: now,
            far: None,
        };
        self.origins.insert(bridge, origin);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Sequence numbers with `last` delivered from bridge `b1`.
    fn after(last: u64, now: Instant) -> Sequences {
        let mut seqs = Sequences::default();
        assert_eq!(seqs.check("b1", last), SeqCheck::Fresh, "a new bridge");
        seqs.remember("b1".to_owned(), last, false, now);
        seqs
    }

    #[test]
    fn a_forged_far_sequence_does_not_silence_a_bridge() {
        let now = Instant::now();
        let mut seqs = after(5, now);
        assert_eq!(seqs.check("b1", u64::MAX), SeqCheck::Far { last: 5 });
        seqs.remember("b1".to_owned(), u64::MAX, true, now);
        assert_eq!(seqs.check("b1", u64::MAX), SeqCheck::Duplicate, "a copy");
        assert_eq!(seqs.check("b1", 5), SeqCheck::Duplicate);
        assert_eq!(seqs.check("b1", 6), SeqCheck::Fresh, "the real next one");
        seqs.remember("b1".to_owned(), 6, false, now);
        assert_eq!(seqs.check("b1", 6 + MAX_SEQ_JUMP), SeqCheck::Fresh);
    }

    #[test]
    fn a_real_long_gap_is_followed_from_the_first_event_after() {
        let now = Instant::now();
        let mut seqs = after(1, now);
        let far = 10 * MAX_SEQ_JUMP;
        assert_eq!(seqs.check("b1", far), SeqCheck::Far { last: 1 });
        assert_eq!(
            seqs.check("b1", far),
            SeqCheck::Far { last: 1 },
            "another chunk of it"
        );
        seqs.remember("b1".to_owned(), far, true, now);
        assert_eq!(seqs.check("b1", far + 1), SeqCheck::Fresh);
        seqs.remember("b1".to_owned(), far + 1, false, now);
        assert_eq!(seqs.check("b1", far), SeqCheck::Duplicate);
        assert_eq!(seqs.check("b1", far + 2), SeqCheck::Fresh);
    }

    /// A flood of chunks of a refused event past the cap of refused events
    /// remembered is refused chunk by chunk as if each were the first; its
    /// warnings are logged at most once a second, each with the count of
    /// those that were not.
    #[test]
    fn a_flood_of_refused_chunks_warns_at_most_once_a_second() {
        use crate::chunk::MAX_REFUSED;
        let t0 = Instant::now();
        let mut reassembler = Reassembler::new(0, Duration::from_secs(60));
        let chunk = Chunk::parse("0/2", "2").expect("parses");
        let mut throttle = Throttle::default();
        let (mut warnings, mut not_shown) = (Vec::new(), 0);
        let cap = MAX_REFUSED as u64;
        // The cap filled, then 10,000 chunks a second of one more event
        // for 10 s: each a first.
        let flood = cap + 100_000;
        for i in 0..flood {
            let now = t0 + Duration::from_micros(100 * i);
            let key = ("forger".to_owned(), i.min(cap));
            let arrival = reassembler.insert(now, key, &chunk, Bytes::from_static(b"x"));
            assert_eq!(arrival, Arrival::OverBudget { first: true }, "chunk {i}");
            if let Some(n) = throttle.warn(now) {
                warnings.push(now);
                not_shown += n;
            }
        }
        assert!(
            warnings
                .windows(2)
                .all(|w| w[1] - w[0] >= REFUSED_WARN_EVERY),
            "{warnings:?}"
        );
        assert_eq!(warnings.len(), 11, "at 0 s, 1 s, ... 10 s");
        // Every refusal is a warning or counted in one (or the next).
        assert_eq!(
            warnings.len() as u64 + not_shown + throttle.not_shown,
            flood
        );
    }

    /// Two forged numbers in a row move a bridge's place (they look like a
    /// real gap); its own next two events move it back, the first of them
    /// delivered too.
    #[test]
    fn a_place_moved_by_forged_numbers_comes_back_with_real_events() {
        let now = Instant::now();
        let mut seqs = after(7, now);
        let forged = 1 << 40;
        for seq in [forged, forged + 1] {
            let far = seqs.check("b1", seq) != SeqCheck::Fresh;
            seqs.remember("b1".to_owned(), seq, far, now);
        }
        assert_eq!(seqs.check("b1", 8), SeqCheck::Far { last: forged + 1 });
        seqs.remember("b1".to_owned(), 8, true, now);
        assert_eq!(seqs.check("b1", 9), SeqCheck::Fresh);
        seqs.remember("b1".to_owned(), 9, false, now);
        assert_eq!(seqs.check("b1", 8), SeqCheck::Duplicate);
        assert_eq!(seqs.check("b1", 10), SeqCheck::Fresh);
    }
}
