//! The listener registry's tests: on, once and off, panics, re-entry, and subscriptions.

use super::*;
use bson::Bson;
use eventcast_proto::SenderId;
use std::sync::atomic::AtomicUsize;

fn event(name: &str) -> Event {
    Event::new(name.into(), vec![], SenderId::new(1), None, None)
}

#[test]
fn on_once_off() {
    let l = Listeners::default();
    let hits = Arc::new(AtomicUsize::new(0));
    let h = hits.clone();
    let a = l
        .add(
            "a",
            false,
            Arc::new(move |_| {
                h.fetch_add(1, Ordering::SeqCst);
            }),
        )
        .unwrap();
    let h = hits.clone();
    l.add(
        "a",
        true,
        Arc::new(move |_| {
            h.fetch_add(10, Ordering::SeqCst);
        }),
    )
    .unwrap();
    assert_eq!(l.ids("a").len(), 2);
    l.dispatch(&event("a"));
    assert_eq!(hits.load(Ordering::SeqCst), 11);
    assert_eq!(l.ids("a"), vec![a]);
    l.dispatch(&event("a"));
    l.dispatch(&event("b"));
    assert_eq!(hits.load(Ordering::SeqCst), 12);
    assert!(l.remove("a", a));
    assert!(!l.remove("a", a));
    assert!(l.names().is_empty());
}

#[test]
fn listening_follows_callbacks_and_open_subscriptions() {
    let l = Listeners::default();
    assert!(l.listening().is_none());
    let before = Instant::now();
    let a = l.add("a.*", false, Arc::new(|_| {})).unwrap();
    let since = l.listening().unwrap();
    assert!(since >= before && since <= Instant::now());
    l.add("a", false, Arc::new(|_| {})).unwrap();
    assert_eq!(l.listening(), Some(since), "listening all along");
    l.remove_all(Some("a"));
    assert!(l.remove("a.*", a));
    assert!(l.listening().is_none());
    l.add("b", true, Arc::new(|_| {})).unwrap();
    assert!(l.listening().unwrap() > since);
    l.dispatch(&event("b"));
    assert!(l.listening().is_none(), "the once listener fired and went");
    let sub = l.subscribe(None, 1 << 20);
    let other = l.subscribe(EventFilter::new(vec!["c".into()]).ok(), 1 << 20);
    assert!(l.listening().is_some());
    drop(sub);
    assert!(l.listening().is_some());
    drop(other);
    assert!(l.listening().is_none());
    l.add("x", false, Arc::new(|_| {})).unwrap();
    l.remove_all(None);
    assert!(l.listening().is_none());
}

#[test]
fn panicking_listener_is_counted() {
    let l = Listeners::default();
    l.add("p", false, Arc::new(|_| panic!("boom"))).unwrap();
    l.dispatch(&event("p"));
    assert_eq!(l.panics.load(Ordering::Relaxed), 1);
}

#[test]
fn listener_may_reenter() {
    let l = Arc::new(Listeners::default());
    let inner = l.clone();
    l.add(
        "outer",
        false,
        Arc::new(move |_| {
            inner.add("late", false, Arc::new(|_| {})).unwrap();
        }),
    )
    .unwrap();
    l.dispatch(&event("outer"));
    assert_eq!(l.names(), vec!["late".to_owned(), "outer".to_owned()]);
}

#[test]
fn subscriptions_filter_and_lag() {
    let l = Listeners::default();
    let one = event("a").held_bytes();
    let mut all = l.subscribe(None, 2 * one);
    let mut only_b = l.subscribe(EventFilter::new(vec!["b".into()]).ok(), 8 * one);
    for name in ["a", "b", "c"] {
        l.dispatch(&event(name));
    }
    assert_eq!(all.try_recv().unwrap().name(), "a");
    assert_eq!(all.try_recv().unwrap().name(), "b");
    assert!(all.try_recv().is_none());
    assert_eq!(l.lagged.load(Ordering::Relaxed), 1);
    assert_eq!(only_b.try_recv().unwrap().name(), "b");
    assert!(only_b.try_recv().is_none());
    // Reading gave the room back.
    l.dispatch(&event("d"));
    l.dispatch(&event("e"));
    assert_eq!(all.try_recv().unwrap().name(), "d");
    assert_eq!(all.try_recv().unwrap().name(), "e");
    assert_eq!(l.lagged.load(Ordering::Relaxed), 1);
    drop(all);
    l.dispatch(&event("a"));
    assert_eq!(l.lock().subscribers.len(), 1);
}

