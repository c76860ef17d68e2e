//! Event names to NATS subjects and back.
//!
//! An event `NAME` travels on `PREFIX.NAME`, a `.` in the name separating
//! subject tokens, so that NATS wildcards work on event names as eventcast
//! patterns do (`PREFIX.sensor.*`). What NATS forbids or reads as a
//! wildcard is escaped, reversibly, with `%` and two hex digits, as in URLs:
//!
//! | in the name | in the subject |
//! | --- | --- |
//! | `%` | `%25` |
//! | space, tab, CR, LF, any other ASCII control character | `%20`, `%09`, `%0D`, `%0A`, ... |
//! | `*` | `%2A` |
//! | `>` | `%3E` |
//! | an empty token (`a..b`, a leading or trailing `.`, the empty name) | `%` alone |
//!
//! Every other character, non-ASCII ones included, is kept. Decoding a
//! subject that no bridge wrote (a plain NATS client's) is lenient: a `%`
//! not followed by two hex digits of an ASCII character stays as it is.

use std::fmt::Write as _;

/// Why a subject prefix cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("subject prefix `{prefix}` is not usable: {reason}")]
pub struct PrefixError {
    /// The prefix as given.
    pub prefix: String,
    /// What is wrong with it.
    pub reason: &'static str,
}

/// Checks a subject prefix: one or more tokens separated by `.`, none
/// empty, none a wildcard, no whitespace.
pub fn check_prefix(prefix: &str) -> Result<(), PrefixError> {
    let fail = |reason| {
        Err(PrefixError {
            prefix: prefix.to_owned(),
            reason,
        })
    };
    if prefix.is_empty() {
        return fail("it is empty");
    }
    for token in prefix.split('.') {
        if token.is_empty() {
            return fail("it has an empty token (a leading, trailing or double `.`)");
        }
        if token.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return fail("it has whitespace or a control character");
        }
        if token.contains('*') || token.contains('>') {
            return fail("it has a wildcard (`*` or `>`)");
        }
    }
    Ok(())
}

/// The subject an event named `name` is published on under `prefix`
/// (checked with [`check_prefix`]).
pub fn to_subject(prefix: &str, name: &str) -> String {
    let mut subject = String::with_capacity(prefix.len() + 1 + name.len());
    subject.push_str(prefix);
    for token in name.split('.') {
        subject.push('.');
        if token.is_empty() {
            subject.push('%');
            continue;
        }
        for c in token.chars() {
            if c == '%' || c == '*' || c == '>' || c.is_ascii_whitespace() || c.is_ascii_control() {
                // Writing to a String cannot fail.
                let _ = write!(subject, "%{:02X}", c as u32);
            } else {
                subject.push(c);
            }
        }
    }
    subject
}

/// The event name a subject under `prefix` stands for, or `None` when the
/// subject is not under `prefix` (or is `prefix` itself).
pub fn to_name(prefix: &str, subject: &str) -> Option<String> {
    let rest = subject.strip_prefix(prefix)?.strip_prefix('.')?;
    let mut name = String::with_capacity(rest.len());
    for (i, token) in rest.split('.').enumerate() {
        if i > 0 {
            name.push('.');
        }
        if token == "%" {
            continue;
        }
        decode_token(token, &mut name);
    }
    Some(name)
}

/// An event name as the value of the `Eventcast-Name` header: the name
/// itself, with `%` and ASCII control characters (which a header value
/// cannot hold) escaped as `%XX`.
pub fn to_header_value(name: &str) -> String {
    let mut value = String::with_capacity(name.len());
    for c in name.chars() {
        if c == '%' || c.is_ascii_control() {
            let _ = write!(value, "%{:02X}", c as u32);
        } else {
            value.push(c);
        }
    }
    value
}

/// The event name an `Eventcast-Name` header value stands for.
pub fn from_header_value(value: &str) -> String {
    let mut name = String::with_capacity(value.len());
    decode_token(value, &mut name);
    name
}

