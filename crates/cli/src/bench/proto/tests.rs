//! Tests of the eventcast roles' pacing, tallies and reports.

use super::*;

/// Data arrived at `now`: `bytes` of it, completing `complete` events,
/// counted and stamped.
fn data(tally: &mut Tally, now: Instant, bytes: u64, complete: u64) {
    tally.count(bytes, complete, u64::MAX);
    tally.stamp(now);
}

fn spec(controlled: bool) -> Spec {
    let args = <super::super::args::tests::Cli as clap::Parser>::parse_from(["bench"]).args;
    let mut spec = Spec::from_args(&args, 5000);
    spec.events = 3;
    spec.controlled = controlled;
    spec.settle = Duration::from_millis(100);
    spec.wait = Duration::from_secs(1);
    spec
}

#[test]
fn pacing_spaces_events_by_the_rate() {
    let t0 = Instant::now();
    let at = |d: Duration| move || t0 + d;
    let free = Pacer::new(t0, None);
    let unread = || -> Instant { panic!("no pacing: the clock is not read") };
    assert_eq!(free.delay(1_000_000, unread), None);
    let paced = Pacer::new(t0, Some(1000.0));
    assert_eq!(paced.delay(0, at(Duration::ZERO)), None);
    assert_eq!(
        paced.delay(10, at(Duration::ZERO)),
        Some(Duration::from_millis(10))
    );
    assert_eq!(
        paced.delay(10, at(Duration::from_millis(4))),
        Some(Duration::from_millis(6))
    );
    assert_eq!(paced.delay(10, at(Duration::from_millis(10))), None);
    // Less than a millisecond ahead: no sleep, the event leaves now.
    assert_eq!(paced.delay(1, at(Duration::from_micros(500))), None);
    assert_eq!(Pacer::new(t0, Some(0.0)).delay(5, unread), None);
}

#[test]
fn body_length_matches_the_encoder() {
    // The raw baseline cuts the same number of bytes into the same
    // number of datagrams as eventcast.
    for size in [0, 1, 64, 1000, 1 << 20] {
        let args = [bson::Bson::String("x".repeat(size))];
        let encoded = eventcast_proto::encode_body(EVENT, &args).unwrap();
        assert_eq!(body_len(size), encoded.len(), "argument of {size} bytes");
    }
    assert_eq!(body_len(64), 64 + 40);
}

#[test]
fn vmhwm_is_read_from_proc_status() {
    let status = "Name:\tx\nVmPeak:\t  9000 kB\nVmHWM:\t    1234 kB\nVmRSS:\t 1000 kB\n";
    assert_eq!(parse_vmhwm(status), Some(1234));
    assert_eq!(parse_vmhwm("Name:\tx\n"), None);
    assert!(peak_rss_kib().is_some_and(|kib| kib > 0));
}

#[test]
fn the_clock_runs_from_the_start_marker_to_the_last_event() {
    let t0 = Instant::now();
    let mut tally = Tally::new(t0);
    assert_eq!(tally.secs(), None);
    data(&mut tally, t0 + Duration::from_secs(1), 10, 1);
    assert_eq!(tally.secs(), None, "one event and no marker: no interval");
    data(&mut tally, t0 + Duration::from_secs(3), 10, 1);
    assert_eq!(tally.secs(), Some(2.0), "marker lost: from the first event");
    tally.start(t0);
    assert_eq!(tally.secs(), Some(3.0));
    assert_eq!((tally.events, tally.bytes), (2, 20));
    assert!(tally.started());
}

#[test]
fn a_marker_handled_late_does_not_start_the_clock() {
    // The receiver read the marker in the same turn as the first data:
    // less than half the sender's lead before it.
    let t0 = Instant::now();
    let mut tally = Tally::new(t0);
    tally.start(t0);
    assert!(tally.started(), "no data yet");
    data(&mut tally, t0 + LEAD / 4, 10, 1);
    data(&mut tally, t0 + LEAD / 4 + Duration::from_secs(2), 10, 1);
    assert!(!tally.started());
    assert_eq!(tally.secs(), Some(2.0), "from the first event");
}

