//! What the tests share: a stopped node whose emits reach only its own
//! listeners (no socket), and a recording of it.

use std::path::Path;

use eventcast::{Config, Eventcast};
use eventcast_record::{RecordSummary, Recorder, RecorderOptions};

/// A runtime for the recorder's `finish`.
pub(crate) fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Runtime::new().expect("tokio runtime")
}

/// Records `count` local events (`tick`, `tock` alternating, with the
/// number and a string) through a stopped node, with `options`.
pub(crate) fn record_local(options: RecorderOptions, count: u32) -> RecordSummary {
    runtime().block_on(async {
        let node = Eventcast::new(Config::default()).expect("node");
        let recorder = Recorder::start(&node, options).expect("recorder");
        for i in 0..count {
            let name = if i % 2 == 0 { "tick" } else { "tock" };
            node.emit(name, &(i, format!("event number {i}")))
                .expect("emit");
        }
        recorder.finish().await.expect("finish")
    })
}

/// The messages of `path` as the `mcap` crate's own reader sees them:
/// (topic, encoding, data), and the error it ended on, if any.
pub(crate) fn mcap_messages(path: &Path) -> (Vec<mcap::Message<'static>>, Option<String>) {
    let file = std::io::BufReader::new(std::fs::File::open(path).expect("open"));
    let mut messages = Vec::new();
    for message in mcap::io::MessageReader::new(file) {
        match message {
            Ok(m) => messages.push(m),
            Err(e) => return (messages, Some(e.to_string())),
        }
    }
    (messages, None)
}
