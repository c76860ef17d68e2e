//! `eventcast demo`: three nodes, a 1 MiB event, a summary.

use crate::support::{eventcast, run};

#[test]
fn demo_exits_0_and_mentions_each_node() {
    netns_test::run(|| {
        let mut cmd = eventcast();
        cmd.arg("demo");
        let done = run(cmd, b"");
        assert!(done.status.success(), "{done:?}");
        for name in ["alice", "bob", "carol"] {
            assert!(done.stdout.contains(name), "{name}: {}", done.stdout);
        }
        assert!(done.stdout.contains("1 MiB"), "{}", done.stdout);
        assert!(done.stdout.contains("1025 segments"), "{}", done.stdout);
        // Never the 1 MiB argument itself.
        assert!(
            done.stdout.len() < 10_000,
            "{} bytes of output",
            done.stdout.len()
        );
        assert_eq!(done.stderr, "");
    });
}
