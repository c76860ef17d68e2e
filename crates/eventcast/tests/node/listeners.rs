//! The emitter API with events from another node: `subscribe_to` filters by
//! name, `once` fires once, `off` and `remove_all_listeners` remove,
//! `listeners`, `listener_count` and `event_names` tell, a listener may
//! emit, and a panicking listener is counted while the node goes on.

use crate::common::*;

#[test]
fn subscribe_to_filters_by_name() {
    netns_test::run(|| {
        block_on(async {
            let nodes = start_nodes(2, &config(free_port())).await;
            let (a, b) = (&nodes[0], &nodes[1]);
            let mut all = b.subscribe();
            let mut only_b = b.subscribe_to(["b"]).expect("exact names");
            let mut a_or_c = b.subscribe_to(["a", "c"]).expect("exact names");
            let mut local_b = a.subscribe_to(["b"]).expect("exact names");
            for name in ["a", "b", "c", "d"] {
                a.emit(name, &(name,)).unwrap();
            }
            let before = sync(a, &mut all).await;
            let names = |events: &[eventcast::Event]| -> Vec<String> {
                events.iter().map(|e| e.name().to_owned()).collect()
            };
            assert_eq!(names(&before), ["a", "b", "c", "d"]);

            let drain = |sub: &mut eventcast::Subscription| {
                std::iter::from_fn(|| sub.try_recv()).collect::<Vec<_>>()
            };
            assert_eq!(names(&drain(&mut only_b)), ["b"]);
            assert_eq!(names(&drain(&mut a_or_c)), ["a", "c"]);
            let local = drain(&mut local_b);
            assert_eq!(names(&local), ["b"]);
            assert!(local[0].is_local());
            stop_all(&nodes).await;
        })
    });
}

#[test]
fn once_fires_once() {
    netns_test::run(|| {
        block_on(async {
            let nodes = start_nodes(2, &config(free_port())).await;
            let (a, b) = (&nodes[0], &nodes[1]);
            let remote_once = Recorder::new();
            let remote_on = Recorder::new();
            b.once("x", remote_once.listener()).expect("an exact name");
            b.on("x", remote_on.listener()).expect("an exact name");
            assert_eq!(b.listener_count("x"), 2);
            let local_once = Recorder::new();
            a.once("x", local_once.listener()).expect("an exact name");

            let mut sub = b.subscribe();
            for i in 0..3 {
                a.emit("x", &(i,)).unwrap();
            }
            sync(a, &mut sub).await;
            assert_eq!(remote_once.calls(), 1);
            assert_eq!(remote_once.events()[0].arg::<i32>(0).unwrap(), 0);
            assert_eq!(remote_on.calls(), 3);
            assert_eq!(b.listener_count("x"), 1);
            assert_eq!(local_once.calls(), 1);
            assert_eq!(a.listener_count("x"), 0);
            assert!(a.event_names().is_empty());
            stop_all(&nodes).await;
        })
    });
}

#[test]
fn off_and_remove_all_listeners() {
    netns_test::run(|| {
        block_on(async {
            let nodes = start_nodes(2, &config(free_port())).await;
            let (a, b) = (&nodes[0], &nodes[1]);
            let (first, second, other) = (Recorder::new(), Recorder::new(), Recorder::new());
            let id1 = b.on("x", first.listener()).expect("an exact name");
            let id2 = b.on("x", second.listener()).expect("an exact name");
            b.on("y", other.listener()).expect("an exact name");
            b.on("z", other.listener()).expect("an exact name");
            assert_eq!(b.listeners("x"), [id1, id2], "in the order they fire");
            assert_eq!(b.listener_count("x"), 2);
            assert_eq!(b.listener_count("nothing"), 0);
            assert_eq!(b.event_names(), ["x", "y", "z"]);

            let mut sub = b.subscribe();
            a.emit("x", &()).unwrap();
            sync(a, &mut sub).await;
            assert_eq!((first.calls(), second.calls()), (1, 1));

            assert!(b.off("x", id1));
            assert!(!b.off("x", id1), "already removed");
            assert!(!b.off("y", id2), "not a listener of y");
            assert_eq!(b.listeners("x"), [id2]);
            a.emit("x", &()).unwrap();
            sync(a, &mut sub).await;
            assert_eq!((first.calls(), second.calls()), (1, 2));

            b.remove_all_listeners(Some("x"));
            assert_eq!(b.event_names(), ["y", "z"]);
            a.emit("x", &()).unwrap();
            a.emit("y", &()).unwrap();
            sync(a, &mut sub).await;
            assert_eq!((first.calls(), second.calls(), other.calls()), (1, 2, 1));

            b.remove_all_listeners(None);
            assert!(b.event_names().is_empty());
            a.emit("y", &()).unwrap();
            a.emit("z", &()).unwrap();
            sync(a, &mut sub).await;
            assert_eq!(other.calls(), 1);
            stop_all(&nodes).await;
        })
    });
}

#[test]
fn a_listener_may_emit() {
    netns_test::run(|| {
        block_on(async {
            let nodes = start_nodes(2, &config(free_port())).await;
            let (a, b) = (&nodes[0], &nodes[1]);
            let replier = b.clone();
            b.on("ping", move |event| {
                let n: i32 = event.arg(0).unwrap();
                replier.emit("pong", &(n + 1,)).unwrap();
            })
            .expect("an exact name");
            let mut pongs = a.subscribe_to(["pong"]).expect("exact names");
            a.emit("ping", &(41,)).unwrap();
            let pong = next_remote(&mut pongs).await;
            assert_eq!(pong.arg::<i32>(0).unwrap(), 42);
            assert_eq!(pong.sender(), b.id());
            // The listener holds a handle of b: let it go.
            b.remove_all_listeners(None);
            stop_all(&nodes).await;
        })
    });
}

#[test]
fn a_panicking_listener_is_counted_and_the_node_goes_on() {
    netns_test::run(|| {
        block_on(async {
            let nodes = start_nodes(2, &config(free_port())).await;
            let (a, b) = (&nodes[0], &nodes[1]);
            let after = Recorder::new();
            b.on("boom", |_| {
                panic!("a listener panics (expected in this test)")
            })
            .expect("an exact name");
            b.on("boom", after.listener()).expect("an exact name");
            let mut sub = b.subscribe();
            a.emit("boom", &()).unwrap();
            a.emit("boom", &()).unwrap();
            sync(a, &mut sub).await;
            assert_eq!(b.stats().listener_panics, 2);
            assert_eq!(after.calls(), 2, "the next listener still runs");

            // Still receiving, and a local panic is caught too.
            a.emit("boom", &()).unwrap();
            sync(a, &mut sub).await;
            assert_eq!(after.calls(), 3);
            b.emit("boom", &()).unwrap();
            assert_eq!(b.stats().listener_panics, 4);
            assert_eq!(after.calls(), 4);

            // Notice listeners too.
            b.on_notice(|_| panic!("a notice listener panics (expected in this test)"));
            b.stop().await;
            assert_eq!(b.stats().listener_panics, 5);
            b.start().await.unwrap();
            assert_eq!(b.stats().listener_panics, 6);
            let mut sub = b.subscribe();
            sync(a, &mut sub).await;
            stop_all(&nodes).await;
        })
    });
}
