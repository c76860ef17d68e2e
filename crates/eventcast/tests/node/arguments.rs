//! Event arguments cross the network exactly: none, one, many of every BSON
//! type the original's suite used, and typed access to them.

use crate::common::*;
use eventcast::bson::{doc, spec::BinarySubtype, Binary, Bson, DateTime, Regex};
use eventcast::Event;
use serde::{Deserialize, Serialize};

/// Starts two nodes, has the first emit `name` with `args`, and returns the
/// event as the emitter's own listeners saw it and as the other node
/// received it.
async fn exchange<A: Serialize + ?Sized>(name: &str, args: &A) -> (Event, Event) {
    let nodes = start_nodes(2, &config(free_port())).await;
    let mut local = nodes[0].subscribe_to([name]).expect("exact names");
    let mut remote = nodes[1].subscribe_to([name]).expect("exact names");
    nodes[0].emit(name, args).expect("emit");
    let local = next_event(&mut local).await;
    let remote = next_remote(&mut remote).await;
    assert!(local.is_local());
    assert_eq!(remote.name(), name);
    assert_eq!(remote.sender(), nodes[0].id());
    assert_eq!(
        local.raw_args(),
        remote.raw_args(),
        "local and remote agree"
    );
    stop_all(&nodes).await;
    (local, remote)
}

#[test]
fn event_with_no_arguments() {
    netns_test::run(|| {
        block_on(async {
            let (_, remote) = exchange("noargs", &()).await;
            assert!(remote.raw_args().is_empty());
            remote.args::<()>().unwrap();
            assert!(remote.args::<Vec<Bson>>().unwrap().is_empty());
            assert!(remote.arg::<Bson>(0).is_err());
        })
    });
}

#[test]
fn event_with_one_argument() {
    netns_test::run(|| {
        block_on(async {
            // A value that is not a list is one argument.
            let (_, remote) = exchange("one", "just one").await;
            assert_eq!(remote.raw_args(), &[Bson::from("just one")]);
            assert_eq!(remote.arg::<String>(0).unwrap(), "just one");

            // A one-element tuple is one argument too, even when it is a list.
            let (_, remote) = exchange("one-list", &(vec![1, 2, 3],)).await;
            assert_eq!(
                remote.raw_args(),
                &[Bson::Array(vec![1.into(), 2.into(), 3.into()])]
            );
            let (list,): (Vec<i32>,) = remote.args().unwrap();
            assert_eq!(list, [1, 2, 3]);
        })
    });
}