#[test]
fn the_clock_is_read_for_the_first_every_64th_and_the_last_arrival() {
    let mut tally = Tally::new(Instant::now());
    let stamped: Vec<u64> = (1..=151).filter(|_| tally.count(10, 1, 150)).collect();
    assert_eq!(stamped, [1, 64, 128, 150, 151]);
    assert_eq!((tally.events, tally.bytes), (151, 1510));

    // Segments of one large event (raw UDP: 200 datagrams for it):
    // only the datagram that completes it is stamped beyond the rule.
    let mut tally = Tally::new(Instant::now());
    let stamped: Vec<u64> = (1..=200)
        .filter(|&n| tally.count(10, u64::from(n == 200), 1))
        .collect();
    assert_eq!(stamped, [1, 64, 128, 192, 200]);
}

#[test]
fn arrivals_not_stamped_keep_a_slow_receiver_going() {
    // One datagram every 10 ms, --settle-ms 100 (not controlled):
    // only the first is stamped, but each time-out after unstamped
    // arrivals counts as activity.
    let mut spec = spec(false);
    spec.events = 1_000;
    let t0 = Instant::now();
    let ms = |n| t0 + Duration::from_millis(n);
    let mut tally = Tally::new(t0);
    assert!(tally.count(1, 1, 1_000));
    tally.stamp(t0);
    for n in 1..50 {
        assert!(!tally.count(1, 1, 1_000), "arrival {} stamped", n + 1);
        tally.idle(ms(10 * n + 5));
        assert!(
            !tally.done(ms(10 * n + 5), &spec, None),
            "done at {} ms",
            10 * n + 5
        );
    }
    // Then nothing: done once quiet for `settle` after the last.
    tally.idle(ms(500));
    assert!(!tally.done(ms(550), &spec, None));
    assert!(tally.done(ms(600), &spec, None));
}

#[test]
fn a_receiver_is_done_with_every_event() {
    let t0 = Instant::now();
    let mut tally = Tally::new(t0);
    for _ in 0..3 {
        data(&mut tally, t0, 1, 1);
    }
    assert!(tally.done(t0, &spec(true), None));
    assert!(tally.done(t0, &spec(false), None));
}

#[test]
fn a_controlled_receiver_waits_for_its_parent_then_for_quiet() {
    let spec = spec(true);
    let t0 = Instant::now();
    let mut tally = Tally::new(t0);
    let later = t0 + Duration::from_secs(100);
    assert!(
        !tally.done(later, &spec, None),
        "never done before the stop"
    );
    tally.activity(later);
    let ms = |n| later + Duration::from_millis(n);
    assert!(!tally.done(ms(50), &spec, Some(ms(10))));
    assert!(tally.done(ms(110), &spec, Some(ms(10))));
    // Activity after the stop pushes the end back.
    data(&mut tally, ms(100), 1, 1);
    assert!(!tally.done(ms(150), &spec, Some(ms(10))));
    assert!(tally.done(ms(200), &spec, Some(ms(10))));
}

#[test]
fn an_uncontrolled_receiver_ends_on_quiet_or_waits_for_the_first_datagram() {
    let spec = spec(false);
    let t0 = Instant::now();
    let mut tally = Tally::new(t0);
    assert!(!tally.done(t0 + Duration::from_millis(900), &spec, None));
    assert!(tally.done(t0 + Duration::from_millis(1000), &spec, None));
    // Once something arrived, quiet for `settle` ends it, not `wait`.
    tally.activity(t0 + Duration::from_millis(500));
    assert!(!tally.done(t0 + Duration::from_millis(550), &spec, None));
    assert!(tally.done(t0 + Duration::from_millis(600), &spec, None));
}

