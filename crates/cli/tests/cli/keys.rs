//! `--key`, `--key-file` and `EVENTCAST_KEY`, driven as a user would, in a
//! private network namespace: the same key delivers, another key delivers
//! nothing and says so on stderr, and no key is ever echoed.
#![allow(clippy::unwrap_used)]

use crate::support::{eventcast, listen, run};

const PASSPHRASE: &str = "correct horse battery staple";

fn key_file(dir: &std::path::Path, text: &str) -> String {
    let path = dir.join("key");
    std::fs::write(&path, text).expect("write the key file");
    path.to_string_lossy().into_owned()
}

fn emit_with_env_key(port: u16, key: &str, args: &[&str]) {
    let mut cmd = eventcast();
    cmd.args(["emit", "--port", &port.to_string()])
        .args(args)
        .env("EVENTCAST_KEY", key);
    let done = run(cmd, b"");
    assert!(done.status.success(), "{done:?}");
}

#[test]
fn the_same_key_delivers() {
    netns_test::run(|| {
        let dir = std::env::temp_dir().join(format!("eventcast-keys-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = key_file(&dir, &format!("{PASSPHRASE}\n"));
        let listener = listen(&["--key-file", &file, "--count", "1", "--timeout", "10"]);
        emit_with_env_key(listener.port(), PASSPHRASE, &["greet", "hello"]);
        let done = listener.finish();
        assert!(done.status.success(), "{done:?}");
        assert!(
            done.stdout.contains(r#""event":"greet","args":["hello"]"#),
            "{done:?}"
        );
        std::fs::remove_dir_all(&dir).ok();
    });
}

#[test]
fn another_key_delivers_nothing_and_is_reported() {
    netns_test::run(|| {
        let listener = listen(&["--key", PASSPHRASE, "--timeout", "3"]);
        let port = listener.port().to_string();
        let mut cmd = eventcast();
        cmd.args([
            "emit",
            "--port",
            &port,
            "--key",
            "raw:00112233445566778899aabbccddeeff",
        ])
        .args(["greet", "hello"]);
        let done = run(cmd, b"");
        assert!(done.status.success(), "{done:?}");
        let done = listener.finish();
        assert!(done.status.success(), "{done:?}");
        assert_eq!(done.stdout, "", "{done:?}");
        assert!(done.stderr.contains("cannot read"), "{done:?}");
        assert!(
            done.stderr.contains("key this node does not have"),
            "{done:?}"
        );
        assert!(!done.stderr.contains("horse"), "{done:?}");
    });
}

#[test]
fn help_warns_and_never_shows_the_key() {
    let mut cmd = eventcast();
    cmd.args(["listen", "--help"])
        .env("EVENTCAST_KEY", "sup3rs3cret");
    let done = run(cmd, b"");
    assert!(done.status.success(), "{done:?}");
    assert!(
        done.stdout.contains("visible to every user"),
        "{}",
        done.stdout
    );
    assert!(done.stdout.contains("--key-file"), "{}", done.stdout);
    assert!(
        done.stdout.contains("--danger-accept-plaintext"),
        "{}",
        done.stdout
    );
    assert!(!done.stdout.contains("sup3rs3cret"), "{}", done.stdout);
}

#[test]
fn a_bad_key_is_a_usage_error_that_does_not_echo_it() {
    let mut cmd = eventcast();
    cmd.args(["emit", "--key", "raw:not-hex-at-all", "x"]);
    let done = run(cmd, b"");
    assert_eq!(done.status.code(), Some(2), "{done:?}");
    assert!(done.stderr.contains("32 hex digits"), "{done:?}");
    assert!(!done.stderr.contains("not-hex-at-all"), "{done:?}");
}

#[test]
fn a_bad_key_in_the_environment_is_named_as_such() {
    // Trial: a bad EVENTCAST_KEY was reported as "--key (number 1)", an
    // option the user never typed.
    // Refused before any socket opens; in a namespace all the same.
    netns_test::run(|| {
        for (value, needle) in [
            ("", "the passphrase is empty"),
            ("raw:zz", "a raw key is written"),
        ] {
            let mut cmd = eventcast();
            cmd.args(["emit", "x"]).env("EVENTCAST_KEY", value);
            let done = run(cmd, b"");
            assert_eq!(done.status.code(), Some(2), "{done:?}");
            assert!(
                done.stderr.contains(&format!("EVENTCAST_KEY: {needle}")),
                "{done:?}"
            );
            assert!(!done.stderr.contains("--key (number"), "{done:?}");
        }
        let mut cmd = eventcast();
        cmd.args(["emit", "--key", "raw:zz", "--key", "", "x"]);
        let done = run(cmd, b"");
        assert!(done.stderr.contains("--key (number 1): "), "{done:?}");
    });
}

#[test]
fn a_binary_key_file_says_what_a_key_file_holds() {
    // Trial: 16 bytes from /dev/urandom written as the key file gave
    // "stream did not contain valid UTF-8", with exit status 1.
    // Refused before any socket opens; in a namespace all the same.
    netns_test::run(|| {
        let dir = std::env::temp_dir().join(format!("eventcast-binkey-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("key");
        std::fs::write(&path, [0xff, 0xfe, 0x00, 0x80, 0x12, 0x9c, 0xc3, 0x28]).unwrap();
        let mut cmd = eventcast();
        cmd.args(["emit", "--key-file", path.to_str().unwrap(), "x"]);
        let done = run(cmd, b"");
        assert_eq!(done.status.code(), Some(2), "{done:?}");
        assert!(done.stderr.contains("not text"), "{done:?}");
        assert!(done.stderr.contains("`raw:` and 32 hex digits"), "{done:?}");
        std::fs::remove_dir_all(&dir).ok();
    });
}

#[test]
fn an_endless_key_file_is_refused_at_its_limit() {
    // `--key-file /dev/zero` read for ever, its memory growing.
    netns_test::run(|| {
        let mut cmd = eventcast();
        cmd.args(["emit", "--key-file", "/dev/zero", "x"]);
        let done = run(cmd, b"");
        assert_eq!(done.status.code(), Some(2), "{done:?}");
        assert!(
            done.stderr
                .contains("key file /dev/zero: more than 4096 bytes, not a key file"),
            "{done:?}"
        );
    });
}

#[test]
fn with_log_warn_a_problem_is_said_once() {
    // Trial: with --log warn each problem came twice, as the library's
    // warning and again as the command's own line.
    netns_test::run(|| {
        for format in ["human", "json"] {
            let listener = listen(&[
                "--key",
                PASSPHRASE,
                "--timeout",
                "3",
                "--log",
                "warn",
                "--log-format",
                format,
            ]);
            let port = listener.port().to_string();
            let mut cmd = eventcast();
            cmd.args(["emit", "--port", &port, "--key", "another", "greet", "hi"]);
            let done = run(cmd, b"");
            assert!(done.status.success(), "{done:?}");
            let done = listener.finish();
            assert!(done.status.success(), "{done:?}");
            let said = done.stderr.matches("key this node does not have").count();
            assert_eq!(said, 1, "--log-format {format}: {done:?}");
        }
    });
}
