//! Tests of `common.rs`.

use super::*;
use clap::Parser;

#[derive(Parser, Debug)]
struct Try {
    #[command(flatten)]
    net: NetArgs,
    #[command(flatten)]
    send: SendArgs,
    #[command(flatten)]
    key: KeyArgs,
}

fn parse(args: &[&str]) -> Result<Try, clap::Error> {
    Try::try_parse_from(std::iter::once("try").chain(args.iter().copied()))
}

#[test]
fn defaults_are_the_library_defaults() {
    let t = parse(&[]).unwrap();
    let config = t.send.apply(t.net.config());
    // EVENTCAST_PORT may be set around the test run.
    let mut expected = Config::default();
    expected.port = config.port;
    assert_eq!(config, expected);
}

#[test]
fn every_option_reaches_the_config() {
    let t = parse(&[
        "--port",
        "41234",
        "--group",
        "239.1.2.3",
        "--interface",
        "lo",
        "--bind",
        "127.0.0.1",
        "--ttl",
        "0",
        "--no-loopback",
        "--max-payload-size",
        "512",
        "--message-ttl",
        "1500",
        "--recv-buffer",
        "65536",
        "--expect-size",
        "1M",
        "--expect-size",
        "300K",
    ])
    .unwrap();
    let c = t.send.apply(t.net.config());
    assert_eq!(c.port, Some(41234));
    assert_eq!(c.multicast_membership.to_string(), "239.1.2.3");
    assert_eq!(c.multicast_interface.as_deref(), Some("lo"));
    assert_eq!(c.address.to_string(), "127.0.0.1");
    assert_eq!(c.multicast_ttl, 0);
    assert!(!c.multicast_loopback);
    assert_eq!(c.protocol.max_payload_size, 512);
    assert_eq!(c.protocol.message_ttl, Duration::from_millis(1500));
    assert_eq!(c.recv_buffer_size, 65536);
    assert_eq!(c.expected_event_sizes, [1 << 20, 300 << 10]);
}

#[test]
fn the_legacy_options_reach_the_config() {
    let t = parse(&[
        "--protocol",
        "legacy-v3",
        "--insecure-legacy-key",
        "NSA-KEY",
    ])
    .unwrap();
    let c = t.net.config();
    assert_eq!(c.wire_protocol, WireProtocol::LegacyV3);
    let key = c.legacy.insecure_legacy_key.as_ref().expect("a key");
    assert_eq!(key.passphrase(), "NSA-KEY");
    c.validate().unwrap();
    let t = parse(&["--protocol", "native"]).unwrap();
    assert_eq!(t.net.config().wire_protocol, WireProtocol::Native);
    let err = parse(&["--protocol", "v3"]).unwrap_err();
    assert!(err.to_string().contains("legacy-v3"), "{err}");
    // a key without the legacy protocol cannot work
    let t = parse(&["--insecure-legacy-key", "k"]).unwrap();
    let err = new_node(t.net.config()).unwrap_err();
    assert!(err.downcast_ref::<UsageError>().is_some(), "{err}");
}

#[test]
fn an_ipv6_group_binds_the_ipv6_any_address() {
    let t = parse(&["--group", "ff02::ec:1"]).unwrap();
    let c = t.net.config();
    assert_eq!(c.address.to_string(), "::");
    c.validate().unwrap();
}

#[test]
fn bad_values_are_refused_with_a_reason() {
    for (args, needle) in [
        (&["--group", "10.0.0.1"][..], "not a multicast address"),
        (&["--group", "nonsense"][..], "not an IP address"),
        (&["--ttl", "256"][..], "256"),
        (&["--port", "0"][..], "0"),
        (&["--port", "70000"][..], "70000"),
        (&["--message-ttl", "0"][..], "0"),
        (&["--bind", "localhost"][..], "localhost"),
    ] {
        let err = parse(args).unwrap_err();
        assert_eq!(err.exit_code(), 2, "{args:?}");
        assert!(err.to_string().contains(needle), "{args:?}: {err}");
    }
}

