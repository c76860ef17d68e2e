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
