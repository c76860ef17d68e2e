//! Tests of `bench/raw.rs`.

use super::*;

fn spec(size: usize, max_payload_size: usize) -> Spec {
    let args = <super::super::args::tests::Cli as clap::Parser>::parse_from(["bench"]).args;
    let mut spec = Spec::from_args(&args, 5000);
    spec.size = size;
    spec.max_payload_size = max_payload_size;
    spec
}

#[test]
fn small_events_are_one_datagram_of_their_size() {
    let s = Shape::of(&spec(64, 1024)).unwrap();
    assert_eq!((s.count, s.full, s.last, s.header), (1, 64, 64, 0));
    // Never shorter than the raw header.
    assert_eq!(Shape::of(&spec(3, 1024)).unwrap().full, HEADER);
}

#[test]
fn large_events_are_cut_like_eventcast_bodies() {
    // 1 MiB + 40 bytes of BSON: 1,024 full datagrams and one of 40.
    let s = Shape::of(&spec(1 << 20, 1024)).unwrap();
    assert_eq!(s.count, 1025);
    assert_eq!(s.full, 33 + 1024);
    assert_eq!(s.last, 33 + 40);
    let s = Shape::of(&spec(1 << 20, 8192)).unwrap();
    assert_eq!(s.count, 129);
    assert_eq!(s.full, 33 + 8192);
}

#[test]
fn headers_round_trip() {
    let mut buf = [0u8; 20];
    write_header(&mut buf, KIND_DATA, 7, 3, 9);
    assert_eq!(read_header(&buf), Some((KIND_DATA, 7, 3, 9)));
    assert_eq!(read_header(&buf[..16]), None);
}

#[test]
fn ping_reports_percentiles_of_its_samples() {
    let samples: Vec<f64> = (1..=200).map(f64::from).collect();
    let p = pinged(samples, 3);
    assert_eq!((p.samples, p.lost), (200, 3));
    assert_eq!(p.p50_us, Some(100.0));
    assert_eq!(p.p99_us, Some(198.0));
    let none = pinged(vec![], 5);
    assert_eq!((none.samples, none.p50_us, none.p99_us), (0, None, None));
    assert_eq!(warmup(10_000), 100);
    assert_eq!(warmup(50), 5);
    // The warm-up round trips are not counted, answered or not.
    let mut trips = RoundTrips::new(50);
    assert_eq!(trips.total(), 55);
    let t0 = Instant::now();
    for n in 0..trips.total() {
        trips.record(n, t0, n % 2 == 0);
    }
    assert_eq!((trips.samples.len(), trips.lost), (25, 25));
}
