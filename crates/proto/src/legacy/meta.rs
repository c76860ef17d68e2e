//! The metadata document every legacy datagram starts with.
//!
//! Fields, in the order the original writes them (BSON types in brackets):
//!
//! | field | type | present |
//! | --- | --- | --- |
//! | `v` | int32 | always, 3 |
//! | `seq` | int32 | always: this segment's index |
//! | `seqLen` | int32 | always: number of segments |
//! | `seqId` | string | always: 40 hex digits, one per message |
//! | `seqEnd` | bool | always: true on the last segment |
//! | `enc` | bool | always: the body is ciphertext |
//! | `nonce` | string | when `enc` is false and the sender has a key |
//! | `name`, `host` | string | when `enc` is false |
//! | `port` | int32 | when `enc` is false |
//! | `hostname`, `id`, `time` | string | when `enc` is false |
//!
//! A meta with `enc` true carries only the first six fields.

use bson::spec::ElementType;
use bson::{doc, Document, RawBsonRef, RawDocument};

use super::error::{EncodeError, LegacyError, PROTOCOL_VERSION};
use super::ids::{LegacyId, SeqId};

/// A parsed metadata document. Its segment geometry is consistent: `seq` is
/// below `seqLen`, and `seqEnd` is true exactly on the last segment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Meta {
    seq: u32,
    seq_len: u32,
    seq_id: SeqId,
    layer: Layer,
}

/// What follows the six fixed fields, depending on `enc`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Layer {
    /// `enc` true: the body is ciphertext of a whole datagram; the meta has
    /// nothing more.
    Encrypted,
    /// `enc` false: the sender's description follows.
    Plain {
        /// The `nonce` (40 hex digits) a sender with a key adds to every meta.
        nonce: Option<String>,
        /// The event name and the sender's description.
        origin: Origin,
    },
}

/// The fields of a plain meta that describe the event and its sender.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Origin {
    /// The event name (`__ec_retx` for a retransmission request).
    pub name: String,
    /// The sender's unicast address, where retransmission requests go.
    pub host: String,
    /// The sender's UDP port.
    pub port: u16,
    /// The sender's host name (informational).
    pub hostname: String,
    /// The sender's id.
    pub id: LegacyId,
    /// When the meta was made, as JavaScript's `toISOString()` writes it
    /// (informational; never interpreted).
    pub time: String,
}

impl Origin {
    /// The sender's unicast address, if `host` is an IP address.
    pub fn unicast_addr(&self) -> Option<std::net::SocketAddr> {
        let ip: std::net::IpAddr = self.host.parse().ok()?;
        Some(std::net::SocketAddr::new(ip, self.port))
    }
}

impl Meta {
    /// A meta for segment `seq` of `seq_len`. Fails if `seq_len` is zero or
    /// above `i32::MAX`, or `seq` is not below it.
    pub fn new(seq: u32, seq_len: u32, seq_id: SeqId, layer: Layer) -> Result<Self, LegacyError> {
        if seq_len == 0 || i32::try_from(seq_len).is_err() {
            return Err(LegacyError::Inconsistent("seqLen out of range"));
        }
        if seq >= seq_len {
            return Err(LegacyError::Inconsistent("seq not below seqLen"));
        }
        Ok(Self {
            seq,
            seq_len,
            seq_id,
            layer,
        })
    }

    /// The meta of a whole, unsegmented message (`seq` 0, `seqLen` 1).
    pub fn whole(seq_id: SeqId, layer: Layer) -> Self {
        Self {
            seq: 0,
            seq_len: 1,
            seq_id,
            layer,
        }
    }

    /// This segment's index (`seq`).
    pub fn seq(&self) -> u32 {
        self.seq
    }

    /// The number of segments (`seqLen`).
    pub fn seq_len(&self) -> u32 {
        self.seq_len
    }

    /// Whether this is the last segment (`seqEnd`).
    pub fn seq_end(&self) -> bool {
        self.seq + 1 == self.seq_len
    }

