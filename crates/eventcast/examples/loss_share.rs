//! Measures the share of large events delivered complete through the loss
//! the network has: one sender, one receiver, in this process.
//!
//! ```text
//! cargo build --release -p eventcast --example loss_share
//! NETNS_LOSS=10 scripts/netns target/release/examples/loss_share [EVENTS] [BYTES]
//! ```
//!
//! (default 100 events of 100 KiB). `NETNS_LOSS` makes the namespace drop
//! that share of incoming UDP datagrams (NACKs, repairs and heartbeats
//! too). It prints one line: events delivered complete, losses reported,
//! time from the first emit to the last event, and the repair counters.
//! Run it only inside a private network namespace.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use eventcast::bson::{spec::BinarySubtype, Binary, Bson};
use eventcast::{Config, Eventcast, Notice};

/// How long the receiver may go without news before the run is over.
const QUIET: Duration = Duration::from_secs(15);

fn blob(i: u64, size: usize) -> Bson {
    Bson::Binary(Binary {
        subtype: BinarySubtype::Generic,
        bytes: (0..size).map(|k| (k as u64 * 31 + i) as u8).collect(),
    })
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let events: u64 = args.next().map_or(Ok(100), |a| a.parse())?;
    let size: usize = args.next().map_or(Ok(100 * 1024), |a| a.parse())?;
    let loss = std::env::var("NETNS_LOSS").unwrap_or_else(|_| "0".into());

    let config = Config::default().port(41_235).multicast_ttl(0);
    let sender = Eventcast::new(config.clone())?;
    let receiver = Eventcast::new(config)?;
    sender.start().await?;
    receiver.start().await?;

    let complete = Arc::new(AtomicU64::new(0));
    let damaged = Arc::new(AtomicU64::new(0));
    let last = Arc::new(std::sync::Mutex::new(Instant::now()));
    {
        let (complete, damaged, last) = (complete.clone(), damaged.clone(), last.clone());
        receiver.on("blob", move |event| {
            let i: i64 = event.arg(0).unwrap_or(-1);
            if i >= 0 && event.raw_args().get(1) == Some(&blob(i as u64, size)) {
                complete.fetch_add(1, Ordering::Relaxed);
            } else {
                damaged.fetch_add(1, Ordering::Relaxed);
            }
            *last.lock().unwrap_or_else(|e| e.into_inner()) = Instant::now();
        })?;
    }
    let lost = Arc::new(AtomicU64::new(0));
    {
        let lost = lost.clone();
        receiver.on_notice(move |notice| {
            if let Notice::Loss(loss) = notice {
                lost.fetch_add(loss.count, Ordering::Relaxed);
            }
        });
    }

    let start = Instant::now();
    for i in 0..events {
        sender.emit_wait("blob", &(i as i64, blob(i, size))).await?;
    }
    loop {
        tokio::time::sleep(Duration::from_millis(10)).await;
        let accounted = complete.load(Ordering::Relaxed)
            + damaged.load(Ordering::Relaxed)
            + lost.load(Ordering::Relaxed);
        let idle = last.lock().unwrap_or_else(|e| e.into_inner()).elapsed();
        if accounted >= events || idle > QUIET {
            break;
        }
    }
    let elapsed = last
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .saturating_duration_since(start);
    let (tx, rx) = (sender.stats(), receiver.stats());
    println!(
        "loss {loss}%: {}/{events} events of {size} B delivered complete ({:.1}%), \
         {} reported lost, {} damaged, in {:.2} s; receiver: {} NACKs, {} repairs received, \
         {} kernel drops; sender: {} datagrams, {} repairs, {} rate decreases",
        complete.load(Ordering::Relaxed),
        100.0 * complete.load(Ordering::Relaxed) as f64 / events as f64,
        lost.load(Ordering::Relaxed),
        damaged.load(Ordering::Relaxed),
        elapsed.as_secs_f64(),
        rx.protocol.nacks_sent,
        rx.protocol.repairs_received,
        rx.kernel_drops,
        tx.protocol.datagrams_sent,
        tx.protocol.repairs_sent,
        tx.protocol.rate_decreases,
    );
    sender.stop().await;
    receiver.stop().await;
    Ok(())
}
