//! The eventcast side of figures 1, 3, 4 and 7: a node that emits events
//! as fast as the API takes them (or paced), and nodes that count them.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::proto::{self, Pacer, Received, Sent, Spec, Tally, EVENT, START};
use super::stamps::{self, Arrivals};
use crate::common;

/// How often a role looks at its node's counters.
const POLL: Duration = Duration::from_millis(5);

/// `--role send`: emits the start marker, then `--events` events with one
/// string argument of `--size` bytes, through the public API (`emit`, which
/// queues and returns; with `--binary`, one binary argument through
/// `emit_binary`, the same bytes shared by every event, as an application
/// hands over its frames); reports once the node has handed every
/// datagram to the socket.
pub(crate) async fn send(spec: &Spec) -> anyhow::Result<()> {
    let stop = proto::stop_signal(spec.controlled);
    let node = common::new_node(spec.config()?)?;
    common::start(&node).await?;
    let payload = "x".repeat(spec.size);
    // `--binary`: the same bytes, handed over (shared) with each event.
    let binary = spec.binary.then(|| Arc::new(payload.clone().into_bytes()));
    let marked = Instant::now();
    node.emit(START, &(spec.events as i64,))?;
    tokio::time::sleep(proto::LEAD).await;
    let t0 = Instant::now();
    let start_ns = stamps::monotonic_ns();
    let lead_secs = t0.duration_since(marked).as_secs_f64();
    let pacer = Pacer::new(t0, spec.rate);
    let mut sent_ns = Vec::new();
    for i in 0..spec.events {
        if let Some(wait) = pacer.delay(i, Instant::now) {
            tokio::time::sleep(wait).await;
        }
        if i > 0 && !spec.interval.is_zero() {
            tokio::time::sleep(spec.interval).await;
        }
        if spec.stamped {
            sent_ns.extend(stamps::monotonic_ns());
        }
        match &binary {
            Some(bytes) => node.emit_binary_wait(EVENT, bytes.clone()).await?,
            None => node.emit_wait(EVENT, &(payload.as_str(),)).await?,
        }
    }
    // The node's counters are copied after its task has sent a turn's
    // datagrams: once they show every message, every datagram is out.
    let total = spec.events + 1;
    while node.stats().protocol.messages_sent < total {
        tokio::time::sleep(Duration::from_micros(200)).await;
    }
    let secs = t0.elapsed().as_secs_f64();
    proto::report(
        "sent",
        &Sent {
            events: spec.events,
            secs,
            lead_secs,
            start_ns,
            send_errors: node.stats().send_errors,
            sent_ns,
            shared_messages: spec
                .binary
                .then(|| node.stats().protocol.messages_sent_shared),
        },
    )?;
    if spec.controlled {
        while !stop.load(Ordering::SeqCst) {
            tokio::time::sleep(POLL).await;
        }
    } else {
        tokio::time::sleep(spec.linger).await;
    }
    node.stop().await;
    Ok(())
}

/// `--role recv`: counts the events of `--size` bytes that arrive (in a
/// listener, on the node's task: the cheapest way the API offers) until it
/// has them all, or until it is told the sender is done and nothing more
/// arrived for `--settle-ms`.
pub(crate) async fn receive(spec: &Spec) -> anyhow::Result<()> {
    let node = common::new_node(spec.config()?)?;
    // Listeners never panic while holding the lock; a poisoned one is
    // taken back as it is.
    let tally = Arc::new(Mutex::new(Tally::new(Instant::now())));
    // Figure 8's arrival times; only its runs take this lock per event.
    let arrivals = Arc::new(Mutex::new(Arrivals::new(spec.stamped, spec.events)));
    let stamped = spec.stamped;
    {
        let tally = tally.clone();
        let arrivals = arrivals.clone();
        node.on(START, move |event| {
            let now = Instant::now();
            tally.lock().unwrap_or_else(|e| e.into_inner()).start(now);
            if stamped {
                let mut arrivals = arrivals.lock().unwrap_or_else(|e| e.into_inner());
                arrivals.marker(event.seq().map(|s| s.get()));
            }
        })?;
    }
    {
        let tally = tally.clone();
        let arrivals = arrivals.clone();
        let size = spec.size;
        let expected = spec.events;
        node.on(EVENT, move |event| {
            // Read in place, as an application reads a large argument (a
            // string, or with `--binary` a binary).
            let len = event
                .str_arg(0)
                .map(str::len)
                .or_else(|| event.bytes_arg(0).map(<[u8]>::len));
            if let Some(len) = len {
                if len == size {
                    let mut tally = tally.lock().unwrap_or_else(|e| e.into_inner());
                    if tally.count(len as u64, 1, expected) {
                        tally.stamp(Instant::now());
                    }
                    if stamped {
                        let mut arrivals = arrivals.lock().unwrap_or_else(|e| e.into_inner());
                        arrivals.arrived_seq(event.seq().map(|s| s.get()), tally.events - 1);
                    }
                }
            }
        })?;
    }
    common::start(&node).await?;
    let stop = proto::stop_signal(spec.controlled);
    proto::ready();
    let mut stopped_at = None;
    let mut datagrams = 0;
    loop {
        tokio::time::sleep(POLL).await;
        let now = Instant::now();
        if stopped_at.is_none() && stop.load(Ordering::SeqCst) {
            stopped_at = Some(now);
        }
        let seen = node.stats().protocol.datagrams_received;
        let mut tally = tally.lock().unwrap_or_else(|e| e.into_inner());
        if seen != datagrams {
            // Segments of an event still being put together.
            datagrams = seen;
            tally.activity(now);
        }
        if tally.done(now, spec, stopped_at) {
            break;
        }
    }
    let stats = node.stats();
    let tally = tally.lock().unwrap_or_else(|e| e.into_inner()).clone();
    proto::report(
        "result",
        &Received {
            events: tally.events,
            bytes: tally.bytes,
            secs: tally.secs(),
            from_start: tally.started(),
            last_ns: tally.last_ns(),
            datagrams: stats.protocol.datagrams_received,
            recv_buffer: stats.recv_buffer_size as u64,
            peak_rss_kib: proto::peak_rss_kib(),
            arrived_ns: std::mem::take(&mut *arrivals.lock().unwrap_or_else(|e| e.into_inner()))
                .into_vec(),
            owned: None,
        },
    )?;
    node.stop().await;
    Ok(())
}
