//! Start and stop: both idempotent, a restart is a new sender, what was
//! emitted before stop still goes out, and emit while stopped fires only
//! local listeners.

use crate::common::*;
use eventcast::{Eventcast, Notice};
use tokio::sync::broadcast::error::TryRecvError;

#[test]
fn start_and_stop_are_idempotent_and_restart_is_a_new_sender() {
    netns_test::run(|| {
        block_on(async {
            let config = config(free_port());
            let peer = start_nodes(1, &config).await.remove(0);
            let mut heard = peer.subscribe_to(["hi"]).expect("exact names");
            let node = Eventcast::new(config).unwrap();
            let mut notices = node.notices();
            assert!(!node.is_running());
            assert_eq!(node.local_addr(), None);
            let first_id = node.id();

            node.start().await.unwrap();
            node.start().await.unwrap();
            assert!(node.is_running());
            assert_eq!(
                node.id(),
                first_id,
                "the first start uses the id shown before"
            );
            assert_eq!(node.stats().starts, 1, "the second start did nothing");
            assert!(node.stats().running);
            let local = node.local_addr().expect("bound while running");
            assert_eq!(local.port(), node.config().port.unwrap());
            assert_eq!(node.group_addr().unwrap().port(), local.port());
            match notices.try_recv() {
                Ok(Notice::Started { id, local_addr, .. }) => {
                    assert_eq!((id, local_addr), (first_id, local));
                }
                other => panic!("expected Started, got {other:?}"),
            }
            assert!(matches!(notices.try_recv(), Err(TryRecvError::Empty)));

            node.emit("hi", &(1,)).unwrap();
            let event = next_remote(&mut heard).await;
            assert_eq!(
                (event.sender(), event.arg::<i32>(0).unwrap()),
                (first_id, 1)
            );

            node.stop().await;
            node.stop().await;
            assert!(!node.is_running());
            assert!(!node.stats().running);
            assert_eq!(node.local_addr(), None);
            assert_eq!(node.group_addr(), None);
            assert_eq!(notices.try_recv(), Ok(Notice::Stopped { id: first_id }));
            assert!(matches!(notices.try_recv(), Err(TryRecvError::Empty)));

            node.start().await.unwrap();
            let second_id = node.id();
            assert_ne!(second_id, first_id, "a restart is a new sender");
            assert_eq!(node.stats().starts, 2);
            assert!(matches!(
                notices.try_recv(),
                Ok(Notice::Started { id, .. }) if id == second_id
            ));
            node.emit("hi", &(2,)).unwrap();
            let event = next_remote(&mut heard).await;
            assert_eq!(
                (event.sender(), event.arg::<i32>(0).unwrap()),
                (second_id, 2)
            );
            assert_eq!(peer.stats().protocol.senders, 2);
            assert_eq!(peer.stats().protocol.dropped.total(), 0);

            node.stop().await;
            assert!(matches!(notices.try_recv(), Ok(Notice::Stopped { id }) if id == second_id));
            peer.stop().await;
        })
    });
}

#[test]
fn what_was_emitted_before_stop_still_goes_out() {
    netns_test::run(|| {
        block_on(async {
            let nodes = start_nodes(2, &config(free_port())).await;
            let (a, b) = (&nodes[0], &nodes[1]);
            let mut sub = b.subscribe_to(["n"]).expect("exact names");
            for i in 0..50 {
                a.emit("n", &(i,)).unwrap();
            }
            a.stop().await;
            let got: Vec<i32> = collect_remote(&mut sub, 50)
                .await
                .iter()
                .map(|e| e.arg(0).unwrap())
                .collect();
            assert_eq!(got, (0..50).collect::<Vec<_>>());
            assert_eq!(a.stats().protocol.messages_sent, 50);
            b.stop().await;
        })
    });
}

#[test]
fn emit_while_stopped_fires_local_listeners_and_sends_nothing() {
    netns_test::run(|| {
        block_on(async {
            let config = config(free_port());
            let nodes = start_nodes(2, &config).await;
            let (peer, witness) = (&nodes[0], &nodes[1]);
            let mut heard = peer.subscribe();

            // Never started.
            let node = Eventcast::new(config).unwrap();
            let local = Recorder::new();
            node.on("x", local.listener()).expect("an exact name");
            node.emit("x", &("before start",)).unwrap();
            assert_eq!(local.calls(), 1);
            assert_eq!(node.stats().emitted_while_stopped, 1);
            assert!(local.events()[0].is_local());

            // Started, then stopped.
            node.start().await.unwrap();
            node.emit("x", &("while running",)).unwrap();
            assert_eq!(next_remote(&mut heard).await.name(), "x");
            node.stop().await;
            let sent = node.stats().protocol.datagrams_sent;
            node.emit("x", &("after stop",)).unwrap();
            assert_eq!(local.calls(), 3);
            assert_eq!(node.stats().emitted_while_stopped, 2);
            assert_eq!(node.stats().protocol.datagrams_sent, sent, "nothing sent");

            // Whatever reached the peer before the witness's sentinel is in:
            // "after stop" is not.
            let before = sync(witness, &mut heard).await;
            assert!(before.is_empty(), "the peer heard {before:?}");
            assert_eq!(peer.stats().protocol.messages_received, 2);

            let args: Vec<String> = local.events().iter().map(|e| e.arg(0).unwrap()).collect();
            assert_eq!(args, ["before start", "while running", "after stop"]);
            stop_all(&nodes).await;
        })
    });
}
