//! A flood inside the network namespace: one thread sends hostile datagrams
//! to the group as fast as it can (random bytes; sealed frames with the
//! group's key id, forged sender ids and random ciphertext; sealed frames
//! under unknown keys; plaintext segments claiming a million segments or a
//! 4 GiB message from thousands of sender ids; replays of captured
//! datagrams) while a legitimate node emits events, some segmented, to an
//! encrypted receiver. Every legitimate event arrives, nothing hostile
//! reaches reassembly, reports stay bounded, and the process's resident
//! memory grows by less than [`RSS_GROWTH_BOUND_KIB`].
//!
//! `EVENTCAST_FLOOD_SECS` sets how long the flood lasts (default 2; the
//! figures in docs/SECURITY.md come from longer runs, with
//! `-- --nocapture` to see them).
#![allow(clippy::unwrap_used)]

use std::net::{Ipv4Addr, SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::common::*;
use eventcast::{Eventcast, Key};
use eventcast_proto::crypto::{Encryption, InsecureSeededNonces, Keyring};
use eventcast_proto::wire::{PacketNumber, SealedHeader};
use eventcast_proto::{Endpoint, SenderId};

/// Distinct hostile datagrams, sent round and round.
const POOL: usize = 8192;

/// How much the resident set may grow while the flood lasts.
const RSS_GROWTH_BOUND_KIB: u64 = 32 * 1024;

/// xorshift64*: the flood's own cheap, seeded generator.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next() as u8).collect()
    }
}

/// Datagrams a legitimate member sealed, as an eavesdropper captured them.
fn captured(key: &Key) -> Vec<Vec<u8>> {
    let enc = Encryption::new(
        Keyring::with_primary(key.clone()),
        InsecureSeededNonces::new(9),
    );
    let mut e = Endpoint::with_encryption(Default::default(), SenderId::new(0xCA97), enc).unwrap();
    e.set_paced(false);
    for i in 0..50u32 {
        e.emit(Instant::now(), "captured", &[i.into()]).unwrap();
    }
    let mut buf = Vec::new();
    std::iter::from_fn(|| {
        e.poll_transmit(Instant::now(), &mut buf)
            .map(|_| buf.clone())
    })
    .collect()
}

/// One hostile datagram.
fn hostile(rng: &mut Rng, key: &Key, replays: &[Vec<u8>]) -> Vec<u8> {
    let sender = SenderId::new(rng.next() % 5000 + 1);
    match rng.next() % 6 {
        0 => {
            let len = (rng.next() % 1500) as usize;
            rng.bytes(len)
        }
        kind @ (1 | 2) => {
            let key_id = if kind == 1 {
                key.id()
            } else {
                eventcast_proto::crypto::KeyId::from_bytes(
                    rng.next().to_be_bytes()[..4].try_into().unwrap(),
                )
            };
            let mut d = Vec::new();
            SealedHeader {
                key_id,
                sender,
                packet: PacketNumber::new(rng.next()),
                nonce: rng.bytes(12).try_into().unwrap(),
            }
            .write(&mut d);
            let len = 18 + (rng.next() % 1100) as usize;
            d.extend(rng.bytes(len));
            d
        }
        kind @ (3 | 4) => {
            let (count, message_len) = if kind == 3 {
                (1_000_000, 1_000_000 * 1024)
            } else {
                (4, u32::MAX)
            };
            data_frame(
                sender,
                rng.next() % 64,
                0,
                count,
                message_len,
                &rng.bytes(1024),
            )
        }
        _ => replays[(rng.next() % replays.len() as u64) as usize].clone(),
    }
}

