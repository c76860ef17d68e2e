//! `keys`: the node's keyring, listed and changed while it runs, so that a
//! group rotates its key without a restart (docs/SECURITY.md, "Rotating
//! keys"). Keys are shown by fingerprint only; a key is added from a file,
//! never typed into the session.

use std::io::Read as _;
use std::path::PathBuf;

use crate::{Fingerprint, KeyInfo, Secret};

use crate::repl::cmd::context::{Context, Spec};
use crate::repl::tokens::Token;

pub(super) const SPEC: Spec = Spec {
    name: "keys",
    usage: "keys [add-file PATH | primary FINGERPRINT | remove FINGERPRINT]",
    about: "the keyring, by fingerprint: which key seals, datagrams each sealed this \
            run; `add-file PATH` adds the key in a file of the node's host (as \
            --key-file reads it; a node's first key also seals), `primary` seals with \
            a key of the ring, `remove` drops one (not the primary). For a rotation, \
            do each step on every node before the next: add, primary, remove",
};

/// The longest key file read: a passphrase, or `raw:` and 32 hex digits.
const MAX_KEY_FILE: u64 = 4096;

/// A parsed `keys`.
#[derive(Debug)]
pub(crate) enum Keys {
    List,
    AddFile(PathBuf),
    Primary(Fingerprint),
    Remove(Fingerprint),
}

impl Keys {
    /// Parses the words after `keys`; the error is the line to show.
    pub(super) fn parse(words: &[Token], usage: &str) -> Result<Self, String> {
        let fingerprint = |word: &Token| {
            word.as_str().parse::<Fingerprint>().map_err(|_| {
                format!(
                    "{:?} is not a fingerprint: 16 hex digits, as `keys` lists them",
                    word.as_str().chars().take(40).collect::<String>()
                )
            })
        };
        let verb = words.first().map(|w| w.as_str().to_ascii_lowercase());
        match (verb.as_deref(), words.get(1), words.len()) {
            (None, _, _) => Ok(Keys::List),
            (Some("add-file"), Some(path), 2) => Ok(Keys::AddFile(path.as_str().into())),
            (Some("primary"), Some(word), 2) => fingerprint(word).map(Keys::Primary),
            (Some("remove"), Some(word), 2) => fingerprint(word).map(Keys::Remove),
            _ => Err(format!("usage: {usage}")),
        }
    }

    pub(super) async fn run(self, cx: &mut Context<'_>) -> Result<String, String> {
        let keys = cx.node.keys();
        match self {
            Keys::List => {
                let list = keys.list().await.map_err(|e| e.to_string())?;
                Ok(listing(&list))
            }
            Keys::AddFile(path) => {
                let secret = read_key_file(path.clone()).await?;
                let added = keys.add(secret).await.map_err(|e| e.to_string())?;
                let list = keys.list().await.map_err(|e| e.to_string())?;
                let sealing = list.iter().any(|k| k.fingerprint == added && k.primary);
                Ok(format!(
                    "ok: added {added} from {}{}",
                    path.display(),
                    if sealing {
                        " (the only key: it seals, and unencrypted datagrams are refused)"
                    } else {
                        " (it opens; `keys primary` makes it seal)"
                    }
                ))
            }
            Keys::Primary(fingerprint) => {
                keys.set_primary(fingerprint)
                    .await
                    .map_err(|e| e.to_string())?;
                Ok(format!("ok: {fingerprint} seals from now on"))
            }
            Keys::Remove(fingerprint) => {
                keys.remove(fingerprint).await.map_err(|e| e.to_string())?;
                Ok(format!("ok: removed {fingerprint}: it opens nothing more"))
            }
        }
    }
}

/// One line per key: `FINGERPRINT  primary|decrypt only  sealed N`.
fn listing(keys: &[KeyInfo]) -> String {
    if keys.is_empty() {
        return "no keys: nothing is encrypted (`keys add-file PATH` adds one)".to_owned();
    }
    keys.iter()
        .map(|k| {
            let role = if k.primary {
                "primary (seals and opens)"
            } else {
                "opens only"
            };
            format!("{}  {role}  sealed {}", k.fingerprint, k.sealed)
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Reads a key file as `--key-file` does (one trailing line break
/// ignored), at most [`MAX_KEY_FILE`] bytes, off the session's task. The
/// error names the file and never shows its contents.
async fn read_key_file(path: PathBuf) -> Result<Secret, String> {
    let shown = path.display().to_string();
    let read = tokio::task::spawn_blocking(move || {
        let mut bytes = Vec::new();
        std::fs::File::open(&path)?
            .take(MAX_KEY_FILE + 1)
            .read_to_end(&mut bytes)?;
        Ok::<_, std::io::Error>(bytes)
    })
    .await
    .map_err(|_| format!("cannot read the key file {shown}"))?
    .map_err(|e| format!("cannot read the key file {shown}: {e}"))?;
    if read.len() as u64 > MAX_KEY_FILE {
        return Err(format!(
            "key file {shown}: more than {MAX_KEY_FILE} bytes, not a key file"
        ));
    }
    let text = String::from_utf8(read).map_err(|_| {
        format!("key file {shown}: not text; it holds a passphrase, or `raw:` and 32 hex digits")
    })?;
    Secret::parse(&text).map_err(|e| format!("key file {shown}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::repl::tokens;

    fn parse(line: &str) -> Result<Keys, String> {
        Keys::parse(&tokens::split(line).unwrap(), SPEC.usage)
    }

    #[test]
    fn the_forms_parse_and_a_bad_fingerprint_is_named() {
        assert!(matches!(parse(""), Ok(Keys::List)));
        assert!(
            matches!(parse("add-file /etc/key"), Ok(Keys::AddFile(p)) if p == std::path::Path::new("/etc/key"))
        );
        let fp = "0123456789abcdef";
        assert!(
            matches!(parse(&format!("primary {fp}")), Ok(Keys::Primary(f)) if f.to_string() == fp)
        );
        assert!(matches!(
            parse(&format!("REMOVE {fp}")),
            Ok(Keys::Remove(_))
        ));
        let err = parse("primary 0123").unwrap_err();
        assert!(err.contains("\"0123\" is not a fingerprint"), "{err}");
        for bad in [
            "add-file",
            "primary",
            "remove a b",
            "rotate",
            "add-file a b",
        ] {
            assert!(parse(bad).unwrap_err().starts_with("usage: keys"), "{bad}");
        }
    }
}
