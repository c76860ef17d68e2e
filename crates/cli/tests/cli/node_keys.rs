//! `eventcast node` with group keys, driven as an operator would: keys on
//! the command line, the REPL's `config` and `keys`, a rotation without a
//! restart. Each test in a private network namespace.

use crate::node::{Node, Session};
use crate::support;

/// A fresh directory holding a key file per `(name, text)`; the directory
/// and the files' paths.
fn key_files(tag: &str, files: &[(&str, &str)]) -> (std::path::PathBuf, Vec<String>) {
    let dir = std::env::temp_dir().join(format!("eventcast-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let paths = files
        .iter()
        .map(|(name, text)| {
            let path = dir.join(name);
            std::fs::write(&path, text).expect("key file");
            path.to_str().expect("a UTF-8 path").to_owned()
        })
        .collect();
    (dir, paths)
}

/// The port `node` chose, from its first line (`node running on GROUP:PORT`).
fn port_of(node: &Node) -> u16 {
    node.started
        .seen
        .iter()
        .find_map(|l| l.strip_prefix("node running on 224.0.0.1:"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|port| port.parse().ok())
        .expect("a `node running on` line with the port")
}

#[test]
fn a_node_with_a_key_streams_its_groups_events_and_never_shows_the_key() {
    // Trial: `node` took no key options at all (`--key-file` was an
    // unexpected argument), so an encrypted group could not be operated.
    netns_test::run(|| {
        let (dir, paths) = key_files("node-key", &[("key", "the node's group passphrase\n")]);
        let file = paths[0].as_str();
        let node = Node::start(&["--ttl", "0", "--key-file", file]);
        let port = port_of(&node);
        let mut session = Session::connect(node.repl.expect("repl address"));
        let config = session.command("config");
        assert!(
            config
                .lines()
                .any(|l| l.starts_with("encryption.key = (set, not shown")),
            "{config}"
        );
        assert!(!config.contains("passphrase"), "{config}");
        assert_eq!(
            session.command("on greet"),
            "ok: streaming greet events here (`off greet` stops)"
        );
        support::emit(
            port,
            &["--ttl", "0", "--key", "another key", "greet", "wrong"],
        );
        support::emit(port, &["--ttl", "0", "greet", "plain"]);
        support::emit(port, &["--ttl", "0", "--key-file", file, "greet", "right"]);
        let streamed = session.until_prompt().trim_start().to_owned();
        assert!(
            streamed.starts_with(r#"{"event":"greet","args":["right"],"sender":""#),
            "{streamed}"
        );
        let stats = session.command("stats");
        assert!(stats.contains("no_key"), "{stats}");
        assert!(stats.contains("unencrypted"), "{stats}");
        let (status, stderr) = node.terminate();
        assert!(status.success(), "{status:?}");
        // Said on stderr as `listen` says it, without --log: it was only
        // in `stats`.
        let said = stderr.join("\n");
        assert!(said.contains("key this node does not have"), "{said}");
        assert!(!said.contains("passphrase"), "{said}");
        std::fs::remove_dir_all(&dir).ok();
    });
}

/// The fingerprint `keys` lists first with `role` in its line.
fn fingerprint(listing: &str, role: &str) -> String {
    listing
        .lines()
        .find(|l| l.contains(role))
        .and_then(|l| l.split_whitespace().next())
        .unwrap_or_else(|| panic!("a key that is {role:?} in\n{listing}"))
        .to_owned()
}

#[test]
fn keys_rotate_from_the_repl_without_a_restart() {
    // Trial: SECURITY.md says keys rotate without downtime, but `node`
    // could rotate only by a restart (a new sender id, sessions closed).
    netns_test::run(|| {
        let (dir, paths) = key_files(
            "rotate",
            &[
                ("old", "the old group passphrase\n"),
                ("new", "raw:00112233445566778899aabbccddeeff\n"),
            ],
        );
        let (old, new) = (paths[0].as_str(), paths[1].as_str());
        let node = Node::start(&["--ttl", "0", "--key-file", old]);
        let port = port_of(&node);
        let mut session = Session::connect(node.repl.expect("repl address"));
        let before = session.command("keys");
        assert_eq!(before.lines().count(), 1, "{before}");
        let old_fp = fingerprint(&before, "primary");
        session.command("on greet");

        // 1. Add the new key: it opens, the old one still seals.
        let added = session.command(&format!("keys add-file {new}"));
        assert!(added.starts_with("ok: added "), "{added}");
        let ring = session.command("keys");
        assert_eq!(fingerprint(&ring, "primary"), old_fp, "{ring}");
        let new_fp = fingerprint(&ring, "opens only");
        // A node that switched already (seals with new, opens old) is heard.
        support::emit(
            port,
            &[
                "--ttl",
                "0",
                "--key-file",
                new,
                "--key-file",
                old,
                "greet",
                "1",
            ],
        );
        let line = session.until_prompt();
        assert!(line.contains(r#""args":[1]"#), "{line}");

        // 2. Switch, 3. remove the old key.
        assert_eq!(
            session.command(&format!("keys primary {new_fp}")),
            format!("ok: {new_fp} seals from now on")
        );
        let refused = session.command(&format!("keys remove {new_fp}"));
        assert!(refused.starts_with("error: "), "{refused}");
        session.command(&format!("keys remove {old_fp}"));
        let ring = session.command("keys");
        assert_eq!(ring.lines().count(), 1, "{ring}");
        assert_eq!(fingerprint(&ring, "primary"), new_fp, "{ring}");

        // The old key alone is refused now; the new one is heard.
        support::emit(port, &["--ttl", "0", "--key-file", old, "greet", "2"]);
        support::emit(port, &["--ttl", "0", "--key-file", new, "greet", "3"]);
        let line = session.until_prompt();
        assert!(line.contains(r#""args":[3]"#), "{line}");
        let stats = session.command("stats");
        assert!(stats.contains("no_key"), "{stats}");
        // Its challenge to the last emitter was sealed with the new key.
        let ring = session.command("keys");
        assert!(!ring.ends_with("sealed 0"), "{ring}");
        let (status, _) = node.terminate();
        assert!(status.success(), "{status:?}");
        std::fs::remove_dir_all(&dir).ok();
    });
}