#[test]
fn legitimate_events_survive_a_flood() {
    netns_test::run(|| {
        let secs: u64 = std::env::var("EVENTCAST_FLOOD_SECS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(2);
        block_on(async move {
            let port = free_port();
            let key = Key::from_bytes([0x5A; 16]);
            let config = config(port).key(key.clone());
            let receiver = Eventcast::new(config.clone()).unwrap();
            let legit = Eventcast::new(config).unwrap();
            receiver.start().await.unwrap();
            legit.start().await.unwrap();
            let mut events = receiver.subscribe_to(["legit"]).expect("exact names");
            let group = receiver.group_addr().unwrap();
            let rss_before = rss_kib();

            let stop = Arc::new(AtomicBool::new(false));
            let sent = Arc::new(AtomicU64::new(0));
            let flood = {
                let (stop, sent, key) = (stop.clone(), sent.clone(), key.clone());
                std::thread::spawn(move || {
                    let sock = UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0)).unwrap();
                    sock.set_multicast_ttl_v4(0).unwrap();
                    sock.set_multicast_loop_v4(true).unwrap();
                    // Made beforehand, so that sending is all the loop does.
                    let replays = captured(&key);
                    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
                    let mut pool: Vec<Vec<u8>> = (0..POOL)
                        .map(|_| hostile(&mut rng, &key, &replays))
                        .collect();
                    let to: SocketAddr = group;
                    let mut n = 0u64;
                    while !stop.load(Ordering::Relaxed) {
                        for d in pool.iter().take(256) {
                            if sock.send_to(d, to).is_ok() {
                                n += 1;
                            }
                        }
                        pool.rotate_left(256);
                    }
                    sent.store(n, Ordering::Relaxed);
                })
            };

            let started = Instant::now();
            let mut emitted = 0u64;
            let mut rss_peak = rss_before;
            while started.elapsed() < Duration::from_secs(secs) {
                let pad = if emitted % 10 == 0 { 3000 } else { 10 };
                legit.emit("legit", &(emitted, "p".repeat(pad))).unwrap();
                emitted += 1;
                tokio::time::sleep(Duration::from_millis(5)).await;
                rss_peak = rss_peak.max(rss_kib());
            }
            stop.store(true, Ordering::Relaxed);
            flood.join().unwrap();

            // The flood is over: a last event goes through, and once it is
            // in, everything sent before it was handled.
            legit.emit("legit", &(i64::MAX as u64, "done")).unwrap();
            let mut got = vec![false; emitted as usize];
            loop {
                let e = next_remote(&mut events).await;
                let (n, _): (u64, String) = e.args().unwrap();
                if n == i64::MAX as u64 {
                    break;
                }
                assert!(!got[n as usize], "event {n} twice");
                got[n as usize] = true;
            }
            let missing = got.iter().filter(|g| !**g).count();
            rss_peak = rss_peak.max(rss_kib());
            let s = receiver.stats();
            // The receiver's own count: the kernel's per-port figure also
            // holds every node's own datagrams, dropped by their filters.
            let kernel_drops = s.kernel_drops;
            let p = s.protocol;
            let hostile = sent.load(Ordering::Relaxed);
            eprintln!(
                "flood: {secs} s, {hostile} hostile datagrams sent ({:.0}/s), {emitted} legitimate \
                 events, {missing} missing, {kernel_drops} datagrams dropped by the kernel at the \
                 receiver; receiver handled {} datagrams; drops {:?}; partial_bytes {}, \
                 replay_senders {}, senders {}; recv buffer {} B; RSS {} KiB before, peak {} KiB",
                hostile as f64 / secs as f64,
                p.datagrams_received,
                p.dropped,
                p.partial_bytes,
                p.replay_senders,
                p.senders,
                s.recv_buffer_size,
                rss_before,
                rss_peak,
            );
            assert!(hostile > 1000, "the flood did not run: {hostile}");
            // Every legitimate event arrives, unless the kernel itself
            // dropped datagrams (a receive buffer overrun on a loaded
            // machine): there is no loss recovery yet to bring them back.
            assert!(
                missing == 0 || kernel_drops > 0,
                "{missing} legitimate events lost by the node itself"
            );
            assert!(p.dropped.bad_tag > 0 && p.dropped.no_key > 0, "{p:#?}");
            assert!(
                p.dropped.unencrypted > 0 && p.dropped.replayed > 0,
                "{p:#?}"
            );
            // Only the legitimate node and the captured one were ever heard.
            assert!(p.senders <= 2 && p.replay_senders <= 2, "{p:#?}");
            assert!(
                rss_peak - rss_before < RSS_GROWTH_BOUND_KIB,
                "RSS grew from {rss_before} to {rss_peak} KiB"
            );
            stop_all(&[receiver, legit]).await;
        })
    });
}
