//! The captures of eventcast 0.1.2 (`tests/vectors/eventcast-0.1.2`): every
//! datagram decodes to exactly the listed events, and what our encoder
//! produces for the same events has the same layers, with the same meta
//! fields, BSON types, order and values (but for `seqId`, `time` and
//! `nonce`), the same lengths, and byte-identical bodies.
#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns

use std::num::NonZeroUsize;
use std::time::{Duration, Instant};

use bson::spec::ElementType;
use bson::{Bson, DateTime, Document, RawDocument};
use eventcast_proto::legacy::{
    shape, Datagram, Decoder, Encoder, Incoming, InsecureLegacyCipher, LegacyError, LegacyEvent,
    LegacyId, LegacyIdentity, ReassemblyLimits, RetxRequest, SeqId, Timeout,
};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Deserialize;

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/vectors/eventcast-0.1.2");

/// A node id that is not the captures' sender.
const RECEIVER: &str = "fedcba9876543210";

#[derive(Deserialize)]
struct Vector {
    key: Option<String>,
    max_payload_size: usize,
    events: Vec<JsonEvent>,
    sender_id: String,
    port: u16,
    packets: Vec<String>,
}

#[derive(Deserialize)]
struct JsonEvent {
    name: String,
    args: serde_json::Value,
}

impl Vector {
    fn load(name: &str) -> Self {
        let path = format!("{DIR}/{name}.json");
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        serde_json::from_str(&text).unwrap()
    }

    fn packets(&self) -> Vec<Vec<u8>> {
        self.packets
            .iter()
            .map(|p| hex::decode(p).unwrap())
            .collect()
    }

    /// The listed events: name and args, the Extended JSON read as BSON.
    fn events(&self) -> Vec<(String, Bson)> {
        self.events
            .iter()
            .map(|e| (e.name.clone(), Bson::try_from(e.args.clone()).unwrap()))
            .collect()
    }

    fn cipher(&self) -> Option<InsecureLegacyCipher> {
        self.key.as_ref().map(InsecureLegacyCipher::from_passphrase)
    }

    fn decoder(&self) -> Decoder {
        let d = Decoder::new(LegacyId::new(RECEIVER), ReassemblyLimits::default());
        match self.cipher() {
            Some(c) => d.with_insecure_cipher(c),
            None => d,
        }
    }

    fn encoder(&self, host: &str, seed: u8) -> Encoder {
        let identity = LegacyIdentity {
            id: LegacyId::new(self.sender_id.clone()),
            host: host.into(),
            port: self.port,
            hostname: "vm".into(),
        };
        let size = NonZeroUsize::new(self.max_payload_size).unwrap();
        let e = Encoder::new(identity, size, [seed; 32]);
        match self.cipher() {
            Some(c) => e.with_insecure_cipher(c),
            None => e,
        }
    }
}

fn now() -> Instant {
    Instant::now()
}

