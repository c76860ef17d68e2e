//! What the fuzz targets in `fuzz/` run, and the regression tests replay.
//! Not part of the API: hidden, unstable, for this repository's tools only.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use crate::crypto::{seal, Encryption, Handshake, InsecureSeededNonces, Key, Keyring};
use crate::wire::{Answer, Challenge, DataFrame, PacketNumber, SealedFrame, SealedHeader, Status};
use bson::Bson;

use crate::args::decode_received_as;
use crate::flat::LastFlat;
use crate::{decode_body, encode_body, Config, Endpoint, SenderId};

/// The decoder target: every datagram that parses is written back to the
/// same bytes, and parses again to the same frame. Bodies never panic.
pub fn packet(data: &[u8]) {
    if let Ok(frame) = DataFrame::parse(data) {
        let mut out = Vec::new();
        frame.write(&mut out);
        assert_eq!(out, data, "data frame does not write back to its bytes");
        assert_eq!(DataFrame::parse(&out), Ok(frame));
        let _ = decode_body(frame.payload());
    }
    if let Ok(frame) = Challenge::parse(data) {
        let mut out = Vec::new();
        frame.write(&mut out);
        assert_eq!(out, data, "challenge does not write back to its bytes");
    }
    if let Ok(frame) = Answer::parse(data) {
        let mut out = Vec::new();
        frame.write(&mut out);
        assert_eq!(out, data, "answer does not write back to its bytes");
        assert_eq!(Answer::parse(&out), Ok(frame));
    }
    if let Ok(frame) = Status::parse(data) {
        let mut out = Vec::new();
        frame.write(&mut out);
        assert_eq!(out, data, "status does not write back to its bytes");
    }
    if let Ok(frame) = SealedFrame::parse(data) {
        let mut out = Vec::new();
        frame.write(&mut out);
        assert_eq!(out, data, "sealed frame does not write back to its bytes");
        assert_eq!(SealedFrame::parse(&out), Ok(frame));
    }
    let _ = decode_body(data);
    shape_known(data);
}

/// A body whose shape a receiver knows from the body before reads as it
/// reads alone (`flat.rs`): `data` as the rest of a body that starts with
/// a remembered body's head and is as long (the bytes the remembered
/// shape leaves to be read), and `data` itself.
fn shape_known(data: &[u8]) {
    let first =
        encode_body("fuzz", &[Bson::String("abcd".into()), Bson::Int32(1)]).expect("encodable");
    let received = |body: Vec<u8>, last: Option<&mut Option<LastFlat<String>>>| {
        decode_received_as(body, last, str::to_owned, |n, a| {
            (n, format!("{:?}", a.as_slice()))
        })
    };
    let mut last = None;
    received(first.clone(), Some(&mut last)).expect("a flat body");
    let head = last.as_ref().map_or(0, LastFlat::head_len);
    let mut same_head = first[..head].to_vec();
    same_head.extend(
        data.iter()
            .copied()
            .chain(std::iter::repeat(0))
            .take(first.len() - head),
    );
    for body in [same_head, data.to_vec()] {
        let mut last = None;
        received(first.clone(), Some(&mut last)).expect("a flat body");
        let known = received(body.clone(), Some(&mut last)).ok();
        assert_eq!(
            known,
            received(body, None).ok(),
            "read otherwise with the shape known"
        );
    }
}

/// The key the endpoint target's encrypted node and insider share.
pub const FUZZ_KEY: [u8; 16] = [0x42; 16];

/// Handshake limits small enough for a fuzzer to reach them.
pub fn small_handshake() -> Handshake {
    Handshake {
        max_held_per_sender: 8,
        max_held_bytes: 16 * 1024,
        ..Handshake::default()
    }
}

/// Limits small enough for a fuzzer to reach them.
pub fn small_config() -> Config {
    Config {
        max_payload_size: 64,
        message_ttl: Duration::from_millis(500),
        max_message_size: 4096,
        max_partial_bytes: 32 * 1024,
        max_partial_bytes_per_sender: 16 * 1024,
        max_partial_messages_per_sender: 4,
        max_senders: 16,
        ..Config::default()
    }
}

/// `body` cut into pieces at up to 8 offsets read from `bytes` (each byte
/// a 256th of the body), shared as `emit_body_pieces` takes them.
fn cut_at(body: &[u8], bytes: &[u8]) -> Vec<std::sync::Arc<Vec<u8>>> {
    let mut cuts: Vec<usize> = bytes
        .iter()
        .take(8)
        .map(|&b| usize::from(b) * body.len() / 256)
        .collect();
    cuts.sort_unstable();
    let mut pieces = Vec::new();
    let mut from = 0;
    for at in cuts.into_iter().chain([body.len()]) {
        pieces.push(std::sync::Arc::new(body[from..at].to_vec()));
        from = at;
    }
    pieces
}

