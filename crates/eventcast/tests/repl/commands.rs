//! Each REPL command, driven over TCP, has its effect on the node.

use crate::client::Client;
use crate::common::*;
use bson::{doc, Bson, DateTime};
use eventcast::{Eventcast, Notice};

/// A started node with its REPL, and a client connected to it.
async fn started(port: u16) -> (Eventcast, Client) {
    let node = Eventcast::new(config(port).repl_enabled(true)).expect("valid config");
    node.start().await.expect("start");
    let addr = node.repl().addr().expect("the REPL opened with the node");
    (node, Client::connect(addr).await)
}

#[test]
fn emit_sends_to_the_group_and_to_local_listeners() {
    netns_test::run(|| {
        block_on(async {
            let port = free_port();
            let (node, mut client) = started(port).await;
            let other = start_nodes(1, &config(port)).await.remove(0);
            let mut local = node.subscribe();
            let mut remote = other.subscribe();
            let answer = client
                .command(
                    r#"emit greet hello 5 "5" [1, 2] {"a": {"b": null}} {"$date": "2013-10-28T22:40:00Z"} 'two words' 1.5 true"#,
                )
                .await;
            assert_eq!(answer, "ok: emitted greet with 9 arguments");
            let expected = vec![
                Bson::from("hello"),
                Bson::Int32(5),
                Bson::from("5"),
                Bson::Array(vec![Bson::Int32(1), Bson::Int32(2)]),
                Bson::Document(doc! {"a": {"b": null}}),
                Bson::DateTime(DateTime::from_millis(1_383_000_000_000)),
                Bson::from("two words"),
                Bson::Double(1.5),
                Bson::Boolean(true),
            ];
            let event = next_event(&mut local).await;
            assert_eq!((event.name(), event.raw_args()), ("greet", &expected[..]));
            assert!(event.is_local());
            let event = next_remote(&mut remote).await;
            assert_eq!((event.name(), event.raw_args()), ("greet", &expected[..]));
            assert_eq!(event.sender(), node.id());
            // No arguments at all.
            assert_eq!(
                client.command("emit bare").await,
                "ok: emitted bare with 0 arguments"
            );
            assert!(next_event(&mut local).await.raw_args().is_empty());
            stop_all(&[node, other]).await;
        })
    });
}

#[test]
fn on_streams_json_lines_and_off_stops() {
    netns_test::run(|| {
        block_on(async {
            let port = free_port();
            let (node, mut client) = started(port).await;
            let other = start_nodes(1, &config(port)).await.remove(0);
            let answer = client.command("on tick").await;
            assert!(answer.starts_with("ok: streaming tick"), "{answer}");
            assert_eq!(node.listener_count("tick"), 1);
            assert_eq!(
                client.command("on tick").await,
                "ok: already streaming tick"
            );
            assert_eq!(node.listener_count("tick"), 1);

            other
                .emit("tick", &(DateTime::from_millis(1_383_000_000_000), 7))
                .unwrap();
            let line = client.streamed_line().await;
            let json: serde_json::Value = serde_json::from_str(&line).expect(&line);
            assert_eq!(json["event"], "tick");
            assert_eq!(
                json["args"],
                serde_json::json!([{"$date": "2013-10-28T22:40:00Z"}, 7])
            );
            assert_eq!(json["sender"], other.id().to_string());
            assert_eq!(
                json["from"]
                    .as_str()
                    .map(|f| f.ends_with(&format!(":{port}"))),
                Some(true)
            );
            // The prompt comes back after streamed lines.
            client.read_until(client.prompt.clone().as_bytes()).await;

            assert_eq!(
                client.command("listeners").await,
                "tick: 1 listener (1 streaming here)"
            );
            assert_eq!(
                client.command("off tick").await,
                "ok: stopped streaming tick"
            );
            assert_eq!(node.listener_count("tick"), 0);
            assert_eq!(
                client.command("off tick").await,
                "ok: tick was not streamed here"
            );
            assert_eq!(client.command("listeners").await, "no listeners");
            // Emitted after `off`: nothing more arrives. `id` answers right
            // after whatever was in flight, with no event line before it.
            node.emit("tick", &()).unwrap();
            assert_eq!(client.command("id").await, node.id().to_string());
            stop_all(&[node, other]).await;
        })
    });
}

