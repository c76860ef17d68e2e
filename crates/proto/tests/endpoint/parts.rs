//! A body queued in parts (`Endpoint::emit_body_start`, `emit_body_part`)
//! goes out as the same datagrams as the whole body, each part's segments
//! as soon as it is there, and holds the messages after it until it is
//! whole; parts that do not fit are refused. A body in pieces
//! (`emit_body_pieces`) goes out as the same datagrams, its pieces shared.
#![allow(clippy::unwrap_used)]

use eventcast_proto::wire::{Nack, NackEntry};
use eventcast_proto::{EmitError, Endpoint, SenderId, Timer};

use crate::common::*;

const SEGMENT: usize = 100;

/// `body` cut at `cuts` (offsets, ascending).
fn cut(body: &[u8], cuts: &[usize]) -> Vec<Vec<u8>> {
    let mut parts = Vec::new();
    let mut from = 0;
    for &at in cuts.iter().chain([&body.len()]) {
        parts.push(body[from..at].to_vec());
        from = at;
    }
    parts
}

/// The datagrams of `body` queued whole by sender 1, its first message.
fn sent_whole(body: &[u8]) -> Vec<Vec<u8>> {
    let mut whole = endpoint(config(SEGMENT), 1);
    whole.emit_body(body.to_vec()).unwrap();
    transmits(&mut whole)
}

#[test]
fn a_body_in_parts_goes_out_as_the_whole_body_does_part_by_part() {
    let body = body_of_len(1050);
    let expected = sent_whole(&body);
    assert_eq!(expected.len(), 11);

    let mut parted = endpoint(config(SEGMENT), 1);
    let mut parts = cut(&body, &[300, 800]).into_iter();
    let seq = parted
        .emit_body_start(body.len(), parts.next().unwrap())
        .unwrap();
    // A message queued now waits for the whole body.
    parted.emit(t0(), "after", &[]).unwrap();
    let mut got = transmits(&mut parted);
    assert_eq!(got, expected[..3], "the first part's segments alone");
    // Waiting for the next part is not a deadline: handing it over is
    // what wakes the driver (else it would spin on a pacing timer).
    assert!(
        parted
            .next_timer()
            .is_none_or(|(_, kind)| kind != Timer::Pacing),
        "{:?}",
        parted.next_timer()
    );
    parted.emit_body_part(seq, parts.next().unwrap()).unwrap();
    got.extend(transmits(&mut parted));
    assert_eq!(got, expected[..8]);
    parted.emit_body_part(seq, parts.next().unwrap()).unwrap();
    got.extend(transmits(&mut parted));
    assert_eq!(got.len(), 12, "the whole body, then the message after it");
    assert_eq!(got[..11], expected);

    // A receiver puts it together as any other.
    let mut peer = endpoint(reassembly_only(SEGMENT), 2);
    for d in &got {
        peer.handle_datagram(at(0), addr(1), d);
    }
    let names: Vec<_> = messages(&mut peer)
        .into_iter()
        .map(|m| m.name.to_string())
        .collect();
    assert_eq!(names, ["x", "after"]);
    assert_eq!(parted.stats().messages_sent, 2);
}

#[test]
fn a_body_whole_in_its_first_part_is_queued_as_a_whole_body() {
    let body = body_of_len(250);
    let mut e = endpoint(config(SEGMENT), 1);
    e.emit_body_start(body.len(), body.clone()).unwrap();
    assert_eq!(transmits(&mut e).len(), 3);
}

fn malformed(result: Result<impl std::fmt::Debug, EmitError>) {
    assert!(
        matches!(result, Err(EmitError::Encode(_))),
        "refused as malformed: {result:?}"
    );
}

#[test]
fn parts_that_do_not_fit_are_refused() {
    let body = body_of_len(1050);
    let mut e = endpoint(config(SEGMENT), 1);
    // Not whole segments, or not the body's length at its start.
    malformed(e.emit_body_start(body.len(), body[..150].to_vec()));
    malformed(e.emit_body_start(body.len() + 1, body[..200].to_vec()));
    malformed(e.emit_body_start(body.len(), Vec::new()));
    assert!(matches!(
        e.emit_body_start(2 << 20, {
            let mut first = vec![0; 200];
            first[..4].copy_from_slice(&(2i32 << 20).to_le_bytes());
            first
        }),
        Err(EmitError::MessageTooLarge { .. })
    ));
    assert_eq!(e.stats().messages_sent, 0);

    let seq = e.emit_body_start(body.len(), body[..200].to_vec()).unwrap();
    malformed(e.emit_body_part(seq, body[200..250].to_vec()));
    malformed(e.emit_body_part(seq, body[200..].repeat(2)));
    malformed(e.emit_body_part(seq, Vec::new()));
    // The rest, whose last byte is not a document's end: added all the
    // same (so that what follows is not held up), and refused.
    let mut rest = body[200..].to_vec();
    *rest.last_mut().unwrap() = 1;
    malformed(e.emit_body_part(seq, rest));
    // Whole now: no part to come.
    malformed(e.emit_body_part(seq, body[1000..].to_vec()));
    e.emit(t0(), "after", &[]).unwrap();
    assert_eq!(transmits(&mut e).len(), 12);
}

