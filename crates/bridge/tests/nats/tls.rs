//! TLS with a self-signed certificate made here.

use eventcast_bridge::{BridgeConfig, TlsConfig};
use futures_util::StreamExt as _;
use rcgen::{CertificateParams, KeyPair, SanType};

use crate::server::NatsServer;
use crate::support::*;

#[test]
fn tls_with_a_self_signed_certificate() {
    netns_test::run(|| {
        block_on(async {
            let mut params = CertificateParams::new(vec!["localhost".to_owned()]).expect("params");
            params
                .subject_alt_names
                .push(SanType::IpAddress(std::net::Ipv4Addr::LOCALHOST.into()));
            let key = KeyPair::generate().expect("key");
            let cert = params.self_signed(&key).expect("certificate");
            let dir = std::env::temp_dir().join(format!("eventcast-tls-{}", std::process::id()));
            std::fs::create_dir_all(&dir).expect("dir");
            let cert_file = dir.join("cert.pem");
            let key_file = dir.join("key.pem");
            std::fs::write(&cert_file, cert.pem()).expect("cert");
            std::fs::write(&key_file, key.serialize_pem()).expect("key");
            let server = NatsServer::start(&format!(
                "tls {{ cert_file: \"{}\"\n key_file: \"{}\" }}",
                cert_file.display(),
                key_file.display()
            ));
            let url = format!("tls://127.0.0.1:{}", server.port);

            let lan = lan_port();
            let tls = TlsConfig::default().ca(&cert_file).required(true);
            let (_node, bridge) =
                bridge_with(lan, BridgeConfig::new([url.as_str()]).tls(tls)).await;
            let app = node(lan).await;
            let client = async_nats::ConnectOptions::new()
                .add_root_certificates(cert_file.clone())
                .require_tls(true)
                .connect(url.as_str())
                .await
                .expect("a TLS client");
            let mut sub = client.subscribe("eventcast.>").await.expect("subscribe");
            round_trip(&client).await;
            app.emit("secret", &("over TLS",)).expect("emit");
            let message = within(sub.next(), "the event").await.expect("open");
            assert_eq!(message.subject.as_str(), "eventcast.secret");
            assert_eq!(&message.payload[..], br#"["over TLS"]"#);
            bridge.stop().await;
            std::fs::remove_dir_all(&dir).ok();
        })
    });
}
