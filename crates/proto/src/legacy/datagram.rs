//! The framing of every legacy datagram:
//!
//! | size | field |
//! | --- | --- |
//! | 2 | `META_LEN`, big-endian |
//! | `META_LEN` | the meta, one BSON document of exactly that length |
//! | rest | the body |
//!
//! The same framing wraps a whole message before it is encrypted or cut
//! into segments, so the receiver parses the plaintext, or the reassembled
//! bytes, with [`Datagram::parse`] again.

use super::error::{EncodeError, LegacyError};
use super::meta::Meta;

/// A parsed datagram: its meta and a borrowed body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Datagram<'a> {
    meta: Meta,
    body: &'a [u8],
}

impl<'a> Datagram<'a> {
    /// Pairs a meta with a body.
    pub fn new(meta: Meta, body: &'a [u8]) -> Self {
        Self { meta, body }
    }

    /// Parses the framing and the meta; the body is not looked at.
    pub fn parse(bytes: &'a [u8]) -> Result<Self, LegacyError> {
        let Some((len, rest)) = bytes.split_first_chunk::<2>() else {
            return Err(LegacyError::Truncated { len: bytes.len() });
        };
        let len = usize::from(u16::from_be_bytes(*len));
        if rest.len() < len {
            return Err(LegacyError::Truncated { len: bytes.len() });
        }
        let (meta, body) = rest.split_at(len);
        Ok(Self {
            meta: Meta::parse(meta)?,
            body,
        })
    }

    /// The meta.
    pub fn meta(&self) -> &Meta {
        &self.meta
    }

    /// The bytes after the meta.
    pub fn body(&self) -> &'a [u8] {
        self.body
    }

    /// Splits into the meta and the body.
    pub fn into_parts(self) -> (Meta, &'a [u8]) {
        (self.meta, self.body)
    }

    /// Appends the whole datagram to `out`. Fails if the meta does not fit
    /// the two-byte length (an event name or host name of tens of kilobytes).
    pub fn write(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        let meta = self.meta.to_bytes()?;
        let len =
            u16::try_from(meta.len()).map_err(|_| EncodeError::MetaTooLarge { len: meta.len() })?;
        out.reserve(2 + meta.len() + self.body.len());
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(&meta);
        out.extend_from_slice(self.body);
        Ok(())
    }

    /// The whole datagram as a new vector.
    pub fn to_vec(&self) -> Result<Vec<u8>, EncodeError> {
        let mut out = Vec::new();
        self.write(&mut out)?;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::legacy::ids::{LegacyId, SeqId};
    use crate::legacy::meta::{Layer, Origin};

    fn meta(name: &str) -> Meta {
        Meta::whole(
            SeqId::parse(&"ab".repeat(20)).unwrap(),
            Layer::Plain {
                nonce: None,
                origin: Origin {
                    name: name.into(),
                    host: "127.0.0.1".into(),
                    port: 1,
                    hostname: "h".into(),
                    id: LegacyId::new("x"),
                    time: "t".into(),
                },
            },
        )
    }

    #[test]
    fn emit_then_parse() {
        let body = [1u8, 2, 3];
        let d = Datagram::new(meta("e"), &body);
        let bytes = d.to_vec().unwrap();
        let meta_len = usize::from(u16::from_be_bytes([bytes[0], bytes[1]]));
        assert_eq!(bytes.len(), 2 + meta_len + 3);
        // the meta's own length prefix agrees with META_LEN
        assert_eq!(bytes[2] as usize + ((bytes[3] as usize) << 8), meta_len);
        assert_eq!(Datagram::parse(&bytes).unwrap(), d);
        // an empty body is a body too
        let empty = Datagram::new(meta("e"), &[]);
        assert_eq!(Datagram::parse(&empty.to_vec().unwrap()).unwrap(), empty);
    }

    #[test]
    fn truncated_and_mismatched() {
        let bytes = Datagram::new(meta("e"), &[9]).to_vec().unwrap();
        assert_eq!(Datagram::parse(&[]), Err(LegacyError::Truncated { len: 0 }));
        assert_eq!(
            Datagram::parse(&[0]),
            Err(LegacyError::Truncated { len: 1 })
        );
        let meta_end = 2 + usize::from(u16::from_be_bytes([bytes[0], bytes[1]]));
        for cut in 2..meta_end {
            assert!(Datagram::parse(&bytes[..cut]).is_err(), "cut at {cut}");
        }
        // META_LEN one more than the document: the document's own length
        // no longer matches
        let mut longer = bytes.clone();
        longer[1] += 1;
        assert!(Datagram::parse(&longer).is_err());
    }

    #[test]
    fn meta_too_large() {
        let d = Datagram::new(meta(&"n".repeat(70_000)), &[]);
        assert!(matches!(d.to_vec(), Err(EncodeError::MetaTooLarge { .. })));
    }
}