/// A receiver (addr 2) given the sender's datagrams `sent` but those at
/// `lost`; then, for up to 2 s, it asks and the sender (addr 1) repairs,
/// until it has `messages`.
fn repaired(sender: &mut Endpoint, sent: &[Vec<u8>], lost: &[usize], messages: u64) -> Endpoint {
    let mut receiver = endpoint(config(SEGMENT), 2);
    receiver.set_receiving(true);
    for (i, d) in sent.iter().enumerate() {
        if !lost.contains(&i) {
            receiver.handle_datagram(at(0), addr(1), d);
        }
    }
    for ms in (0..2000).step_by(5) {
        receiver.handle_timeout(at(ms));
        let mut buf = Vec::new();
        while receiver.poll_transmit(at(ms), &mut buf).is_some() {
            sender.handle_datagram(at(ms), addr(2), &buf);
        }
        sender.handle_timeout(at(ms));
        while sender.poll_transmit(at(ms), &mut buf).is_some() {
            receiver.handle_datagram(at(ms), addr(1), &buf);
        }
        if receiver.stats().messages_received == messages {
            break;
        }
    }
    receiver
}

#[test]
fn a_lost_segment_of_a_body_in_parts_is_repaired_from_its_part() {
    let body = body_of_len(1050);
    let mut sender = endpoint(config(SEGMENT), 1);
    let mut parts = cut(&body, &[500]).into_iter();
    let seq = sender
        .emit_body_start(body.len(), parts.next().unwrap())
        .unwrap();
    sender.emit_body_part(seq, parts.next().unwrap()).unwrap();
    let sent = transmits(&mut sender);
    // Segments 2 and 7 (one in each part) are lost; the receiver asks, the
    // sender repairs, the receiver has it all.
    let mut receiver = repaired(&mut sender, &sent, &[2, 7], 1);
    let got = messages(&mut receiver);
    assert_eq!(got.len(), 1, "repaired and delivered");
    assert_eq!(sender.stats().repairs_sent, 2);
}

#[test]
fn a_nack_while_a_body_waits_for_its_part_is_answered_with_sent_segments_only() {
    let body = body_of_len(1050);
    let expected = sent_whole(&body);
    // The segment a datagram carries, by the whole body's datagrams (a
    // repair differs from them only in its flags, byte 4).
    let segment = |d: &[u8]| {
        expected
            .iter()
            .position(|e| e.len() == d.len() && e[..4] == d[..4] && e[5..] == d[5..])
    };
    // The data frames the sender sends in the next second after `entries`
    // from 2, each as the segment it carries (None: none of the body's).
    let data = expected[0][3];
    let answer = |sender: &mut Endpoint, from_ms: u64, entries: Vec<NackEntry>| {
        let mut nack = Vec::new();
        Nack::new(SenderId::new(2), SenderId::new(1), entries)
            .unwrap()
            .write(&mut nack);
        sender.handle_datagram(at(from_ms), addr(2), &nack);
        let mut got = Vec::new();
        let mut buf = Vec::new();
        for ms in (from_ms..from_ms + 1000).step_by(5) {
            sender.handle_timeout(at(ms));
            while sender.poll_transmit(at(ms), &mut buf).is_some() {
                if buf.get(3) == Some(&data) {
                    got.push(segment(&buf));
                }
            }
        }
        got
    };

    let mut sender = endpoint(config(SEGMENT), 1);
    let mut parts = cut(&body, &[500]).into_iter();
    let seq = sender
        .emit_body_start(body.len(), parts.next().unwrap())
        .unwrap();
    assert_eq!(transmits(&mut sender).len(), 5, "the first part's segments");
    // Asked for every segment, three ways, while 5 to 10 are not written:
    // only what was sent is sent again.
    let all = [
        NackEntry::Segments {
            seq,
            first: 2,
            count: 9,
        },
        NackEntry::SegmentBitmap {
            seq,
            first: 0,
            bits: 0x7ff,
        },
        NackEntry::Messages {
            first: seq,
            count: 1,
        },
    ];
    let mut ms = 0;
    for entry in all {
        let got = answer(&mut sender, ms, vec![entry]);
        assert!(
            got.iter().all(|i| i.is_some_and(|i| i < 5)),
            "{entry:?}: {got:?}"
        );
        ms += 1000;
    }
    let got = answer(&mut sender, ms, vec![all[0]]);
    assert!(
        got.contains(&Some(2)),
        "a sent segment is repaired: {got:?}"
    );
    ms += 1000;

    // The rest comes: all of it goes out, and can be repaired.
    sender.emit_body_part(seq, parts.next().unwrap()).unwrap();
    let mut rest = Vec::new();
    let mut buf = Vec::new();
    while sender.poll_transmit(at(ms), &mut buf).is_some() {
        rest.extend(segment(&buf));
    }
    assert_eq!(rest, (5..11).collect::<Vec<_>>());
    let got = answer(&mut sender, ms, vec![all[0]]);
    assert!(got.contains(&Some(9)), "{got:?}");
}