    /// The message's `seqId`.
    pub fn seq_id(&self) -> &SeqId {
        &self.seq_id
    }

    /// What follows the fixed fields.
    pub fn layer(&self) -> &Layer {
        &self.layer
    }

    /// Whether the body is ciphertext (`enc`).
    pub fn is_encrypted(&self) -> bool {
        matches!(self.layer, Layer::Encrypted)
    }

    /// The sender's description, when `enc` is false.
    pub fn origin(&self) -> Option<&Origin> {
        match &self.layer {
            Layer::Encrypted => None,
            Layer::Plain { origin, .. } => Some(origin),
        }
    }

    /// The sender's description, when `enc` is false, by value.
    pub fn into_origin(self) -> Option<Origin> {
        match self.layer {
            Layer::Encrypted => None,
            Layer::Plain { origin, .. } => Some(origin),
        }
    }

    /// Parses a meta from the bytes of one BSON document (exactly one:
    /// the document's length prefix must match `bytes`). Fields the
    /// original does not send are ignored; a known field twice, or of
    /// another type, is an error.
    pub fn parse(bytes: &[u8]) -> Result<Self, LegacyError> {
        let raw = RawDocument::from_bytes(bytes).map_err(LegacyError::bson)?;
        let mut f = Fields::default();
        for item in raw.iter() {
            let (key, value) = item.map_err(LegacyError::bson)?;
            f.set(key.as_str(), value)?;
        }
        f.finish()
    }

    /// The meta as a BSON document, fields in the original's order.
    pub fn to_document(&self) -> Document {
        let (seq, seq_len) = (self.seq as i32, self.seq_len as i32);
        let mut d = doc! {
            "v": PROTOCOL_VERSION,
            "seq": seq,
            "seqLen": seq_len,
            "seqId": self.seq_id.as_str(),
            "seqEnd": self.seq_end(),
            "enc": self.is_encrypted(),
        };
        if let Layer::Plain { nonce, origin } = &self.layer {
            if let Some(nonce) = nonce {
                d.insert("nonce", nonce.as_str());
            }
            d.insert("name", origin.name.as_str());
            d.insert("host", origin.host.as_str());
            d.insert("port", i32::from(origin.port));
            d.insert("hostname", origin.hostname.as_str());
            d.insert("id", origin.id.as_str());
            d.insert("time", origin.time.as_str());
        }
        d
    }

    /// The meta's BSON bytes.
    pub fn to_bytes(&self) -> Result<Vec<u8>, EncodeError> {
        bson::serialize_to_vec(&self.to_document()).map_err(|e| EncodeError::Bson(e.to_string()))
    }
}

/// Every field seen so far.
#[derive(Default)]
struct Fields<'a> {
    v: Option<i32>,
    seq: Option<i32>,
    seq_len: Option<i32>,
    seq_id: Option<&'a str>,
    seq_end: Option<bool>,
    enc: Option<bool>,
    nonce: Option<&'a str>,
    name: Option<&'a str>,
    host: Option<&'a str>,
    port: Option<i32>,
    hostname: Option<&'a str>,
    id: Option<&'a str>,
    time: Option<&'a str>,
}

fn put<T>(slot: &mut Option<T>, value: Option<T>, field: &'static str) -> Result<(), LegacyError> {
    let Some(value) = value else {
        return Err(LegacyError::Field {
            field,
            problem: "wrong BSON type",
        });
    };
    if slot.replace(value).is_some() {
        return Err(LegacyError::Field {
            field,
            problem: "appears twice",
        });
    }
    Ok(())
}

fn int(v: RawBsonRef<'_>) -> Option<i32> {
    match v {
        RawBsonRef::Int32(i) => Some(i),
        _ => None,
    }
}

fn string(v: RawBsonRef<'_>) -> Option<&str> {
    match v {
        RawBsonRef::String(s) => Some(s),
        _ => None,
    }
}

fn boolean(v: RawBsonRef<'_>) -> Option<bool> {
    match v {
        RawBsonRef::Boolean(b) => Some(b),
        _ => None,
    }
}

