//! Wildcard listeners and subscriptions with events from another node:
//! `*` is one segment, `**` any number; a `once` pattern fires once in all;
//! `off` and `remove_all_listeners` take the pattern; exact and pattern
//! listeners fire in the order they were added; a bad pattern fails at the
//! call and adds nothing.

use std::sync::{Arc, Mutex};

use crate::common::*;
use eventcast::{Error, Event, PatternErrorKind};

/// The names of `events`.
fn names(events: &[Event]) -> Vec<String> {
    events.iter().map(|e| e.name().to_owned()).collect()
}

#[test]
fn one_and_any_segments_through_the_network() {
    netns_test::run(|| {
        block_on(async {
            let nodes = start_nodes(2, &config(free_port())).await;
            let (a, b) = (&nodes[0], &nodes[1]);
            let (one, any, tail, middle) = (
                Recorder::new(),
                Recorder::new(),
                Recorder::new(),
                Recorder::new(),
            );
            b.on("sensor.*", one.listener()).expect("a good pattern");
            b.on("sensor.**", any.listener()).expect("a good pattern");
            b.on("**.temp", tail.listener()).expect("a good pattern");
            b.on("a.**.b", middle.listener()).expect("a good pattern");
            let mut matching = b
                .subscribe_to(["sensor.*", "exact"])
                .expect("good patterns");

            let mut sub = b.subscribe();
            for name in [
                "sensor",
                "sensor.a",
                "sensor.a.temp",
                "sensors.a",
                "temp",
                "exact",
                "a.b",
                "a.x.y.b",
                "a.b.c",
            ] {
                a.emit(name, &(name,)).unwrap();
            }
            sync(a, &mut sub).await;
            assert_eq!(names(&one.events()), ["sensor.a"]);
            assert_eq!(
                names(&any.events()),
                ["sensor", "sensor.a", "sensor.a.temp"]
            );
            assert_eq!(names(&tail.events()), ["sensor.a.temp", "temp"]);
            assert_eq!(names(&middle.events()), ["a.b", "a.x.y.b"]);
            let streamed: Vec<Event> = std::iter::from_fn(|| matching.try_recv()).collect();
            assert_eq!(names(&streamed), ["sensor.a", "exact"]);
            assert!(streamed.iter().all(|e| e.sender() == a.id()));
            stop_all(&nodes).await;
        })
    });
}

#[test]
fn everything_and_registration_order() {
    netns_test::run(|| {
        block_on(async {
            let nodes = start_nodes(2, &config(free_port())).await;
            let (a, b) = (&nodes[0], &nodes[1]);
            let order = Arc::new(Mutex::new(Vec::new()));
            let tag = |tag: &'static str| {
                let order = order.clone();
                move |event: &Event| {
                    if event.name() == "s.x" {
                        order.lock().expect("lock").push(tag);
                    }
                }
            };
            let all = b.on("**", tag("**")).expect("a good pattern");
            let exact = b.on("s.x", tag("s.x")).expect("an exact name");
            let one = b.on("s.*", tag("s.*")).expect("a good pattern");
            let later = b.on("s.x", tag("s.x again")).expect("an exact name");
            assert_eq!(b.listeners("s.x"), [all, exact, one, later]);
            assert_eq!(b.listener_count("s.x"), 4, "pattern listeners count");
            assert_eq!(b.listener_count("s.*"), 1, "a pattern's own");
            assert_eq!(b.listener_count("other"), 1, "`**` hears it");
            assert_eq!(b.event_names(), ["**", "s.*", "s.x"]);

            let mut sub = b.subscribe();
            a.emit("s.x", &()).unwrap();
            sync(a, &mut sub).await;
            assert_eq!(
                *order.lock().expect("lock"),
                ["**", "s.x", "s.*", "s.x again"]
            );
            // A local emit fires the same listeners in the same order.
            b.emit("s.x", &()).unwrap();
            assert_eq!(order.lock().expect("lock").len(), 8);
            assert_eq!(
                order.lock().expect("lock")[4..],
                ["**", "s.x", "s.*", "s.x again"]
            );
            stop_all(&nodes).await;
        })
    });
}

