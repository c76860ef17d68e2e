//! The sender's side of retransmission: segments kept, by `seqId`, to
//! answer `__ec_retx` requests. The original keeps them for ten times its
//! `messageTtl`.
//!
//! Each message's segments may be sent again only a bounded number of times
//! in all, so a forged request (its source address is not authenticated)
//! cannot turn the node into an amplifier.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use super::codec::Encoded;
use super::ids::SeqId;
use super::retx::RetxRequest;

/// Bytes charged for each kept message, on top of its datagrams.
const MESSAGE_OVERHEAD: usize = 128;

struct Kept {
    datagrams: Vec<Vec<u8>>,
    expires: Instant,
    charged: usize,
    /// Datagrams that may still be sent again.
    resends_left: usize,
}

/// Segmented messages this node sent, kept for retransmission.
pub struct SentStore {
    retention: Duration,
    max_bytes: usize,
    resends_per_segment: usize,
    kept: BTreeMap<SeqId, Kept>,
    order: BTreeSet<(Instant, SeqId)>,
    bytes: usize,
}

impl SentStore {
    /// Keeps messages for `retention` within `max_bytes`; each message may
    /// have `resends_per_segment` times its segment count sent again in all.
    pub fn new(retention: Duration, max_bytes: usize, resends_per_segment: usize) -> Self {
        Self {
            retention,
            max_bytes,
            resends_per_segment,
            kept: BTreeMap::new(),
            order: BTreeSet::new(),
            bytes: 0,
        }
    }

    /// Keeps a message just sent, if it was segmented (an unsegmented one
    /// is never asked for). The oldest messages make room; a message larger
    /// than `max_bytes` on its own is not kept.
    pub fn insert(&mut self, now: Instant, encoded: &Encoded) {
        if !encoded.is_segmented() {
            return;
        }
        self.handle_timeout(now);
        let charged = MESSAGE_OVERHEAD + encoded.datagrams.iter().map(Vec::len).sum::<usize>();
        if charged > self.max_bytes {
            return;
        }
        self.remove(&encoded.seq_id);
        while self.bytes + charged > self.max_bytes {
            let Some((_, oldest)) = self.order.first().cloned() else {
                break;
            };
            self.remove(&oldest);
        }
        let expires = now + self.retention;
        self.order.insert((expires, encoded.seq_id.clone()));
        self.kept.insert(
            encoded.seq_id.clone(),
            Kept {
                datagrams: encoded.datagrams.clone(),
                expires,
                charged,
                resends_left: encoded
                    .datagrams
                    .len()
                    .saturating_mul(self.resends_per_segment),
            },
        );
        self.bytes += charged;
    }

    /// The datagrams `request` asks for that are still kept and within the
    /// message's resend budget, each index once, in the order asked.
    /// Whether the request is addressed to this node (its `id`) is the
    /// caller's check.
    pub fn resend(&mut self, request: &RetxRequest) -> Vec<Vec<u8>> {
        let Some(k) = self.kept.get_mut(&request.seq_id) else {
            return Vec::new();
        };
        let mut seen = BTreeSet::new();
        let mut out = Vec::new();
        for &i in &request.missed_seq {
            if k.resends_left == 0 {
                break;
            }
            let Some(d) = usize::try_from(i).ok().and_then(|i| k.datagrams.get(i)) else {
                continue;
            };
            if seen.insert(i) {
                k.resends_left -= 1;
                out.push(d.clone());
            }
        }
        out
    }

    /// Forgets every message kept past its time.
    pub fn handle_timeout(&mut self, now: Instant) {
        while let Some((t, id)) = self.order.first().cloned() {
            if t > now {
                break;
            }
            self.remove(&id);
        }
    }

    /// When the next kept message is due to be forgotten.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.order.first().map(|(t, _)| *t)
    }

    /// Messages kept now.
    pub fn len(&self) -> usize {
        self.kept.len()
    }

    /// Whether nothing is kept.
    pub fn is_empty(&self) -> bool {
        self.kept.is_empty()
    }

    /// Bytes kept now, bookkeeping included.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    fn remove(&mut self, id: &SeqId) {
        if let Some(k) = self.kept.remove(id) {
            self.order.remove(&(k.expires, id.clone()));
            self.bytes -= k.charged;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::legacy::ids::LegacyId;

    fn encoded(n: u8, segments: usize) -> Encoded {
        Encoded {
            seq_id: SeqId::parse(&format!("{n:02x}").repeat(20)).unwrap(),
            datagrams: (0..segments).map(|i| vec![i as u8; 100]).collect(),
        }
    }

    fn ask(e: &Encoded, missed: &[u32]) -> RetxRequest {
        RetxRequest {
            id: LegacyId::new("me"),
            seq_id: e.seq_id.clone(),
            missed_seq: missed.to_vec(),
            host: "127.0.0.1".into(),
            port: 1,
        }
    }

    #[test]
    fn answers_within_budget_then_forgets() {
        let t = Instant::now();
        let mut s = SentStore::new(Duration::from_secs(30), 1 << 20, 1);
        let e = encoded(1, 4);
        s.insert(t, &e);
        s.insert(t, &encoded(2, 1)); // unsegmented: not kept
        assert_eq!(s.len(), 1);
        let got = s.resend(&ask(&e, &[2, 2, 9, 0]));
        assert_eq!(got, [e.datagrams[2].clone(), e.datagrams[0].clone()]);
        // budget: 4 segments x 1 resend, 2 used
        assert_eq!(s.resend(&ask(&e, &[1, 3, 1])).len(), 2);
        assert!(s.resend(&ask(&e, &[0])).is_empty());
        assert_eq!(s.poll_timeout(), Some(t + Duration::from_secs(30)));
        s.handle_timeout(t + Duration::from_secs(30));
        assert!(s.is_empty());
        assert_eq!(s.bytes(), 0);
    }

    #[test]
    fn memory_is_bounded() {
        let t = Instant::now();
        let mut s = SentStore::new(Duration::from_secs(30), 1000, 1);
        s.insert(t, &encoded(1, 4));
        s.insert(t, &encoded(2, 4));
        assert_eq!(s.len(), 1);
        assert!(s.bytes() <= 1000);
        assert!(s.resend(&ask(&encoded(1, 4), &[0])).is_empty());
        assert_eq!(s.resend(&ask(&encoded(2, 4), &[0])).len(), 1);
        s.insert(t, &encoded(3, 20));
        assert_eq!(s.len(), 1, "too large alone: not kept, nothing evicted");
    }
}
