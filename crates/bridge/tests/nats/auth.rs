//! Token authentication.

use eventcast_bridge::{Auth, BridgeConfig, BridgeNotice};
use futures_util::StreamExt as _;

use crate::server::NatsServer;
use crate::support::*;

#[test]
fn a_token_lets_the_bridge_in_and_a_wrong_one_does_not() {
    netns_test::run(|| {
        block_on(async {
            let server = NatsServer::start("authorization { token: \"s3cret-token\" }");
            let lan = lan_port();
            let good = BridgeConfig::new([server.url()]).auth(Auth::Token("s3cret-token".into()));
            let (_node, bridge) = bridge_with(lan, good).await;
            let app = node(lan).await;
            let client = async_nats::ConnectOptions::with_token("s3cret-token".into())
                .connect(server.url())
                .await
                .expect("connect with the token");
            let mut sub = client.subscribe("eventcast.>").await.expect("subscribe");
            round_trip(&client).await;
            app.emit("greet", &("hi",)).expect("emit");
            let message = within(sub.next(), "the event").await.expect("open");
            assert_eq!(message.subject.as_str(), "eventcast.greet");

            let other = node(lan_port()).await;
            let bad = BridgeConfig::new([server.url()]).auth(Auth::Token("wrong".into()));
            let refused = eventcast_bridge::Bridge::start(&other, bad)
                .await
                .expect("starts");
            let mut notices = refused.notices();
            let error = within(
                async {
                    loop {
                        if let Ok(BridgeNotice::Error(e)) = notices.recv().await {
                            return e;
                        }
                    }
                },
                "an authorization error",
            )
            .await;
            assert!(error.to_lowercase().contains("authorization"), "{error}");
            assert!(!refused.is_connected());
            bridge.stop().await;
        })
    });
}
