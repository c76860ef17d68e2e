//! The retransmission request: an event named [`RETX_EVENT`]
//! (`__ec_retx`) whose body's `payload` is a document, not an array:
//!
//! ```text
//! { id: string, seqId: string, missedSeq: [int32...], host: string, port: int32 }
//! ```
//!
//! A receiver missing segments of `seqId` sends it by unicast to the
//! segments' sender (the `host:port` of their metas), and the sender answers
//! by unicast with those segments, byte for byte as first sent. In the
//! capture, `id`, `host` and `port` are those of the sender being asked
//! (the same as the segments' meta); the requester's own address is in the
//! request's meta.
//!
//! [`RETX_EVENT`]: super::RETX_EVENT

use bson::{doc, Bson, Document};

use super::body::{decode_payload, encode_payload};
use super::error::{EncodeError, LegacyError};
use super::ids::{LegacyId, SeqId};

/// A request to send segments of a message again.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetxRequest {
    /// `id`: the sender asked (see the module documentation).
    pub id: LegacyId,
    /// `seqId`: the segmented message, as its segments' metas name it.
    pub seq_id: SeqId,
    /// `missedSeq`: the indexes of the missing segments, ascending. Written
    /// as int32 (as the original does); an index above `i32::MAX`, never a
    /// segment index, as int64.
    pub missed_seq: Vec<u32>,
    /// `host`: see the module documentation.
    pub host: String,
    /// `port`: see the module documentation.
    pub port: u16,
}

fn field(field: &'static str, problem: &'static str) -> LegacyError {
    LegacyError::Field { field, problem }
}

impl RetxRequest {
    /// The `payload` document, fields in the original's order.
    pub fn to_payload(&self) -> Document {
        let missed: Vec<Bson> = self
            .missed_seq
            .iter()
            .map(|&i| i32::try_from(i).map_or(Bson::Int64(i64::from(i)), Bson::Int32))
            .collect();
        doc! {
            "id": self.id.as_str(),
            "seqId": self.seq_id.as_str(),
            "missedSeq": missed,
            "host": self.host.as_str(),
            "port": i32::from(self.port),
        }
    }

    /// Reads a request from a `payload` value. Extra fields are ignored.
    pub fn from_payload(payload: &Bson) -> Result<Self, LegacyError> {
        let Bson::Document(d) = payload else {
            return Err(field("payload", "not a document"));
        };
        let string = |name: &'static str| match d.get(name) {
            Some(Bson::String(s)) => Ok(s.as_str()),
            Some(_) => Err(field(name, "wrong BSON type")),
            None => Err(field(name, "missing")),
        };
        let seq_id = SeqId::parse(string("seqId")?).ok_or(field("seqId", "not 40 hex digits"))?;
        let missed_seq = match d.get("missedSeq") {
            Some(Bson::Array(a)) => a
                .iter()
                .map(|v| match v {
                    Bson::Int32(i) => u32::try_from(*i).ok(),
                    Bson::Int64(i) => u32::try_from(*i).ok(),
                    _ => None,
                })
                .collect::<Option<Vec<u32>>>()
                .ok_or(field("missedSeq", "not an array of segment indexes"))?,
            Some(_) => return Err(field("missedSeq", "wrong BSON type")),
            None => return Err(field("missedSeq", "missing")),
        };
        let port = match d.get("port") {
            Some(Bson::Int32(p)) => {
                u16::try_from(*p).map_err(|_| field("port", "not a UDP port"))?
            }
            Some(_) => return Err(field("port", "wrong BSON type")),
            None => return Err(field("port", "missing")),
        };
        Ok(Self {
            id: LegacyId::new(string("id")?),
            seq_id,
            missed_seq,
            host: string("host")?.to_owned(),
            port,
        })
    }

    /// The request's message body: `{ payload: { ... } }`.
    pub fn encode_body(&self) -> Result<Vec<u8>, EncodeError> {
        encode_payload(Bson::Document(self.to_payload()))
    }

    /// Reads a request from a message body.
    pub fn decode_body(bytes: &[u8]) -> Result<Self, LegacyError> {
        Self::from_payload(&decode_payload(bytes)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request() -> RetxRequest {
        RetxRequest {
            id: LegacyId::new("0123456789abcdef"),
            seq_id: SeqId::parse("71c8e8cd08b20777e404f879794f60ef5f594b76").unwrap(),
            missed_seq: vec![2, 5],
            host: "127.0.0.1".into(),
            port: 41500,
        }
    }

    #[test]
    fn round_trip() {
        let r = request();
        assert_eq!(
            RetxRequest::decode_body(&r.encode_body().unwrap()).unwrap(),
            r
        );
    }

    #[test]
    fn same_bytes_as_the_capture() {
        // the body of the datagram in nack.json
        let want = "9c000000037061796c6f6164008e0000000269640011000000303132333435363738396162636465660002736571496400290000003731633865386364303862323037373765343034663837393739346636306566356635393462373600046d6973736564536571001300000010300002000000103100050000000002686f7374000a0000003132372e302e302e310010706f7274001ca200000000";
        let got: String = request()
            .encode_body()
            .unwrap()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(got, want);
    }

    #[test]
    fn rejects_bad_fields() {
        let bad = |f: fn(&mut Document)| {
            let mut d = request().to_payload();
            f(&mut d);
            RetxRequest::from_payload(&Bson::Document(d))
        };
        assert!(bad(|_| {}).is_ok());
        assert!(bad(|d| {
            d.remove("id");
        })
        .is_err());
        assert!(bad(|d| {
            d.insert("missedSeq", vec![Bson::Int32(-1)]);
        })
        .is_err());
        assert!(bad(|d| {
            d.insert("missedSeq", vec![Bson::Double(1.0)]);
        })
        .is_err());
        assert!(bad(|d| {
            d.insert("missedSeq", 1);
        })
        .is_err());
        assert!(bad(|d| {
            d.insert("port", 65536);
        })
        .is_err());
        assert!(bad(|d| {
            d.insert("seqId", "short");
        })
        .is_err());
        assert!(RetxRequest::from_payload(&Bson::Array(vec![])).is_err());
    }
}
