//! A hostile LAN through real sockets (issue 17): strangers with made-up
//! ids (one event each, partial messages that never complete), and an
//! impersonator of the emitter without a key (a heartbeat with a lead of
//! 2^40 before the first event, a frame at seq + 2^40, a forged copy of a
//! coming event). Every event of the emitter arrives exactly once, none is
//! reported lost, the forged copy is reported as a conflict, the NACKs stay
//! under one per 10 hostile datagrams, and the send-only emitter holds no
//! partial message and sends no NACK.

use eventcast::Notice;
use eventcast_proto::wire::{DataHeader, Flags, Heartbeat};
use eventcast_proto::{encode_body, MessageSeq, SegmentIndex, SenderId};
use tokio::sync::broadcast::error::TryRecvError;

use crate::common::*;

/// Events the emitter sends.
const N: u64 = 300;

/// A raw data frame of `sender`.
fn data(sender: SenderId, seq: u64, index: u32, count: u32, len: usize, payload: &[u8]) -> Vec<u8> {
    let mut bytes = Vec::new();
    DataHeader {
        flags: Flags::empty(),
        sender,
        seq: MessageSeq::new(seq),
        index: SegmentIndex::new(index),
        count,
        message_len: len as u32,
    }
    .write(&mut bytes);
    bytes.extend_from_slice(payload);
    bytes
}

/// A complete event `name(arg)` as message `seq` of `sender`.
fn event(sender: SenderId, seq: u64, name: &str, arg: &str) -> Vec<u8> {
    let body = encode_body(name, &[arg.into()]).expect("encodes");
    data(sender, seq, 0, 1, body.len(), &body)
}

/// Strangers: `n` made-up ids from `first`, each sending one datagram (a
/// small event, or the first segment of a message that never completes).
fn strangers(first: u64, n: u64) -> Vec<Vec<u8>> {
    (first..first + n)
        .map(|i| {
            let id = SenderId::new((1 << 40) + i);
            if i % 2 == 0 {
                event(id, i % 1000, "x", "stranger")
            } else {
                data(id, i % 1000, 0, 64, 64 * 1024, &[0xEE; 1024])
            }
        })
        .collect()
}

fn send_all(group: std::net::SocketAddr, datagrams: &[Vec<u8>]) -> u64 {
    for chunk in datagrams.chunks(100) {
        let refs: Vec<&[u8]> = chunk.iter().map(Vec::as_slice).collect();
        send_raw(group, &refs);
        // Leave the socket buffers time to drain.
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    datagrams.len() as u64
}

#[test]
fn strangers_and_an_impersonator_cost_no_event() {
    netns_test::run(|| {
        block_on(async {
            let port = free_port();
            let listener = &start_nodes(1, &config(port)).await[0];
            let emitter = &start_nodes(1, &config(port).send_only(true)).await[0];
            let mut notices = listener.notices();
            let mut sub = listener.subscribe_to(["e"]).expect("names");
            let group = listener.group_addr().expect("group");
            let victim = emitter.id();
            let mut hostile = 0;

            // Before the first event: a heartbeat with a lead of 2^40.
            let mut hb = Vec::new();
            let far = MessageSeq::new(1 << 40);
            Heartbeat::new(victim, far, MessageSeq::new(0), u32::MAX)
                .expect("heartbeat")
                .write(&mut hb);
            hostile += send_all(group, &[hb]);
            hostile += send_all(group, &strangers(0, 2000));

            for i in 0..N {
                emitter.emit("e", &(i as i64,)).expect("emit");
                match i {
                    100 => hostile += send_all(group, &[event(victim, i + (1 << 40), "e", "far")]),
                    // A forged copy of event 200, before it is sent.
                    150 => hostile += send_all(group, &[event(victim, 200, "e", "forged")]),
                    _ => {}
                }
                if i % 50 == 0 {
                    hostile += send_all(group, &strangers(10_000 + i * 100, 100));
                }
                if i % 20 == 0 {
                    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
                }
            }
            let events = collect_remote(&mut sub, N as usize).await;
            let seqs: Vec<u64> = events
                .iter()
                .filter_map(|e| e.seq())
                .map(|s| s.get())
                .collect();
            assert_eq!(
                seqs,
                (0..N).collect::<Vec<_>>(),
                "every event once, in order"
            );
            assert!(events.iter().all(|e| e.sender() == victim));
            let forged = events.iter().filter(|e| e.arg::<String>(0).is_ok()).count();
            assert_eq!(forged, 1, "the forged copy took event 200's place");
            // The real event 200 comes as a second, different copy.
            wait_until("the conflict counted", || {
                listener.stats().protocol.conflicts > 0
            })
            .await;

            let mut conflicts = 0;
            loop {
                let notice = match notices.try_recv() {
                    Ok(notice) => notice,
                    Err(TryRecvError::Lagged(n)) => panic!("{n} notices missed"),
                    Err(_) => break,
                };
                match notice {
                    Notice::Loss(loss) => {
                        assert_ne!(loss.sender, victim, "a loss of the emitter: {loss}")
                    }
                    Notice::Conflict(c) => {
                        assert_eq!((c.sender, c.seq.get()), (victim, 200));
                        conflicts += 1;
                    }
                    _ => {}
                }
            }
            assert_eq!(conflicts, 1, "one conflict notice for the emitter");

            let s = listener.stats().protocol;
            assert!(s.dropped.implausible >= 1, "{s:?}");
            assert!(
                s.nacks_sent * 10 <= hostile,
                "{} NACKs for {hostile} datagrams",
                s.nacks_sent
            );
            let e = emitter.stats().protocol;
            assert!(e.dropped.not_receiving > 0, "{e:?}");
            assert_eq!(
                (e.partial_messages, e.nacks_sent, e.senders),
                (0, 0, 0),
                "{e:?}"
            );
            stop_all(&[listener.clone(), emitter.clone()]).await;
        })
    });
}
