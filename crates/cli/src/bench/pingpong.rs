//! The eventcast side of figure 2: a `ping` node emits a small event and
//! waits for the `pong` node's answer before it sends the next.
//!
//! `pong` answers from a listener, on its node's task (the shortest path
//! the API has); `ping` takes each pong in a listener too and sends the
//! next ping from there, or with `--ping-from subscription` waits on a
//! subscription, as an application task awaiting an answer would.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::args::PingFrom;
use super::proto::{self, Spec, PING, PONG};
use super::raw::{pong_done, RoundTrips, PING_TIMEOUT};
use crate::common;

/// `--role ping`: `--pings` round trips (after a short warm-up), each
/// ping a sequence number and a string of `--size` bytes; this function
/// itself awaits each pong on a subscription (`--ping-from
/// subscription`).
pub(crate) async fn ping(spec: &Spec) -> anyhow::Result<()> {
    if spec.ping_from == PingFrom::Listener {
        return ping_from_listener(spec).await;
    }
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

/// `--role ping` from a listener (the default): the pong listener, on the
/// node's task, records each round trip and emits the next ping; the
/// application's task starts the chain, sends on after a round trip lost
/// for [`PING_TIMEOUT`], and waits for the end.
async fn ping_from_listener(spec: &Spec) -> anyhow::Result<()> {
    let node = common::new_node(spec.config()?)?;
    let payload: Arc<str> = "x".repeat(spec.size).into();
    let chain = Arc::new(Mutex::new(Chain::new(spec.pings)));
    let done = Arc::new(tokio::sync::Notify::new());
    {
        let (answer, chain, payload, done) =
            (node.clone(), chain.clone(), payload.clone(), done.clone());
        node.on(PONG, move |event| {
            let next = {
                let mut chain = lock(&chain);
                if chain.done || event.arg::<i64>(0).ok() != Some(chain.n as i64) {
                    return; // a late answer to an earlier ping
                }
                chain.answered()
            };
            match next {
                // A ping refused (a full send queue) is a lost round trip.
                Some(n) => {
                    let _ = answer.emit(PING, &(n as i64, &*payload));
                }
                None => done.notify_one(),
            }
        })?;
    }
    common::start(&node).await?;
    lock(&chain).t0 = Instant::now();
    node.emit(PING, &(0i64, &*payload))?;
    loop {
        // Woken by the end, or when the round trip under way (if it is
        // still the same one) has been lost: not every few milliseconds,
        // which would wake this process in the middle of round trips.
        let (n, deadline) = {
            let chain = lock(&chain);
            (chain.n, chain.t0 + PING_TIMEOUT)
        };
        let deadline = tokio::time::Instant::from_std(deadline);
        if tokio::time::timeout_at(deadline, done.notified())
            .await
            .is_ok()
        {
            break;
        }
        let next = {
            let mut chain = lock(&chain);
            if chain.done {
                break;
            }
            if chain.n != n || chain.t0.elapsed() < PING_TIMEOUT {
                continue;
            }
            chain.lost()
        };
        match next {
            Some(n) => {
                let _ = node.emit(PING, &(n as i64, &*payload));
            }
            None => break,
        }
    }
    // The listener holds a handle of the node: drop it, then stop.
    node.remove_all_listeners(None);
    node.stop().await;
    let trips = std::mem::replace(&mut *lock(&chain), Chain::new(0)).trips;
    trips.report()
}

/// The round trips of `--ping-from listener`: the one under way, when it
/// started, and the tally.
struct Chain {
    trips: RoundTrips,
    n: u64,
    t0: Instant,
    done: bool,
}

impl Chain {
    fn new(pings: u64) -> Self {
        Chain {
            trips: RoundTrips::new(pings),
            n: 0,
            t0: Instant::now(),
            done: false,
        }
    }

    /// The round trip under way was answered: the next one to send, its
    /// clock started, or `None` after the last.
    fn answered(&mut self) -> Option<u64> {
        self.trips.record(self.n, self.t0, true);
        self.next()
    }

    /// The round trip under way was lost: as [`answered`](Self::answered).
    fn lost(&mut self) -> Option<u64> {
        self.trips.record(self.n, self.t0, false);
        self.next()
    }

    fn next(&mut self) -> Option<u64> {
        self.n += 1;
        self.done = self.n >= self.trips.total();
        self.t0 = Instant::now();
        (!self.done).then_some(self.n)
    }
}

fn lock(chain: &Mutex<Chain>) -> std::sync::MutexGuard<'_, Chain> {
    chain.lock().unwrap_or_else(|e| e.into_inner())
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chain_counts_each_round_trip_once_and_ends_after_the_last() {
        let mut chain = Chain::new(20);
        let total = chain.trips.total();
        assert_eq!(total, 22); // 2 of warm-up
        let mut sent = vec![0];
        for n in 0..total {
            assert!(!chain.done);
            let next = if n == 5 {
                chain.lost()
            } else {
                chain.answered()
            };
            sent.extend(next);
        }
        assert!(chain.done);
        assert_eq!(sent, (0..total).collect::<Vec<_>>());
        // Round trip 5 is after the warm-up: counted lost, the rest taken.
        assert_eq!(chain.trips.counts(), (19, 1));
    }
}
