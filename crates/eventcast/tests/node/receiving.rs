//! Receiving follows the listeners, through real sockets: a node with no
//! listener and no subscription reads none of the other senders' events
//! (it holds no partial message, tracks no sender, sends no NACK); the
//! first listener turns receiving on, owed what is sent from then on with
//! no loss reported for what came before; the last one gone, it stops
//! again. A node nobody listens on still repairs its own events, and a
//! `send_only` node never receives, while its local emits still reach its
//! local listeners.

use std::collections::BTreeMap;

use eventcast::bson::{spec::BinarySubtype, Binary, Bson};
use eventcast::Notice;

use crate::common::*;

fn blob(len: usize, seed: usize) -> Bson {
    Bson::Binary(Binary {
        subtype: BinarySubtype::Generic,
        bytes: (0..len).map(|k| (k * 31 + seed) as u8).collect(),
    })
}

/// The data datagrams (segments, batches, repairs) `node` has handed out
/// to send: all it sent but its heartbeats, NACKs and statuses (without a
/// key there is no handshake).
fn data_sent(node: &eventcast::Eventcast) -> u64 {
    let s = node.stats().protocol;
    s.datagrams_sent - s.heartbeats_sent - s.nacks_sent - s.statuses_sent
}

/// Segments of a 30 KiB event, at the default payload size.
const BIG: usize = 30 * 1024;

#[test]
fn a_node_reads_other_senders_only_while_somebody_listens() {
    netns_test::run(|| {
        block_on(async {
            let nodes = start_nodes(3, &config(free_port())).await;
            let (talker, quiet, watcher) = (&nodes[0], &nodes[1], &nodes[2]);
            let mut watched = watcher.subscribe_to(["big", "small"]).expect("names");
            let mut notices = quiet.notices();
            let mut sent = 0;
            let mut emit = |name: &str, i: i64| {
                let args = (i, blob(if name == "big" { BIG } else { 8 }, i as usize));
                talker.emit(name, &args).expect("emit");
                sent += 1;
            };
            for i in 0..5 {
                emit("big", i);
                emit("small", i);
            }
            collect_remote(&mut watched, 10).await;
            // Every data datagram the talker sent, not just some: one still
            // queued at the quiet node when it subscribes would be read.
            wait_until("the quiet node drops all of the talker's data", || {
                quiet.stats().protocol.dropped.not_receiving >= data_sent(talker)
            })
            .await;
            let q = quiet.stats().protocol;
            assert_eq!(
                (
                    q.messages_received,
                    q.partial_messages,
                    q.senders,
                    q.nacks_sent
                ),
                (0, 0, 0, 0),
                "{q:?}"
            );
            assert!(quiet.peers().await.is_empty());

            // Somebody listens: owed what is sent from now on.
            let mut sub = quiet.subscribe_to(["big", "small"]).expect("names");
            for i in 5..8 {
                emit("small", i);
            }
            emit("big", 8);
            let got: Vec<(String, i64)> = collect_remote(&mut sub, 4)
                .await
                .iter()
                .map(|e| (e.name().to_owned(), e.arg(0).expect("index")))
                .collect();
            let want = [("small", 5), ("small", 6), ("small", 7), ("big", 8)];
            let want: Vec<(String, i64)> = want.iter().map(|(n, i)| (n.to_string(), *i)).collect();
            assert_eq!(got, want);

            // The last one gone: it stops reading, and holds nothing.
            drop(sub);
            let dropped = quiet.stats().protocol.dropped.not_receiving;
            for i in 9..12 {
                emit("big", i);
            }
            collect_remote(&mut watched, 4 + 3).await;
            // Most of it, not all: the first datagrams may come before the
            // node's task sees the subscription gone, and are read.
            wait_until("the quiet node drops the talker's data again", || {
                quiet.stats().protocol.dropped.not_receiving >= dropped + 3 * 20
            })
            .await;
            let q = quiet.stats().protocol;
            assert_eq!(q.messages_received, 4, "{q:?}");
            assert_eq!((q.partial_messages, q.partial_bytes, q.senders), (0, 0, 0));
            // (Its one NACK, if any, asked the talker for a heartbeat when
            // it joined mid-stream: empty, it names no loss.)
            assert_eq!((q.messages_lost, q.loss_reports), (0, 0), "{q:?}");
            while let Ok(notice) = notices.try_recv() {
                assert!(!matches!(notice, Notice::Loss(_)), "{notice:?}");
            }
            assert_eq!(watcher.stats().protocol.messages_received, sent);
            stop_all(&nodes).await;
        })
    });
}

#[test]
fn a_node_nobody_listens_on_repairs_its_own_events() {
    const EACH: i64 = 40;
    netns_test::run_with_loss(10, || {
        block_on(async {
            let nodes = start_nodes(3, &config(free_port())).await;
            let talker = &nodes[0];
            let mut subs: Vec<_> = nodes[1..]
                .iter()
                .map(|n| n.subscribe_to(["blob"]).expect("names"))
                .collect();
            for i in 0..EACH {
                talker
                    .emit("blob", &(i, blob(20 * 1024, i as usize)))
                    .expect("emit");
            }
            // The listeners send too: the talker has their data to drop.
            nodes[1].emit("blob", &(-1, blob(BIG, 1))).expect("emit");
            for (r, sub) in subs.iter_mut().enumerate() {
                let mut next: BTreeMap<bool, i64> = BTreeMap::new();
                let want = EACH as usize + 1 - usize::from(r == 0);
                for event in collect_remote(sub, want).await {
                    let i: i64 = event.arg(0).expect("index");
                    let from_talker = event.sender() == talker.id();
                    if from_talker {
                        let expected = next.entry(true).or_insert(0);
                        assert_eq!(i, *expected, "listener {r}: in order, once each");
                        *expected += 1;
                        assert!(event.raw_args()[1] == blob(20 * 1024, i as usize));
                    }
                }
            }
            let t = talker.stats().protocol;
            assert!(t.nacks_received > 0 && t.repairs_sent > 0, "{t:?}");
            assert_eq!((t.nacks_sent, t.messages_received), (0, 0), "{t:?}");
            assert_eq!((t.partial_messages, t.senders), (0, 0), "{t:?}");
            wait_until("the talker drops the listener's data", || {
                talker.stats().protocol.dropped.not_receiving > 0
            })
            .await;
            stop_all(&nodes).await;
        })
    });
}

#[test]
fn a_send_only_node_fires_its_local_listeners_and_reads_nothing() {
    netns_test::run(|| {
        block_on(async {
            let port = free_port();
            let node = &start_nodes(1, &config(port).send_only(true)).await[0];
            let other = &start_nodes(1, &config(port)).await[0];
            let seen = Recorder::new();
            node.on("x", seen.listener()).expect("listener");
            let mut sub = node.subscribe();
            node.emit("x", &("mine",)).expect("emit");
            assert_eq!(seen.calls(), 1, "a local emit fires the local listener");
            assert!(next_event(&mut sub).await.is_local());
            other.emit("x", &("theirs",)).expect("emit");
            wait_until("the send-only node drops the other's event", || {
                node.stats().protocol.dropped.not_receiving >= 1
            })
            .await;
            assert_eq!(seen.calls(), 1);
            assert!(sub.try_recv().is_none());
            assert_eq!(node.stats().protocol.messages_received, 0);
            stop_all(&[node.clone(), other.clone()]).await;
        })
    });
}
