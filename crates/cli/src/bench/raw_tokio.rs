//! Figure 2's second baseline: raw UDP ping-pong on tokio, the runtime
//! eventcast's node runs on. The socket is the raw baseline's (same calls
//! and options), made non-blocking and registered with tokio; one task
//! sends and awaits, with no protocol, no channels and no other task.
//!
//! Between blocking raw UDP and eventcast it tells how much of eventcast's
//! round trip is the runtime's wake-ups and how much is eventcast's own.

use std::time::Instant;

use anyhow::Context as _;
use tokio::net::UdpSocket;

use super::proto::{self, Spec};
use super::raw::{
    self, pong_done, read_header, write_header, RoundTrips, HEADER, KIND_PING, KIND_PONG,
    PING_TIMEOUT, POLL,
};

/// The raw socket, registered with tokio.
fn open(spec: &Spec) -> anyhow::Result<(UdpSocket, std::net::SocketAddr)> {
    let joined = raw::open(spec)?;
    joined
        .socket
        .set_nonblocking(true)
        .context("cannot make the socket non-blocking")?;
    let socket =
        UdpSocket::from_std(joined.socket).context("cannot register the socket with tokio")?;
    Ok((socket, joined.group))
}

/// `--role ping --transport raw-tokio`.
pub(crate) async fn ping(spec: &Spec) -> anyhow::Result<()> {
    let (socket, group) = open(spec)?;
    let mut out = vec![0x78u8; spec.size.max(HEADER)];
    let mut buf = vec![0u8; 65_536];
    let mut trips = RoundTrips::new(spec.pings);
    for seq in 0..trips.total() {
        write_header(&mut out, KIND_PING, seq, 0, 1);
        let t0 = Instant::now();
        socket
            .send_to(&out, group)
            .await
            .context("cannot send a ping")?;
        let deadline = tokio::time::Instant::from_std(t0 + PING_TIMEOUT);
        let answered = loop {
            match tokio::time::timeout_at(deadline, socket.recv_from(&mut buf)).await {
                Ok(Ok((n, _))) => {
                    if matches!(read_header(&buf[..n]), Some((KIND_PONG, s, ..)) if s == seq) {
                        break true;
                    }
                }
                Ok(Err(_)) => {}
                Err(_) => break false,
            }
        };
        trips.record(seq, t0, answered);
    }
    trips.report()
}

/// `--role pong --transport raw-tokio`.
pub(crate) async fn pong(spec: &Spec) -> anyhow::Result<()> {
    let (socket, group) = open(spec)?;
    let stop = proto::stop_signal(spec.controlled);
    proto::ready();
    let mut buf = vec![0u8; 65_536];
    let began = Instant::now();
    let mut last_ping = None;
    loop {
        if let Ok(Ok((n, _))) = tokio::time::timeout(POLL, socket.recv_from(&mut buf)).await {
            if let Some((KIND_PING, ..)) = read_header(&buf[..n]) {
                buf[0] = KIND_PONG;
                let _ = socket.send_to(&buf[..n], group).await;
                last_ping = Some(Instant::now());
            }
        }
        let stopped = stop.load(std::sync::atomic::Ordering::SeqCst);
        if pong_done(spec, stopped, began, last_ping) {
            return Ok(());
        }
    }
}