#[test]
fn subscriptions_count_bytes_not_events() {
    let l = Listeners::default();
    let small = event("s");
    let big = Event::new(
        "big".into(),
        vec![Bson::Binary(bson::Binary {
            subtype: bson::spec::BinarySubtype::Generic,
            bytes: vec![0; 10_000],
        })],
        SenderId::new(1),
        None,
        None,
    );
    assert!(big.held_bytes() > 10_000);
    let mut sub = l.subscribe(None, 100 * small.held_bytes());
    // A hundred small events fit; the big one does not fit beside them.
    for _ in 0..100 {
        l.dispatch(&small);
    }
    l.dispatch(&big);
    assert_eq!(l.lagged.load(Ordering::Relaxed), 1);
    while sub.try_recv().is_some() {}
    // Alone, an event bigger than the limit still goes through.
    l.dispatch(&big);
    assert_eq!(sub.try_recv().unwrap().name(), "big");
    assert_eq!(l.lagged.load(Ordering::Relaxed), 1);
}

/// A listener that appends `tag` to `log`.
fn logging(log: &Arc<Mutex<Vec<&'static str>>>, tag: &'static str) -> Callback {
    let log = log.clone();
    Arc::new(move |_| log.lock().unwrap().push(tag))
}

#[test]
fn exact_and_pattern_listeners_fire_in_registration_order() {
    let l = Listeners::default();
    let log = Arc::new(Mutex::new(Vec::new()));
    let any = l.add("**", false, logging(&log, "**")).unwrap();
    let exact = l.add("s.a", false, logging(&log, "s.a")).unwrap();
    let one = l.add("s.*", false, logging(&log, "s.*")).unwrap();
    l.add("s.**", true, logging(&log, "s.** once")).unwrap();
    l.add("t.*", false, logging(&log, "t.*")).unwrap();
    l.dispatch(&event("s.a"));
    assert_eq!(*log.lock().unwrap(), ["**", "s.a", "s.*", "s.** once"]);
    log.lock().unwrap().clear();
    l.dispatch(&event("s.a"));
    l.dispatch(&event("s"));
    assert_eq!(*log.lock().unwrap(), ["**", "s.a", "s.*", "**"]);

    // A name counts what it fires; a pattern, its own listeners.
    assert_eq!(l.ids("s.a"), [any, exact, one]);
    assert_eq!(l.ids("s.*"), [one]);
    assert_eq!(l.ids("s.**"), [], "the once one fired");
    assert_eq!(l.names(), ["**", "s.*", "s.a", "t.*"]);

    // Removal is by the name or pattern it was added under.
    assert!(!l.remove("s.a", one));
    assert!(l.remove("s.*", one));
    l.remove_all(Some("**"));
    assert_eq!(l.ids("s.a"), [exact]);
    assert_eq!(l.names(), ["s.a", "t.*"]);
    l.remove_all(None);
    assert!(l.names().is_empty());
}

#[test]
fn a_bad_pattern_adds_nothing() {
    let l = Listeners::default();
    let error = l.add("sensor*", false, Arc::new(|_| {})).unwrap_err();
    assert_eq!(error.pattern(), "sensor*");
    assert!(l.names().is_empty());
    assert!(EventFilter::new(vec!["ok".into(), "a.**b".into()]).is_err());
}

#[test]
fn subscriptions_take_patterns() {
    let l = Listeners::default();
    let filter = EventFilter::new(vec!["x".into(), "s.*".into()]).unwrap();
    let mut sub = l.subscribe(Some(filter), 1 << 20);
    for name in ["s", "s.a", "x", "s.a.b", "y"] {
        l.dispatch(&event(name));
    }
    let got: Vec<String> = std::iter::from_fn(|| sub.try_recv())
        .map(|e| e.name().to_owned())
        .collect();
    assert_eq!(got, ["s.a", "x"]);
}

#[test]
fn a_dispatcher_sees_changes_made_during_its_run() {
    let l = Listeners::default();
    let calls = Arc::new(Mutex::new(Vec::new()));
    let log = |tag: &'static str| {
        let calls = calls.clone();
        Arc::new(move |e: &Event| calls.lock().unwrap().push((tag, e.name().to_owned())))
            as Callback
    };
    let a = l.add("a", false, log("a1")).unwrap();
    l.add("a", true, log("once")).unwrap();
    let mut d = l.dispatcher();
    d.dispatch(&event("a"));
    d.dispatch(&event("a"));
    d.dispatch(&event("b"));
    assert!(l.remove("a", a));
    d.dispatch(&event("a"));
    l.add("*", false, log("any")).unwrap();
    d.dispatch(&event("a"));
    d.dispatch(&event("a"));
    let mut sub = l.subscribe(None, usize::MAX);
    d.dispatch(&event("c"));
    drop(d);
    let got = calls.lock().unwrap().clone();
    let want: Vec<(&str, String)> = [("a1", "a"), ("once", "a"), ("a1", "a"), ("any", "a")]
        .into_iter()
        .chain([("any", "a"), ("any", "c")])
        .map(|(t, n)| (t, n.to_owned()))
        .collect();
    assert_eq!(got, want);
    assert_eq!(
        sub.try_recv().map(|e| e.name().to_owned()),
        Some("c".into())
    );
}
