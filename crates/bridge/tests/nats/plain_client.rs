//! A plain NATS client, as an outsider would use one, reads and writes
//! bridged events.

use async_nats::HeaderMap;
use bson::Bson;
use futures_util::StreamExt as _;

use crate::server::NatsServer;
use crate::support::*;

#[test]
fn a_plain_client_reads_and_writes_events() {
    netns_test::run(|| {
        block_on(async {
            let server = NatsServer::start("");
            let lan = lan_port();
            let (bridge_node, bridge) = bridge(lan, &server.url(), "lab").await;
            let app = node(lan).await;
            let mut at_app = app.subscribe();
            let client = async_nats::connect(server.url()).await.expect("connect");
            let mut sub = client.subscribe("eventcast.>").await.expect("subscribe");
            round_trip(&client).await;

            // LAN -> client: subject, headers and a JSON array.
            let date = bson::DateTime::from_millis(1_383_000_000_000);
            app.emit("room 1.temp", &(21.5, "kitchen", date))
                .expect("emit");
            let message = within(sub.next(), "the event on NATS").await.expect("open");
            assert_eq!(message.subject.as_str(), "eventcast.room%201.temp");
            let headers = message.headers.expect("headers");
            let header = |name: &str| headers.get(name).map(|v| v.as_str().to_owned());
            assert_eq!(header("Eventcast-Site").as_deref(), Some("lab"));
            assert_eq!(header("Eventcast-Name").as_deref(), Some("room 1.temp"));
            assert_eq!(header("Eventcast-Sender"), Some(app.id().to_string()));
            assert_eq!(header("Content-Type").as_deref(), Some("application/json"));
            let json: serde_json::Value = serde_json::from_slice(&message.payload).expect("JSON");
            assert_eq!(
                json,
                serde_json::json!([21.5, "kitchen", {"$date": "2013-10-28T22:40:00Z"}])
            );

            // client -> LAN: an array, then one value, then BSON with headers.
            client
                .publish(
                    "eventcast.fromcloud",
                    r#"["hi", 1, {"$date": "2013-10-28T22:40:00Z"}]"#.into(),
                )
                .await
                .expect("publish");
            client
                .publish("eventcast.fromcloud.one", r#"{"a": 1}"#.into())
                .await
                .expect("publish");
            let mut headers = HeaderMap::new();
            headers.insert("Content-Type", "application/bson");
            let body = eventcast_proto::encode_body("ignored", &[Bson::from("b")]).expect("body");
            client
                .publish_with_headers("eventcast.binary", headers, body.into())
                .await
                .expect("publish");
            let event = next_remote(&mut at_app).await;
            assert_eq!(event.name(), "fromcloud");
            assert_eq!(
                event.raw_args(),
                &[Bson::from("hi"), Bson::Int32(1), Bson::DateTime(date)]
            );
            assert_eq!(
                event.sender(),
                bridge_node.id(),
                "emitted by the bridge's node"
            );
            let event = next_remote(&mut at_app).await;
            assert_eq!(event.name(), "fromcloud.one");
            assert_eq!(event.raw_args(), &[Bson::Document(bson::doc! {"a": 1})]);
            let event = next_remote(&mut at_app).await;
            assert_eq!(event.name(), "binary");
            assert_eq!(event.raw_args(), &[Bson::from("b")]);

            // What the bridge emitted is not published back: up to the
            // sentinel, the subscription has only this client's own
            // messages (it does not ask for no_echo), no bridge's.
            app.emit("sentinel", &()).expect("emit");
            loop {
                let message = within(sub.next(), "the sentinel").await.expect("open");
                let bridged = message
                    .headers
                    .as_ref()
                    .is_some_and(|h| h.get("Eventcast-Bridge").is_some());
                if message.subject.as_str() == "eventcast.sentinel" {
                    assert!(bridged);
                    break;
                }
                assert!(!bridged, "published back: {message:?}");
            }
            // Both counts waited for: NATS to LAN is counted once the
            // emit returns, maybe after the event arrived.
            until_stats(&bridge, "the sentinel's confirmation", |s| {
                s.lan_to_nats_events == 2 && s.nats_to_lan_events == 3
            })
            .await;
            bridge.stop().await;
        })
    });
}

/// With `Encoding::Bson`, the payload is eventcast's BSON body.
#[test]
fn bson_encoding_carries_the_body() {
    netns_test::run(|| {
        block_on(async {
            let server = NatsServer::start("");
            let lan = lan_port();
            let config = eventcast_bridge::BridgeConfig::new([server.url()])
                .encoding(eventcast_bridge::Encoding::Bson);
            let (_node, bridge) = bridge_with(lan, config).await;
            let app = node(lan).await;
            let client = async_nats::connect(server.url()).await.expect("connect");
            let mut sub = client.subscribe("eventcast.>").await.expect("subscribe");
            round_trip(&client).await;
            app.emit("greet", &("hi", 5)).expect("emit");
            let message = within(sub.next(), "the event").await.expect("open");
            let headers = message.headers.expect("headers");
            assert_eq!(
                headers.get("Content-Type").map(|v| v.as_str()),
                Some("application/bson")
            );
            let (name, args) = eventcast_proto::decode_body(&message.payload).expect("a body");
            assert_eq!(name, "greet");
            assert_eq!(args, [Bson::from("hi"), Bson::Int32(5)]);
            // Large (kept as it arrived, its list copied) and with a document
            // (decoded on arrival): the values that were sent, either way.
            let frame = Bson::Binary(bson::Binary {
                subtype: bson::spec::BinarySubtype::Generic,
                bytes: vec![7; 200_000],
            });
            let nested = Bson::Document(bson::doc! { "a": { "b": [1, 2] } });
            for sent in [vec![nested.clone(), frame], vec![nested]] {
                app.emit("frame", &sent).expect("emit");
                let message = within(sub.next(), "the event").await.expect("open");
                let (name, args) = eventcast_proto::decode_body(&message.payload).expect("a body");
                assert_eq!((name.as_str(), args), ("frame", sent));
            }
            bridge.stop().await;
        })
    });
}

/// `connected()` means the server holds the bridge's subscriptions: what a
/// client publishes the moment it returns reaches the LAN, every time.
#[test]
fn connected_means_subscribed() {
    netns_test::run(|| {
        block_on(async {
            let server = NatsServer::start("");
            let client = async_nats::connect(server.url()).await.expect("connect");
            round_trip(&client).await;
            for round in 0..20 {
                let lan = lan_port();
                let app = node(lan).await;
                let mut at_app = app.subscribe_to(["first"]).expect("subscribe");
                let (_bridge_node, bridge) = bridge(lan, &server.url(), "lab").await;
                client
                    .publish("eventcast.first", format!("[{round}]").into())
                    .await
                    .expect("publish");
                let event = next_remote(&mut at_app).await;
                assert_eq!(event.arg::<i32>(0).expect("int"), round);
                let stats = bridge.stop().await;
                assert_eq!(stats.nats_to_lan_events, 1, "{stats:#?}");
            }
        })
    });
}
