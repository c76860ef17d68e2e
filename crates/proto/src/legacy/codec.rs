//! Whole messages in and out: the [`Encoder`] layers body, encryption and
//! segmentation as the original does; the [`Decoder`] peels them off again,
//! with reassembly, the self-filter and duplicate suppression.
//!
//! Layers of one message, innermost first:
//!
//! 1. the body `{ payload: ... }` behind a plain meta (`enc` false, every
//!    sender field, a `nonce` if the sender has a key), with `seq` 0 and
//!    `seqLen` 1;
//! 2. with a key: that whole datagram encrypted, behind a meta of the six
//!    fixed fields only (`enc` true), with a new `seqId`;
//! 3. if the result is longer than `maxPayloadSize`: cut into pieces, each
//!    behind a plain meta (`enc` false, every sender field, a fresh `nonce`
//!    per segment if the sender has a key) with a third `seqId`.

use std::num::NonZeroUsize;
use std::time::Instant;

use bson::{Bson, DateTime};
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;

use super::body::{decode_args, EventBody};
use super::crypto::InsecureLegacyCipher;
use super::datagram::Datagram;
use super::error::{EncodeError, LegacyError, RETX_EVENT};
use super::ids::{random_hex40, LegacyId, SeqId};
use super::meta::{Layer, Meta, Origin};
use super::retx::RetxRequest;
use super::segment::{
    split, MessageKey, Reassembler, ReassemblyLimits, Recent, SegmentOutcome, Timeout, MAX_ID_LEN,
};
use super::time::js_iso_string;
use crate::wire::MAX_DATAGRAM_SIZE;

/// What a legacy node says about itself in every plain meta.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LegacyIdentity {
    /// `id`.
    pub id: LegacyId,
    /// `host`: the node's unicast address, where retransmission requests
    /// for its messages go.
    pub host: String,
    /// `port`: the node's UDP port.
    pub port: u16,
    /// `hostname`.
    pub hostname: String,
}

/// One message, ready to send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Encoded {
    /// The `seqId` receivers see on the outermost layer: the segments' when
    /// segmented, which is what a retransmission request names.
    pub seq_id: SeqId,
    /// The datagrams, in `seq` order.
    pub datagrams: Vec<Vec<u8>>,
}

impl Encoded {
    /// Whether the message was cut into segments.
    pub fn is_segmented(&self) -> bool {
        self.datagrams.len() > 1
    }
}

/// Builds legacy datagrams for one node. Its randomness (`seqId`s,
/// `nonce`s) comes from a generator seeded by the caller.
pub struct Encoder {
    identity: LegacyIdentity,
    max_payload_size: NonZeroUsize,
    cipher: Option<InsecureLegacyCipher>,
    rng: ChaCha20Rng,
}

impl Encoder {
    /// An encoder without encryption. `max_payload_size` is the original's
    /// `maxPayloadSize` (default
    /// [`DEFAULT_MAX_PAYLOAD_SIZE`](super::error::DEFAULT_MAX_PAYLOAD_SIZE)).
    pub fn new(
        identity: LegacyIdentity,
        max_payload_size: NonZeroUsize,
        rng_seed: [u8; 32],
    ) -> Self {
        Self {
            identity,
            max_payload_size,
            cipher: None,
            rng: ChaCha20Rng::from_seed(rng_seed),
        }
    }

    /// Encrypts every message from now on with the original's weak cipher.
    pub fn with_insecure_cipher(mut self, cipher: InsecureLegacyCipher) -> Self {
        self.cipher = Some(cipher);
        self
    }

    /// The identity every plain meta carries.
    pub fn identity(&self) -> &LegacyIdentity {
        &self.identity
    }

    /// Encodes an event. `time` goes into every meta; the name
    /// [`RETX_EVENT`] is refused (use [`encode_retx`](Self::encode_retx)).
    pub fn encode_event(
        &mut self,
        time: DateTime,
        name: &str,
        args: &[Bson],
    ) -> Result<Encoded, EncodeError> {
        self.encode_event_body(time, name, &EventBody::encode(args)?)
    }

    /// Encodes an event whose arguments are encoded already, as
    /// [`encode_event`](Self::encode_event) does.
    pub fn encode_event_body(
        &mut self,
        time: DateTime,
        name: &str,
        body: &EventBody,
    ) -> Result<Encoded, EncodeError> {
        if name == RETX_EVENT {
            return Err(EncodeError::ReservedName);
        }
        self.encode(time, name, body.as_bytes())
    }

    /// Encodes a retransmission request (send it by unicast to the asked
    /// sender's `host:port`).
    pub fn encode_retx(
        &mut self,
        time: DateTime,
        request: &RetxRequest,
    ) -> Result<Encoded, EncodeError> {
        let body = request.encode_body()?;
        self.encode(time, RETX_EVENT, &body)
    }

