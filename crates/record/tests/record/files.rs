//! Files the recorder writes, read by the `mcap` crate and by our reader.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns

use std::collections::BTreeSet;

use bson::Bson;
use eventcast::{Config, Eventcast};
use eventcast_record::{Reader, Record, Recorder, RecorderOptions};

use crate::support::{self, mcap_messages, record_local};

#[test]
fn a_recording_is_read_back_by_the_mcap_crate_s_own_reader() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bus.mcap");
    let summary = record_local(RecorderOptions::new(&path), 1000);
    assert_eq!(summary.stats.events, 1000);
    assert_eq!(summary.files.len(), 1);
    let size = std::fs::metadata(&path).unwrap().len();
    assert_eq!(summary.stats.bytes, size);

    // The summary and the index, as the mcap crate reads them.
    let bytes = std::fs::read(&path).unwrap();
    let mcap_summary = mcap::Summary::read(&bytes).unwrap().expect("a summary");
    let stats = mcap_summary.stats.expect("statistics");
    assert_eq!(stats.message_count, 1000);
    assert_eq!(stats.channel_count, 2);
    assert!(stats.chunk_count >= 1);
    assert!(!mcap_summary.chunk_indexes.is_empty());
    for index in &mcap_summary.chunk_indexes {
        assert_eq!(index.compression, "zstd");
        assert!(!index.message_index_offsets.is_empty(), "message indexes");
    }
    let header = mcap::read::LinearReader::new(&bytes)
        .unwrap()
        .find_map(|r| match r {
            Ok(mcap::records::Record::Header(h)) => Some(h),
            _ => None,
        })
        .expect("a header");
    assert_eq!(header.profile, "eventcast");

    // Every message: one channel per name, BSON bodies.
    let (messages, error) = mcap_messages(&path);
    assert_eq!(error, None);
    assert_eq!(messages.len(), 1000);
    let topics: BTreeSet<_> = messages.iter().map(|m| m.channel.topic.clone()).collect();
    assert_eq!(
        topics,
        BTreeSet::from(["tick".to_owned(), "tock".to_owned()])
    );
    for (i, m) in messages.iter().enumerate() {
        assert_eq!(m.channel.message_encoding, "bson");
        assert!(m.channel.schema.is_none());
        assert_eq!(m.publish_time, m.log_time);
        let doc = bson::Document::from_reader(&mut &m.data[..]).unwrap();
        assert_eq!(doc.get_str("name").unwrap(), m.channel.topic);
        let args = doc.get_array("args").unwrap();
        assert_eq!(args[0], Bson::Int64(i as i64));
        assert_eq!(doc.get_str("sender").unwrap().len(), 16);
        if i > 0 {
            assert!(m.log_time >= messages[i - 1].log_time);
        }
    }

    // Our reader gives the same events back.
    let records: Vec<_> = Reader::open(&path).unwrap().collect();
    assert_eq!(records.len(), 1000);
    let Record::Event(third) = &records[2] else {
        panic!("not an event: {:?}", records[2]);
    };
    assert_eq!(third.name, "tick");
    assert_eq!(
        third.args,
        vec![Bson::Int64(2), Bson::from("event number 2")]
    );
    assert_eq!(third.from, None);
}

#[test]
fn a_file_cut_short_gives_every_complete_chunk() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cut.mcap");
    // Large events: several 1 MiB chunks.
    let summary = crate::support::runtime().block_on(async {
        let node = eventcast::Eventcast::new(eventcast::Config::default()).unwrap();
        let recorder =
            eventcast_record::Recorder::start(&node, RecorderOptions::new(&path)).unwrap();
        for i in 0..400u32 {
            node.emit("blob", &(i, "x".repeat(10_000))).unwrap();
        }
        recorder.finish().await.unwrap()
    });
    assert_eq!(summary.stats.events, 400);
    let bytes = std::fs::read(&path).unwrap();
    let chunks = mcap::Summary::read(&bytes).unwrap().unwrap().chunk_indexes;
    assert!(chunks.len() >= 3, "{} chunks", chunks.len());
    // Cut in the middle of the last chunk, as a crash would leave it.
    let last = chunks.last().unwrap();
    let cut_at = (last.chunk_start_offset + last.chunk_length / 2) as usize;
    let cut = dir.path().join("cut-short.mcap");
    std::fs::write(&cut, &bytes[..cut_at]).unwrap();
    let complete: usize = chunks[..chunks.len() - 1]
        .iter()
        .map(|c| {
            mcap::Summary::read(&bytes)
                .unwrap()
                .unwrap()
                .read_message_indexes(&bytes, c)
                .unwrap()
                .values()
                .map(Vec::len)
                .sum::<usize>()
        })
        .sum();
    assert!(complete > 0);

    // The mcap crate reads every complete chunk, then reports the cut.
    let (messages, error) = mcap_messages(&cut);
    assert!(
        messages.len() >= complete,
        "{} < {complete}",
        messages.len()
    );
    assert!(error.is_some(), "the cut is reported");

    // Ours too, and says so.
    let mut reader = Reader::open(&cut).unwrap();
    let read = reader.by_ref().count();
    assert_eq!(read, messages.len());
    assert!(reader.stats().truncated.is_some());
    assert_eq!(
        Reader::info(&cut).unwrap(),
        None,
        "no summary in a cut file"
    );
}

