//! Tests of `bench/compute.rs`.

use super::*;

fn run(secs: Option<f64>, from_start: bool, events: u64, bytes: u64) -> FlowRun {
    FlowRun {
        sent: proto::Sent {
            events: 10,
            secs: 1.0,
            lead_secs: 0.5,
            ..proto::Sent::default()
        },
        received: vec![Received {
            events,
            bytes,
            secs,
            from_start,
            ..Received::default()
        }],
    }
}

#[test]
fn the_senders_lead_is_not_transfer_time() {
    let timed = run(Some(2.5), true, 10, 4_000_000);
    let r = &timed.received[0];
    assert_eq!(transfer_secs(&timed, r), Some(2.0));
    assert_eq!(rate(&timed, r), Some(5.0));
    assert_eq!(mb_per_sec(&timed, r), Some(2.0));
    // Marker lost: the clock ran from the first data, no lead in it.
    let unmarked = run(Some(2.5), false, 10, 0);
    assert_eq!(transfer_secs(&unmarked, &unmarked.received[0]), Some(2.5));
    // Timed from the first of 10 events: 9 deliveries in 2.5 s.
    assert_eq!(rate(&unmarked, &unmarked.received[0]), Some(3.6));
}

#[test]
fn on_one_host_the_time_runs_from_the_senders_first_event() {
    // On the host's clock, the marker went at 999.7 ms and arrived at
    // 1,000.0 ms, the sender's first event went at 1,049.7 ms (a lead
    // of 50 ms), and the event was whole at 1,052.0 ms: 2.3 ms of
    // transfer, where the lead alone would say 2.0.
    let mut timed = run(Some(0.052), true, 1, 1_150_000);
    timed.sent.lead_secs = 0.050;
    timed.sent.start_ns = Some(1_049_700_000);
    timed.received[0].last_ns = Some(1_052_000_000);
    let r = &timed.received[0];
    let secs = transfer_secs(&timed, r).unwrap();
    assert!((secs - 0.0023).abs() < 1e-9, "{secs}");
    assert!((mb_per_sec(&timed, r).unwrap() - 500.0).abs() < 1e-6);
    // The marker handled late (the receiver's clock from the first
    // data, here the only one): still timed, and every event counts.
    timed.received[0].secs = None;
    timed.received[0].from_start = false;
    let r = &timed.received[0];
    assert!((transfer_secs(&timed, r).unwrap() - 0.0023).abs() < 1e-9);
    assert!((rate(&timed, r).unwrap() - 1.0 / 0.0023).abs() < 1e-6);
    // Either stamp missing: the lead comes off the receiver's clock.
    for (start, last) in [(None, Some(1_052_000_000)), (Some(1_049_700_000), None)] {
        let mut old = run(Some(0.052), true, 1, 1_150_000);
        old.sent.lead_secs = 0.050;
        old.sent.start_ns = start;
        old.received[0].last_ns = last;
        let secs = transfer_secs(&old, &old.received[0]).unwrap();
        assert!((secs - 0.002).abs() < 1e-9, "{secs}");
    }
}

#[test]
fn older_role_lines_without_stamps_still_parse() {
    let sent: proto::Sent =
        serde_json::from_str(r#"{"events":1,"secs":0.1,"lead_secs":0.05,"send_errors":0}"#)
            .unwrap();
    assert_eq!(sent.start_ns, None);
    let received: Received = serde_json::from_str(
        r#"{"events":1,"bytes":9,"secs":0.06,"from_start":true,"datagrams":1,"recv_buffer":0,"peak_rss_kib":null}"#,
    )
    .unwrap();
    assert_eq!(received.last_ns, None);
}

#[test]
fn nothing_delivered_is_zero_and_too_little_is_unknown() {
    let nothing = run(None, true, 0, 0);
    assert_eq!(rate(&nothing, &nothing.received[0]), Some(0.0));
    assert_eq!(event_mb_per_sec(&nothing), Some(0.0));
    let one = run(None, false, 1, 100);
    assert_eq!(rate(&one, &one.received[0]), None);
    // A clock shorter than the lead is no measurement.
    let odd = run(Some(0.4), true, 10, 100);
    assert_eq!(rate(&odd, &odd.received[0]), None);
}

#[test]
fn a_lost_large_event_counts_as_zero_mb_per_sec() {
    let lost = run(Some(3.0), true, 0, 0);
    assert_eq!(event_mb_per_sec(&lost), Some(0.0));
    let whole = run(Some(1.5), true, 1, 3_000_000);
    assert_eq!(event_mb_per_sec(&whole), Some(3.0));
}

/// The `target` texts of the JSON, as docs/bench-latest.json has them:
/// now written from the table of targets, they read as before.
#[test]
fn the_json_states_the_targets_as_before() {
    use super::super::runs::EncryptedRuns;
    let cli = <super::super::args::tests::Cli as clap::Parser>::parse_from(["bench"]);
    let plan = Plan::new(&cli.args).unwrap();
    let nothing = Measured {
        small: Both::default(),
        latency: Both::default(),
        large: Vec::new(),
        loss: Err("not measured".into()),
        encrypted: EncryptedRuns {
            small: Vec::new(),
            large: Vec::new(),
        },
        fanout: Both::default(),
        stream: Both::default(),
    };
    let json = serde_json::to_value(report(&plan, &nothing)).unwrap();
    let target = |figure: &str| json["figures"][figure]["target"].clone();
    assert_eq!(
        target("small_events"),
        "delivered/s at least 4 times raw UDP's (ratio >= 4.0), none lost"
    );
    assert_eq!(target("latency"), "p50 ratio <= 1.3, p99 ratio <= 1.5");
    assert_eq!(
        target("large_events"),
        "MB/s at least 80% of raw UDP's (ratio >= 0.8)"
    );
    assert_eq!(
        target("encryption"),
        "at least 85% of plaintext (ratio >= 0.85)"
    );
}