    fn plain(&mut self, time: &str, name: &str) -> Layer {
        let nonce = self.cipher.is_some().then(|| random_hex40(&mut self.rng));
        Layer::Plain {
            nonce,
            origin: Origin {
                name: name.to_owned(),
                host: self.identity.host.clone(),
                port: self.identity.port,
                hostname: self.identity.hostname.clone(),
                id: self.identity.id.clone(),
                time: time.to_owned(),
            },
        }
    }

    fn encode(&mut self, time: DateTime, name: &str, body: &[u8]) -> Result<Encoded, EncodeError> {
        let time = js_iso_string(time);
        let layer = self.plain(&time, name);
        let mut seq_id = SeqId::random(&mut self.rng);
        let mut whole = Datagram::new(Meta::whole(seq_id.clone(), layer), body).to_vec()?;
        if let Some(cipher) = &self.cipher {
            let ciphertext = cipher.encrypt(&whole);
            seq_id = SeqId::random(&mut self.rng);
            whole = Datagram::new(Meta::whole(seq_id.clone(), Layer::Encrypted), &ciphertext)
                .to_vec()?;
        }
        if whole.len() <= self.max_payload_size.get() {
            check_size(&whole)?;
            return Ok(Encoded {
                seq_id,
                datagrams: vec![whole],
            });
        }
        let pieces: Vec<&[u8]> = split(&whole, self.max_payload_size).collect();
        let seq_len = u32::try_from(pieces.len())
            .ok()
            .filter(|&n| i32::try_from(n).is_ok())
            .ok_or(EncodeError::TooManySegments {
                count: pieces.len(),
            })?;
        let seq_id = SeqId::random(&mut self.rng);
        let mut datagrams = Vec::with_capacity(pieces.len());
        for (seq, piece) in (0..seq_len).zip(pieces) {
            let layer = self.plain(&time, name);
            let meta = Meta::new(seq, seq_len, seq_id.clone(), layer).map_err(|_| {
                EncodeError::TooManySegments {
                    count: seq_len as usize,
                }
            })?;
            let d = Datagram::new(meta, piece).to_vec()?;
            check_size(&d)?;
            datagrams.push(d);
        }
        Ok(Encoded { seq_id, datagrams })
    }
}

fn check_size(datagram: &[u8]) -> Result<(), EncodeError> {
    if datagram.len() > MAX_DATAGRAM_SIZE {
        return Err(EncodeError::DatagramTooLarge {
            len: datagram.len(),
            max: MAX_DATAGRAM_SIZE,
        });
    }
    Ok(())
}

/// An event received from a legacy node.
#[derive(Clone, Debug, PartialEq)]
pub struct LegacyEvent {
    /// The event name and the sender's description, from the meta of the
    /// whole message (for an encrypted one, the decrypted meta).
    pub origin: Origin,
    /// The arguments, as native mode delivers them.
    pub args: Vec<Bson>,
}

impl LegacyEvent {
    /// The event name.
    pub fn name(&self) -> &str {
        &self.origin.name
    }
}

/// What one datagram amounted to.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Incoming {
    /// A complete event.
    Event(LegacyEvent),
    /// A retransmission request.
    Retx {
        /// The requester's meta.
        from: Origin,
        /// The request.
        request: RetxRequest,
    },
    /// A segment, buffered; its message is not complete yet.
    Buffered,
    /// A copy of a segment or message already handled: ignored.
    Duplicate,
    /// Sent by this node (same `id`): ignored, as the original does.
    Own,
    /// Another node's event (or a segment of one) while this node does not
    /// receive events ([`Decoder::set_receiving`]): dropped unread.
    NotReceiving,
}

/// Reads legacy datagrams for one node.
///
/// Feed every datagram to [`decode`](Self::decode), call
/// [`handle_timeout`](Self::handle_timeout) when
/// [`poll_timeout`](Self::poll_timeout) has passed, and send a
/// retransmission request for every [`Timeout::Missing`] it returns.
///
/// Without a cipher, encrypted messages are refused; with one, unencrypted
/// whole messages are refused (a segment's own meta is always plain).
pub struct Decoder {
    own_id: LegacyId,
    cipher: Option<InsecureLegacyCipher>,
    reassembler: Reassembler,
    delivered: Recent,
    receiving: bool,
}

impl Decoder {
    /// A decoder for the node `own_id`, whose own datagrams it ignores.
    pub fn new(own_id: LegacyId, limits: ReassemblyLimits) -> Self {
        let delivered = Recent::new(limits.max_finished, limits.retention());
        Self {
            own_id,
            cipher: None,
            reassembler: Reassembler::new(limits),
            delivered,
            receiving: true,
        }
    }

