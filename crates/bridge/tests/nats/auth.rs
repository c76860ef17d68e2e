//! Authentication: a token, a user name and password, and an NKey. Each
//! lets the bridge in with the right secret, and the server refuses a
//! wrong one (the bridge reports it, with the server, and does not count
//! as connected).

use async_nats::ConnectOptions;
use eventcast_bridge::{Auth, BridgeConfig, BridgeNotice};
use futures_util::StreamExt as _;

use crate::server::NatsServer;
use crate::support::*;

/// Starts a server with `authorization`, then checks that a bridge with
/// `good` publishes a LAN event that a client with `client` reads, and
/// that a bridge with `bad` is refused.
async fn check(authorization: &str, good: Auth, client: ConnectOptions, bad: Auth) {
    let server = NatsServer::start(&format!("authorization {{ {authorization} }}"));
    let lan = lan_port();
    let (_node, bridge) = bridge_with(lan, BridgeConfig::new([server.url()]).auth(good)).await;
    let app = node(lan).await;
    let client = client
        .connect(server.url())
        .await
        .expect("the client connects");
    let mut sub = client.subscribe("eventcast.>").await.expect("subscribe");
    round_trip(&client).await;
    app.emit("greet", &("hi",)).expect("emit");
    let message = within(sub.next(), "the event").await.expect("open");
    assert_eq!(message.subject.as_str(), "eventcast.greet");

    let other = node(lan_port()).await;
    let refused =
        eventcast_bridge::Bridge::start(&other, BridgeConfig::new([server.url()]).auth(bad))
            .await
            .expect("starts");
    let mut notices = refused.notices();
    let error = within(
        async {
            loop {
                if let Ok(BridgeNotice::ConnectFailed { error, .. }) = notices.recv().await {
                    return error;
                }
            }
        },
        "an authorization error",
    )
    .await;
    assert!(error.to_lowercase().contains("authorization"), "{error}");
    assert!(!refused.is_connected());
    assert!(!refused.stats().connected);
    bridge.stop().await;
}

#[test]
fn a_token_lets_the_bridge_in_and_a_wrong_one_does_not() {
    netns_test::run(|| {
        block_on(check(
            "token: \"s3cret-token\"",
            Auth::Token("s3cret-token".into()),
            ConnectOptions::with_token("s3cret-token".into()),
            Auth::Token("wrong".into()),
        ))
    });
}

#[test]
fn a_user_and_password_let_the_bridge_in_and_a_wrong_password_does_not() {
    netns_test::run(|| {
        let user = |password: &str| Auth::UserPassword {
            user: "bridge".into(),
            password: password.into(),
        };
        block_on(check(
            "users = [ { user: bridge, password: \"pa55 word\" }, \
             { user: reader, password: r } ]",
            user("pa55 word"),
            ConnectOptions::with_user_and_password("reader".into(), "r".into()),
            user("pa55 wort"),
        ))
    });
}

#[test]
fn an_nkey_lets_the_bridge_in_and_another_one_does_not() {
    netns_test::run(|| {
        let bridge = nkeys::KeyPair::new_user();
        let reader = nkeys::KeyPair::new_user();
        let stranger = nkeys::KeyPair::new_user();
        let seed = |key: &nkeys::KeyPair| key.seed().expect("a seed");
        block_on(check(
            &format!(
                "users = [ {{ nkey: {} }}, {{ nkey: {} }} ]",
                bridge.public_key(),
                reader.public_key()
            ),
            Auth::Nkey(seed(&bridge)),
            ConnectOptions::with_nkey(seed(&reader)),
            Auth::Nkey(seed(&stranger)),
        ))
    });
}
