//! Files eventcast did not write: not MCAP at all, or MCAP with other
//! encodings; and the JSON copy, read back by the `mcap` crate.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns

use std::collections::BTreeMap;

use eventcast_record::{write_json_copy, Error, Reader, Record, RecorderOptions};
use mcap::records::MessageHeader;

use crate::support::{mcap_messages, record_local};

#[test]
fn a_file_that_is_not_mcap_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    for (name, bytes) in [
        ("empty", &b""[..]),
        ("text", b"{\"event\":\"greet\"}\n"),
        ("short", b"\x89MCA"),
    ] {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        let err = Reader::open(&path).err().expect("an error");
        assert!(matches!(err, Error::NotMcap { .. }), "{name}: {err}");
        assert!(err.to_string().contains("is not an MCAP file"), "{err}");
    }
    let err = Reader::open(dir.path().join("missing"))
        .err()
        .expect("an error");
    assert!(err.to_string().starts_with("cannot open"), "{err}");
}

#[test]
fn other_programs_channels_are_skipped_and_counted() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("other.mcap");
    let mut writer = mcap::Writer::new(std::io::BufWriter::new(
        std::fs::File::create(&path).unwrap(),
    ))
    .unwrap();
    let schema = writer
        .add_schema("std_msgs/String", "ros1msg", b"string data")
        .unwrap();
    let ros = writer
        .add_channel(schema, "/chatter", "ros1", &BTreeMap::new())
        .unwrap();
    let json = writer
        .add_channel(0, "/pose", "json", &BTreeMap::new())
        .unwrap();
    // Claims to be ours, but its data is not.
    let kind = BTreeMap::from([("eventcast.kind".to_owned(), "event".to_owned())]);
    let fake = writer.add_channel(0, "fake", "bson", &kind).unwrap();
    let ours = {
        let data = bson::serialize_to_vec(&bson::doc! {
            "name": "real", "args": [1], "sender": "0000000000000001", "from": null, "seq": 3i64,
        })
        .unwrap();
        (writer.add_channel(0, "real", "bson", &kind).unwrap(), data)
    };
    for (i, (channel, data)) in [
        (ros, b"\x05\0\0\0hello".to_vec()),
        (json, b"{\"x\":1}".to_vec()),
        (fake, b"not bson".to_vec()),
        ours.clone(),
        (json, b"{\"x\":2}".to_vec()),
    ]
    .into_iter()
    .enumerate()
    {
        let header = MessageHeader {
            channel_id: channel,
            sequence: i as u32,
            log_time: 1_000 + i as u64,
            publish_time: 1_000 + i as u64,
        };
        writer.write_to_known_channel(&header, &data).unwrap();
    }
    writer.finish().unwrap();
    drop(writer);

    let mut reader = Reader::open(&path).unwrap();
    let records: Vec<_> = reader.by_ref().collect();
    assert_eq!(records.len(), 1);
    let Record::Event(event) = &records[0] else {
        panic!()
    };
    assert_eq!(
        (event.name.as_str(), event.seq.map(|s| s.get())),
        ("real", Some(3))
    );
    let stats = reader.stats();
    assert_eq!(stats.foreign_messages(), 3);
    assert_eq!(stats.foreign.get("/pose (json)"), Some(&2));
    assert_eq!(stats.foreign.get("/chatter (ros1)"), Some(&1));
    assert_eq!(stats.unreadable, 1);
    assert_eq!(stats.truncated, None);
}

#[test]
fn the_json_copy_has_schemaless_json_channels() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bus.mcap");
    record_local(RecorderOptions::new(&path), 10);
    let copy = dir.path().join("bus.json.mcap");
    let stats = write_json_copy(&path, &copy, None).unwrap();
    assert_eq!(stats.events, 10);
    let (messages, error) = mcap_messages(&copy);
    assert_eq!(error, None);
    assert_eq!(messages.len(), 10);
    for (i, m) in messages.iter().enumerate() {
        assert_eq!(m.channel.message_encoding, "json");
        assert!(m.channel.schema.is_none());
        let value: serde_json::Value = serde_json::from_slice(&m.data).unwrap();
        assert_eq!(value["event"], m.channel.topic.as_str());
        assert_eq!(value["args"][0], i);
        assert!(value["time"].as_str().unwrap().ends_with('Z'));
    }
    // Our reader sees a JSON copy as another program's file.
    let mut reader = Reader::open(&copy).unwrap();
    assert_eq!(reader.by_ref().count(), 0);
    assert_eq!(reader.stats().foreign_messages(), 10);
}

#[test]
fn a_json_copy_onto_its_own_recording_is_refused_and_leaves_it_whole() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bus.mcap");
    record_local(RecorderOptions::new(&path), 4);
    let len = std::fs::metadata(&path).unwrap().len();
    let link = dir.path().join("link.mcap");
    std::fs::hard_link(&path, &link).unwrap();
    let relative = dir.path().join(".").join("bus.mcap");
    for output in [&path, &link, &relative] {
        let err = write_json_copy(&path, output, None).unwrap_err();
        assert!(matches!(err, Error::SameFile { .. }), "{err}");
        assert!(err.to_string().contains("is the recording being copied"));
    }
    assert_eq!(std::fs::metadata(&path).unwrap().len(), len);
    assert_eq!(Reader::open(&path).unwrap().count(), 4);
}

#[test]
fn a_filter_counts_the_events_it_leaves_out() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bus.mcap");
    record_local(RecorderOptions::new(&path), 5); // tick, tock, tick, tock, tick
    let filter = eventcast::EventFilter::new(vec!["tock".to_owned()]).unwrap();
    let mut reader = Reader::open(&path).unwrap().with_filter(Some(filter));
    assert_eq!(reader.by_ref().count(), 2);
    assert_eq!(
        (reader.stats().records, reader.stats().filtered_out),
        (2, 3)
    );
}