    /// Whether other nodes' events are read (the default). Off, only
    /// retransmission requests are: every other segment is dropped before
    /// reassembly (a segment's meta names its event, encrypted or not),
    /// every other whole message before its arguments are decoded, and the
    /// partial messages held are forgotten at once.
    pub fn set_receiving(&mut self, on: bool) {
        if self.receiving && !on {
            self.reassembler = Reassembler::new(self.reassembler.limits().clone());
        }
        self.receiving = on;
    }

    /// Whether other nodes' events are read.
    pub fn is_receiving(&self) -> bool {
        self.receiving
    }

    /// Decrypts messages with the original's weak cipher, and refuses
    /// unencrypted ones.
    pub fn with_insecure_cipher(mut self, cipher: InsecureLegacyCipher) -> Self {
        self.cipher = Some(cipher);
        self
    }

    /// The reassembler, for its gauges.
    pub fn reassembler(&self) -> &Reassembler {
        &self.reassembler
    }

    /// Decodes one received datagram. An error means it was dropped, and
    /// why; nothing about it is kept.
    pub fn decode(&mut self, now: Instant, datagram: &[u8]) -> Result<Incoming, LegacyError> {
        let d = Datagram::parse(datagram)?;
        if d.meta().seq_len() == 1 {
            return self.whole(now, d);
        }
        if d.meta().origin().is_some_and(|o| o.id == self.own_id) {
            return Ok(Incoming::Own);
        }
        if !self.receiving && d.meta().origin().is_some_and(|o| o.name != RETX_EVENT) {
            return Ok(Incoming::NotReceiving);
        }
        match self.reassembler.insert(now, d.meta(), d.body())? {
            SegmentOutcome::Complete(whole) => {
                let d = Datagram::parse(&whole)?;
                if d.meta().seq_len() != 1 {
                    return Err(LegacyError::Inconsistent(
                        "a reassembled message is itself a segment",
                    ));
                }
                self.whole(now, d)
            }
            SegmentOutcome::Buffered => Ok(Incoming::Buffered),
            SegmentOutcome::Duplicate => Ok(Incoming::Duplicate),
        }
    }

    /// Handles every reassembly deadline at or before `now`.
    pub fn handle_timeout(&mut self, now: Instant) -> Vec<Timeout> {
        self.reassembler.handle_timeout(now)
    }

