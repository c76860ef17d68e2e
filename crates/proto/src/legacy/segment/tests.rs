//! Tests of `legacy/segment.rs`.

use super::*;
use crate::legacy::meta::{Layer, Origin};

fn meta(id: &str, seq: u32, seq_len: u32) -> Meta {
    Meta::new(
        seq,
        seq_len,
        SeqId::parse(&"5f".repeat(20)).unwrap(),
        Layer::Plain {
            nonce: None,
            origin: Origin {
                name: "long".into(),
                host: "127.0.0.1".into(),
                port: 41500,
                hostname: "vm".into(),
                id: LegacyId::new(id),
                time: "t".into(),
            },
        },
    )
    .unwrap()
}

fn limits() -> ReassemblyLimits {
    ReassemblyLimits::default()
}

#[test]
fn split_like_the_original() {
    let whole: Vec<u8> = (0..=200).collect();
    let pieces: Vec<_> = split(&whole, NonZeroUsize::new(64).unwrap()).collect();
    assert_eq!(
        pieces.iter().map(|p| p.len()).collect::<Vec<_>>(),
        [64, 64, 64, 9]
    );
    assert_eq!(pieces.concat(), whole);
}

#[test]
fn any_order_with_duplicates() {
    let t = Instant::now();
    let mut r = Reassembler::new(limits());
    let pieces = [b"ab".to_vec(), b"cd".to_vec(), b"e".to_vec()];
    let outcomes: Vec<_> = [2u32, 0, 2, 0]
        .iter()
        .map(|&i| r.insert(t, &meta("a", i, 3), &pieces[i as usize]).unwrap())
        .collect();
    use SegmentOutcome::{Buffered, Duplicate};
    assert_eq!(outcomes, [Buffered, Buffered, Duplicate, Duplicate]);
    let key = MessageKey {
        sender: LegacyId::new("a"),
        seq_id: meta("a", 0, 3).seq_id().clone(),
    };
    assert_eq!(r.missing(&key), Some(vec![1]));
    assert_eq!(
        r.insert(t, &meta("a", 1, 3), b"cd").unwrap(),
        SegmentOutcome::Complete(b"abcde".to_vec())
    );
    assert_eq!(r.partial_messages(), 0);
    assert_eq!(r.partial_bytes(), 0);
    assert_eq!(r.poll_timeout(), None);
    // late copies of a finished message are duplicates, not a new message
    assert_eq!(
        r.insert(t, &meta("a", 1, 3), b"cd").unwrap(),
        SegmentOutcome::Duplicate
    );
    assert_eq!(r.partial_messages(), 0);
}

#[test]
fn senders_are_kept_apart() {
    let t = Instant::now();
    let mut r = Reassembler::new(limits());
    assert_eq!(
        r.insert(t, &meta("a", 0, 2), b"a0").unwrap(),
        SegmentOutcome::Buffered
    );
    assert_eq!(
        r.insert(t, &meta("b", 1, 2), b"b1").unwrap(),
        SegmentOutcome::Buffered
    );
    assert_eq!(
        r.insert(t, &meta("a", 1, 2), b"a1").unwrap(),
        SegmentOutcome::Complete(b"a0a1".to_vec())
    );
}

#[test]
fn missing_then_expired() {
    let t = Instant::now();
    let ttl = Duration::from_millis(3000);
    let mut l = limits();
    l.max_retransmit_attempts = 2;
    let mut r = Reassembler::new(l);
    r.insert(t, &meta("a", 1, 4), b"x").unwrap();
    assert_eq!(r.poll_timeout(), Some(t + ttl));
    assert!(r
        .handle_timeout(t + ttl - Duration::from_millis(1))
        .is_empty());
    let out = r.handle_timeout(t + ttl);
    let [Timeout::Missing(m)] = &out[..] else {
        panic!("{out:?}")
    };
    assert_eq!(m.missing, [0, 2, 3]);
    assert_eq!(m.attempt, 1);
    assert_eq!((m.host.as_str(), m.port), ("127.0.0.1", 41500));
    let req = m.request();
    assert_eq!(req.missed_seq, [0, 2, 3]);
    assert_eq!(req.id.as_str(), "a");
    // progress pushes the deadline back, attempts are kept
    r.insert(t + ttl * 2, &meta("a", 0, 4), b"y").unwrap();
    assert!(r.handle_timeout(t + ttl * 2).is_empty());
    let out = r.handle_timeout(t + ttl * 3);
    let [Timeout::Missing(m)] = &out[..] else {
        panic!("{out:?}")
    };
    assert_eq!((m.missing.as_slice(), m.attempt), (&[2, 3][..], 2));
    let out = r.handle_timeout(t + ttl * 4);
    assert!(matches!(
        &out[..],
        [Timeout::Expired {
            received: 2,
            seq_len: 4,
            ..
        }]
    ));
    assert_eq!(r.partial_messages(), 0);
    assert_eq!(r.partial_bytes(), 0);
    assert_eq!(r.poll_timeout(), None);
    // its late pieces do not start it again
    assert_eq!(
        r.insert(t + ttl * 4, &meta("a", 2, 4), b"z").unwrap(),
        SegmentOutcome::Duplicate
    );
}

#[test]
fn limits_hold() {
    let t = Instant::now();
    let mut l = limits();
    l.max_partial_messages = 1;
    l.max_segments = 8;
    l.max_message_size = 10;
    let mut r = Reassembler::new(l);
    assert!(r.insert(t, &meta("a", 0, 9), b"x").is_err());
    r.insert(t, &meta("a", 0, 3), b"12345").unwrap();
    assert_eq!(
        r.insert(t, &meta("b", 0, 3), b"1"),
        Err(LegacyError::OverLimit("max_partial_messages"))
    );
    assert!(r.insert(t, &meta("a", 1, 4), b"1").is_err());
    assert_eq!(
        r.insert(t, &meta("a", 1, 3), b"123456"),
        Err(LegacyError::OverLimit("message above max_message_size"))
    );
    assert_eq!(r.partial_messages(), 0);
    assert_eq!(r.partial_bytes(), 0);
    let mut l = limits();
    l.max_partial_bytes = 300;
    let mut r = Reassembler::new(l);
    r.insert(t, &meta("a", 0, 3), &[0; 50]).unwrap();
    assert!(r.partial_bytes() <= 300);
    assert_eq!(
        r.insert(t, &meta("a", 1, 3), &[0; 100]),
        Err(LegacyError::OverLimit("max_partial_bytes"))
    );
    assert!(r
        .insert(t, &meta(&"i".repeat(MAX_ID_LEN + 1), 0, 2), b"x")
        .is_err());
}

#[test]
fn finished_memory_is_bounded() {
    let t = Instant::now();
    let mut l = limits();
    l.max_finished = 2;
    let mut r = Reassembler::new(l);
    for id in ["a", "b", "c"] {
        r.insert(t, &meta(id, 0, 2), b"x").unwrap();
        r.insert(t, &meta(id, 1, 2), b"y").unwrap();
    }
    assert_eq!(r.finished_messages(), 2);
    // and forgotten after the retention
    r.insert(t + Duration::from_secs(60), &meta("d", 0, 2), b"x")
        .unwrap();
    r.insert(t + Duration::from_secs(60), &meta("d", 1, 2), b"y")
        .unwrap();
    assert_eq!(r.finished_messages(), 1);
}
