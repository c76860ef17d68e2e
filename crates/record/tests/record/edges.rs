//! What a recording meets at its edges: a full disk, a file too short to
//! hold a summary, a size limit reached through many small chunks.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns

use std::time::Duration;

use eventcast::{Config, Eventcast};
use eventcast_record::{Reader, Recorder, RecorderOptions};

use crate::support::{record_local, runtime};

/// Longest a test waits for the recorder to stop by itself.
const LIMIT: Duration = Duration::from_secs(30);

/// A disk that fills up while recording: the error says so, naming the
/// file. It said "cannot finish /dev/full: attempted another write after
/// a write method failed": the `mcap` writer's complaint when the summary
/// was written after the failed write, not the failed write itself.
#[cfg(target_os = "linux")]
#[test]
fn a_full_disk_is_reported_as_such() {
    let full = std::path::Path::new("/dev/full");
    let error = runtime().block_on(async {
        let node = Eventcast::new(Config::default()).unwrap();
        let mut options = RecorderOptions::new(full);
        options.flush_interval = Duration::from_millis(1);
        let recorder = Recorder::start(&node, options).unwrap();
        node.emit("tick", &(1, "one")).unwrap();
        // The chunk written out fails: the recorder stops by itself.
        tokio::time::timeout(LIMIT, recorder.stopped())
            .await
            .expect("the recorder stops when it cannot write");
        recorder.finish().await.unwrap_err()
    });
    let text = error.to_string();
    match &error {
        eventcast_record::Error::Io { path, source, .. } => {
            assert_eq!(path, full, "{text}");
            assert_eq!(source.kind(), std::io::ErrorKind::StorageFull, "{text}");
        }
        other => panic!("not the write's own error: {other:?} ({text})"),
    }
    assert!(text.starts_with("cannot write /dev/full: "), "{text}");
}

/// A file of MCAP's magic bytes and little more (a recording cut short
/// right after it began) has no summary: `info` says none. It failed
/// with "cannot read FILE: Invalid argument (os error 22)" (a seek
/// before the file's start), and `play` with it.
#[test]
fn a_file_too_short_for_a_summary_has_no_info() {
    let dir = tempfile::tempdir().unwrap();
    for len in [8, 20, 35] {
        let path = dir.path().join(format!("short-{len}.mcap"));
        let mut bytes = b"\x89MCAP0\r\n".to_vec();
        bytes.resize(len, 0);
        std::fs::write(&path, &bytes).unwrap();
        assert!(Reader::open(&path).is_ok(), "{len} bytes: MCAP's magic");
        assert_eq!(Reader::info(&path).unwrap(), None, "{len} bytes");
    }
}

/// A record whose length field claims far more than the file holds (a
/// damaged or forged file) ends the reading with `truncated` set: the
/// `mcap` reader reserved what the field claimed, and a terabyte aborted the
/// process. Both outside a chunk and for a chunk's uncompressed size.
#[test]
fn a_record_claiming_a_terabyte_ends_the_reading() {
    let dir = tempfile::tempdir().unwrap();
    const TERABYTE: u64 = 1 << 40;
    // The header record (opcode 1) claims a terabyte.
    let mut header = b"\x89MCAP0\r\n".to_vec();
    header.push(0x01);
    header.extend_from_slice(&TERABYTE.to_le_bytes());
    header.extend_from_slice(&[0; 64]);
    // A valid header (profile and library empty), then a chunk (opcode 6)
    // whose uncompressed size claims a terabyte, its records uncompressed.
    let mut chunk = b"\x89MCAP0\r\n".to_vec();
    chunk.push(0x01);
    chunk.extend_from_slice(&8u64.to_le_bytes());
    chunk.extend_from_slice(&[0; 8]);
    let records = [0u8; 16];
    let mut body = Vec::new();
    body.extend_from_slice(&0u64.to_le_bytes()); // message start time
    body.extend_from_slice(&0u64.to_le_bytes()); // message end time
    body.extend_from_slice(&TERABYTE.to_le_bytes()); // uncompressed size
    body.extend_from_slice(&0u32.to_le_bytes()); // uncompressed crc: none
    body.extend_from_slice(&0u32.to_le_bytes()); // compression: "" (none)
    body.extend_from_slice(&(records.len() as u64).to_le_bytes());
    body.extend_from_slice(&records);
    chunk.push(0x06);
    chunk.extend_from_slice(&(body.len() as u64).to_le_bytes());
    chunk.extend_from_slice(&body);
    for (name, bytes) in [("header", header), ("chunk", chunk)] {
        let path = dir.path().join(format!("{name}.mcap"));
        std::fs::write(&path, &bytes).unwrap();
        let mut reader = Reader::open(&path).unwrap();
        assert_eq!(reader.next(), None, "{name}");
        let said = reader.stats().truncated.clone();
        assert!(said.is_some(), "{name}: {said:?}");
    }
}