#[test]
fn once_streams_one_event() {
    netns_test::run(|| {
        block_on(async {
            let (node, mut client) = started(free_port()).await;
            node.on("ping", |_| {}).expect("an exact name");
            assert!(client
                .command("once ping")
                .await
                .starts_with("ok: the next ping"));
            assert_eq!(
                client.command("listeners ping").await,
                "ping: 2 listeners (1 streaming here)"
            );
            node.emit("ping", &(1,)).unwrap();
            node.emit("ping", &(2,)).unwrap();
            let line = client.streamed_line().await;
            assert!(line.contains(r#""args":[1]"#), "{line}");
            assert_eq!(client.answer().await, "", "the prompt after it");
            assert_eq!(node.listener_count("ping"), 1, "the application's stays");
            assert_eq!(client.command("listeners").await, "ping: 1 listener");
            node.stop().await;
        })
    });
}

#[test]
fn on_and_once_take_patterns() {
    netns_test::run(|| {
        block_on(async {
            let (node, mut client) = started(free_port()).await;
            let answer = client.command("on sensor*").await;
            assert_eq!(
                answer,
                "error: bad event pattern \"sensor*\": segment 1 \"sensor*\" is neither \
                 a name nor a wildcard: `*` and `**` stand alone between dots"
            );
            assert!(client
                .command("once a..*")
                .await
                .starts_with("error: bad event pattern \"a..*\": segment 2 is empty"));
            assert!(node.event_names().is_empty());

            let answer = client.command("on sensor.*").await;
            assert!(
                answer.starts_with("ok: streaming sensor.* events"),
                "{answer}"
            );
            let answer = client.command("once job.**").await;
            assert!(answer.starts_with("ok: the next job.** event"), "{answer}");
            assert_eq!(
                client.command("listeners").await,
                "job.**: 1 listener (1 streaming here)\nsensor.*: 1 listener (1 streaming here)"
            );
            for (i, name) in ["job.x.y", "sensor.a", "job", "sensor.a.b", "sensor.b"]
                .into_iter()
                .enumerate()
            {
                node.emit(name, &(i as i32,)).unwrap();
            }
            let mut streamed = Vec::new();
            for _ in 0..3 {
                let line = client.streamed_line().await;
                let json: serde_json::Value = serde_json::from_str(&line).expect(&line);
                streamed.push((json["event"].clone(), json["args"][0].clone()));
            }
            assert_eq!(
                streamed,
                [
                    ("job.x.y".into(), 0.into()),
                    ("sensor.a".into(), 1.into()),
                    ("sensor.b".into(), 4.into())
                ]
            );
            client.read_until(client.prompt.clone().as_bytes()).await;
            // The `once` fired for its first match only, and is forgotten.
            assert_eq!(node.listener_count("job.**"), 0);
            assert_eq!(
                client.command("listeners").await,
                "sensor.*: 1 listener (1 streaming here)"
            );
            assert_eq!(
                client.command("off sensor.*").await,
                "ok: stopped streaming sensor.*"
            );
            assert!(node.event_names().is_empty());
            node.stop().await;
        })
    });
}

/// The streamed lines up to and including the `end` event, as (event,
/// first argument).
async fn streamed_until_end(client: &mut Client) -> Vec<(String, serde_json::Value)> {
    let mut streamed = Vec::new();
    loop {
        let line = client.streamed_line().await;
        let json: serde_json::Value = serde_json::from_str(&line).expect(&line);
        let name = json["event"].as_str().expect(&line).to_owned();
        streamed.push((name.clone(), json["args"][0].clone()));
        if name == "end" {
            return streamed;
        }
    }
}

/// Trial item 14: with `on tick` and `on **`, each tick was printed twice.
/// An event is streamed once per session however many of its streams
/// match, and two events alike are still two.
#[test]
fn an_event_matched_by_several_streams_is_streamed_once() {
    netns_test::run(|| {
        block_on(async {
            let port = free_port();
            let (node, mut client) = started(port).await;
            let other = start_nodes(1, &config(port)).await.remove(0);
            assert!(client.command("on tick").await.starts_with("ok: streaming"));
            assert!(client.command("on **").await.starts_with("ok: streaming"));
            assert!(client.command("on *").await.starts_with("ok: streaming"));
            // Received from another node.
            other.emit("tick", &(0,)).unwrap();
            let line = client.streamed_line().await;
            assert!(line.contains(r#""args":[0]"#), "{line}");
            // This node's own.
            for (name, arg) in [("tick", 1), ("other", 2), ("tick", 3), ("tick", 3)] {
                node.emit(name, &(arg,)).unwrap();
            }
            node.emit("end", &(9,)).unwrap();
            let tick = |n: i32| ("tick".to_owned(), serde_json::json!(n));
            assert_eq!(
                streamed_until_end(&mut client).await,
                [
                    tick(1),
                    ("other".to_owned(), serde_json::json!(2)),
                    tick(3),
                    tick(3),
                    ("end".to_owned(), serde_json::json!(9)),
                ]
            );
            client.read_until(client.prompt.clone().as_bytes()).await;
            // Nothing else came: the next answer is the command's.
            assert_eq!(client.command("id").await, node.id().to_string());

            // A `once` that matches with an `on` is used up all the same.
            assert_eq!(client.command("off").await, "ok: stopped 3 stream(s)");
            assert!(client
                .command("once tick")
                .await
                .starts_with("ok: the next"));
            assert!(client.command("on **").await.starts_with("ok: streaming"));
            node.emit("tick", &(5,)).unwrap();
            node.emit("tick", &(6,)).unwrap();
            node.emit("end", &(9,)).unwrap();
            assert_eq!(
                streamed_until_end(&mut client).await,
                [tick(5), tick(6), ("end".to_owned(), serde_json::json!(9))]
            );
            client.read_until(client.prompt.clone().as_bytes()).await;
            assert_eq!(
                client.command("listeners").await,
                "**: 1 listener (1 streaming here)"
            );
            let stats = node.repl().stats();
            assert_eq!(stats.events_streamed, 9, "{stats:?}");
            stop_all(&[node, other]).await;
        })
    });
}

#[test]
fn stop_and_start_keep_the_repl_open() {
    netns_test::run(|| {
        block_on(async {
            let (node, mut client) = started(free_port()).await;
            let first = node.id();
            assert_eq!(client.command("id").await, first.to_string());
            let status = client.command("status").await;
            assert!(
                status.starts_with(&format!("running as {first} on 224.0.0.1:")),
                "{status}"
            );
            assert!(status.contains("with 1 client"), "{status}");

            let answer = client.command("stop").await;
            assert!(answer.starts_with("ok: stopped"), "{answer}");
            assert!(!node.is_running());
            assert_eq!(client.command("stop").await, "ok: already stopped");
            assert!(client.command("status").await.starts_with("stopped"));
            let answer = client.command("emit while-stopped").await;
            assert!(answer.contains("stopped"), "{answer}");
            assert_eq!(node.stats().emitted_while_stopped, 1);

            let answer = client.command("start").await;
            assert!(node.is_running());
            assert_ne!(node.id(), first, "a new run, a new sender id");
            assert!(
                answer.starts_with(&format!("ok: started as {}", node.id())),
                "{answer}"
            );
            assert_eq!(
                client.command("start").await,
                format!("ok: already running as {}", node.id())
            );
            assert_eq!(node.stats().starts, 2);
            node.stop().await;
        })
    });
}

#[test]
fn config_stats_peers_help() {
    netns_test::run(|| {
        block_on(async {
            let port = free_port();
            let (node, mut client) = started(port).await;
            let config = client.command("config").await;
            let repl_port = node.repl().addr().unwrap().port();
            for line in [
                format!("port = {port}"),
                "multicast_membership = 224.0.0.1".to_owned(),
                "multicast_ttl = 0".to_owned(),
                "protocol.max_payload_size = 1024".to_owned(),
                "protocol.message_ttl = 3000 ms".to_owned(),
                "repl.host = 127.0.0.1".to_owned(),
                format!("repl.port = {repl_port} (picked by the system)"),
                "repl.max_clients = 16".to_owned(),
            ] {
                assert!(config.lines().any(|l| l == line), "{line} in\n{config}");
            }

            client.command("emit counted").await;
            // Trial item 2: `stats` was some 200 lines of Rust's `{:#?}`.
            let stats = client.command("stats").await;
            assert!(stats.lines().count() <= 10, "{stats}");
            assert!(!stats.contains('{'), "{stats}");
            assert!(
                stats.starts_with("node: running, started 1 time;"),
                "{stats}"
            );
            assert!(stats.contains("\nsent: 1 event in "), "{stats}");
            assert!(stats.contains("\ndropped: none\n"), "{stats}");
            assert!(stats.contains("\nproblems: none\n"), "{stats}");
            // config, emit and stats itself.
            assert!(stats.contains("; 3 commands (0 failed"), "{stats}");
            let all = client.command("stats all").await;
            assert!(all.contains("\nprotocol.messages_sent = 1\n"), "{all}");
            assert!(all.contains("\nrunning = true\n"), "{all}");
            assert!(all.contains("repl: 1 client now"), "{all}");
            assert!(!all.contains(" = 0\n"), "{all}");
            assert_eq!(
                client.command("stats everything").await,
                "error: usage: stats [all]"
            );

            let peers = client.command("peers").await;
            assert_eq!(peers.lines().count(), 1);
            assert!(peers.starts_with("no peers heard yet"), "{peers}");

            let help = client.command("help").await;
            for command in [
                "emit NAME [ARG...]",
                "on NAME",
                "once NAME",
                "off [NAME]",
                "listeners [NAME]",
                "start",
                "stop",
                "status",
                "id",
                "config",
                "stats",
                "peers",
                "log-level [COMPONENT] [LEVEL]",
                "clients",
                "help [COMMAND]",
                "quit",
            ] {
                assert!(
                    help.lines().any(|l| l.starts_with(command)),
                    "{command} in\n{help}"
                );
            }
            let one = client.command("help emit").await;
            assert!(one.starts_with("emit NAME [ARG...]\n"), "{one}");
            node.stop().await;
        })
    });
}

#[test]
fn peers_lists_the_nodes_that_emitted() {
    netns_test::run(|| {
        block_on(async {
            let port = free_port();
            let (node, mut client) = started(port).await;
            let others = start_nodes(2, &config(port)).await;
            let (talker, silent) = (&others[0], &others[1]);
            let mut sub = node.subscribe();
            talker.emit("one", &()).expect("emit");
            talker.emit("two", &()).expect("emit");
            let got = collect_remote(&mut sub, 2).await;
            let from = got[1].from().expect("a received event has an address");

            let peers = client.command("peers").await;
            let lines: Vec<&str> = peers.lines().collect();
            assert_eq!(lines.len(), 1, "only the talker: {peers}");
            let line = lines[0];
            let id = talker.id().to_string();
            assert_eq!(id.len(), 16, "the hex form `id` and the CLI print");
            assert!(line.starts_with(&format!("{id}  {from}  heard ")), "{line}");
            assert!(
                line.contains(" s ago  lead 2  delivered 2  lost 0"),
                "{line}"
            );
            assert!(!peers.contains(&silent.id().to_string()), "{peers}");

            let help = client.command("help peers").await;
            assert!(help.contains("once it has sent an event"), "{help}");

            client.command("stop").await;
            let peers = client.command("peers").await;
            assert!(
                peers.starts_with("no peers: the node is stopped"),
                "{peers}"
            );
            stop_all(&others).await;
        })
    });
}

#[test]
fn log_level_reads_and_sets_the_nodes_levels() {
    netns_test::run(|| {
        block_on(async {
            let (node, mut client) = started(free_port()).await;
            let levels = || node.log_levels().to_string();
            assert_eq!(client.command("log-level").await, "eventcast=off repl=off");
            assert_eq!(
                client.command("log-level debug").await,
                "eventcast=debug repl=debug"
            );
            assert_eq!(levels(), "eventcast=debug,repl=debug");
            assert_eq!(
                client.command("log-level repl warn").await,
                "eventcast=debug repl=warn"
            );
            assert_eq!(client.command("log-level repl").await, "repl=warn");
            assert_eq!(
                client.command("log-level EVENTCAST Trace").await,
                "eventcast=trace repl=warn"
            );
            // Bad input: an error, and nothing changes.
            for bad in [
                "log-level loud",
                "log-level repl loud",
                "log-level nope info",
                "log-level info info",
            ] {
                assert!(
                    client.command(bad).await.starts_with("error: unknown"),
                    "{bad}"
                );
            }
            assert_eq!(levels(), "eventcast=trace,repl=warn");
            // And the API sees the same table.
            node.log_levels().set_named(None, "info").unwrap();
            assert_eq!(
                client.command("log-level").await,
                "eventcast=info repl=info"
            );
            node.stop().await;
        })
    });
}

#[test]
fn clients_are_counted_listed_and_announced() {
    netns_test::run(|| {
        block_on(async {
            let node = Eventcast::new(config(free_port()).repl_enabled(true)).unwrap();
            let mut notices = node.notices();
            node.start().await.unwrap();
            let addr = node.repl().addr().unwrap();
            let mut a = Client::connect(addr).await;
            let mut b = Client::connect(addr).await;
            assert_eq!(node.repl().clients(), 2);
            b.command("on news").await;
            let list = a.command("clients").await;
            let lines: Vec<&str> = list.lines().collect();
            assert_eq!(lines[0], "2 clients connected (at most 16)");
            assert!(lines[1].ends_with("(you)"), "{list}");
            assert!(lines[2].ends_with("streaming news"), "{list}");

            b.send(b"quit\n").await;
            assert_eq!(b.read_to_end().await, "bye\n");
            wait_until("b gone", || node.repl().clients() == 1).await;
            assert!(a.command("clients").await.starts_with("1 client connected"));

            let mut seen = Vec::new();
            while seen.len() < 3 {
                match guard("a notice", notices.recv()).await.unwrap() {
                    Notice::ReplClientConnected { clients, .. } => {
                        seen.push(("connected", clients))
                    }
                    Notice::ReplClientDisconnected { clients, .. } => {
                        seen.push(("disconnected", clients))
                    }
                    _ => {}
                }
            }
            assert_eq!(
                seen,
                [("connected", 1), ("connected", 2), ("disconnected", 1)]
            );
            let stats = node.repl().stats();
            assert_eq!((stats.clients, stats.accepted), (1, 2));
            node.stop().await;
        })
    });
}

#[test]
fn the_repl_closes_with_the_last_handle() {
    netns_test::run(|| {
        block_on(async {
            let (node, mut client) = started(free_port()).await;
            let addr = node.repl().addr().unwrap();
            drop(node);
            // The session ends and the port closes.
            let rest = client.read_to_end().await;
            assert!(!rest.contains("error"), "{rest}");
            guard("the REPL port to close", async {
                while tokio::net::TcpStream::connect(addr).await.is_ok() {
                    tokio::time::sleep(std::time::Duration::from_millis(2)).await;
                }
            })
            .await;
        })
    });
}