fn need<T>(slot: Option<T>, field: &'static str) -> Result<T, LegacyError> {
    slot.ok_or(LegacyError::Field {
        field,
        problem: "missing",
    })
}

impl<'a> Fields<'a> {
    fn set(&mut self, key: &str, v: RawBsonRef<'a>) -> Result<(), LegacyError> {
        match key {
            "v" => put(&mut self.v, int(v), "v"),
            "seq" => put(&mut self.seq, int(v), "seq"),
            "seqLen" => put(&mut self.seq_len, int(v), "seqLen"),
            "seqId" => put(&mut self.seq_id, string(v), "seqId"),
            "seqEnd" => put(&mut self.seq_end, boolean(v), "seqEnd"),
            "enc" => put(&mut self.enc, boolean(v), "enc"),
            "nonce" => put(&mut self.nonce, string(v), "nonce"),
            "name" => put(&mut self.name, string(v), "name"),
            "host" => put(&mut self.host, string(v), "host"),
            "port" => put(&mut self.port, int(v), "port"),
            "hostname" => put(&mut self.hostname, string(v), "hostname"),
            "id" => put(&mut self.id, string(v), "id"),
            "time" => put(&mut self.time, string(v), "time"),
            _ => Ok(()),
        }
    }

    fn finish(self) -> Result<Meta, LegacyError> {
        let version = need(self.v, "v")?;
        if version != PROTOCOL_VERSION {
            return Err(LegacyError::UnsupportedVersion { version });
        }
        let seq = u32::try_from(need(self.seq, "seq")?)
            .map_err(|_| LegacyError::Inconsistent("negative seq"))?;
        let seq_len = u32::try_from(need(self.seq_len, "seqLen")?)
            .map_err(|_| LegacyError::Inconsistent("negative seqLen"))?;
        let seq_id = SeqId::parse(need(self.seq_id, "seqId")?).ok_or(LegacyError::Field {
            field: "seqId",
            problem: "not 40 hex digits",
        })?;
        let seq_end = need(self.seq_end, "seqEnd")?;
        let layer = if need(self.enc, "enc")? {
            Layer::Encrypted
        } else {
            let port = need(self.port, "port")?;
            Layer::Plain {
                nonce: self.nonce.map(str::to_owned),
                origin: Origin {
                    name: need(self.name, "name")?.to_owned(),
                    host: need(self.host, "host")?.to_owned(),
                    port: u16::try_from(port).map_err(|_| LegacyError::Field {
                        field: "port",
                        problem: "not a UDP port",
                    })?,
                    hostname: need(self.hostname, "hostname")?.to_owned(),
                    id: LegacyId::new(need(self.id, "id")?),
                    time: need(self.time, "time")?.to_owned(),
                },
            }
        };
        let meta = Meta::new(seq, seq_len, seq_id, layer)?;
        if meta.seq_end() != seq_end {
            return Err(LegacyError::Inconsistent(
                "seqEnd disagrees with seq and seqLen",
            ));
        }
        Ok(meta)
    }
}

