//! Events per second between two nodes over real sockets, plaintext and
//! encrypted side by side.
//!
//! Run it inside a private network namespace, after a release build:
//!
//! ```sh
//! cargo build --release -p eventcast --example throughput
//! scripts/netns target/release/examples/throughput
//! ```
//!
//! The sender emits a burst of events back to back and the receiver counts
//! what arrives until the burst is in (or nothing came for a second). There
//! is no loss recovery yet: events lost to a full receive buffer are
//! reported, not counted. A measurement, not a test: each figure is the
//! best of several rounds, and a shared machine makes them noisy.

use std::time::{Duration, Instant};

use eventcast::{Config, Eventcast, Key};

const ROUNDS: usize = 5;

async fn burst(encrypted: bool, size: usize, count: usize, port: u16) -> (f64, usize) {
    let mut config = Config::default().port(port).multicast_ttl(0);
    if encrypted {
        config = config.key(Key::from_bytes([0x33; 16]));
    }
    let tx = Eventcast::new(config.clone()).expect("config");
    let rx = Eventcast::new(config).expect("config");
    rx.start().await.expect("start");
    tx.start().await.expect("start");
    let mut sub = rx.subscribe_to(["burst"]).expect("an exact name");
    let payload = "x".repeat(size);
    let start = Instant::now();
    for i in 0..count {
        tx.emit("burst", &(i as u64, payload.as_str()))
            .expect("emit");
    }
    let mut got = 0;
    let mut last = start;
    while got < count {
        match tokio::time::timeout(Duration::from_secs(1), sub.recv()).await {
            Ok(Some(e)) if !e.is_local() => {
                got += 1;
                last = Instant::now();
            }
            Ok(Some(_)) => {}
            _ => break,
        }
    }
    tx.stop().await;
    rx.stop().await;
    (got as f64 / (last - start).as_secs_f64(), count - got)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    println!("events per second, sender to receiver in one process (best of {ROUNDS}):");
    println!(
        "  {:>7}  {:>10} {:>5}  {:>10} {:>5}  {:>6}",
        "size", "plaintext", "lost", "encrypted", "lost", "ratio"
    );
    let mut port = 40000;
    for (size, count) in [
        (16, 20_000),
        (1000, 20_000),
        (10_000, 2_000),
        (100_000, 200),
    ] {
        let mut best = [(0.0f64, 0usize); 2];
        for _ in 0..ROUNDS {
            for (slot, encrypted) in [false, true].into_iter().enumerate() {
                port += 1;
                let (rate, lost) = burst(encrypted, size, count, port).await;
                if rate > best[slot].0 {
                    best[slot] = (rate, lost);
                }
            }
        }
        println!(
            "  {size:>6}B  {:>10.0} {:>5}  {:>10.0} {:>5}  {:>5.1}%",
            best[0].0,
            best[0].1,
            best[1].0,
            best[1].1,
            100.0 * best[1].0 / best[0].0
        );
    }
}
