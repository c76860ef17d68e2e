//! The node's counters and peers as plain objects with camelCase keys.

use eventcast::{NodeStats, PeerInfo};
use serde_json::{Map, Value};

/// `snake_case` to `camelCase`.
fn camel(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut upper = false;
    for c in name.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

/// An object of the named `u64` fields of `$s`.
macro_rules! counters {
    ($s:expr, $($field:ident),* $(,)?) => {{
        let mut map = Map::new();
        $(map.insert(camel(stringify!($field)), Value::from($s.$field));)*
        map
    }};
}

/// `stats()`: the node's counters, the protocol's (`protocol`, with
/// `protocol.dropped` by reason) and, with the legacy protocol, `legacy`;
/// `undelivered` counts events dropped because JavaScript did not keep up.
pub(crate) fn to_json(stats: &NodeStats, undelivered: u64) -> Value {
    let p = &stats.protocol;
    let mut protocol = counters!(
        p,
        messages_sent,
        datagrams_sent,
        segments_sent,
        bytes_sent,
        datagrams_received,
        bytes_received,
        own_datagrams,
        own_control,
        control_received,
        segments_received,
        messages_received,
        partial_messages,
        partial_bytes,
        window_bytes,
        senders,
        senders_evicted,
        datagrams_sealed,
        datagrams_opened,
        seal_refused,
        replay_senders,
        replay_senders_evicted,
        late_joins,
        batches_sent,
        batches_received,
        batched_messages_received,
        nacks_sent,
        nacks_suppressed,
        nacks_received,
        nacks_overheard,
        repairs_sent,
        repairs_received,
        repairs_lingered,
        repairs_unavailable,
        heartbeats_sent,
        heartbeats_received,
        messages_lost,
        loss_reports,
        pacing_waits,
        rate_decreases,
        send_rate,
        send_queue_bytes,
        send_queue_released,
        retransmit_store_bytes,
        held_messages,
        recovery_bytes,
    );
    let d = &p.dropped;
    let dropped = counters!(
        d,
        not_eventcast,
        unsupported_version,
        malformed,
        duplicate,
        stale,
        message_too_large,
        over_budget,
        expired,
        abandoned,
        bad_body,
        unencrypted,
        no_key,
        bad_tag,
        replayed,
        too_old,
        before_start,
    );
    protocol.insert("dropped".into(), Value::Object(dropped));
    let l = &stats.legacy;
    let mut legacy = counters!(
        l,
        messages_sent,
        datagrams_sent,
        bytes_sent,
        datagrams_received,
        bytes_received,
        own_datagrams,
        segments_received,
        messages_received,
        hashed_sender_ids,
        retx_requests_sent,
        retx_requests_received,
        retx_segments_resent,
        partial_messages,
        partial_bytes,
        kept_messages,
        kept_bytes,
    );
    let ld = &l.dropped;
    let legacy_dropped = counters!(
        ld,
        native,
        malformed,
        unsupported_version,
        duplicate,
        over_limit,
        decrypt_failed,
        encrypted_without_key,
        unencrypted_with_key,
        expired,
        retx_not_ours,
        retx_unanswerable,
        retx_unaddressable,
    );
    legacy.insert("dropped".into(), Value::Object(legacy_dropped));
    let mut out = counters!(
        stats,
        starts,
        send_errors,
        recv_errors,
        kernel_drops,
        emitted_while_stopped,
        listener_panics,
        subscription_lagged,
    );
    out.insert("running".into(), Value::from(stats.running));
    out.insert("recvBufferSize".into(), Value::from(stats.recv_buffer_size));
    out.insert("undelivered".into(), Value::from(undelivered));
    out.insert("protocol".into(), Value::Object(protocol));
    out.insert("legacy".into(), Value::Object(legacy));
    Value::Object(out)
}

/// `peers()`: one object per node heard.
pub(crate) fn peers_to_json(peers: &[PeerInfo]) -> Value {
    peers
        .iter()
        .map(|p| {
            serde_json::json!({
                "id": p.id.to_string(),
                "address": p.addr.to_string(),
                "sinceHeard": p.since_heard.as_secs_f64() * 1000.0,
                "lead": p.lead.get(),
                "delivered": p.delivered,
                "lost": p.lost,
            })
        })
        .collect()
}