/// Feeds datagrams and collects the events, checking that everything else
/// was buffered or a duplicate.
fn decode_all(decoder: &mut Decoder, t: Instant, packets: &[Vec<u8>]) -> Vec<(String, Bson)> {
    let mut out = Vec::new();
    for p in packets {
        match decoder.decode(t, p).unwrap() {
            Incoming::Event(LegacyEvent { origin, args }) => {
                out.push((origin.name, Bson::Array(args)))
            }
            Incoming::Buffered | Incoming::Duplicate => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    out
}

fn check_event_origin(v: &Vector, packets: &[Vec<u8>]) {
    let mut d = v.decoder();
    for p in packets {
        if let Incoming::Event(e) = d.decode(now(), p).unwrap() {
            assert_eq!(e.origin.id.as_str(), v.sender_id);
            assert_eq!(e.origin.host, "127.0.0.1");
            assert_eq!(e.origin.port, v.port);
            assert_eq!(e.origin.hostname, "vm");
        }
    }
}

#[test]
fn plain_datagrams_decode_to_the_listed_events() {
    let v = Vector::load("plain");
    let got = decode_all(&mut v.decoder(), now(), &v.packets());
    assert_eq!(got, v.events());
    check_event_origin(&v, &v.packets());
}

#[test]
fn the_many_types_map_to_the_native_values() {
    let v = Vector::load("plain");
    let got = decode_all(&mut v.decoder(), now(), &v.packets());
    let (_, Bson::Array(args)) = &got[2] else {
        panic!()
    };
    use ElementType::*;
    let types: Vec<_> = args.iter().map(Bson::element_type).collect();
    assert_eq!(
        types,
        [
            EmbeddedDocument,
            Array,
            Null,
            String,
            Int32,
            Double,
            Boolean,
            DateTime,
            RegularExpression
        ]
    );
    // native mode delivers the same values for the same arguments
    let native = eventcast_proto::encode_body("many", args).unwrap();
    assert_eq!(&eventcast_proto::decode_body(&native).unwrap().1, args);
}

#[test]
fn encrypted_datagrams_decrypt_to_the_listed_events() {
    let v = Vector::load("enc");
    let got = decode_all(&mut v.decoder(), now(), &v.packets());
    assert_eq!(got, v.events());
    check_event_origin(&v, &v.packets());
}

#[test]
fn encrypted_datagrams_need_the_right_key() {
    let v = Vector::load("enc");
    let mut no_key = Decoder::new(LegacyId::new(RECEIVER), ReassemblyLimits::default());
    let wrong = Decoder::new(LegacyId::new(RECEIVER), ReassemblyLimits::default());
    let mut wrong = wrong.with_insecure_cipher(InsecureLegacyCipher::from_passphrase("NSA-KEY2"));
    for p in v.packets() {
        assert_eq!(
            no_key.decode(now(), &p),
            Err(LegacyError::EncryptedWithoutKey)
        );
        assert!(wrong.decode(now(), &p).is_err());
    }
    // and a node with a key refuses unencrypted messages
    let plain = Vector::load("plain");
    let mut with_key = v.decoder();
    for p in plain.packets() {
        assert_eq!(
            with_key.decode(now(), &p),
            Err(LegacyError::UnencryptedWithKey)
        );
    }
}

/// `n` indexes in a seeded random order, with a few duplicates spliced in.
fn shuffled_with_duplicates(n: usize, seed: u64) -> Vec<usize> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut order: Vec<usize> = (0..n).collect();
    order.shuffle(&mut rng);
    for _ in 0..rng.random_range(0..=n) {
        let dup = rng.random_range(0..n);
        let at = rng.random_range(0..=order.len());
        order.insert(at, dup);
    }
    order
}

fn check_segmented(name: &str) {
    let v = Vector::load(name);
    let packets = v.packets();
    assert!(packets.len() > 1);
    // in send order, in reverse, and shuffled with duplicates
    let mut orders = vec![
        (0..packets.len()).collect::<Vec<_>>(),
        (0..packets.len()).rev().collect(),
    ];
    orders.extend((0..20).map(|seed| shuffled_with_duplicates(packets.len(), seed)));
    for order in orders {
        let mut d = v.decoder();
        let t = now();
        let mut events = Vec::new();
        for (n, &i) in order.iter().enumerate() {
            match d.decode(t, &packets[i]).unwrap() {
                Incoming::Event(e) => {
                    events.push((e.origin.name.clone(), Bson::Array(e.args.clone())));
                    assert_eq!(e.origin.id.as_str(), v.sender_id);
                }
                Incoming::Buffered => assert!(events.is_empty(), "buffered after completion"),
                Incoming::Duplicate => assert!(order[..n].contains(&i)),
                other => panic!("unexpected {other:?}"),
            }
        }
        assert_eq!(events, v.events(), "order {order:?}");
        assert_eq!(d.reassembler().partial_messages(), 0);
        assert_eq!(d.reassembler().partial_bytes(), 0);
        assert_eq!(d.poll_timeout(), None);
        // copies arriving after completion deliver nothing again
        for p in &packets {
            assert_eq!(d.decode(t, p).unwrap(), Incoming::Duplicate);
        }
    }
}

#[test]
fn segmented_datagrams_reassemble_in_any_order() {
    check_segmented("seg");
}

#[test]
fn encrypted_segmented_datagrams_reassemble_in_any_order() {
    check_segmented("encseg");
}

#[test]
fn retransmission_request_decodes() {
    let v = Vector::load("nack");
    let [(name, args)] = &v.events()[..] else {
        panic!()
    };
    assert_eq!(name, "__ec_retx");
    let [p] = &v.packets()[..] else { panic!() };
    let Incoming::Retx { from, request } = v.decoder().decode(now(), p).unwrap() else {
        panic!()
    };
    assert_eq!(from.name, "__ec_retx");
    assert_eq!(from.host, "192.0.2.2");
    assert_eq!(from.port, 41500);
    assert_eq!(Bson::Document(request.to_payload()), *args);
    assert_eq!(request, RetxRequest::from_payload(args).unwrap());
    assert_eq!(request.missed_seq, [2, 5]);
}

#[test]
fn lost_segments_yield_the_captured_request() {
    // seg.json without segments 2 and 5: the request our reassembler asks
    // for is the one nack.json holds (same id, seqId, indexes, address).
    let seg = Vector::load("seg");
    let nack = Vector::load("nack");
    let mut d = seg.decoder();
    let t = now();
    for (i, p) in seg.packets().iter().enumerate() {
        if i != 2 && i != 5 {
            assert_eq!(d.decode(t, p).unwrap(), Incoming::Buffered);
        }
    }
    let ttl = ReassemblyLimits::default().message_ttl;
    assert_eq!(d.poll_timeout(), Some(t + ttl));
    let out = d.handle_timeout(t + ttl);
    let [Timeout::Missing(m)] = &out[..] else {
        panic!("{out:?}")
    };
    let captured = RetxRequest::from_payload(&nack.events()[0].1).unwrap();
    assert_eq!(m.request(), captured);
    // the retransmitted segments complete the message
    let packets = seg.packets();
    assert_eq!(d.decode(t + ttl, &packets[5]).unwrap(), Incoming::Buffered);
    let Incoming::Event(e) = d.decode(t + ttl, &packets[2]).unwrap() else {
        panic!()
    };
    assert_eq!(
        (e.origin.name.clone(), Bson::Array(e.args)),
        seg.events()[0]
    );
}

#[test]
fn own_datagrams_are_filtered() {
    for name in ["plain", "enc", "seg", "encseg"] {
        let v = Vector::load(name);
        let d = Decoder::new(
            LegacyId::new(v.sender_id.clone()),
            ReassemblyLimits::default(),
        );
        let mut d = match v.cipher() {
            Some(c) => d.with_insecure_cipher(c),
            None => d,
        };
        for p in v.packets() {
            assert_eq!(d.decode(now(), &p).unwrap(), Incoming::Own, "{name}");
        }
    }
}

// ---------------------------------------------------------------------
// Our encoder against the captures

/// One layer of a message: its meta's shape, the meta with the varying
/// values blanked, and its body's length, plus the body itself for the
/// innermost layer.
#[derive(Debug, PartialEq)]
struct LayerView {
    shape: Vec<(String, ElementType)>,
    meta: Document,
    body_len: usize,
    body: Option<Vec<u8>>,
}

fn view(d: &Datagram<'_>, raw: &[u8], innermost: bool) -> LayerView {
    let meta_len = usize::from(u16::from_be_bytes([raw[0], raw[1]]));
    let doc = RawDocument::from_bytes(&raw[2..2 + meta_len]).unwrap();
    let mut meta = Document::try_from(doc).unwrap();
    for varying in ["seqId", "time", "nonce"] {
        if meta.contains_key(varying) {
            meta.insert(varying, "<varies>");
        }
    }
    LayerView {
        shape: shape(doc).unwrap(),
        meta,
        body_len: d.body().len(),
        body: innermost.then(|| d.body().to_vec()),
    }
}

/// Every layer of one message given as its datagrams: the segments (if
/// any), the whole, and the decrypted inner datagram (if encrypted).
fn layers(datagrams: &[Vec<u8>], cipher: Option<&InsecureLegacyCipher>) -> Vec<LayerView> {
    let mut out = Vec::new();
    let first = Datagram::parse(&datagrams[0]).unwrap();
    let whole = if first.meta().seq_len() > 1 {
        assert_eq!(datagrams.len() as u32, first.meta().seq_len());
        let mut pieces = Vec::new();
        for raw in datagrams {
            let d = Datagram::parse(raw).unwrap();
            out.push(view(&d, raw, false));
            pieces.push((d.meta().seq(), d.body().to_vec()));
        }
        pieces.sort_by_key(|(seq, _)| *seq);
        pieces.into_iter().flat_map(|(_, b)| b).collect()
    } else {
        assert_eq!(datagrams.len(), 1);
        datagrams[0].clone()
    };
    let d = Datagram::parse(&whole).unwrap();
    if d.meta().is_encrypted() {
        out.push(view(&d, &whole, false));
        let plain = cipher.unwrap().decrypt(d.body()).unwrap();
        let inner = Datagram::parse(&plain).unwrap();
        out.push(view(&inner, &plain, true));
    } else {
        out.push(view(&d, &whole, true));
    }
    out
}

/// The captured datagrams of each listed event, one message at a time.
fn captured_messages(v: &Vector) -> Vec<Vec<Vec<u8>>> {
    let packets = v.packets();
    let first = Datagram::parse(&packets[0]).unwrap();
    if first.meta().seq_len() > 1 {
        vec![packets]
    } else {
        packets.into_iter().map(|p| vec![p]).collect()
    }
}

fn our_messages(v: &Vector, host: &str) -> Vec<Vec<Vec<u8>>> {
    let mut enc = v.encoder(host, 1);
    let time = DateTime::from_millis(1_795_238_379_911);
    v.events()
        .into_iter()
        .map(|(name, args)| {
            let encoded = if name == "__ec_retx" {
                enc.encode_retx(time, &RetxRequest::from_payload(&args).unwrap())
            } else {
                let Bson::Array(args) = args else { panic!() };
                enc.encode_event(time, &name, &args)
            };
            encoded.unwrap().datagrams
        })
        .collect()
}

fn check_encoder_like_capture(name: &str, host: &str) {
    let v = Vector::load(name);
    let captured = captured_messages(&v);
    let ours = our_messages(&v, host);
    assert_eq!(ours.len(), captured.len());
    for (o, c) in ours.iter().zip(&captured) {
        assert_eq!(
            o.iter().map(Vec::len).collect::<Vec<_>>(),
            c.iter().map(Vec::len).collect::<Vec<_>>(),
            "{name}: datagram lengths"
        );
        assert_eq!(
            layers(o, v.cipher().as_ref()),
            layers(c, v.cipher().as_ref()),
            "{name}"
        );
    }
    // and decodes to the listed events
    if name != "nack" {
        let mut d = v.decoder();
        let got = decode_all(&mut d, now(), &ours.concat());
        assert_eq!(got, v.events(), "{name}");
    }
}

#[test]
fn encoder_matches_plain_capture() {
    check_encoder_like_capture("plain", "127.0.0.1");
}

#[test]
fn encoder_matches_encrypted_capture() {
    check_encoder_like_capture("enc", "127.0.0.1");
}

#[test]
fn encoder_matches_segmented_capture() {
    check_encoder_like_capture("seg", "127.0.0.1");
}

#[test]
fn encoder_matches_encrypted_segmented_capture() {
    check_encoder_like_capture("encseg", "127.0.0.1");
}

#[test]
fn encoder_matches_retransmission_capture() {
    check_encoder_like_capture("nack", "192.0.2.2");
    let v = Vector::load("nack");
    let ours = &our_messages(&v, "192.0.2.2")[0];
    let Incoming::Retx { request, .. } = v.decoder().decode(now(), &ours[0]).unwrap() else {
        panic!()
    };
    assert_eq!(
        request,
        RetxRequest::from_payload(&v.events()[0].1).unwrap()
    );
}

#[test]
fn captured_metas_have_the_documented_shape() {
    use ElementType::{Boolean as B, Int32 as I, String as S};
    let fixed = [
        ("v", I),
        ("seq", I),
        ("seqLen", I),
        ("seqId", S),
        ("seqEnd", B),
        ("enc", B),
    ];
    let sender = [
        ("name", S),
        ("host", S),
        ("port", I),
        ("hostname", S),
        ("id", S),
        ("time", S),
    ];
    let owned = |f: &[(&str, ElementType)]| -> Vec<(String, ElementType)> {
        f.iter().map(|(k, t)| (k.to_string(), *t)).collect()
    };
    let plain = owned(&[&fixed[..], &sender[..]].concat());
    let with_nonce = owned(&[&fixed[..], &[("nonce", S)], &sender[..]].concat());
    let encrypted = owned(&fixed);
    let expect = |name: &str| -> Vec<Vec<(String, ElementType)>> {
        match name {
            "plain" | "nack" => vec![plain.clone()],
            "seg" => vec![plain.clone(); 10],
            "enc" => vec![encrypted.clone(), with_nonce.clone()],
            "encseg" => [
                vec![with_nonce.clone(); 12],
                vec![encrypted.clone(), with_nonce.clone()],
            ]
            .concat(),
            _ => unreachable!(),
        }
    };
    for name in ["plain", "nack", "seg", "enc", "encseg"] {
        let v = Vector::load(name);
        for m in captured_messages(&v) {
            let shapes: Vec<_> = layers(&m, v.cipher().as_ref())
                .into_iter()
                .map(|l| l.shape)
                .collect();
            assert_eq!(shapes, expect(name), "{name}");
        }
    }
}

#[test]
fn a_request_for_segments_is_answered_from_the_store() {
    use eventcast_proto::legacy::SentStore;
    let v = Vector::load("seg");
    let mut enc = v.encoder("127.0.0.1", 3);
    let t = now();
    let (name, Bson::Array(args)) = v.events().remove(0) else {
        panic!()
    };
    let sent = enc
        .encode_event(DateTime::from_millis(0), &name, &args)
        .unwrap();
    let mut store = SentStore::new(Duration::from_secs(30), 1 << 20, 2);
    store.insert(t, &sent);
    let req = RetxRequest {
        id: LegacyId::new(v.sender_id.clone()),
        seq_id: sent.seq_id.clone(),
        missed_seq: vec![2, 5],
        host: "127.0.0.1".into(),
        port: v.port,
    };
    let again = store.resend(&req);
    assert_eq!(
        again,
        [sent.datagrams[2].clone(), sent.datagrams[5].clone()]
    );
    assert!(SeqId::parse(sent.seq_id.as_str()).is_some());
}
