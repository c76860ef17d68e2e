//! What goes wrong before a connection is said at start, or with the
//! server and the cause, once: files that cannot be used, a server that is
//! down, TLS that cannot work.

use std::path::{Path, PathBuf};
use std::time::Duration;

use eventcast_bridge::{Auth, Bridge, BridgeConfig, BridgeNotice, Error, TlsConfig};
use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair, SanType};
use tokio::sync::broadcast;

use crate::server::NatsServer;
use crate::support::*;

/// A scratch directory of this test's own, removed when dropped.
struct Dir(PathBuf);

impl Dir {
    fn new(name: &str) -> Dir {
        let dir =
            std::env::temp_dir().join(format!("eventcast-connect-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        Dir(dir)
    }

    fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.0.join(name);
        std::fs::write(&path, text).expect("write");
        path
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A self-signed certificate for 127.0.0.1 and localhost, `is_ca` as
/// given, in `dir`: (certificate, key).
fn self_signed(dir: &Dir, is_ca: IsCa) -> (PathBuf, PathBuf) {
    let mut params = CertificateParams::new(vec!["localhost".to_owned()]).expect("params");
    params
        .subject_alt_names
        .push(SanType::IpAddress(std::net::Ipv4Addr::LOCALHOST.into()));
    params.is_ca = is_ca;
    let key = KeyPair::generate().expect("key");
    let cert = params.self_signed(&key).expect("certificate");
    (
        dir.write("cert.pem", &cert.pem()),
        dir.write("key.pem", &key.serialize_pem()),
    )
}

/// A server with TLS on `cert` and `key`.
fn tls_server(cert: &Path, key: &Path) -> NatsServer {
    NatsServer::start(&format!(
        "tls {{ cert_file: \"{}\"\n key_file: \"{}\" }}",
        cert.display(),
        key.display()
    ))
}

/// The next [`BridgeNotice::ConnectFailed`]: (server, error).
async fn connect_failed(notices: &mut broadcast::Receiver<BridgeNotice>) -> (String, String) {
    within(
        async {
            loop {
                if let Ok(BridgeNotice::ConnectFailed { server, error, .. }) = notices.recv().await
                {
                    return (server, error);
                }
            }
        },
        "a connection error",
    )
    .await
}

/// Starts a bridge of a new LAN with `config`, which must not connect:
/// the first connection error it reports, and the bridge.
async fn refused(config: BridgeConfig) -> ((String, String), Bridge) {
    let node = node(lan_port()).await;
    let bridge = Bridge::start(&node, config).await.expect("starts");
    let mut notices = bridge.notices();
    let failed = connect_failed(&mut notices).await;
    assert!(!bridge.is_connected());
    (failed, bridge)
}

#[test]
fn files_that_cannot_be_used_are_refused_at_start_with_their_names() {
    netns_test::run(|| {
        block_on(async {
            let dir = Dir::new("files");
            let junk = dir.write("junk.pem", "not a certificate\n");
            let (cert, key) = self_signed(&dir, IsCa::NoCa);
            let url = "tls://127.0.0.1:4222";
            let cases = [
                (
                    TlsConfig::default().ca("/nonexistent/ca.pem"),
                    "/nonexistent/ca.pem",
                ),
                (TlsConfig::default().ca(&junk), "junk.pem"),
                (TlsConfig::default().ca(&key), "key.pem"),
                (
                    TlsConfig::default().client_cert("/nonexistent/c.pem", &key),
                    "/nonexistent/c.pem",
                ),
                (TlsConfig::default().client_cert(&cert, &junk), "junk.pem"),
            ];
            for (tls, file) in cases {
                let node = node(lan_port()).await;
                let err = Bridge::start(&node, BridgeConfig::new([url]).tls(tls.clone()))
                    .await
                    .map(drop)
                    .expect_err("a bad file");
                assert!(
                    matches!(err, Error::Io { .. } | Error::File { .. }),
                    "{tls:?}: {err:?}"
                );
                let text = err.to_string();
                assert!(text.contains(file) && text.contains("TLS"), "{text}");
            }
            let node = node(lan_port()).await;
            let creds =
                BridgeConfig::new([url]).auth(Auth::CredsFile("/nonexistent/x.creds".into()));
            let err = Bridge::start(&node, creds)
                .await
                .map(drop)
                .expect_err("no file");
            assert!(err.to_string().contains("/nonexistent/x.creds"), "{err}");
        })
    });
}

#[test]
fn a_server_that_is_down_is_named_with_the_cause_once() {
    netns_test::run(|| {
        block_on(async {
            // A port nothing listens on.
            let port = std::net::TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .expect("a free port")
                .port();
            let url = format!("nats://127.0.0.1:{port}");
            let node = node(lan_port()).await;
            let bridge = Bridge::start(&node, BridgeConfig::new([url.as_str()]))
                .await
                .expect("starts");
            let mut notices = bridge.notices();
            let (server, error) = connect_failed(&mut notices).await;
            assert_eq!(server, url);
            assert!(
                error.to_lowercase().contains("connection refused"),
                "{error}"
            );
            let notice = BridgeNotice::ConnectFailed {
                server,
                error,
                retry: Duration::from_secs(5),
            }
            .to_string();
            assert!(
                notice.contains(&url) && notice.contains("retrying"),
                "{notice}"
            );
            // The client tries again about ten times in these 3 s; the
            // same error is not said again.
            tokio::time::sleep(Duration::from_secs(3)).await;
            let mut again = Vec::new();
            while let Ok(notice) = notices.try_recv() {
                again.push(notice);
            }
            assert!(again.is_empty(), "{again:?}");
            bridge.stop().await;
        })
    });
}

#[test]
fn tls_files_mean_tls_even_with_a_nats_url() {
    netns_test::run(|| {
        block_on(async {
            let dir = Dir::new("implied");
            let (cert, _key) = self_signed(&dir, IsCa::NoCa);
            let plain = NatsServer::start("");
            let tls = TlsConfig::default().ca(&cert);
            let ((server, error), bridge) =
                refused(BridgeConfig::new([plain.url()]).tls(tls)).await;
            assert_eq!(server, plain.url());
            assert!(!error.is_empty());
            assert_eq!(bridge.stats().lan_to_nats_events, 0);
            bridge.stop().await;

            // --nats-tls-required alike.
            let required = TlsConfig::default().required(true);
            let ((server, _), bridge) =
                refused(BridgeConfig::new([plain.url()]).tls(required)).await;
            assert_eq!(server, plain.url());
            bridge.stop().await;
        })
    });
}

#[test]
fn a_ca_true_self_signed_server_certificate_is_refused_and_explained() {
    netns_test::run(|| {
        block_on(async {
            let dir = Dir::new("ca-true");
            let (cert, key) = self_signed(&dir, IsCa::Ca(BasicConstraints::Unconstrained));
            let server = tls_server(&cert, &key);
            let url = format!("tls://127.0.0.1:{}", server.port);
            let tls = TlsConfig::default().ca(&cert);
            let ((_, error), bridge) = refused(BridgeConfig::new([url.as_str()]).tls(tls)).await;
            assert!(error.contains("CaUsedAsEndEntity"), "{error}");
            assert!(error.contains("CA:FALSE"), "{error}");
            bridge.stop().await;

            // The same certificate with CA:FALSE, as the help says, works.
            let dir = Dir::new("ca-false");
            let (cert, key) = self_signed(&dir, IsCa::ExplicitNoCa);
            let server = tls_server(&cert, &key);
            let url = format!("tls://127.0.0.1:{}", server.port);
            let tls = TlsConfig::default().ca(&cert);
            let (_node, bridge) =
                bridge_with(lan_port(), BridgeConfig::new([url.as_str()]).tls(tls)).await;
            bridge.stop().await;
        })
    });
}

#[test]
fn an_untrusted_server_certificate_is_named() {
    netns_test::run(|| {
        block_on(async {
            let dir = Dir::new("untrusted");
            let (cert, key) = self_signed(&dir, IsCa::NoCa);
            let server = tls_server(&cert, &key);
            let url = format!("tls://127.0.0.1:{}", server.port);
            let other = Dir::new("untrusted-other");
            let (other_cert, _) = self_signed(&other, IsCa::NoCa);
            let tls = TlsConfig::default().ca(&other_cert);
            let ((server_url, error), bridge) =
                refused(BridgeConfig::new([url.as_str()]).tls(tls)).await;
            assert_eq!(server_url, url);
            assert!(
                error.contains("UnknownIssuer") || error.contains("certificate"),
                "{error}"
            );
            bridge.stop().await;
        })
    });
}