    /// When [`handle_timeout`](Self::handle_timeout) should next be called.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.reassembler.poll_timeout()
    }

    /// A whole message: decrypt if need be, then read it.
    fn whole(&mut self, now: Instant, d: Datagram<'_>) -> Result<Incoming, LegacyError> {
        let (meta, body) = d.into_parts();
        match (meta.is_encrypted(), &self.cipher) {
            (false, None) => self.message(now, meta, body),
            (false, Some(_)) => Err(LegacyError::UnencryptedWithKey),
            (true, None) => Err(LegacyError::EncryptedWithoutKey),
            (true, Some(cipher)) => {
                let plain = cipher.decrypt(body)?;
                let (inner, body) = Datagram::parse(&plain)?.into_parts();
                if inner.seq_len() != 1 || inner.is_encrypted() {
                    return Err(LegacyError::Inconsistent(
                        "ciphertext does not hold one plain whole datagram",
                    ));
                }
                self.message(now, inner, body)
            }
        }
    }

    /// A plain whole message: self-filter, duplicates, then the body.
    fn message(&mut self, now: Instant, meta: Meta, body: &[u8]) -> Result<Incoming, LegacyError> {
        let seq_id = meta.seq_id().clone();
        let Some(origin) = meta.into_origin() else {
            return Err(LegacyError::Inconsistent(
                "plain meta without sender fields",
            ));
        };
        if origin.id == self.own_id {
            return Ok(Incoming::Own);
        }
        if !self.receiving && origin.name != RETX_EVENT {
            return Ok(Incoming::NotReceiving);
        }
        let key = (origin.id.as_str().len() <= MAX_ID_LEN).then(|| MessageKey {
            sender: origin.id.clone(),
            seq_id,
        });
        if let Some(key) = &key {
            if self.delivered.contains(now, key) {
                return Ok(Incoming::Duplicate);
            }
        }
        let incoming = if origin.name == RETX_EVENT {
            let request = RetxRequest::decode_body(body)?;
            Incoming::Retx {
                from: origin,
                request,
            }
        } else {
            let args = decode_args(body)?;
            Incoming::Event(LegacyEvent { origin, args })
        };
        if let Some(key) = key {
            self.delivered.insert(now, key);
        }
        Ok(incoming)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn identity(id: &str) -> LegacyIdentity {
        LegacyIdentity {
            id: LegacyId::new(id),
            host: "127.0.0.1".into(),
            port: 41500,
            hostname: "vm".into(),
        }
    }

    fn encoder(size: usize) -> Encoder {
        Encoder::new(
            identity("a"),
            NonZeroUsize::new(size).unwrap_or(NonZeroUsize::MIN),
            [1; 32],
        )
    }

    fn decoder() -> Decoder {
        Decoder::new(LegacyId::new("b"), ReassemblyLimits::default())
    }

    #[test]
    fn seeded_and_deterministic() {
        let t = DateTime::from_millis(0);
        let a = encoder(64).encode_event(t, "e", &["x".into()]).unwrap();
        let b = encoder(64).encode_event(t, "e", &["x".into()]).unwrap();
        assert_eq!(a, b);
        let mut e = encoder(64);
        let first = e.encode_event(t, "e", &["x".into()]).unwrap();
        let second = e.encode_event(t, "e", &["x".into()]).unwrap();
        assert_ne!(first.seq_id, second.seq_id);
    }

    #[test]
    fn a_body_encoded_beforehand_gives_the_same_datagrams() {
        let t = DateTime::from_millis(0);
        let args = ["x".repeat(200).into(), 5.into()];
        let body = EventBody::encode(&args).unwrap();
        assert_eq!(
            encoder(64).encode_event(t, "e", &args).unwrap(),
            encoder(64).encode_event_body(t, "e", &body).unwrap()
        );
        assert_eq!(
            encoder(64).encode_event_body(t, RETX_EVENT, &body),
            Err(EncodeError::ReservedName)
        );
    }

    #[test]
    fn segments_only_above_max_payload_size() {
        let t = DateTime::from_millis(0);
        let whole = encoder(65_507).encode_event(t, "e", &[]).unwrap();
        let len = whole.datagrams[0].len();
        assert!(!encoder(len)
            .encode_event(t, "e", &[])
            .unwrap()
            .is_segmented());
        let cut = encoder(len - 1).encode_event(t, "e", &[]).unwrap();
        assert_eq!(cut.datagrams.len(), 2);
    }

    #[test]
    fn duplicates_and_own_messages_are_not_delivered() {
        let t = Instant::now();
        let sent = encoder(1024)
            .encode_event(DateTime::from_millis(0), "e", &[1.into()])
            .unwrap();
        let mut d = decoder();
        assert!(matches!(
            d.decode(t, &sent.datagrams[0]),
            Ok(Incoming::Event(_))
        ));
        assert_eq!(d.decode(t, &sent.datagrams[0]), Ok(Incoming::Duplicate));
        let mut own = Decoder::new(LegacyId::new("a"), ReassemblyLimits::default());
        assert_eq!(own.decode(t, &sent.datagrams[0]), Ok(Incoming::Own));
    }

    #[test]
    fn refuses_what_it_cannot_send() {
        let t = DateTime::from_millis(0);
        assert_eq!(
            encoder(1024).encode_event(t, RETX_EVENT, &[]),
            Err(EncodeError::ReservedName)
        );
        let big = Bson::Binary(bson::Binary {
            subtype: bson::spec::BinarySubtype::Generic,
            bytes: vec![0; 70_000],
        });
        assert!(matches!(
            encoder(usize::MAX).encode_event(t, "e", std::slice::from_ref(&big)),
            Err(EncodeError::DatagramTooLarge { .. })
        ));
        // segmented, the same argument is fine
        let sent = encoder(1024).encode_event(t, "e", &[big]).unwrap();
        assert!(sent.datagrams.iter().all(|d| d.len() <= MAX_DATAGRAM_SIZE));
        assert!(matches!(
            encoder(1024).encode_event(t, &"n".repeat(70_000), &[]),
            Err(EncodeError::MetaTooLarge { .. })
        ));
    }

    #[test]
    fn encrypted_segments_carry_a_fresh_nonce_each() {
        let mut e = encoder(64).with_insecure_cipher(InsecureLegacyCipher::from_passphrase("k"));
        let sent = e
            .encode_event(DateTime::from_millis(0), "e", &["y".repeat(300).into()])
            .unwrap();
        let mut nonces = std::collections::BTreeSet::new();
        for d in &sent.datagrams {
            let d = Datagram::parse(d).unwrap();
            assert!(!d.meta().is_encrypted());
            let Layer::Plain { nonce: Some(n), .. } = d.meta().layer() else {
                panic!("no nonce")
            };
            assert!(nonces.insert(n.clone()));
        }
    }
}
