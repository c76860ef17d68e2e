//! The eventcast side of figure 2: a `ping` node emits a small event and
//! waits for the `pong` node's answer before it sends the next.
//!
//! `pong` answers from a listener, on its node's task (the shortest path
//! the API has); `ping` waits on a subscription, as an application awaiting
//! an answer would.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::proto::{self, Spec, PING, PONG};
use super::raw::{pong_done, RoundTrips, PING_TIMEOUT};
use crate::common;

/// `--role ping`: `--pings` round trips (after a short warm-up), each
/// ping a sequence number and a string of `--size` bytes.
pub(crate) async fn ping(spec: &Spec) -> anyhow::Result<()> {
    let node = common::new_node(spec.config()?)?;
    let mut pongs = node.subscribe_to([PONG])?;
    common::start(&node).await?;
    let payload = "x".repeat(spec.size);
    let mut trips = RoundTrips::new(spec.pings);
    for n in 0..trips.total() {
        let want = n as i64;
        let t0 = Instant::now();
        node.emit(PING, &(want, payload.as_str()))?;
        let deadline = tokio::time::Instant::from_std(t0 + PING_TIMEOUT);
        let answered = loop {
            match tokio::time::timeout_at(deadline, pongs.recv()).await {
                Ok(Some(event)) if event.arg::<i64>(0).ok() == Some(want) => break true,
                Ok(Some(_)) => continue, // a late answer to an earlier ping
                Ok(None) => anyhow::bail!("the node stopped"),
                Err(_) => break false,
            }
        };
        trips.record(n, t0, answered);
    }
    node.stop().await;
    trips.report()
}

/// `--role pong`: answers every ping with a pong carrying the same
/// arguments, forwarded as they arrived (as raw UDP's pong sends back the
/// bytes it read).
pub(crate) async fn pong(spec: &Spec) -> anyhow::Result<()> {
    let node = common::new_node(spec.config()?)?;
    let last_ping: Arc<Mutex<Option<Instant>>> = Arc::default();
    {
        let answer = node.clone();
        let last_ping = last_ping.clone();
        node.on(PING, move |event| {
            // As raw UDP's pong, it answers whatever the ping holds (the
            // pinger checks the sequence number). A pong refused (a full
            // send queue) is a lost round trip, which the pinger counts.
            let _ = answer.forward(PONG, event);
            *last_ping.lock().unwrap_or_else(|e| e.into_inner()) = Some(Instant::now());
        })?;
    }
    common::start(&node).await?;
    let stop = proto::stop_signal(spec.controlled);
    proto::ready();
    let began = Instant::now();
    loop {
        tokio::time::sleep(Duration::from_millis(5)).await;
        let last = *last_ping.lock().unwrap_or_else(|e| e.into_inner());
        if pong_done(spec, stop.load(Ordering::SeqCst), began, last) {
            break;
        }
    }
    // The listener holds a handle of the node: drop it, then stop.
    node.remove_all_listeners(None);
    node.stop().await;
    Ok(())
}