#[test]
fn max_bytes_ends_the_recording_or_splits_it() {
    let dir = tempfile::tempdir().unwrap();
    let max = 200_000;
    let one = dir.path().join("one.mcap");
    let mut options = RecorderOptions::new(&one);
    options.max_bytes = Some(max);
    let summary = record_local(options, 20_000);
    assert_eq!(summary.files.len(), 1);
    assert!(summary.stats.events > 0 && summary.stats.events < 20_000);
    assert_eq!(summary.stats.refused, 20_000 - summary.stats.events);
    assert!(std::fs::metadata(&one).unwrap().len() <= max);
    assert_eq!(
        Reader::open(&one).unwrap().count() as u64,
        summary.stats.events
    );

    let split = dir.path().join("split.mcap");
    let mut options = RecorderOptions::new(&split);
    options.max_bytes = Some(max);
    options.split = true;
    let summary = record_local(options, 20_000);
    assert_eq!(summary.stats.events, 20_000);
    assert!(summary.files.len() >= 2, "{:?}", summary.files);
    assert_eq!(summary.files[0].0, split);
    assert_eq!(summary.files[1].0, dir.path().join("split.0001.mcap"));
    let mut next = 0i64;
    for (file, len) in &summary.files {
        assert_eq!(std::fs::metadata(file).unwrap().len(), *len);
        assert!(*len <= max, "{} is {len} bytes", file.display());
        for record in Reader::open(file).unwrap() {
            let Record::Event(e) = record else { panic!() };
            assert_eq!(e.args[0], Bson::Int64(next), "in order, none missing");
            next += 1;
        }
    }
    assert_eq!(next, 20_000);
}

/// The names of the files of `dir`.
fn names(dir: &std::path::Path) -> BTreeSet<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect()
}

/// A recording replaces an earlier one at its path with all its files:
/// none of the earlier one's later files is left beside the new ones.
#[test]
fn a_recording_replaces_every_file_of_an_earlier_one() {
    // Trial: a shorter split recording left the earlier one's later files
    // (split.0005.mcap, ...), taken for part of the new one.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("split.mcap");
    let other = "other.0001.mcap";
    std::fs::write(dir.path().join(other), "not a part of split.mcap").unwrap();
    // The names of the files a recording of `count` events wrote, and
    // `other`.
    let record = |count, split| {
        let mut options = RecorderOptions::new(&path);
        options.max_bytes = Some(100_000);
        options.split = split;
        let summary = record_local(options, count);
        let files = summary.files.iter().map(|(f, _)| f.file_name().unwrap());
        let mut names: BTreeSet<_> = files.map(|f| f.to_string_lossy().into()).collect();
        names.insert(other.to_owned());
        names
    };
    let long = record(20_000, true);
    assert!(long.len() > 4, "{long:?}");
    let short = record(5_000, true);
    assert!(short.len() > 2 && short.len() < long.len(), "{short:?}");
    assert_eq!(names(dir.path()), short);
    let one = record(10, false);
    assert_eq!(names(dir.path()), one);
    assert_eq!(one.len(), 2, "{one:?}");
}

/// Only a recording that replaced a file loses its later files, and only
/// files: numbered files beside a path that held none stay, a directory
/// ends the run, and a path that cannot be created removes nothing.
#[test]
fn only_a_replaced_recordings_later_files_are_removed() {
    let dir = tempfile::tempdir().unwrap();
    let at = |name: &str| dir.path().join(name);
    let start = |name: &str| {
        support::runtime().block_on(async {
            let node = Eventcast::new(Config::default()).unwrap();
            let recorder = Recorder::start(&node, RecorderOptions::new(at(name)))?;
            let removed: Vec<_> = recorder.removed_files().to_vec();
            recorder.finish().await.map(|_| removed)
        })
    };
    // Takes kept as take.0001.mcap, take.0002.mcap: take.mcap was none.
    for name in ["take.0001.mcap", "take.0002.mcap"] {
        std::fs::write(at(name), name).unwrap();
    }
    assert_eq!(
        start("take.mcap").unwrap(),
        Vec::<std::path::PathBuf>::new()
    );
    assert!(at("take.0002.mcap").exists());
    // Now take.mcap is one: its later files go, up to a directory.
    std::fs::remove_file(at("take.0002.mcap")).unwrap();
    std::fs::create_dir(at("take.0002.mcap")).unwrap();
    std::fs::write(at("take.0003.mcap"), "after the directory").unwrap();
    assert_eq!(start("take.mcap").unwrap(), vec![at("take.0001.mcap")]);
    assert!(!at("take.0001.mcap").exists());
    assert!(at("take.0002.mcap").is_dir() && at("take.0003.mcap").exists());
    // A path that is a directory is not created, and removes nothing.
    std::fs::create_dir(at("dir.mcap")).unwrap();
    std::fs::write(at("dir.0001.mcap"), "kept").unwrap();
    let err = start("dir.mcap").unwrap_err().to_string();
    assert!(err.contains("cannot create"), "{err}");
    assert!(at("dir.0001.mcap").exists());
}

#[test]
fn count_stops_the_recorder_by_itself() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("count.mcap");
    let mut options = RecorderOptions::new(&path);
    options.count = Some(7);
    options.filter = Some(eventcast::EventFilter::new(vec!["tock".into()]).unwrap());
    let summary = record_local(options, 100);
    assert_eq!(summary.stats.events, 7);
    let names: BTreeSet<_> = Reader::open(&path)
        .unwrap()
        .map(|r| match r {
            Record::Event(e) => e.name,
            Record::Loss(_) => "loss".into(),
        })
        .collect();
    assert_eq!(names, BTreeSet::from(["tock".to_owned()]));
}
