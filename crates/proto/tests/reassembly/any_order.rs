//! Any events, any segment size, any order of their segments, any
//! duplicates: the receiver delivers exactly the original events, each
//! exactly once, the moment its last missing segment arrives, and its
//! gauges return to zero.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::time::Duration;

use crate::common::*;
use eventcast_proto::wire::DataFrame;
use eventcast_proto::MessageSeq;
use proptest::prelude::*;

const SENDER: u64 = 0x5E4D;
const RECEIVER: u64 = 0x4EC0;

/// Emits `events` from a sender cutting at `size` and returns its datagrams.
fn emit_all(events: &[Event], size: usize) -> Vec<Vec<u8>> {
    let mut sender = endpoint(reassembly_only(size), SENDER);
    let mut datagrams = Vec::new();
    for (i, (name, args)) in events.iter().enumerate() {
        let seq = sender.emit(t0(), name, args).unwrap();
        assert_eq!(seq, MessageSeq::new(i as u64));
        // drained after each emit: one message at a time, never batched
        datagrams.extend(transmits(&mut sender));
    }
    let s = sender.stats();
    assert_eq!(s.messages_sent, events.len() as u64);
    assert_eq!(s.datagrams_sent, datagrams.len() as u64);
    assert!(datagrams.iter().all(|d| d.len() <= size + 33));
    datagrams
}

fn case() -> impl Strategy<Value = (Vec<Event>, Vec<Vec<u8>>, Vec<usize>)> {
    (
        prop::collection::vec(arb_event(), 1..=3),
        arb_payload_size(),
    )
        .prop_flat_map(|(events, size)| {
            let datagrams = emit_all(&events, size);
            let n = datagrams.len();
            (Just(events), Just(datagrams), arb_order(n))
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn delivers_each_event_exactly_once((events, datagrams, order) in case()) {
        let mut rx = endpoint(reassembly_only(1024), RECEIVER);
        let seq_of: Vec<u64> = datagrams
            .iter()
            .map(|d| DataFrame::parse(d).unwrap().header().seq.get())
            .collect();
        // (distinct segments received, segments in all), by seq
        let mut progress: BTreeMap<u64, (usize, usize)> = BTreeMap::new();
        for &seq in &seq_of {
            progress.entry(seq).or_default().1 += 1;
        }
        let mut seen = vec![false; datagrams.len()];
        let mut delivered: BTreeMap<u64, Event> = BTreeMap::new();
        let mut last_bytes = 0;
        for (pos, &i) in order.iter().enumerate() {
            let from = addr(pos as u16);
            // all within one message_ttl: nothing may expire
            rx.handle_datagram(t0() + Duration::from_micros(pos as u64), from, &datagrams[i]);
            let seq = seq_of[i];
            let new = !std::mem::replace(&mut seen[i], true);
            let got = messages(&mut rx);
            let s = rx.stats();
            if new {
                let (have, total) = progress.get_mut(&seq).unwrap();
                *have += 1;
                if have == total {
                    prop_assert_eq!(got.len(), 1, "the completing segment delivers");
                    let m = &got[0];
                    prop_assert_eq!(m.seq.get(), seq);
                    prop_assert_eq!(m.sender.get(), SENDER);
                    prop_assert_eq!(m.from, from);
                    let first = delivered.insert(seq, (m.name.to_string(), m.args.to_vec()));
                    prop_assert!(first.is_none(), "delivered twice");
                } else {
                    prop_assert!(got.is_empty(), "incomplete message delivered");
                    prop_assert!(s.partial_bytes > last_bytes, "new segment not charged");
                }
            } else {
                prop_assert!(got.is_empty(), "duplicate delivered");
                prop_assert_eq!(s.partial_bytes, last_bytes, "duplicate charged");
            }
            let open = progress.values().filter(|(have, total)| 0 < *have && have < total).count();
            prop_assert_eq!(s.partial_messages, open as u64);
            prop_assert_eq!(s.partial_bytes == 0, open == 0);
            last_bytes = s.partial_bytes;
            assert_accounting(&s);
        }

        let want: BTreeMap<u64, Event> =
            events.into_iter().enumerate().map(|(i, e)| (i as u64, e)).collect();
        prop_assert_eq!(&delivered, &want);

        let s = rx.stats();
        prop_assert_eq!(s.messages_received, want.len() as u64);
        prop_assert_eq!(s.segments_received, datagrams.len() as u64);
        prop_assert_eq!(s.dropped.duplicate, (order.len() - datagrams.len()) as u64);
        prop_assert_eq!(s.dropped.total(), s.dropped.duplicate);
        prop_assert_eq!(s.partial_messages, 0);
        prop_assert_eq!(s.partial_bytes, 0);
        prop_assert_eq!(s.senders, 1);
        prop_assert_eq!(rx.poll_timeout(), None);
    }
}