/// `max_bytes` holds when the file is made of many small chunks (a slow
/// recording: one chunk a second). The summary indexes every chunk; it
/// was not counted, and the file grew past `max_bytes`.
#[test]
fn max_bytes_holds_for_a_file_of_many_small_chunks() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("slow.mcap");
    let max = 64 * 1024;
    let summary = runtime().block_on(async {
        let node = Eventcast::new(Config::default()).unwrap();
        let mut options = RecorderOptions::new(&path);
        options.max_bytes = Some(max);
        options.flush_interval = Duration::from_millis(1);
        let recorder = Recorder::start(&node, options).unwrap();
        let filled = async {
            for i in 0u32.. {
                let name = format!("name{}", i % 8);
                node.emit(&name, &(i, "x")).unwrap();
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
        };
        tokio::time::timeout(LIMIT, async {
            tokio::select! {
                () = recorder.stopped() => {}
                () = filled => {}
            }
        })
        .await
        .expect("the file fills up");
        recorder.finish().await.unwrap()
    });
    let len = std::fs::metadata(&path).unwrap().len();
    let bytes = std::fs::read(&path).unwrap();
    let chunks = mcap::Summary::read(&bytes).unwrap().unwrap().chunk_indexes;
    assert!(chunks.len() > 50, "{} chunks", chunks.len());
    assert_eq!(summary.stats.bytes, len);
    assert!(len <= max, "{len} bytes, more than {max}");
}

/// Each event name is a channel, whose record goes into the chunk and
/// into the summary: many long names must not take a file past
/// `max_bytes`. Counted as a flat 128 bytes a channel in the summary
/// alone, names of 220 bytes took a 64 KiB file to 110,332 bytes.
#[test]
fn max_bytes_holds_for_many_long_event_names() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("names.mcap");
    let max = 64 * 1024;
    let mut options = RecorderOptions::new(&path);
    options.max_bytes = Some(max);
    let summary = runtime().block_on(async {
        let node = Eventcast::new(Config::default()).unwrap();
        let recorder = Recorder::start(&node, options).unwrap();
        for i in 0..2_000u32 {
            let name = format!("sensor.building-{i:05}.{}", "floor.room.".repeat(18));
            node.emit(&name, &(i,)).unwrap();
        }
        recorder.finish().await.unwrap()
    });
    let len = std::fs::metadata(&path).unwrap().len();
    assert_eq!(summary.stats.bytes, len);
    assert!(summary.stats.events < 2_000, "{:?}", summary.stats);
    assert!(len <= max, "{len} bytes, more than {max}");
    // And filled, not ended early.
    assert!(len > max * 3 / 4, "{len} bytes of {max}");
}

/// `max_bytes` is what a file may hold, compressed: a recording fills it
/// before it ends. The chunk being filled was counted uncompressed, so a
/// burst of events ended a 64 KiB file at some 10 KiB.
#[test]
fn max_bytes_fills_the_file_before_it_ends() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("burst.mcap");
    let max = 64 * 1024;
    let mut options = RecorderOptions::new(&path);
    options.max_bytes = Some(max);
    let summary = record_local(options, 20_000);
    assert!(summary.stats.refused > 0, "the file is full");
    let len = std::fs::metadata(&path).unwrap().len();
    assert!(len <= max, "{len} bytes, more than {max}");
    assert!(len >= max * 3 / 4, "only {len} bytes of {max}");
    assert_eq!(
        Reader::open(&path).unwrap().count() as u64,
        summary.stats.events
    );
}

/// A `max_bytes` too small for one file is refused before anything is
/// created, by `check` as by `Recorder::start`, in one wording.
#[test]
fn a_max_bytes_too_small_is_refused_before_a_file_is_made() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("small.mcap");
    let mut options = RecorderOptions::new(&path);
    options.max_bytes = Some(eventcast_record::MIN_MAX_BYTES - 1);
    let said = "max_bytes 65535 is too small: a file needs at least 65536 bytes";
    assert_eq!(options.check().unwrap_err().to_string(), said);
    let node = Eventcast::new(Config::default()).unwrap();
    let refused = Recorder::start(&node, options.clone()).err().unwrap();
    assert_eq!(refused.to_string(), said);
    assert!(!path.exists());
    options.max_bytes = Some(eventcast_record::MIN_MAX_BYTES);
    options.check().unwrap();
}
