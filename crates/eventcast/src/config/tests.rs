//! Tests of `config.rs`.

use super::*;
use crate::legacy::LEGACY_MAX_PAYLOAD_SIZE;

#[test]
fn busy_poll_is_150_us_by_default_and_at_most_a_millisecond() {
    assert_eq!(Config::default().busy_poll, Duration::from_micros(150));
    assert!(Config::default()
        .busy_poll(Duration::ZERO)
        .validate()
        .is_ok());
    let ok = Config::default().busy_poll(MAX_BUSY_POLL);
    assert!(ok.validate().is_ok());
    let long = Config::default().busy_poll(MAX_BUSY_POLL + Duration::from_nanos(1));
    let err = long.validate().unwrap_err();
    assert!(matches!(err, ConfigError::BusyPoll(d) if d == long.busy_poll));
    assert!(err.to_string().contains("busy_poll"), "{err}");
}

#[test]
fn expected_event_sizes_are_checked() {
    assert!(Config::default().expected_event_sizes.is_empty());
    let two = Config::default()
        .expected_event_size(MIN_EXPECTED_EVENT_SIZE)
        .expected_event_size(MAX_EXPECTED_EVENT_SIZE);
    two.validate().unwrap();
    let err = |c: Config| c.validate().unwrap_err().to_string();
    let three = err(two.expected_event_size(1 << 20));
    assert_eq!(three, "expected_event_sizes takes at most 2 sizes, got 3");
    let large = err(Config::default().expected_event_size(100 << 20));
    assert_eq!(
        large,
        "expected_event_sizes must be from 262144 bytes (256 KiB) to 67108864 (64 MiB), \
         got 104857600"
    );
    let mut small_max = Config::default().expected_event_size(2 << 20);
    small_max.protocol.max_message_size = 1 << 20;
    assert_eq!(
        err(small_max),
        "expected_event_sizes has 2097152 bytes, more than max_message_size (1048576): \
         raise max_message_size for events of that size"
    );
    for size in [0, MIN_EXPECTED_EVENT_SIZE - 1, MAX_EXPECTED_EVENT_SIZE + 1] {
        let e = err(Config::default().expected_event_size(size));
        assert!(
            e.contains("expected_event_sizes") && e.ends_with(&format!("got {size}")),
            "{e}"
        );
    }
}

#[test]
fn defaults_match_the_original() {
    let c = Config::default();
    assert_eq!(c.address.to_string(), "0.0.0.0");
    assert_eq!(c.port, None);
    assert_eq!(c.multicast_membership.to_string(), "224.0.0.1");
    assert!(c.multicast_loopback);
    assert_eq!(c.multicast_ttl, 1);
    assert_eq!(c.protocol.max_payload_size, 1024);
    assert_eq!(c.protocol.message_ttl, Duration::from_millis(3000));
    c.validate().unwrap();
}

#[test]
fn rejects_bad_settings() {
    let not_group = Config::default().multicast_membership("10.0.0.1".parse().unwrap());
    assert!(not_group
        .validate()
        .unwrap_err()
        .to_string()
        .contains("10.0.0.1"));
    let mixed = Config::default().multicast_membership("ff02::1".parse().unwrap());
    assert!(matches!(
        mixed.validate(),
        Err(ConfigError::FamilyMismatch { .. })
    ));
    assert!(matches!(
        Config::default().multicast_ttl(256).validate(),
        Err(ConfigError::Ttl(256))
    ));
    assert!(matches!(
        Config::default().max_payload_size(1).validate(),
        Err(ConfigError::Protocol(_))
    ));
}

#[test]
fn native_protocol_is_the_default() {
    let c = Config::default();
    assert_eq!(c.wire_protocol, WireProtocol::Native);
    assert_eq!(c.legacy.insecure_legacy_key, None);
    assert_eq!(c.legacy.max_retransmit_attempts, 1);
    assert_eq!(WireProtocol::LegacyV3.to_string(), "legacy-v3");
}

#[test]
fn the_legacy_key_never_shows() {
    let c = Config::default()
        .wire_protocol(WireProtocol::LegacyV3)
        .insecure_legacy_key("hunter2");
    assert!(!format!("{c:?}").contains("hunter2"));
    c.validate().unwrap();
}

#[test]
fn refuses_legacy_settings_that_cannot_work() {
    let err = |c: Config| c.validate().unwrap_err().to_string();
    assert!(err(Config::default().insecure_legacy_key("k")).contains("only with the legacy"));
    let legacy = Config::default().wire_protocol(WireProtocol::LegacyV3);
    assert!(err(legacy.clone().insecure_legacy_key("")).contains("empty"));
    assert!(err(legacy
        .clone()
        .multicast_membership("ff02::1".parse().unwrap())
        .address("::".parse().unwrap()))
    .contains("IPv4 only"));
    assert!(err(legacy.clone().max_payload_size(65_000)).contains("at most"));
    legacy
        .max_payload_size(LEGACY_MAX_PAYLOAD_SIZE)
        .validate()
        .unwrap();
}

#[test]
fn repl_on_loopback_by_default_and_danger_to_open() {
    let c = ReplConfig::default();
    assert!(!c.enabled);
    assert_eq!(c.host, IpAddr::V4(Ipv4Addr::LOCALHOST));
    c.validate().unwrap();
    let v6 = Config::default().repl_host("::1".parse().unwrap());
    v6.repl.validate().unwrap();
    for host in ["0.0.0.0", "10.0.0.7", "::"] {
        let open = Config::default().repl_host(host.parse().unwrap());
        let err = open.repl.validate().unwrap_err().to_string();
        assert!(err.contains(host) && err.contains("danger"), "{err}");
        open.danger_repl_any_host(true).repl.validate().unwrap();
    }
    // Checked even while disabled: enabling it later must not surprise.
    assert!(Config::default()
        .repl_host("0.0.0.0".parse().unwrap())
        .validate()
        .is_err());
}

#[test]
fn repl_limits_of_zero_are_refused() {
    let zero = Config::default().repl_max_clients(0);
    assert!(zero
        .validate()
        .unwrap_err()
        .to_string()
        .contains("max_clients"));
}
