//! Help and bad arguments: exit status 2 and a clear message. Nothing here
//! opens a socket, except the unknown-interface case, which runs in a
//! private network namespace.

use crate::support::{eventcast, run, Finished};

fn eventcast_with(args: &[&str]) -> Finished {
    let mut cmd = eventcast();
    cmd.args(args);
    run(cmd, b"")
}

#[test]
fn every_subcommand_has_help() {
    for (sub, needles) in [
        (
            "listen",
            &[
                "--count",
                "--timeout",
                "--port",
                "EVENTCAST_PORT",
                "relaxed",
            ][..],
        ),
        (
            "emit",
            &["--stdin", "--linger", "--ttl", "Extended JSON"][..],
        ),
        ("demo", &["--port", "alice", "1 MiB"][..]),
    ] {
        let done = eventcast_with(&[sub, "--help"]);
        assert_eq!(done.status.code(), Some(0), "{sub}: {done:?}");
        for needle in needles {
            assert!(
                done.stdout.contains(needle),
                "{sub} --help lacks {needle}: {}",
                done.stdout
            );
        }
    }
    let done = eventcast_with(&["--help"]);
    assert_eq!(done.status.code(), Some(0));
    for sub in ["listen", "emit", "demo", "--log"] {
        assert!(done.stdout.contains(sub), "{}", done.stdout);
    }
}

#[test]
fn bad_arguments_exit_2_with_a_clear_message() {
    for (args, needle) in [
        (&["listen", "--ttl", "300"][..], "300 is not in 0..=255"),
        (
            &["listen", "--group", "10.0.0.1"][..],
            "not a multicast address",
        ),
        (&["listen", "--port", "0"][..], "--port"),
        (&["listen", "--port", "nope"][..], "--port"),
        (&["listen", "--timeout", "-1"][..], "0 or more seconds"),
        (
            &["listen", "--timeout", "soon"][..],
            "not a number of seconds",
        ),
        (&["listen", "--count", "0"][..], "--count"),
        (
            &["listen", "--subscription-bytes", "0"][..],
            "--subscription-bytes",
        ),
        (
            &["listen", "--subscription-bytes", "5T"][..],
            "unknown unit `T`",
        ),
        (
            &["listen", "--max-payload-size", "5"][..],
            "--max-payload-size must be between 16",
        ),
        // The library's settings are named by the flags that set them.
        (
            &["node", "--repl-host", "0.0.0.0"][..],
            "--repl-host 0.0.0.0 is not a loopback address: anyone who reaches it controls \
             the node; set --danger-repl-any-host to allow it",
        ),
        (
            &["node", "--max-message-size", "1G"][..],
            "raise --max-partial-bytes-per-sender or --max-payload-size, or lower \
             --max-message-size",
        ),
        (
            &["listen", "--bind", "::1"][..],
            "must both be IPv4 or both IPv6",
        ),
        (&["emit"][..], "<EVENT>"),
        (&["emit", "--stdin", "name"][..], "cannot be used with"),
        (&["emit", "x", r#"{"$date":"soon"}"#][..], "argument 1"),
        (&["demo", "--message-ttl", "0"][..], "--message-ttl"),
        (
            &["bench", "--role", "recv", "--port", "41234", "--owned"][..],
            "--owned goes with --transport raw",
        ),
        (
            &["bench", "--transport", "raw", "--owned"][..],
            "--owned goes with --transport raw and --role send or recv",
        ),
        (
            &[
                "bench",
                "--role",
                "ping",
                "--port",
                "41234",
                "--transport",
                "raw",
                "--owned",
            ][..],
            "--owned goes with --transport raw and --role send or recv",
        ),
        (
            &["bench", "--role", "pong", "--port", "41234", "--binary"][..],
            "--binary goes with eventcast's events",
        ),
        (
            &["bench", "--transport", "raw", "--binary"][..],
            "--binary goes with eventcast's events",
        ),
        (&["--log", "eventcast=loud", "demo"][..], "--log"),
        (&["frobnicate"][..], "frobnicate"),
    ] {
        let done = eventcast_with(args);
        assert_eq!(done.status.code(), Some(2), "{args:?}: {done:?}");
        assert!(
            done.stderr.starts_with("error: "),
            "{args:?}: {}",
            done.stderr
        );
        assert!(
            done.stderr.contains(needle),
            "{args:?} lacks {needle:?}: {}",
            done.stderr
        );
        assert_eq!(done.stdout, "", "{args:?}");
    }
}

#[test]
fn bad_environment_values_exit_2() {
    let mut cmd = eventcast();
    cmd.args(["listen"]).env("EVENTCAST_PORT", "forty");
    let done = run(cmd, b"");
    assert_eq!(done.status.code(), Some(2), "{done:?}");
    assert!(done.stderr.contains("forty"), "{}", done.stderr);
}

#[test]
fn unknown_interface_exits_2_and_lists_the_interfaces() {
    netns_test::run(|| {
        let done = eventcast_with(&["listen", "--interface", "nosuch0"]);
        assert_eq!(done.status.code(), Some(2), "{done:?}");
        assert!(done.stderr.contains("\"nosuch0\""), "{}", done.stderr);
        assert!(done.stderr.contains("lo (127.0.0.1)"), "{}", done.stderr);
    });
}

#[test]
fn an_interface_address_not_of_this_host_is_named_as_such() {
    netns_test::run(|| {
        let done = eventcast_with(&["listen", "--interface", "10.99.99.99", "--timeout", "1"]);
        assert_eq!(done.status.code(), Some(1), "{done:?}");
        assert!(
            done.stderr
                .contains("--interface 10.99.99.99 is not an address of this host's interfaces"),
            "{}",
            done.stderr
        );
        assert!(!done.stderr.contains("pass --interface"), "{}", done.stderr);
    });
}
