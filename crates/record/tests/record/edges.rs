//! What a recording meets at its edges: a full disk, a file too short to
//! hold a summary, a size limit reached through many small chunks.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns

use std::time::Duration;

use eventcast::{Config, Eventcast};
use eventcast_record::{Reader, Recorder, RecorderOptions};

use crate::support::runtime;

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