/// The endpoint target. The input is a sequence of records
/// `[kind] [len: u16 BE] [len bytes]`: kind 0 feeds the bytes to a plaintext
/// endpoint and two encrypted ones (one with the handshake, one without) as
/// a datagram; kind 1 has an insider (who holds the key) seal the bytes as
/// an inner datagram, with the record's first 16 bytes as sender id and
/// packet number, and feeds the sealed datagram to both encrypted
/// endpoints; kind 2 moves time on by `len` ms. The plaintext and the
/// handshake endpoints each have a message of ten segments queued in parts
/// (the first two now, three more each time time moves on), so that what
/// arrives (NACKs, statuses) meets a body not all there yet; once it is
/// whole, the next time move queues a message of six segments in pieces
/// cut where that record's first bytes say (`emit_body_pieces`), so that
/// repairs meet segments that span pieces.
/// After each record, every gauge is within the configured limits, and
/// `live_bytes()` (the caller's count of heap bytes in use) stays under a
/// bound derived from them.
pub fn endpoint(data: &[u8], live_bytes: impl Fn() -> usize) {
    let config = small_config();
    let base = live_bytes();
    let t0 = Instant::now();
    let from = SocketAddr::from(([192, 0, 2, 1], 4000));
    let key = Key::from_bytes(FUZZ_KEY);
    let mut plain = Endpoint::new(config.clone(), SenderId::new(1)).expect("valid config");
    let handshake = small_handshake();
    let encryption = Encryption::new(
        Keyring::with_primary(key.clone()),
        InsecureSeededNonces::new(1),
    )
    .handshake(handshake);
    let mut sealed =
        Endpoint::with_encryption(config.clone(), SenderId::new(2), encryption).expect("valid");
    let one_way = Encryption::new(
        Keyring::with_primary(key.clone()),
        InsecureSeededNonces::new(2),
    )
    .danger_skip_handshake(true);
    let mut unchallenged =
        Endpoint::with_encryption(config.clone(), SenderId::new(1 << 40), one_way).expect("valid");
    let insider = Keyring::with_primary(key);
    let segment = config.max_payload_size;
    let text = bson::Bson::String("p".repeat(10 * segment - 40));
    let body = encode_body("parts", &[text]).expect("encodes");
    let (first, rest) = body.split_at(2 * segment);
    let open = [&mut plain, &mut sealed].map(|e| {
        e.emit_body_start(body.len(), first.to_vec())
            .expect("a valid first part")
    });
    let mut parts = rest.chunks(3 * segment);
    let binary = bson::Binary {
        subtype: bson::spec::BinarySubtype::Generic,
        bytes: vec![0x5a; 6 * segment - 40],
    };
    let in_pieces = encode_body("pieces", &[Bson::Binary(binary)]).expect("encodes");
    let mut pieces_queued = false;
    let mut now = t0;
    let mut rest = data;
    while let [kind, hi, lo, tail @ ..] = rest {
        let len = usize::from(u16::from_be_bytes([*hi, *lo])).min(tail.len());
        let (bytes, next) = tail.split_at(len);
        rest = next;
        match kind % 3 {
            0 => {
                plain.handle_datagram(now, from, bytes);
                sealed.handle_datagram(now, from, bytes);
                unchallenged.handle_datagram(now, from, bytes);
            }
            1 => {
                let word = |at: usize| {
                    let mut b = [0u8; 8];
                    for (i, x) in bytes.iter().skip(at).take(8).enumerate() {
                        b[i] = *x;
                    }
                    u64::from_be_bytes(b)
                };
                let header = SealedHeader {
                    key_id: insider.primary().expect("a key").id(),
                    sender: SenderId::new(word(0) % 64 + 3),
                    packet: PacketNumber::new(word(8) % 8192),
                    nonce: [7; 12],
                };
                let inner = bytes.get(16..).unwrap_or_default();
                let mut datagram = crate::wire::MAGIC.to_vec();
                datagram.push(crate::wire::VERSION);
                datagram.extend_from_slice(inner);
                if let Some(d) = seal::seal_with(&insider, &header, &datagram) {
                    sealed.handle_datagram(now, from, &d);
                    unchallenged.handle_datagram(now, from, &d);
                }
            }
            _ => {
                if let Some(part) = parts.next() {
                    for (e, seq) in [&mut plain, &mut sealed].into_iter().zip(open) {
                        e.emit_body_part(seq, part.to_vec()).expect("a valid part");
                    }
                } else if !pieces_queued {
                    pieces_queued = true;
                    let pieces = cut_at(&in_pieces, bytes);
                    for e in [&mut plain, &mut sealed] {
                        match e.emit_body_pieces(pieces.clone()) {
                            Ok(_) | Err(crate::EmitError::QueueFull { .. }) => {}
                            Err(e) => panic!("valid pieces refused: {e}"),
                        }
                    }
                }
                now += Duration::from_millis(len as u64);
                plain.handle_timeout(now);
                sealed.handle_timeout(now);
                unchallenged.handle_timeout(now);
            }
        }
        for e in [&mut plain, &mut sealed, &mut unchallenged] {
            while e.poll_event().is_some() {}
            let mut buf = Vec::new();
            while e.poll_transmit(now, &mut buf).is_some() {}
            let s = e.stats();
            assert!(
                s.handshake_held_bytes <= handshake.max_held_bytes as u64,
                "{s:?}"
            );
            assert!(s.partial_bytes <= config.max_partial_bytes as u64, "{s:?}");
            assert!(s.senders <= config.max_senders as u64, "{s:?}");
            assert!(s.replay_senders <= config.max_senders as u64, "{s:?}");
            assert!(
                s.partial_messages
                    <= (config.max_senders * config.max_partial_messages_per_sender) as u64,
                "{s:?}"
            );
        }
        // Three endpoints' budgets and what one holds for the handshake,
        // plus a fixed allowance for their maps, windows and queues.
        let bound = 3 * config.max_partial_bytes + handshake.max_held_bytes + 1024 * 1024;
        let live = live_bytes().saturating_sub(base);
        assert!(live <= bound, "{live} heap bytes in use, bound {bound}");
    }
}
