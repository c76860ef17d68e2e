//! 100 REPL clients connecting and disconnecting, every way a client can
//! leave, leave no task, no socket and no listener behind; closing the REPL
//! releases the rest.
//!
//! The only test in its binary, so nothing else opens descriptors or
//! spawns tasks in this process while it counts.

use crate::client::Client;
use crate::common::*;
use eventcast::Eventcast;

const CLIENTS: usize = 100;

#[test]
fn a_hundred_clients_leave_nothing_behind() {
    netns_test::run(|| {
        block_on(async {
            let node = Eventcast::new(config(free_port()).repl_enabled(true)).unwrap();
            let fds_before_repl = open_fds();
            let tasks_before_repl = alive_tasks();
            let addr = node.repl().open().await.unwrap();
            // Whatever is set up lazily by a first client is not a leak.
            let mut first = Client::connect(addr).await;
            first.send(b"quit\n").await;
            first.read_to_end().await;
            drop(first);
            wait_until("the first client gone", || node.repl().clients() == 0).await;
            wait_until("its task released", || {
                alive_tasks() == tasks_before_repl + 1
            })
            .await;

            let fds = open_fds();
            let tasks = alive_tasks();
            assert_eq!(fds, fds_before_repl + 1, "the listening socket");
            for i in 0..CLIENTS {
                let mut client = Client::connect(addr).await;
                match i % 4 {
                    // Says quit.
                    0 => {
                        client.send(b"quit\r\n").await;
                        assert_eq!(client.read_to_end().await, "bye\n");
                    }
                    // Streams an event, then hangs up.
                    1 => {
                        client.command("on tick").await;
                        node.emit("tick", &(i as i64,)).unwrap();
                        assert!(client.streamed_line().await.contains("tick"));
                    }
                    // Hangs up mid-line.
                    2 => client.send(b"emit half a li").await,
                    // Hangs up right away.
                    _ => {}
                }
                drop(client);
            }
            wait_until("every client gone", || node.repl().clients() == 0).await;
            wait_until("every session task released", || alive_tasks() == tasks).await;
            wait_until("every client socket closed", || open_fds() == fds).await;
            assert_eq!(node.listener_count("tick"), 0, "streams removed");
            let stats = node.repl().stats();
            assert_eq!(stats.accepted, CLIENTS as u64 + 1);
            assert_eq!(stats.rejected, 0);

            node.repl().close().await;
            assert_eq!(node.repl().addr(), None);
            wait_until("the listener task released", || {
                alive_tasks() == tasks_before_repl
            })
            .await;
            assert_eq!(open_fds(), fds_before_repl, "the listening socket closed");
            assert!(tokio::net::TcpStream::connect(addr).await.is_err());
        })
    });
}