#[test]
fn child_arguments_parse_back_into_the_same_spec() {
    let mut spec = spec(false);
    spec.interface = Some("lo".into());
    spec.rate = Some(1000.0);
    spec.recv_buffer = Some(65536);
    spec.current_thread = true;
    spec.ping_from = PingFrom::Subscription;
    spec.busy_poll_us = 50;
    let mut argv = vec!["eventcast".to_owned()];
    argv.extend(spec.child_args(Role::Recv, Transport::Raw));
    let cli = <super::super::args::tests::Cli as clap::Parser>::try_parse_from(&argv[1..])
        .unwrap_or_else(|e| panic!("{argv:?}: {e}"));
    let args = cli.args;
    assert_eq!(args.role, Some(Role::Recv));
    assert_eq!(args.transport, Transport::Raw);
    assert!(args.controlled);
    let back = Spec::from_args(&args, args.port.unwrap());
    assert_eq!(back.port, spec.port);
    assert_eq!(back.events, spec.events);
    assert_eq!(back.interface, spec.interface);
    assert_eq!(back.rate, spec.rate);
    assert_eq!(back.recv_buffer, spec.recv_buffer);
    assert_eq!(back.settle, spec.settle);
    assert_eq!(back.ttl, spec.ttl);
    assert!(back.current_thread);
    assert_eq!(back.ping_from, PingFrom::Subscription);
    assert_eq!(back.busy_poll_us, 50);
    // The defaults are left out.
    let plain = self::spec(false).child_args(Role::Ping, Transport::Eventcast);
    assert!(!plain
        .iter()
        .any(|a| a == "--ping-from" || a == "--busy-poll"));
}

#[test]
fn binary_goes_to_eventcast_s_senders_and_receivers_alone() {
    let mut spec = spec(false);
    spec.binary = true;
    let has = |role, transport| {
        let args = spec.child_args(role, transport);
        args.iter().any(|a| a == "--binary")
    };
    assert!(has(Role::Send, Transport::Eventcast));
    assert!(has(Role::Recv, Transport::Eventcast));
    assert!(!has(Role::Send, Transport::Raw));
    assert!(!has(Role::Recv, Transport::Raw));
    assert!(!has(Role::Ping, Transport::Eventcast));
    assert!(!has(Role::Pong, Transport::RawTokio));
    // And it parses back.
    let mut argv = vec!["eventcast".to_owned()];
    argv.extend(spec.child_args(Role::Send, Transport::Eventcast));
    let cli = <super::super::args::tests::Cli as clap::Parser>::try_parse_from(&argv[1..])
        .unwrap_or_else(|e| panic!("{argv:?}: {e}"));
    assert!(Spec::from_args(&cli.args, 5000).binary);
}

#[test]
fn told_size_tells_eventcast_s_nodes_a_size_they_take() {
    let mut spec = spec(false);
    spec.told_size = true;
    let told = |spec: &Spec| spec.config().unwrap().expected_event_sizes;
    spec.size = 1 << 20;
    assert_eq!(told(&spec), [1 << 20]);
    spec.size = 16 << 20;
    assert_eq!(told(&spec), [16 << 20]);
    spec.size = 100 << 20;
    assert!(told(&spec).is_empty(), "above 64 MiB: not told");
    spec.size = 64;
    assert!(told(&spec).is_empty());
    assert!(spec
        .child_args(Role::Recv, Transport::Eventcast)
        .contains(&"--told-size".to_owned()));
    assert!(!spec
        .child_args(Role::Recv, Transport::Raw)
        .contains(&"--told-size".to_owned()));
    spec.told_size = false;
    spec.size = 1 << 20;
    assert!(told(&spec).is_empty());
}

#[test]
fn node_configs_follow_the_spec() {
    let spec = spec(false);
    let config = spec.config().unwrap();
    assert_eq!(config.port, Some(5000));
    assert_eq!(config.multicast_ttl, 0);
    assert_eq!(config.protocol.max_payload_size, 1024);
    assert_eq!(config.busy_poll, eventcast::DEFAULT_BUSY_POLL);
    config.validate().unwrap();
    let mut polling = spec.clone();
    polling.busy_poll_us = 1000;
    let config = polling.config().unwrap();
    assert_eq!(config.busy_poll, Duration::from_millis(1));
    config.validate().unwrap();
    let mut big = spec.clone();
    big.size = 100 << 20;
    big.config().unwrap().validate().unwrap();
    let mut encrypted = spec;
    encrypted.encrypted = true;
    assert!(encrypted.config().unwrap().encryption.key.is_some());
}