#[test]
fn event_with_many_arguments_of_every_type() {
    netns_test::run(|| {
        block_on(async {
            let args = vec![
                Bson::Document(doc! { "obj": 2, "nested": { "deep": [true, "x"] } }),
                Bson::Array(vec![1.into(), 2.into(), 3.into()]),
                Bson::Null,
                Bson::from("yay"),
                Bson::Int32(5),
                Bson::Int32(i32::MIN),
                Bson::Int64(i64::MAX),
                Bson::Double(2.5),
                Bson::Double(-1.0e-300),
                Bson::Boolean(true),
                Bson::Boolean(false),
                Bson::DateTime(DateTime::from_millis(1_383_000_000_123)),
                Bson::RegularExpression(Regex {
                    pattern: "^serialize me (please)?$".try_into().unwrap(),
                    options: "i".try_into().unwrap(),
                }),
                Bson::from("héllo wörld ✓ 日本語 🎉 \u{0} end"),
                Bson::Binary(Binary {
                    subtype: BinarySubtype::Generic,
                    bytes: (0..=255).collect(),
                }),
            ];
            let (_, remote) = exchange("many", &args).await;
            assert_eq!(remote.raw_args(), args.as_slice());

            // Typed access to some of them.
            assert_eq!(remote.arg::<String>(3).unwrap(), "yay");
            assert_eq!(remote.arg::<i32>(4).unwrap(), 5);
            assert_eq!(remote.arg::<i64>(6).unwrap(), i64::MAX);
            assert_eq!(remote.arg::<f64>(7).unwrap(), 2.5);
            assert!(remote.arg::<bool>(9).unwrap());
            assert_eq!(remote.arg::<Option<i32>>(2).unwrap(), None);
            assert_eq!(
                remote.arg::<DateTime>(11).unwrap().timestamp_millis(),
                1_383_000_000_123
            );
            assert_eq!(
                remote.arg::<String>(13).unwrap(),
                "héllo wörld ✓ 日本語 🎉 \u{0} end"
            );
        })
    });
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Reading {
    room: String,
    celsius: f64,
    tags: Vec<String>,
    at: DateTime,
}

#[test]
fn typed_arguments() {
    netns_test::run(|| {
        block_on(async {
            let (_, remote) = exchange("greet", &("who", 7u32)).await;
            let (who, times) = remote.args::<(String, u32)>().unwrap();
            assert_eq!((who.as_str(), times), ("who", 7));
            assert!(remote.args::<(u32, String)>().is_err(), "wrong types");
            assert!(
                remote.args::<(String, u32, bool)>().is_err(),
                "more arguments asked for than sent"
            );
            // Like a JavaScript listener, a shorter tuple ignores the rest.
            assert_eq!(remote.args::<(String,)>().unwrap().0, "who");

            let reading = Reading {
                room: "kitchen".into(),
                celsius: 21.5,
                tags: vec!["north".into(), "ünïcode".into()],
                at: DateTime::from_millis(1_700_000_000_000),
            };
            let (_, remote) = exchange("reading", &("sensor-1", &reading, 3i64)).await;
            let (sensor, back, n): (String, Reading, i64) = remote.args().unwrap();
            assert_eq!(sensor, "sensor-1");
            assert_eq!(back, reading);
            assert_eq!(n, 3);
            assert!(matches!(remote.raw_args()[1], Bson::Document(_)));
        })
    });
}

/// `forward` re-emits what arrived under another name: node 0 emits
/// `ping` with `args`, node 1 forwards every ping as `pong`; returns
/// the pong as node 1's own listeners saw it and as node 0 received it,
/// both checked against the ping node 1 received (`kept`: whether that
/// ping was kept as it arrived, and so forwarded as its bytes).
async fn forwarded<A: Serialize + ?Sized>(args: &A, kept: bool) -> (Event, Event) {
    let nodes = start_nodes(2, &config(free_port())).await;
    let mut pongs = nodes[0].subscribe_to(["pong"]).expect("exact names");
    let mut local = nodes[1].subscribe_to(["pong"]).expect("exact names");
    let mut pings = nodes[1].subscribe_to(["ping"]).expect("exact names");
    nodes[0].emit("ping", args).expect("emit");
    let ping = next_remote(&mut pings).await;
    assert_eq!(ping.received_body_len().is_some(), kept);
    nodes[1].forward("pong", &ping).expect("forward");
    let remote = next_remote(&mut pongs).await;
    let local = next_event(&mut local).await;
    assert!(local.is_local());
    assert_eq!(remote.sender(), nodes[1].id());
    assert_eq!(
        remote.raw_args(),
        ping.raw_args(),
        "the arguments that arrived"
    );
    assert_eq!(
        local.raw_args(),
        ping.raw_args(),
        "local listeners see them too"
    );
    stop_all(&nodes).await;
    (local, remote)
}

#[test]
fn forward_sends_the_arguments_that_arrived() {
    netns_test::run(|| {
        block_on(async {
            // Flat and small: kept as it arrived, forwarded as its bytes.
            let (_, pong) = forwarded(&(7i64, "seven", true, 2.5), true).await;
            assert_eq!(pong.arg::<i64>(0).unwrap(), 7);
            assert_eq!(pong.str_arg(1), Some("seven"));
            // A document among them: decoded on arrival, forwarded from its values.
            let (_, pong) = forwarded(&(doc! { "a": [1, 2] }, "x"), false).await;
            assert_eq!(pong.raw_args()[0], Bson::Document(doc! { "a": [1, 2] }));
            // Large, with a nested document and a binary: kept and copied.
            let frame = Binary {
                subtype: BinarySubtype::Generic,
                bytes: (0..200_000u32).map(|i| i as u8).collect(),
            };
            let (_, pong) = forwarded(&(doc! { "n": { "deep": 1 } }, frame.clone()), true).await;
            assert_eq!(pong.bytes_arg(1), Some(frame.bytes.as_slice()));
            assert_eq!(pong.received_body_len().map(|n| n > 200_000), Some(true));
        })
    });
}
