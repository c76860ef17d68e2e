//! Log levels per component, changed while the node runs, through the
//! library's filter in a subscriber of the test's own (the library never
//! installs one): a debug line appears only once the level is raised.

use std::sync::{Arc, Mutex};

use crate::client::Client;
use crate::common::*;
use eventcast::logging::{Component, LogFilter, LogLevelError};
use eventcast::Eventcast;
use tracing::field::{Field, Visit};
use tracing::level_filters::LevelFilter;
use tracing::{Level, Subscriber};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt as _};

/// A layer that keeps every record it is given.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<Record>>>);

#[derive(Clone, Debug)]
struct Record {
    target: String,
    level: Level,
    message: String,
}

impl Captured {
    fn take(&self) -> Vec<Record> {
        std::mem::take(&mut *self.0.lock().expect("capture lock"))
    }
}

impl<S: Subscriber> Layer<S> for Captured {
    fn on_event(&self, event: &tracing::Event<'_>, _cx: Context<'_, S>) {
        struct Message(String);
        impl Visit for Message {
            fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
                if field.name() == "message" {
                    self.0 = format!("{value:?}");
                }
            }
        }
        let mut message = Message(String::new());
        event.record(&mut message);
        self.0.lock().expect("capture lock").push(Record {
            target: event.metadata().target().to_owned(),
            level: *event.metadata().level(),
            message: message.0,
        });
    }
}

/// Runs `f` on a runtime of this thread only, with `filter` (a node's) in
/// a subscriber set for this thread: every task logs where it is captured.
fn with_capture<F: std::future::Future>(
    filter: LogFilter,
    f: impl FnOnce(Captured) -> F,
) -> F::Output {
    let captured = Captured::default();
    let subscriber = tracing_subscriber::registry().with(captured.clone().with_filter(filter));
    let _default = tracing::subscriber::set_default(subscriber);
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(f(captured))
}

fn messages(records: &[Record]) -> Vec<String> {
    records
        .iter()
        .map(|r| format!("{} {} {}", r.level, r.target, r.message))
        .collect()
}

#[test]
fn off_by_default_nothing_is_logged() {
    netns_test::run(|| {
        let node = Eventcast::new(config(free_port()).repl_enabled(true)).unwrap();
        assert_eq!(node.log_levels().to_string(), "eventcast=off,repl=off");
        with_capture(node.log_levels().filter(), |captured| async move {
            node.start().await.unwrap();
            let mut client = Client::connect(node.repl().addr().unwrap()).await;
            client.command("emit x 1").await;
            node.stop().await;
            assert!(captured.take().is_empty());
        });
    });
}

#[test]
fn a_debug_line_appears_only_after_the_level_is_raised() {
    netns_test::run(|| {
        let port = free_port();
        let node = Eventcast::new(config(port).log(true)).unwrap();
        assert_eq!(node.log_levels().to_string(), "eventcast=info,repl=info");
        with_capture(node.log_levels().filter(), |captured| async move {
            let other = Eventcast::new(config(port)).unwrap();
            other.start().await.unwrap();
            node.start().await.unwrap();
            let mut events = node.subscribe();

            // At info: start is logged, sends and receipts are not.
            node.emit("before", &()).unwrap();
            other.emit("before-remote", &()).unwrap();
            assert_eq!(next_remote(&mut events).await.name(), "before-remote");
            let records = captured.take();
            assert!(
                records
                    .iter()
                    .any(|r| r.level == Level::INFO && r.message == "started"),
                "{:?}",
                messages(&records)
            );
            assert!(
                records.iter().all(|r| r.level <= Level::INFO),
                "{:?}",
                messages(&records)
            );

            // Raised to debug: the next send and receipt are logged.
            node.log_levels().set_named(None, "debug").unwrap();
            node.emit("after", &()).unwrap();
            other.emit("after-remote", &()).unwrap();
            assert_eq!(next_remote(&mut events).await.name(), "after-remote");
            let records = messages(&captured.take());
            assert!(
                records.contains(&"DEBUG eventcast event sent".to_owned()),
                "{records:?}"
            );
            assert!(
                records.contains(&"DEBUG eventcast event received".to_owned()),
                "{records:?}"
            );

            // One component off: its records stop at once.
            node.log_levels()
                .set(Component::Eventcast, LevelFilter::OFF);
            node.emit("silent", &()).unwrap();
            other.emit("silent-remote", &()).unwrap();
            assert_eq!(next_remote(&mut events).await.name(), "silent-remote");
            assert!(captured.take().is_empty());

            other.stop().await;
            node.stop().await;
        });
    });
}

#[test]
fn the_repl_component_and_bad_input() {
    netns_test::run(|| {
        let node = Eventcast::new(config(free_port()).repl_enabled(true).log(true)).unwrap();
        with_capture(node.log_levels().filter(), |captured| async move {
            let addr = node.repl().open().await.unwrap();
            let records = messages(&captured.take());
            assert_eq!(records, ["INFO eventcast::repl REPL listening"]);

            // Bad input is refused and changes nothing.
            assert_eq!(
                node.log_levels().set_named(Some("driver"), "debug"),
                Err(LogLevelError::UnknownComponent("driver".into()))
            );
            assert_eq!(
                node.log_levels().set_named(Some("repl"), "verbose"),
                Err(LogLevelError::UnknownLevel("verbose".into()))
            );
            assert_eq!(
                node.log_levels().set_named(None, ""),
                Err(LogLevelError::UnknownLevel("".into()))
            );
            assert_eq!(node.log_levels().to_string(), "eventcast=info,repl=info");

            // The REPL's debug lines (a client, its commands) only at debug,
            // raised from the REPL itself.
            let mut client = Client::connect(addr).await;
            client.command("id").await;
            assert!(captured.take().iter().all(|r| r.level <= Level::INFO));
            assert_eq!(
                client.command("log-level repl debug").await,
                "eventcast=info repl=debug"
            );
            client.command("id").await;
            let records = messages(&captured.take());
            assert_eq!(
                records,
                ["DEBUG eventcast::repl REPL command"],
                "{records:?}"
            );
            assert!(captured
                .take()
                .iter()
                .all(|r| r.target == "eventcast::repl"));
            node.repl().close().await;
        });
    });
}
