//! The headers a bridge writes on every message, and what it reads back.

use async_nats::HeaderMap;

/// The name of the site the event comes from (`--site`).
pub const SITE: &str = "Eventcast-Site";
/// The id of the eventcast node that emitted the event on its LAN (16 hex
/// digits).
pub const SENDER: &str = "Eventcast-Sender";
/// The exact event name (`%` and control characters escaped as `%XX`).
pub const NAME: &str = "Eventcast-Name";
/// The id of the publishing bridge (16 hex digits, new at each start).
pub const BRIDGE: &str = "Eventcast-Bridge";
/// The longest `Eventcast-Bridge` a bridge reads (its own are 16 hex
/// digits): a longer one is a malformed header, dropped and counted,
/// never a key kept in memory.
pub(crate) const MAX_ID_LEN: usize = 64;
/// The publishing bridge's sequence number of the event: receivers drop
/// one they already had (sent again after a reconnect).
pub const SEQ: &str = "Eventcast-Seq";
/// On chunks only: `INDEX/COUNT`, from 0.
pub const CHUNK: &str = "Eventcast-Chunk";
/// On chunks only: the whole payload's length in bytes.
pub const SIZE: &str = "Eventcast-Size";
/// `application/json` or `application/bson`.
pub const CONTENT_TYPE: &str = "Content-Type";

/// The headers of a received message, as far as a bridge reads them.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Meta {
    pub(crate) site: Option<String>,
    pub(crate) sender: Option<String>,
    pub(crate) name: Option<String>,
    pub(crate) bridge: Option<String>,
    pub(crate) seq: Option<String>,
    pub(crate) chunk: Option<String>,
    pub(crate) size: Option<String>,
    pub(crate) content_type: Option<String>,
}

impl Meta {
    /// Reads `headers` (none: a plain client's message without headers).
    pub(crate) fn read(headers: Option<&HeaderMap>) -> Meta {
        let Some(headers) = headers else {
            return Meta::default();
        };
        let get = |name: &str| headers.get(name).map(|v| v.as_str().to_owned());
        Meta {
            site: get(SITE),
            sender: get(SENDER),
            name: get(NAME),
            bridge: get(BRIDGE),
            seq: get(SEQ),
            chunk: get(CHUNK),
            size: get(SIZE),
            content_type: get(CONTENT_TYPE),
        }
    }
}
