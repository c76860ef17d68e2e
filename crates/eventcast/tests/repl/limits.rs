//! Limits that protect the node from its REPL clients: how many may
//! connect, and a client that does not read.

use std::time::Duration;

use crate::client::Client;
use crate::common::*;
use eventcast::Eventcast;
use tokio::io::AsyncReadExt as _;

#[test]
fn clients_over_the_limit_are_told_and_turned_away() {
    netns_test::run(|| {
        block_on(async {
            let node =
                Eventcast::new(config(free_port()).repl_enabled(true).repl_max_clients(2)).unwrap();
            let addr = node.repl().open().await.unwrap();
            let mut a = Client::connect(addr).await;
            let _b = Client::connect(addr).await;

            let mut third = tokio::net::TcpStream::connect(addr).await.unwrap();
            let mut text = String::new();
            guard("the refusal", third.read_to_string(&mut text))
                .await
                .unwrap();
            assert_eq!(
                text,
                "error: too many clients (2 connected, the limit); try again later\r\n"
            );
            assert_eq!(node.repl().stats().rejected, 1);
            assert_eq!(node.repl().clients(), 2);

            // When one leaves, there is room again.
            a.send(b"quit\n").await;
            a.read_to_end().await;
            wait_until("a gone", || node.repl().clients() == 1).await;
            let mut c = Client::connect(addr).await;
            assert_eq!(c.command("id").await, node.id().to_string());
            assert!(c
                .command("clients")
                .await
                .starts_with("2 clients connected (at most 2)"));
        })
    });
}

/// Events big enough that a few thousand overflow any socket buffers.
const EVENT_BYTES: usize = 10_000;
const EVENTS: usize = 4_000;

#[test]
fn a_client_that_does_not_read_never_holds_up_the_node() {
    netns_test::run(|| {
        block_on(async {
            let mut config = config(free_port()).repl_enabled(true);
            config.repl.output_queue = 8;
            let node = Eventcast::new(config).unwrap();
            let addr = node.repl().open().await.unwrap();
            let mut stuck = Client::connect(addr).await;
            stuck.command("on flood").await;
            let mut other = Client::connect(addr).await;

            // The node is stopped, so emit fires the listeners right here,
            // the REPL's included: if one waited for the stuck client, this
            // loop would hang (and the guard fail the test).
            let mut all = node.subscribe();
            let payload = "x".repeat(EVENT_BYTES);
            guard("emitting past a stuck client", async {
                for i in 0..EVENTS {
                    node.emit("flood", &(i as i64, &payload)).unwrap();
                    assert_eq!(
                        all.try_recv().map(|e| e.arg::<i64>(0).unwrap()),
                        Some(i as i64)
                    );
                }
            })
            .await;
            wait_until("drops counted", || node.repl().stats().events_dropped > 0).await;
            // Another client is served meanwhile.
            assert_eq!(other.command("id").await, node.id().to_string());

            // Once the stuck client reads again, it is told what it missed,
            // with the next event the session takes: poke until one finds
            // room in its queue (a poke that does not is dropped, and
            // counted, like any other).
            let mut pokes = 0u64;
            let warning = loop {
                node.emit("flood", &(-1i64,)).unwrap();
                pokes += 1;
                let read = stuck.read_until(b" events dropped: this session did not keep up");
                match tokio::time::timeout(Duration::from_millis(100), read).await {
                    Ok(warning) => break warning,
                    Err(_) => assert!(pokes < 100, "no warning after {pokes} pokes"),
                }
            };
            let warning = String::from_utf8_lossy(&warning);
            let line = warning.rsplit("\r\n").next().unwrap_or_default();
            assert!(line.starts_with("warning: "), "{line}");
            // Every event was either written or dropped: read on until the
            // counters add up (the session writes as fast as the client
            // reads).
            let total = EVENTS as u64 + pokes;
            guard("every event written or dropped", async {
                loop {
                    let stats = node.repl().stats();
                    if stats.events_streamed + stats.events_dropped == total {
                        break;
                    }
                    let _ =
                        tokio::time::timeout(Duration::from_millis(20), stuck.read_until(b"\r\n"))
                            .await;
                }
            })
            .await;
            let stats = node.repl().stats();
            assert!(stats.events_dropped > 0 && stats.events_streamed > 0);
        })
    });
}