/// `body` cut at `cuts`, each piece shared.
fn pieces(body: &[u8], cuts: &[usize]) -> Vec<std::sync::Arc<Vec<u8>>> {
    cut(body, cuts)
        .into_iter()
        .map(std::sync::Arc::new)
        .collect()
}

#[test]
fn a_body_in_pieces_goes_out_as_the_whole_body_does_wherever_it_is_cut() {
    let body = body_of_len(1050);
    let expected = sent_whole(&body);
    // Pieces within a segment, across segments, on segment edges, empty
    // ones, and a last piece of one byte (the document's end).
    for cuts in [
        &[30, 1049][..],
        &[30, 30, 100, 101, 1049, 1049],
        &[250],
        &[1, 2, 3, 4, 5, 999, 1000, 1048],
        &[],
    ] {
        let mut e = endpoint(config(SEGMENT), 1);
        let shared = pieces(&body, cuts);
        e.emit_body_pieces(shared.clone()).unwrap();
        // Kept by the store as they are, not copied.
        assert!(shared
            .iter()
            .all(|p| std::sync::Arc::strong_count(p) == 2 || p.is_empty()));
        assert_eq!(transmits(&mut e), expected, "cut at {cuts:?}");
        let stats = e.stats();
        assert_eq!((stats.messages_sent, stats.messages_sent_shared), (1, 1));
    }
}

#[test]
fn a_lost_segment_of_a_body_in_pieces_is_repaired_from_them() {
    let body = body_of_len(1050);
    let mut sender = endpoint(config(SEGMENT), 1);
    sender.emit_body_pieces(pieces(&body, &[30, 1049])).unwrap();
    sender.emit(t0(), "after", &[]).unwrap();
    let sent = transmits(&mut sender);
    assert_eq!(sent.len(), 12);
    // The first segment (spans two pieces) and the last (copied from the
    // large piece, then the end shared) are lost.
    let mut receiver = repaired(&mut sender, &sent, &[0, 10], 2);
    let got: Vec<_> = messages(&mut receiver)
        .into_iter()
        .map(|m| m.name.to_string())
        .collect();
    assert_eq!(got, ["x", "after"], "repaired and delivered in order");
    assert_eq!(sender.stats().repairs_sent, 2);
}

#[test]
fn a_body_in_pieces_of_one_segment_is_queued_whole_and_batched_with_its_neighbours() {
    let small = body_of_len(60);
    let mut e = endpoint(config(SEGMENT), 1);
    e.emit(t0(), "before", &[]).unwrap();
    e.emit_body_pieces(pieces(&small, &[10, 59])).unwrap();
    e.emit(t0(), "after", &[]).unwrap();
    let sent = transmits(&mut e);
    assert!(e.stats().batches_sent >= 1, "batched: {:?}", e.stats());
    let mut peer = endpoint(reassembly_only(SEGMENT), 2);
    for d in &sent {
        peer.handle_datagram(at(0), addr(1), d);
    }
    let got: Vec<_> = messages(&mut peer)
        .into_iter()
        .map(|m| (m.seq.get(), m.name.to_string()))
        .collect();
    assert_eq!(
        got,
        [(0, "before".into()), (1, "x".into()), (2, "after".into())]
    );
    let stats = e.stats();
    assert_eq!((stats.messages_sent, stats.messages_sent_shared), (3, 0));
}

#[test]
fn pieces_that_are_not_a_body_are_refused() {
    let body = body_of_len(1050);
    let mut e = endpoint(config(SEGMENT), 1);
    // Nothing; a length prefix that is not the pieces' length; too short
    // for a prefix; no zero byte at the end.
    malformed(e.emit_body_pieces(Vec::new()));
    malformed(e.emit_body_pieces(pieces(&body[..1049], &[30])));
    malformed(e.emit_body_pieces(pieces(&body[..3], &[1])));
    // Five bytes at the least, as a BSON document.
    malformed(e.emit_body_pieces(pieces(&[4, 0, 0, 0], &[2])));
    let mut spoilt = body.clone();
    *spoilt.last_mut().unwrap() = 1;
    malformed(e.emit_body_pieces(pieces(&spoilt, &[30])));
    let mut long = vec![0; 2 << 20];
    long[..4].copy_from_slice(&(2i32 << 20).to_le_bytes());
    assert!(matches!(
        e.emit_body_pieces(pieces(&long, &[4])),
        Err(EmitError::MessageTooLarge { .. })
    ));
    assert_eq!(e.stats().messages_sent, 0);
}
