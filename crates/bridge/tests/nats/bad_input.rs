//! Payloads that cannot be read are dropped, counted and reported once
//! per subject; the bridge goes on.

use async_nats::HeaderMap;
use eventcast_bridge::BridgeNotice;

use crate::server::NatsServer;
use crate::support::*;

#[test]
fn bad_payloads_are_dropped_counted_and_reported_once_per_subject() {
    netns_test::run(|| {
        block_on(async {
            let server = NatsServer::start("");
            let lan = lan_port();
            let (_node, bridge) = bridge(lan, &server.url(), "lab").await;
            let mut notices = bridge.notices();
            let app = node(lan).await;
            let mut at_app = app.subscribe();
            let client = async_nats::connect(server.url()).await.expect("connect");

            client
                .publish("eventcast.x", "not json".into())
                .await
                .expect("publish");
            client
                .publish("eventcast.x", "{broken".into())
                .await
                .expect("publish");
            client
                .publish("eventcast.x", r#"[{"$date": "soon"}]"#.into())
                .await
                .expect("publish");
            // From a "bridge": anything but an array is malformed.
            let mut headers = HeaderMap::new();
            headers.insert("Eventcast-Bridge", "00000000000000aa");
            headers.insert("Eventcast-Seq", "1");
            client
                .publish_with_headers("eventcast.y", headers, "42".into())
                .await
                .expect("publish");
            let mut headers = HeaderMap::new();
            headers.insert("Content-Type", "text/plain");
            client
                .publish_with_headers("eventcast.z", headers, "hi".into())
                .await
                .expect("publish");
            client
                .publish("eventcast.ok", r#"["fine"]"#.into())
                .await
                .expect("publish");

            let event = next_remote(&mut at_app).await;
            assert_eq!(event.name(), "ok", "the bridge went on");
            assert_eq!(event.arg::<String>(0).expect("string"), "fine");
            // Counted once the emit returns, maybe after it arrived.
            until_stats(&bridge, "the count", |s| s.nats_to_lan_events == 1).await;
            let stats = bridge.stats();
            assert_eq!(stats.dropped_bad_payload, 5, "{stats:#?}");
            assert_eq!(stats.nats_to_lan_events, 1, "{stats:#?}");

            let mut subjects = Vec::new();
            while let Ok(notice) = notices.try_recv() {
                if let BridgeNotice::BadPayload { subject, .. } = notice {
                    subjects.push(subject);
                }
            }
            assert_eq!(subjects, ["eventcast.x", "eventcast.y", "eventcast.z"]);
            bridge.stop().await;
        })
    });
}

/// A message under a real bridge's id whose sequence number is far ahead
/// (or whose payload cannot be read) does not make that bridge's later
/// events duplicates.
#[test]
fn a_forged_sequence_number_does_not_silence_a_bridge() {
    netns_test::run(|| {
        block_on(async {
            let server = NatsServer::start("");
            let mut lan = OneLan::start(&server.url()).await;
            let client = &lan.client;
            let send = |subject: &'static str, seq: &'static str, payload: &'static str| {
                let client = client.clone();
                async move {
                    let mut headers = HeaderMap::new();
                    headers.insert("Eventcast-Bridge", "00000000000000bb");
                    headers.insert("Eventcast-Seq", seq);
                    client
                        .publish_with_headers(subject, headers, payload.into())
                        .await
                        .expect("publish");
                }
            };
            send("eventcast.one", "1", r#"["a"]"#).await;
            // unreadable: its sequence number is not remembered
            send("eventcast.bad", "3", "42").await;
            send("eventcast.two", "2", r#"["b"]"#).await;
            // readable, far from the last: delivered (anyone may publish
            // an event), but the bridge's place stays at 2
            send("eventcast.forged", "18446744073709551615", r#"["f"]"#).await;
            // a copy of the far one, before the next event, is a duplicate
            send("eventcast.forged", "18446744073709551615", r#"["f"]"#).await;
            send("eventcast.three", "4", r#"["c"]"#).await;
            send("eventcast.four", "5", r#"["d"]"#).await;

            let mut names = Vec::new();
            for _ in 0..5 {
                names.push(next_remote(&mut lan.at_app).await.name().to_owned());
            }
            assert_eq!(names, ["one", "two", "forged", "three", "four"]);
            until_stats(&lan.bridge, "the count", |s| s.nats_to_lan_events == 5).await;
            let stats = lan.bridge.stats();
            assert_eq!(stats.dropped_bad_payload, 1, "{stats:#?}");
            assert_eq!(stats.seq_jumps, 1, "{stats:#?}");
            assert_eq!(stats.dropped_bad_headers, 0, "{stats:#?}");
            assert_eq!(stats.dropped_duplicate, 1, "{stats:#?}");
            lan.bridge.stop().await;
        })
    });
}
