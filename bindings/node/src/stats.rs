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

/// The same value with every object key in camelCase.
fn camel_keys(value: Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| (camel(&k), camel_keys(v)))
                .collect::<Map<_, _>>(),
        ),
        other => other,
    }
}

/// `stats()`: every counter of the node, with camelCase keys: the
/// protocol's (`protocol`, with `protocol.dropped` by reason), the legacy
/// protocol's (`legacy`) and the driver's own, as the library serializes
/// them (so a counter the library adds shows up here too);
/// `undelivered` counts events dropped because JavaScript did not keep up.
pub(crate) fn to_json(stats: &NodeStats, undelivered: u64) -> Value {
    // Counters of plain numbers and booleans: serializing cannot fail.
    let mut out = camel_keys(serde_json::to_value(stats).unwrap_or_default());
    if let Value::Object(map) = &mut out {
        map.insert("undelivered".into(), Value::from(undelivered));
    }
    out
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