/// The key and BSON type of every element of a document, in order: the
/// shape the captures pin down.
pub fn shape(doc: &RawDocument) -> Result<Vec<(String, ElementType)>, LegacyError> {
    doc.iter()
        .map(|item| {
            item.map(|(k, v)| (k.as_str().to_owned(), v.element_type()))
                .map_err(LegacyError::bson)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn origin() -> Origin {
        Origin {
            name: "one".into(),
            host: "127.0.0.1".into(),
            port: 41500,
            hostname: "vm".into(),
            id: LegacyId::new("0123456789abcdef"),
            time: "2026-11-21T05:19:35.132Z".into(),
        }
    }

    fn seq_id() -> SeqId {
        SeqId::parse("7824c2007953cbd804c5a5a94060a6f6558497aa").unwrap()
    }

    #[test]
    fn emit_then_parse() {
        for layer in [
            Layer::Encrypted,
            Layer::Plain {
                nonce: None,
                origin: origin(),
            },
            Layer::Plain {
                nonce: Some("c203c4770d3469d96742a070dc9d4ab82566be6b".into()),
                origin: origin(),
            },
        ] {
            let meta = Meta::new(2, 5, seq_id(), layer).unwrap();
            let bytes = meta.to_bytes().unwrap();
            assert_eq!(Meta::parse(&bytes).unwrap(), meta);
        }
    }

    #[test]
    fn field_order_and_types() {
        use ElementType::*;
        let meta = Meta::new(
            0,
            1,
            seq_id(),
            Layer::Plain {
                nonce: Some("00".repeat(20)),
                origin: origin(),
            },
        )
        .unwrap();
        let bytes = meta.to_bytes().unwrap();
        let got = shape(RawDocument::from_bytes(&bytes).unwrap()).unwrap();
        let want = [
            ("v", Int32),
            ("seq", Int32),
            ("seqLen", Int32),
            ("seqId", String),
            ("seqEnd", Boolean),
            ("enc", Boolean),
            ("nonce", String),
            ("name", String),
            ("host", String),
            ("port", Int32),
            ("hostname", String),
            ("id", String),
            ("time", String),
        ];
        let want: Vec<_> = want.iter().map(|(k, t)| (k.to_string(), *t)).collect();
        assert_eq!(got, want);
    }

    fn with(f: impl FnOnce(&mut Document)) -> Result<Meta, LegacyError> {
        let meta = Meta::new(
            1,
            3,
            seq_id(),
            Layer::Plain {
                nonce: None,
                origin: origin(),
            },
        )
        .unwrap();
        let mut d = meta.to_document();
        f(&mut d);
        Meta::parse(&bson::serialize_to_vec(&d).unwrap())
    }

    #[test]
    fn rejects_what_the_original_never_sends() {
        assert!(with(|_| {}).is_ok());
        assert!(with(|d| {
            d.insert("extra", 1);
        })
        .is_ok());
        assert_eq!(
            with(|d| {
                d.insert("v", 2);
            }),
            Err(LegacyError::UnsupportedVersion { version: 2 })
        );
        assert!(with(|d| {
            d.insert("seq", 3);
        })
        .is_err());
        assert!(with(|d| {
            d.insert("seq", -1);
        })
        .is_err());
        assert!(with(|d| {
            d.insert("seqLen", 0);
        })
        .is_err());
        assert!(with(|d| {
            d.insert("seqEnd", true);
        })
        .is_err());
        assert!(with(|d| {
            d.insert("port", 70000);
        })
        .is_err());
        assert!(with(|d| {
            d.insert("port", "41500");
        })
        .is_err());
        assert!(with(|d| {
            d.insert("seqId", "xyz");
        })
        .is_err());
        assert!(with(|d| {
            d.remove("hostname");
        })
        .is_err());
        // an encrypted meta needs no sender fields
        let enc = with(|d| {
            d.insert("enc", true);
            d.remove("name");
        })
        .unwrap();
        assert!(enc.is_encrypted());
        assert!(Meta::parse(&[]).is_err());
        assert!(Meta::parse(&[5, 0, 0, 0, 0, 0]).is_err());
    }

    #[test]
    fn duplicate_field() {
        // hand-built: {v: 3, v: 3}
        let mut b = vec![0u8; 4];
        for _ in 0..2 {
            b.extend_from_slice(&[0x10, b'v', 0, 3, 0, 0, 0]);
        }
        b.push(0);
        let len = b.len() as i32;
        b[..4].copy_from_slice(&len.to_le_bytes());
        assert_eq!(
            Meta::parse(&b),
            Err(LegacyError::Field {
                field: "v",
                problem: "appears twice"
            })
        );
    }

    #[test]
    fn unicast_addr() {
        assert_eq!(
            origin().unicast_addr(),
            Some("127.0.0.1:41500".parse().unwrap())
        );
        let mut o = origin();
        o.host = "vm".into();
        assert_eq!(o.unicast_addr(), None);
    }
}
