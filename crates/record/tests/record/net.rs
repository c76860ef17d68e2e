//! Real nodes in a private network namespace: a recording of another
//! node's events, and a replay at speeds 1 and 2, of a stretch of it, and
//! of a file whose log times go back.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns

use std::net::{Ipv4Addr, UdpSocket};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use eventcast::{Config, Eventcast};
use eventcast_record::{PlayOptions, Player, Reader, Record, Recorder, RecorderOptions};
use netns_test::block_on;

/// Turns a hang into a failure; never a measure of speed.
const TIMEOUT: Duration = Duration::from_secs(30);

fn free_port() -> u16 {
    UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0))
        .and_then(|s| s.local_addr())
        .expect("an ephemeral port")
        .port()
}

async fn started(port: u16) -> Eventcast {
    let node = Eventcast::new(Config::default().port(port).multicast_ttl(0)).expect("node");
    node.start().await.expect("start");
    node
}

/// A started node recording into `path`, and another started node on its
/// port to send from: `(recording node, recorder, sender)`.
async fn recording(path: &std::path::Path) -> (Eventcast, Recorder, Eventcast) {
    let port = free_port();
    let node = Eventcast::new(Config::default().port(port).multicast_ttl(0)).unwrap();
    let recorder = Recorder::start(&node, RecorderOptions::new(path)).unwrap();
    node.start().await.unwrap();
    (node, recorder, started(port).await)
}

