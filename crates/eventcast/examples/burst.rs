//! Measures a burst: one sender emits small events as fast as its send
//! queue takes them (`emit_wait`), one receiver counts them and checks
//! that none is missing, twice or out of order.
//!
//! ```text
//! cargo build --release -p eventcast --example burst
//! scripts/netns target/release/examples/burst [EVENTS]
//! ```
//!
//! (default 1,000,000 events). It prints the rate at which events were
//! delivered (first emit to last delivery), and what the protocol did
//! to get them there. Run it only inside a private network namespace.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use eventcast::{Config, Eventcast, Notice};

/// How long the receiver may go without news before the run is over.
const QUIET: Duration = Duration::from_secs(15);

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let events: u64 = std::env::args()
        .nth(1)
        .map_or(Ok(1_000_000), |a| a.parse())?;

    let config = Config::default().port(41_236).multicast_ttl(0);
    let sender = Eventcast::new(config.clone())?;
    let receiver = Eventcast::new(config)?;
    sender.start().await?;
    receiver.start().await?;

    // The listener runs on the receiver's task, in delivery order.
    let next = Arc::new(AtomicU64::new(0));
    let wrong = Arc::new(AtomicU64::new(0));
    {
        let (next, wrong) = (next.clone(), wrong.clone());
        receiver.on("tick", move |event| {
            let i: i64 = event.arg(0).unwrap_or(-1);
            if i as u64 == next.load(Ordering::Relaxed) {
                next.fetch_add(1, Ordering::Relaxed);
            } else {
                wrong.fetch_add(1, Ordering::Relaxed);
            }
        })?;
    }
    let lost = Arc::new(AtomicU64::new(0));
    let reasons = Arc::new(std::sync::Mutex::new(std::collections::BTreeMap::new()));
    {
        let (lost, reasons) = (lost.clone(), reasons.clone());
        receiver.on_notice(move |notice| {
            if let Notice::Loss(loss) = notice {
                lost.fetch_add(loss.count, Ordering::Relaxed);
                *reasons
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .entry(loss.reason.to_string())
                    .or_insert(0) += loss.count;
            }
        });
    }

    let start = Instant::now();
    for i in 0..events {
        sender.emit_wait("tick", &(i as i64,)).await?;
    }
    let emitted = start.elapsed();
    let mut seen = 0;
    let mut last = Instant::now();
    loop {
        tokio::time::sleep(Duration::from_millis(5)).await;
        let now = next.load(Ordering::Relaxed) + wrong.load(Ordering::Relaxed);
        if now != seen {
            seen = now;
            last = Instant::now();
        }
        if now + lost.load(Ordering::Relaxed) >= events || last.elapsed() > QUIET {
            break;
        }
    }
    let elapsed = last.saturating_duration_since(start);
    let delivered = next.load(Ordering::Relaxed);
    let (tx, rx) = (sender.stats(), receiver.stats());
    println!(
        "{delivered}/{events} events delivered in order in {:.2} s: {:.0} events/s \
         (emitted in {:.2} s); {} out of order, {} reported lost; sender: {} datagrams \
         ({} batches), {} repairs, {} rate decreases, rate now {} B/s; receiver: {} NACKs, \
         {} kernel drops",
        elapsed.as_secs_f64(),
        delivered as f64 / elapsed.as_secs_f64(),
        emitted.as_secs_f64(),
        wrong.load(Ordering::Relaxed),
        lost.load(Ordering::Relaxed),
        tx.protocol.datagrams_sent,
        tx.protocol.batches_sent,
        tx.protocol.repairs_sent,
        tx.protocol.rate_decreases,
        tx.protocol.send_rate,
        rx.protocol.nacks_sent,
        rx.kernel_drops,
    );
    let reasons = reasons.lock().unwrap_or_else(|e| e.into_inner()).clone();
    if !reasons.is_empty() {
        println!("losses by reason: {reasons:?}");
    }
    sender.stop().await;
    receiver.stop().await;
    Ok(())
}