#[test]
fn config_errors_are_usage_errors() {
    let t = parse(&["--max-payload-size", "5"]).unwrap();
    let err = new_node(t.net.config()).unwrap_err();
    let usage = err.downcast_ref::<UsageError>().expect("a usage error");
    assert!(usage.0.contains("--max-payload-size must be"), "{usage}");
}

/// The library's names of settings a command has flags for are
/// written as the flags; others, and parts of longer words, are left.
#[test]
fn config_errors_name_the_flags() {
    let more = [
        ("max_partial_bytes", "--max-partial-bytes"),
        ("repl_host", "--repl-host"),
    ];
    assert_eq!(
        flag_names(
            "max_partial_bytes_per_sender (1 bytes) cannot hold max_message_size \
             in segments of max_payload_size (16 bytes); raise max_partial_bytes",
            &more
        ),
        "max_partial_bytes_per_sender (1 bytes) cannot hold max_message_size \
         in segments of --max-payload-size (16 bytes); raise --max-partial-bytes"
    );
    assert_eq!(
        flag_names(
            "repl_host 0.0.0.0, not x.repl_host or repl_host.y: repl_host.",
            &more
        ),
        "--repl-host 0.0.0.0, not x.repl_host or repl_host.y: --repl-host."
    );
    assert_eq!(flag_names("", &more), "");
    assert_eq!(flag_names("ÄÖ message_ttl", &[]), "ÄÖ --message-ttl");
}

/// Every entry of [`FLAGS`] names a setting that some configuration
/// error of the library names: each one is seen written as its flag.
#[test]
fn every_flag_of_the_table_is_named_by_some_error() {
    let said = |args: &[&str], more: fn(Config) -> Config| {
        let t = parse(args).unwrap();
        let err = new_node(more(t.net.config())).unwrap_err();
        err.downcast_ref::<UsageError>()
            .expect("a usage error")
            .0
            .clone()
    };
    let same = |c| c;
    let messages = [
        said(&["--max-payload-size", "5"], same),
        said(&["--message-ttl", "604800001"], same),
        // --ttl 256 is refused by its parser.
        said(&[], |c| c.multicast_ttl(256)),
        said(&["--insecure-legacy-key", "k"], same),
        said(&["--expect-size", "100M"], same),
    ];
    assert_each_flag_said(FLAGS, &messages);
}

#[test]
fn causes_already_in_the_message_are_not_repeated() {
    let io = std::io::Error::other("No such device");
    let err = anyhow::Error::new(eventcast::Error::Io {
        context: "cannot join".into(),
        source: io,
    });
    assert_eq!(describe(&err), "cannot join: No such device");
    let err = anyhow::anyhow!("inner").context("outer");
    assert_eq!(describe(&err), "outer: inner");
}

#[test]
fn keys_reach_the_config_first_one_sealing() {
    let dir = std::env::temp_dir().join(format!("eventcast-cli-key-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("key");
    std::fs::write(&file, "raw:00112233445566778899aabbccddeeff\n").unwrap();
    let t = parse(&[
        "--key",
        "first passphrase",
        "--key-file",
        file.to_str().unwrap(),
        "--danger-accept-plaintext",
    ])
    .unwrap();
    let c = t.key.apply(Config::default()).unwrap();
    assert_eq!(
        c.encryption.key,
        Some(Secret::passphrase("first passphrase"))
    );
    assert_eq!(c.encryption.decrypt_keys.len(), 1);
    assert!(matches!(c.encryption.decrypt_keys[0], Secret::Raw(_)));
    assert!(c.encryption.danger_accept_plaintext);
    std::fs::write(&file, "").unwrap();
    let t = parse(&["--key-file", file.to_str().unwrap()]).unwrap();
    let err = t.key.apply(Config::default()).unwrap_err();
    assert!(err.downcast_ref::<UsageError>().is_some(), "{err}");
    std::fs::remove_dir_all(&dir).ok();
}