/// Waits until `recorder` has written `events` events.
async fn until_recorded(recorder: &Recorder, events: u64) {
    let deadline = Instant::now() + TIMEOUT;
    while recorder.stats().events < events {
        assert!(Instant::now() < deadline, "{:?}", recorder.stats());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[test]
fn another_node_s_events_are_recorded_with_their_sender() {
    netns_test::run(|| {
        block_on(async {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("net.mcap");
            let (node, recorder, sender) = recording(&path).await;
            for i in 0..2000u32 {
                sender.emit_wait("reading", &(i, "kitchen")).await.unwrap();
            }
            until_recorded(&recorder, 2000).await;
            let summary = recorder.finish().await.unwrap();
            assert_eq!(summary.stats.events, 2000);
            let mut seqs = Vec::new();
            for record in Reader::open(&path).unwrap() {
                let Record::Event(e) = record else {
                    panic!("{record:?}")
                };
                assert_eq!(e.sender, sender.id());
                assert_eq!(
                    e.from.map(|a| a.port()),
                    sender.local_addr().map(|a| a.port())
                );
                assert_eq!(e.args[0], bson::Bson::Int64(seqs.len() as i64));
                seqs.push(e.seq.expect("a received event has a seq").get());
            }
            assert_eq!(seqs.len(), 2000);
            assert!(seqs.windows(2).all(|w| w[1] == w[0] + 1), "in order");
            sender.stop().await;
            node.stop().await;
        })
    });
}

#[test]
fn kept_and_decoded_events_are_recorded_with_the_arguments_that_arrived() {
    use bson::{doc, spec::BinarySubtype, Binary, Bson};
    netns_test::run(|| {
        block_on(async {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("kept.mcap");
            let (node, recorder, sender) = recording(&path).await;
            let frame = Bson::Binary(Binary {
                subtype: BinarySubtype::Generic,
                bytes: (0..300_000u32).map(|i| (i % 251) as u8).collect(),
            });
            let sent = [
                // Large: kept as it arrived, copied into the recording.
                (
                    "frame",
                    vec![Bson::Document(doc! { "n": { "deep": 1 } }), frame],
                ),
                // Small and flat: kept too.
                ("plain", vec![Bson::Int64(1), Bson::from("x")]),
                // A document: decoded on arrival, encoded from its values.
                ("config", vec![Bson::Document(doc! { "a": [1, 2] })]),
            ];
            for (name, args) in &sent {
                sender.emit_wait(name, args).await.unwrap();
            }
            until_recorded(&recorder, 3).await;
            recorder.finish().await.unwrap();
            let recorded: Vec<(String, Vec<Bson>)> = Reader::open(&path)
                .unwrap()
                .map(|record| match record {
                    Record::Event(e) => (e.name, e.args),
                    other => panic!("{other:?}"),
                })
                .collect();
            let sent: Vec<(String, Vec<Bson>)> =
                sent.into_iter().map(|(n, a)| (n.to_owned(), a)).collect();
            assert_eq!(recorded, sent);
            sender.stop().await;
            node.stop().await;
        })
    });
}

/// Records five events 300 ms apart through a stopped node (no socket).
fn spaced_recording(path: &std::path::Path) {
    block_on(async {
        let node = Eventcast::new(Config::default()).unwrap();
        let recorder = Recorder::start(&node, RecorderOptions::new(path)).unwrap();
        for i in 0..5u32 {
            if i > 0 {
                tokio::time::sleep(Duration::from_millis(300)).await;
            }
            node.emit("beat", &(i,)).unwrap();
        }
        recorder.finish().await.unwrap();
    });
}

/// Plays `path` at `speed` to a listening node; the time from the first
/// event heard to the last, and the arguments heard.
async fn play_and_time(path: &std::path::Path, speed: f64) -> (Duration, Vec<bson::Bson>) {
    let mut options = PlayOptions::default();
    options.speed = speed;
    play_with(path, options, 5).await
}

/// Plays `path` with `options` to a listening node and waits for `n`
/// events; the time from the first event heard to the last, and their
/// arguments.
async fn play_with(
    path: &std::path::Path,
    options: PlayOptions,
    n: usize,
) -> (Duration, Vec<bson::Bson>) {
    let port = free_port();
    let listener = started(port).await;
    let heard = Arc::new(Mutex::new(Vec::new()));
    {
        let heard = Arc::clone(&heard);
        listener
            .on("beat", move |e| {
                heard
                    .lock()
                    .unwrap()
                    .push((Instant::now(), e.raw_args()[0].clone()));
            })
            .unwrap();
    }
    let player_node = started(port).await;
    let player = Player::new(&player_node, path, options).unwrap();
    let stats = player.play(|_| {}).await.unwrap();
    assert_eq!(stats.emitted, n as u64);
    let deadline = Instant::now() + TIMEOUT;
    while heard.lock().unwrap().len() < n {
        assert!(
            Instant::now() < deadline,
            "only {:?}",
            heard.lock().unwrap()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    player_node.stop().await;
    listener.stop().await;
    let heard = heard.lock().unwrap();
    let span = heard[n - 1].0 - heard[0].0;
    (span, heard.iter().map(|(_, arg)| arg.clone()).collect())
}

#[test]
fn play_keeps_the_recorded_gaps_divided_by_the_speed() {
    netns_test::run(|| {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("beats.mcap");
        spaced_recording(&path);
        let expected: Vec<_> = (0..5).map(bson::Bson::Int64).collect();
        block_on(async {
            // Recorded over 1.2 s: as recorded at 1, in half at 2. Bounds
            // far apart, so that a loaded machine cannot fail them: each
            // play is paced from its start, never ahead of time.
            let (at_one, args) = play_and_time(&path, 1.0).await;
            assert_eq!(args, expected);
            assert!(at_one >= Duration::from_millis(1100), "speed 1: {at_one:?}");
            let (at_two, args) = play_and_time(&path, 2.0).await;
            assert_eq!(args, expected);
            assert!(at_two >= Duration::from_millis(540), "speed 2: {at_two:?}");
            assert!(at_two < Duration::from_millis(1100), "speed 2: {at_two:?}");
            let (at_zero, _) = play_and_time(&path, 0.0).await;
            assert!(at_zero < Duration::from_millis(540), "speed 0: {at_zero:?}");
        })
    });
}

#[test]
fn from_and_to_select_a_stretch_of_the_recording() {
    netns_test::run(|| {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("beats.mcap");
        spaced_recording(&path);
        // The offsets as recorded; cut halfway between events 0|1 and 3|4.
        let times: Vec<_> = Reader::open(&path).unwrap().map(|r| r.log_time()).collect();
        let offset = |i: usize| times[i].duration_since(times[0]).unwrap();
        let mut options = PlayOptions::default();
        options.speed = 0.0;
        options.from = Some((offset(0) + offset(1)) / 2);
        options.to = Some((offset(3) + offset(4)) / 2);
        block_on(async {
            let (_, args) = play_with(&path, options, 3).await;
            assert_eq!(args, [1, 2, 3].map(bson::Bson::Int64));
        })
    });
}

#[test]
fn a_speed_so_close_to_zero_that_no_clock_can_wait_is_an_error() {
    netns_test::run(|| {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("beats.mcap");
        spaced_recording(&path);
        // At least 0.3 s between the first two beats: at 1e-20, 3e19 s or
        // more, over what a `Duration` holds; at 2.5e-20, 1.2e19 s or more,
        // over what an `Instant` does.
        block_on(async {
            let node = started(free_port()).await;
            for speed in [1e-20, 2.5e-20] {
                let mut options = PlayOptions::default();
                options.speed = speed;
                let player = Player::new(&node, &path, options).unwrap();
                let err = player.play(|_| {}).await.unwrap_err();
                assert!(
                    matches!(err, eventcast_record::Error::TooFar { speed: s, .. } if s == speed),
                    "{err}"
                );
                assert!(err.to_string().contains("too far away"), "{err}");
            }
            node.stop().await;
        })
    });
}

/// Writes three `beat` events whose log times go back and forth: 200 ms,
/// 100 ms, 300 ms after an origin (a recorder's clock stepped back, or
/// another program's file).
fn backward_recording(path: &std::path::Path) {
    let file = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    let mut writer = mcap::Writer::new(file).unwrap();
    let kind =
        std::collections::BTreeMap::from([("eventcast.kind".to_owned(), "event".to_owned())]);
    let channel = writer.add_channel(0, "beat", "bson", &kind).unwrap();
    let origin = 1_700_000_000_000_000_000u64;
    for (i, ms) in [200u64, 100, 300].into_iter().enumerate() {
        let data = bson::serialize_to_vec(&bson::doc! {
            "name": "beat", "args": [i as i64], "sender": "0000000000000001",
            "from": null, "seq": i as i64,
        })
        .unwrap();
        let time = origin + ms * 1_000_000;
        let header = mcap::records::MessageHeader {
            channel_id: channel,
            sequence: i as u32,
            log_time: time,
            publish_time: time,
        };
        writer.write_to_known_channel(&header, &data).unwrap();
    }
    writer.finish().unwrap();
}

/// An event recorded before the one before it is played at once, in file
/// order, and the pace goes on from it. The player subtracted the first
/// event's offset from each event's: it panicked ("overflow when
/// subtracting durations") on the second event.
#[test]
fn log_times_that_go_back_are_played_in_file_order() {
    netns_test::run(|| {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("backward.mcap");
        backward_recording(&path);
        block_on(async {
            let (span, args) = play_with(&path, PlayOptions::default(), 3).await;
            assert_eq!(args, [0, 1, 2].map(bson::Bson::Int64));
            // The third event comes 200 ms (its gap from the second)
            // after the second; the second as soon as the first.
            assert!(span >= Duration::from_millis(190), "{span:?}");
        })
    });
}

/// `from` counts from the recording's first record in a file cut short
/// too (no summary), when a filter leaves that record out. It counted
/// from the first event the filter kept, and played another stretch than
/// the same file whole would.
#[test]
fn from_counts_from_the_first_record_in_a_file_cut_short_with_a_filter() {
    netns_test::run(|| {
        let dir = tempfile::tempdir().unwrap();
        let whole = dir.path().join("whole.mcap");
        // `other` at 0, then beats 0, 1, 2 about 0.3, 0.6 and 0.9 s on.
        block_on(async {
            let node = Eventcast::new(Config::default()).unwrap();
            let recorder = Recorder::start(&node, RecorderOptions::new(&whole)).unwrap();
            node.emit("other", &(0,)).unwrap();
            for i in 0..3u32 {
                tokio::time::sleep(Duration::from_millis(300)).await;
                node.emit("beat", &(i,)).unwrap();
            }
            recorder.finish().await.unwrap();
        });
        // Every chunk, no summary: as a recorder killed at the end leaves it.
        let bytes = std::fs::read(&whole).unwrap();
        let summary_start = mcap::read::footer(&bytes).unwrap().summary_start as usize;
        let cut = dir.path().join("cut.mcap");
        std::fs::write(&cut, &bytes[..summary_start]).unwrap();
        assert_eq!(Reader::info(&cut).unwrap(), None);
        let times: Vec<_> = Reader::open(&whole)
            .unwrap()
            .map(|r| r.log_time())
            .collect();
        let offset = |i: usize| times[i].duration_since(times[0]).unwrap();
        for path in [&whole, &cut] {
            let mut options = PlayOptions::default();
            options.speed = 0.0;
            options.filter = Some(eventcast::EventFilter::new(vec!["beat".into()]).unwrap());
            // Between beats 0 and 1, counted from `other`.
            options.from = Some((offset(1) + offset(2)) / 2);
            block_on(async {
                let (_, args) = play_with(path, options, 2).await;
                assert_eq!(args, [1, 2].map(bson::Bson::Int64), "{}", path.display());
            })
        }
    });
}