/// Appends `token` to `out` with its `%XX` escapes decoded.
fn decode_token(token: &str, out: &mut String) {
    let mut rest = token;
    while let Some(at) = rest.find('%') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        match after
            .get(..2)
            .and_then(|hex| u8::from_str_radix(hex, 16).ok())
            .filter(u8::is_ascii)
        {
            Some(byte) => {
                out.push(char::from(byte));
                rest = &after[2..];
            }
            None => {
                out.push('%');
                rest = after;
            }
        }
    }
    out.push_str(rest);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_names_map_token_for_token() {
        assert_eq!(to_subject("eventcast", "greet"), "eventcast.greet");
        assert_eq!(to_subject("site.a", "sensor.t1"), "site.a.sensor.t1");
        assert_eq!(to_subject("p", "température"), "p.température");
        assert_eq!(to_name("p", "p.sensor.t1").as_deref(), Some("sensor.t1"));
    }

    #[test]
    fn forbidden_characters_are_escaped() {
        assert_eq!(to_subject("p", "a b"), "p.a%20b");
        assert_eq!(to_subject("p", "a*"), "p.a%2A");
        assert_eq!(to_subject("p", ">"), "p.%3E");
        assert_eq!(to_subject("p", "100%"), "p.100%25");
        assert_eq!(to_subject("p", "a\tb\n"), "p.a%09b%0A");
        assert_eq!(to_subject("p", "a..b"), "p.a.%.b");
        assert_eq!(to_subject("p", ".a."), "p.%.a.%");
        assert_eq!(to_subject("p", ""), "p.%");
    }

    #[test]
    fn every_name_round_trips() {
        for name in [
            "",
            ".",
            "..",
            "a",
            "a.b",
            "a..b",
            ".a",
            "a.",
            "%",
            "%%",
            "%25",
            "%2",
            "a b.c*d>e",
            "*",
            "**",
            ">",
            "\u{0}",
            "x\u{7f}y",
            "é.ü",
            "100% sure",
            "%.%",
            " . ",
        ] {
            let subject = to_subject("eventcast", name);
            assert!(
                !subject.chars().any(|c| c.is_ascii_whitespace()),
                "{name:?} -> {subject:?}"
            );
            for token in subject.split('.') {
                assert!(!token.is_empty(), "{name:?} -> {subject:?}");
                assert!(token != "*" && token != ">", "{name:?} -> {subject:?}");
                assert!(!token.contains('*') && !token.contains('>'));
            }
            assert_eq!(
                to_name("eventcast", &subject).as_deref(),
                Some(name),
                "{subject:?}"
            );
        }
    }

    #[test]
    fn header_values_round_trip() {
        for name in ["greet", "a b.c", "100%", "line\r\nbreak", "é"] {
            let value = to_header_value(name);
            assert!(!value.contains('\r') && !value.contains('\n'));
            assert_eq!(from_header_value(&value), name);
        }
        assert_eq!(to_header_value("a b.c"), "a b.c");
    }

    #[test]
    fn foreign_subjects_decode_leniently() {
        assert_eq!(to_name("p", "p.fromcloud").as_deref(), Some("fromcloud"));
        assert_eq!(to_name("p", "p.50%off").as_deref(), Some("50%off"));
        assert_eq!(to_name("p", "p.%zz").as_deref(), Some("%zz"));
        assert_eq!(to_name("p", "p.%C3%A9").as_deref(), Some("%C3%A9"));
        assert_eq!(to_name("p", "p.a%"), Some("a%".to_owned()));
        assert_eq!(to_name("p", "p"), None);
        assert_eq!(to_name("p", "px.a"), None);
        assert_eq!(to_name("p", "q.a"), None);
    }

    #[test]
    fn prefixes_are_checked() {
        check_prefix("eventcast").unwrap();
        check_prefix("site.lab-1").unwrap();
        for bad in ["", ".", "a.", ".a", "a..b", "a b", "a.*", "a.>", "a*"] {
            assert!(check_prefix(bad).is_err(), "{bad:?}");
        }
    }
}
