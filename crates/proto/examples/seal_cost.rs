//! What encryption costs the core: sealing and opening one datagram, and
//! the whole path (emit → poll_transmit → handle_datagram → event) for
//! plaintext and encrypted endpoints side by side, in messages per second.
//!
//! ```sh
//! cargo run --release -p eventcast-proto --example seal_cost
//! ```
//!
//! A measurement, not a test: the figures depend on the machine and on
//! what else runs on it. Each figure is the best of several rounds.
#![allow(clippy::unwrap_used)]

use std::hint::black_box;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bson::{spec::BinarySubtype, Binary, Bson};
use eventcast_proto::crypto::{Encryption, InsecureSeededNonces, Key, Keyring};
use eventcast_proto::{encode_body, Config, Endpoint, EndpointEvent, SenderId};

const ROUNDS: usize = 5;

/// An event body of exactly `len` bytes (at least 36).
fn body(len: usize) -> Vec<u8> {
    let bin = |n| {
        Bson::Binary(Binary {
            subtype: BinarySubtype::Generic,
            bytes: vec![0xAB; n],
        })
    };
    let overhead = encode_body("x", &[bin(0)]).unwrap().len();
    encode_body("x", &[bin(len - overhead)]).unwrap()
}

fn pair(encrypted: bool) -> (Endpoint, Endpoint) {
    let make = |id| {
        let config = Config::default();
        let e = if encrypted {
            let ring = Keyring::with_primary(Key::from_bytes([9; 16]));
            let enc = Encryption::new(ring, InsecureSeededNonces::new(id));
            Endpoint::with_encryption(config, SenderId::new(id), enc).unwrap()
        } else {
            Endpoint::new(config, SenderId::new(id)).unwrap()
        };
        // The cost of sealing, not of pacing.
        let mut e = e;
        e.set_paced(false);
        e
    };
    (make(1), make(2))
}

/// Messages per second through the whole path, for bodies of `len` bytes.
fn path(encrypted: bool, len: usize) -> f64 {
    let body = body(len);
    let from: SocketAddr = "127.0.0.1:1".parse().unwrap();
    let count = (64 * 1024 * 1024 / body.len()).clamp(200, 200_000);
    let mut best = Duration::MAX;
    let mut buf = Vec::new();
    for _ in 0..ROUNDS {
        let (mut tx, mut rx) = pair(encrypted);
        let now = Instant::now();
        let start = Instant::now();
        let mut got = 0;
        for _ in 0..count {
            tx.emit_body(body.clone()).unwrap();
            while tx.poll_transmit(Instant::now(), &mut buf).is_some() {
                rx.handle_datagram(now, from, &buf);
            }
            while let Some(e) = rx.poll_event() {
                if let EndpointEvent::Message(m) = e {
                    black_box(m);
                    got += 1;
                }
            }
        }
        assert_eq!(got, count);
        best = best.min(start.elapsed());
    }
    count as f64 / best.as_secs_f64()
}

/// Nanoseconds to seal and to open one datagram of `payload` bytes.
fn seal_open(payload: usize) -> (f64, f64) {
    let body = body(payload);
    let from: SocketAddr = "127.0.0.1:1".parse().unwrap();
    let n = 100_000;
    let (mut best_seal, mut best_open) = (Duration::MAX, Duration::MAX);
    for _ in 0..ROUNDS {
        let (mut tx, mut rx) = pair(true);
        for _ in 0..n {
            tx.emit_body(body.clone()).unwrap();
        }
        let start = Instant::now();
        let mut buf = Vec::new();
        let sealed: Vec<Vec<u8>> = std::iter::from_fn(|| {
            tx.poll_transmit(Instant::now(), &mut buf)
                .map(|_| buf.clone())
        })
        .collect();
        best_seal = best_seal.min(start.elapsed());
        let start = Instant::now();
        for t in &sealed {
            rx.handle_datagram(Instant::now(), from, t);
        }
        best_open = best_open.min(start.elapsed());
        assert_eq!(rx.stats().datagrams_opened, n as u64);
    }
    (
        best_seal.as_nanos() as f64 / n as f64,
        best_open.as_nanos() as f64 / n as f64,
    )
}

fn main() {
    println!("seal and open one datagram (poll_transmit / handle_datagram, best of {ROUNDS}):");
    for payload in [64, 1024] {
        let (seal, open) = seal_open(payload);
        println!(
            "  {payload:>5} B payload: seal {seal:>7.0} ns, open+deliver {open:>7.0} ns \
             ({:.0} MB/s sealed)",
            payload as f64 / seal * 1e3
        );
    }
    println!("whole path, messages per second (best of {ROUNDS}):");
    println!(
        "  {:>9}  {:>12}  {:>12}  {:>6}",
        "body", "plaintext", "encrypted", "ratio"
    );
    for len in [40, 1000, 10_000, 1_000_000] {
        let plain = path(false, len);
        let sealed = path(true, len);
        println!(
            "  {:>7} B  {plain:>12.0}  {sealed:>12.0}  {:>5.1}%",
            len,
            100.0 * sealed / plain
        );
    }
}
