//! What the handshake of keyed nodes costs (docs/PROTOCOL.md §16.8): the
//! latency of a sender's first event at a node that has not heard it yet,
//! and of the next one, without a key, with a key, and with a key but no
//! handshake; and the bytes the handshake adds.
//!
//! Each round starts a fresh receiver and a fresh sender (new sender ids),
//! emits one small event, waits for it, emits a second, waits for it.
//! Opens sockets: run it inside a private network namespace,
//! `scripts/netns cargo run --release -p eventcast --example handshake_cost [ROUNDS]`.

use std::net::{Ipv4Addr, UdpSocket};
use std::time::{Duration, Instant};

use eventcast::{Config, Eventcast, Key};

#[derive(Clone, Copy, Debug)]
enum Mode {
    Plaintext,
    Keyed,
    KeyedNoHandshake,
}

struct Round {
    first: Duration,
    second: Duration,
    /// Bytes both nodes sent for the first event, everything included.
    bytes: u64,
    handshake_bytes: u64,
}

fn config(mode: Mode, port: u16) -> Config {
    let c = Config::default().port(port).multicast_ttl(0);
    match mode {
        Mode::Plaintext => c,
        Mode::Keyed => c.key(Key::from_bytes([9; 16])),
        Mode::KeyedNoHandshake => c.key(Key::from_bytes([9; 16])).danger_skip_handshake(true),
    }
}

async fn round(mode: Mode) -> Result<Round, eventcast::Error> {
    let port = UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0))
        .and_then(|s| s.local_addr())
        .map(|a| a.port())
        .unwrap_or(41234);
    let rx = Eventcast::new(config(mode, port))?;
    let tx = Eventcast::new(config(mode, port))?;
    rx.start().await?;
    tx.start().await?;
    let mut events = rx.subscribe();
    let wait = Duration::from_secs(10);
    let t0 = Instant::now();
    tx.emit("first", &(1,))?;
    let _ = tokio::time::timeout(wait, events.recv()).await;
    let first = t0.elapsed();
    let (a, b) = (tx.stats().protocol, rx.stats().protocol);
    let bytes = a.bytes_sent + b.bytes_sent;
    // Challenges and answers, sealed: 91 bytes each challenge, 97 an
    // answer with one entry (more entries: 32 bytes each).
    let handshake_bytes =
        (a.challenges_sent + b.challenges_sent) * 91 + (a.answers_sent + b.answers_sent) * 97;
    let t1 = Instant::now();
    tx.emit("second", &(2,))?;
    let _ = tokio::time::timeout(wait, events.recv()).await;
    let second = t1.elapsed();
    tx.stop().await;
    rx.stop().await;
    Ok(Round {
        first,
        second,
        bytes,
        handshake_bytes,
    })
}

fn percentile(mut v: Vec<Duration>, p: f64) -> Duration {
    v.sort();
    v[((v.len() - 1) as f64 * p).round() as usize]
}

#[tokio::main]
async fn main() -> Result<(), eventcast::Error> {
    let rounds: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(30);
    println!("{rounds} rounds per mode; latencies in µs (p50 / p90), bytes per first event");
    for mode in [Mode::Plaintext, Mode::KeyedNoHandshake, Mode::Keyed] {
        let mut all = Vec::new();
        for _ in 0..rounds {
            all.push(round(mode).await?);
        }
        let firsts: Vec<_> = all.iter().map(|r| r.first).collect();
        let seconds: Vec<_> = all.iter().map(|r| r.second).collect();
        let bytes = all.iter().map(|r| r.bytes).sum::<u64>() / rounds as u64;
        let hs = all.iter().map(|r| r.handshake_bytes).sum::<u64>() / rounds as u64;
        println!(
            "{mode:?}: first {} / {}, second {} / {}, bytes {bytes} (handshake {hs})",
            percentile(firsts.clone(), 0.5).as_micros(),
            percentile(firsts, 0.9).as_micros(),
            percentile(seconds.clone(), 0.5).as_micros(),
            percentile(seconds, 0.9).as_micros(),
        );
    }
    Ok(())
}