#[test]
fn once_with_a_pattern_fires_once_in_all() {
    netns_test::run(|| {
        block_on(async {
            let nodes = start_nodes(2, &config(free_port())).await;
            let (a, b) = (&nodes[0], &nodes[1]);
            let once = Recorder::new();
            b.once("job.*", once.listener()).expect("a good pattern");
            assert_eq!(b.listener_count("job.a"), 1);
            let mut sub = b.subscribe();
            a.emit("other", &()).unwrap();
            a.emit("job.a", &()).unwrap();
            a.emit("job.b", &()).unwrap();
            a.emit("job.a", &()).unwrap();
            sync(a, &mut sub).await;
            assert_eq!(names(&once.events()), ["job.a"]);
            assert_eq!(b.listener_count("job.a"), 0);
            assert!(b.event_names().is_empty());
            stop_all(&nodes).await;
        })
    });
}

#[test]
fn off_and_remove_all_take_the_pattern() {
    netns_test::run(|| {
        block_on(async {
            let nodes = start_nodes(2, &config(free_port())).await;
            let (a, b) = (&nodes[0], &nodes[1]);
            let (pattern, exact) = (Recorder::new(), Recorder::new());
            let id = b.on("t.*", pattern.listener()).expect("a good pattern");
            b.on("t.x", exact.listener()).expect("an exact name");
            assert!(!b.off("t.x", id), "added under the pattern, not the name");
            b.remove_all_listeners(Some("t.x"));
            assert_eq!(b.event_names(), ["t.*"], "the pattern stays");

            let mut sub = b.subscribe();
            a.emit("t.x", &()).unwrap();
            sync(a, &mut sub).await;
            assert_eq!((pattern.calls(), exact.calls()), (1, 0));

            assert!(b.off("t.*", id));
            assert!(!b.off("t.*", id), "already removed");
            b.on("t.*", pattern.listener()).expect("a good pattern");
            b.on("u.**", pattern.listener()).expect("a good pattern");
            b.remove_all_listeners(Some("t.*"));
            assert_eq!(b.event_names(), ["u.**"]);
            b.remove_all_listeners(None);
            assert!(b.event_names().is_empty());
            a.emit("t.x", &()).unwrap();
            a.emit("u", &()).unwrap();
            sync(a, &mut sub).await;
            assert_eq!(pattern.calls(), 1);
            stop_all(&nodes).await;
        })
    });
}

#[test]
fn a_bad_pattern_fails_at_the_call_and_adds_nothing() {
    // No socket: a stopped node checks patterns all the same.
    let node = eventcast::Eventcast::new(eventcast::Config::default()).expect("valid config");
    for (pattern, wrong) in [
        ("sensor*", "neither a name nor a wildcard"),
        ("a.**b", "neither a name nor a wildcard"),
        ("***", "neither a name nor a wildcard"),
        ("sensor.*.", "segment 3 is empty"),
        ("a..*", "segment 2 is empty"),
        ("**.**", "right after `**`"),
    ] {
        let Err(Error::Pattern(error)) = node.on(pattern, |_| {}) else {
            panic!("{pattern} should be refused");
        };
        assert_eq!(error.pattern(), pattern);
        let message = error.to_string();
        assert!(message.contains(&format!("{pattern:?}")), "{message}");
        assert!(message.contains(wrong), "{message}");
        assert!(matches!(node.once(pattern, |_| {}), Err(Error::Pattern(_))));
        assert!(matches!(
            node.subscribe_to(["fine", pattern]),
            Err(Error::Pattern(_))
        ));
    }
    let Err(Error::Pattern(error)) = node.on("x.*y", |_| {}) else {
        panic!("x.*y should be refused");
    };
    assert_eq!(
        error.kind(),
        &PatternErrorKind::PartialWildcard {
            position: 2,
            text: "*y".into()
        }
    );
    assert!(node.event_names().is_empty());

    // A name with a `*` is still emitted, and patterns match it.
    let heard = Recorder::new();
    node.on("x.*", heard.listener()).expect("a good pattern");
    node.emit("x.*y", &()).unwrap();
    assert_eq!(names(&heard.events()), ["x.*y"]);
}
