//! Event-name patterns for wildcard listeners, EventEmitter2-style with `.`
//! as the separator.
//!
//! A name is split at every `.` into segments (`sensor.kitchen.temp` has
//! three; `a..b` has an empty one in the middle). A pattern is any name
//! with a `*` in it, and each of its segments is one of:
//!
//! - `*`: exactly one segment, whatever it holds (an empty one too);
//! - `**`: any number of segments, none included: `sensor.**` matches
//!   `sensor`, `sensor.a` and `sensor.a.b`; `**.temp` matches `temp` and
//!   `a.b.temp`; `a.**.b` matches `a.b` and `a.x.y.b`; `**` alone matches
//!   every name;
//! - any other text without `*`: that segment, exactly.
//!
//! A pattern is refused, with the reason, when a segment mixes `*` with
//! other characters (`sensor*`, `a.**b`, `***`), when a segment is empty
//! (`sensor.`, `.*`, `a..*`), or when `**` follows `**` (`a.**.**`: one
//! already matches any number of segments).
//!
//! A leaf module: it knows names and patterns, nothing of listeners or
//! nodes.

use std::str::Split;

/// Whether `name` is a pattern (has a `*`) rather than an exact name.
pub(crate) fn is_pattern(name: &str) -> bool {
    name.contains('*')
}

/// A checked pattern, ready to match names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Pattern {
    segments: Vec<Segment>,
}

/// One segment of a pattern.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Segment {
    /// This text, exactly.
    Literal(String),
    /// `*`: exactly one segment.
    One,
    /// `**`: any number of segments, none included.
    Any,
}

impl Pattern {
    /// Checks `pattern`; the error names it and says what is wrong.
    pub(crate) fn parse(pattern: &str) -> Result<Self, PatternError> {
        let fault = |kind| PatternError {
            pattern: pattern.to_owned(),
            kind,
        };
        let mut segments = Vec::new();
        for (i, text) in pattern.split('.').enumerate() {
            let position = i + 1;
            let segment = match text {
                "" => return Err(fault(PatternErrorKind::EmptySegment { position })),
                "*" => Segment::One,
                "**" if segments.last() == Some(&Segment::Any) => {
                    return Err(fault(PatternErrorKind::RepeatedGlobstar { position }))
                }
                "**" => Segment::Any,
                text if text.contains('*') => {
                    return Err(fault(PatternErrorKind::PartialWildcard {
                        position,
                        text: text.to_owned(),
                    }))
                }
                text => Segment::Literal(text.to_owned()),
            };
            segments.push(segment);
        }
        Ok(Self { segments })
    }

    /// Whether the event name `name` matches.
    ///
    /// Greedy with one backtracking point, as glob matchers do: a `**`
    /// first matches no segment, and on a later mismatch the latest `**`
    /// takes one more segment and matching resumes after it. Earlier `**`s
    /// never need to take more, so the work is at most the product of the
    /// two lengths, and nothing is allocated.
    pub(crate) fn matches(&self, name: &str) -> bool {
        let pattern = &self.segments;
        let mut p = 0;
        let mut rest = name.split('.');
        // After the latest `**`: where the pattern goes on, and the name's
        // segments from where that `**` stops taking them.
        let mut retry: Option<(usize, Split<'_, char>)> = None;
        loop {
            let mut after = rest.clone();
            let Some(segment) = after.next() else {
                // The name is used up: what is left must match nothing.
                return pattern[p..].iter().all(|s| *s == Segment::Any);
            };
            match pattern.get(p) {
                Some(Segment::Any) => {
                    p += 1;
                    retry = Some((p, rest.clone()));
                    continue;
                }
                Some(Segment::One) => {
                    p += 1;
                    rest = after;
                    continue;
                }
                Some(Segment::Literal(text)) if text == segment => {
                    p += 1;
                    rest = after;
                    continue;
                }
                _ => {}
            }
            // A mismatch, or the pattern is used up before the name.
            let Some((resume, taken)) = retry.as_mut() else {
                return false;
            };
            // The latest `**` takes one more segment (there is one: it
            // starts no later than `rest`, which has `segment`).
            taken.next();
            p = *resume;
            rest = taken.clone();
        }
    }
}

/// A pattern given to [`on`](crate::Eventcast::on),
/// [`once`](crate::Eventcast::once) or
/// [`subscribe_to`](crate::Eventcast::subscribe_to) that cannot work: the
/// pattern and what is wrong with it. Nothing is registered.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("bad event pattern {pattern:?}: {kind}")]
pub struct PatternError {
    pattern: String,
    kind: PatternErrorKind,
}

impl PatternError {
    /// The pattern as it was given.
    pub fn pattern(&self) -> &str {
        &self.pattern
    }

    /// What is wrong with it.
    pub fn kind(&self) -> &PatternErrorKind {
        &self.kind
    }
}

/// What is wrong with a pattern. Positions count segments from 1.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PatternErrorKind {
    /// A segment has a `*` but is neither `*` nor `**` (`sensor*`, `a.**b`,
    /// `***`).
    #[error(
        "segment {position} {text:?} is neither a name nor a wildcard: \
         `*` and `**` stand alone between dots"
    )]
    PartialWildcard {
        /// Which segment.
        position: usize,
        /// The segment.
        text: String,
    },
    /// A segment is empty: the pattern starts or ends with a dot, or has
    /// two in a row (`sensor.`, `.*`, `a..*`).
    #[error("segment {position} is empty: a pattern has no leading, trailing or doubled dots")]
    EmptySegment {
        /// Which segment.
        position: usize,
    },
    /// `**` right after `**` (`a.**.**`).
    #[error(
        "segment {position} is `**` right after `**`: \
         one `**` already matches any number of segments"
    )]
    RepeatedGlobstar {
        /// Which segment (the second `**`).
        position: usize,
    },
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn matches(pattern: &str, name: &str) -> bool {
        Pattern::parse(pattern)
            .unwrap_or_else(|e| panic!("{e}"))
            .matches(name)
    }

    #[test]
    fn one_segment() {
        assert!(matches("sensor.*", "sensor.a"));
        assert!(matches("sensor.*", "sensor."), "an empty segment is one");
        assert!(!matches("sensor.*", "sensor"));
        assert!(!matches("sensor.*", "sensor.a.b"));
        assert!(!matches("sensor.*", "sensors.a"));
        assert!(matches("*", "anything"));
        assert!(!matches("*", "a.b"));
        assert!(matches("*.*.c", "a.b.c"));
        assert!(matches("a.*.c", "a.*.c"), "a `*` in a name is text");
    }

    #[test]
    fn any_segments() {
        for name in ["sensor", "sensor.a", "sensor.a.b", "sensor..x"] {
            assert!(matches("sensor.**", name), "{name}");
        }
        assert!(!matches("sensor.**", "sensors"));
        assert!(!matches("sensor.**", "other.sensor"));
        for name in ["", "a", "a.b.c", "..", "*"] {
            assert!(matches("**", name), "{name:?}");
        }
        assert!(matches("**.temp", "temp"));
        assert!(matches("**.temp", "a.b.temp"));
        assert!(!matches("**.temp", "a.temp.b"));
        assert!(matches("a.**.b", "a.b"));
        assert!(matches("a.**.b", "a.x.y.b"));
        assert!(matches("a.**.b", "a.b.b.b"));
        assert!(!matches("a.**.b", "a.b.c"));
        assert!(matches("**.a.**", "x.a.y"));
        assert!(matches("**.a.**.b.**", "a.b"));
        assert!(!matches("**.a.**.b.**", "b.a"));
        assert!(matches("*.**", "a"));
        assert!(matches("*.**", ""), "the empty name is one empty segment");
        assert!(!matches("*.*.**", "a"));
        assert!(matches("**.*", "a.b"));
        assert!(!matches("a.**.*", "a"));
    }

    #[test]
    fn bad_patterns_say_what_is_wrong() {
        for (pattern, kind) in [
            (
                "sensor*",
                PatternErrorKind::PartialWildcard {
                    position: 1,
                    text: "sensor*".into(),
                },
            ),
            (
                "a.**b",
                PatternErrorKind::PartialWildcard {
                    position: 2,
                    text: "**b".into(),
                },
            ),
            (
                "***",
                PatternErrorKind::PartialWildcard {
                    position: 1,
                    text: "***".into(),
                },
            ),
            ("sensor.*.", PatternErrorKind::EmptySegment { position: 3 }),
            (".*", PatternErrorKind::EmptySegment { position: 1 }),
            ("a..*", PatternErrorKind::EmptySegment { position: 2 }),
            ("", PatternErrorKind::EmptySegment { position: 1 }),
            (
                "a.**.**",
                PatternErrorKind::RepeatedGlobstar { position: 3 },
            ),
        ] {
            let error = Pattern::parse(pattern).expect_err(pattern);
            assert_eq!(error.pattern(), pattern);
            assert_eq!(error.kind(), &kind, "{pattern}");
        }
        assert_eq!(
            Pattern::parse("a.**b").unwrap_err().to_string(),
            "bad event pattern \"a.**b\": segment 2 \"**b\" is neither a name nor a \
             wildcard: `*` and `**` stand alone between dots"
        );
        // Not repeated: something stands between them.
        assert!(Pattern::parse("**.*.**").is_ok());
    }

    #[test]
    fn is_pattern_is_any_star() {
        assert!(is_pattern("a*"));
        assert!(is_pattern("**"));
        assert!(!is_pattern("sensor.a"));
    }

    /// A pattern segment for the property tests, with its text.
    fn segment() -> impl Strategy<Value = Segment> {
        prop_oneof![
            3 => "[ab]{0,1}".prop_map(Segment::Literal),
            1 => Just(Segment::One),
            1 => Just(Segment::Any),
        ]
    }

    fn text(segments: &[Segment]) -> String {
        segments
            .iter()
            .map(|s| match s {
                Segment::Literal(text) => text.as_str(),
                Segment::One => "*",
                Segment::Any => "**",
            })
            .collect::<Vec<_>>()
            .join(".")
    }

    /// The definition, by recursion: obviously right, exponential.
    fn model(pattern: &[Segment], name: &[&str]) -> bool {
        match pattern.split_first() {
            None => name.is_empty(),
            Some((Segment::Any, rest)) => (0..=name.len()).any(|k| model(rest, &name[k..])),
            Some((Segment::One, rest)) => !name.is_empty() && model(rest, &name[1..]),
            Some((Segment::Literal(text), rest)) => {
                name.first() == Some(&text.as_str()) && model(rest, &name[1..])
            }
        }
    }

    proptest! {
        /// Any pattern that parses matches exactly the names the model
        /// says; any that does not parse breaks one of the rules.
        #[test]
        fn matcher_agrees_with_the_model(
            segments in proptest::collection::vec(segment(), 1..7),
            name in "[ab.]{0,9}",
        ) {
            let pattern = text(&segments);
            match Pattern::parse(&pattern) {
                Ok(parsed) => {
                    let parts: Vec<&str> = name.split('.').collect();
                    prop_assert_eq!(
                        parsed.matches(&name),
                        model(&parsed.segments, &parts),
                        "{} against {:?}", pattern, name
                    );
                }
                Err(error) => {
                    let empty = segments.iter().any(|s| *s == Segment::Literal(String::new()));
                    let repeated = segments
                        .windows(2)
                        .any(|w| w[0] == Segment::Any && w[1] == Segment::Any);
                    prop_assert!(empty || repeated, "{}", error);
                }
            }
        }

        /// Replacing segments of a name by `*`, or runs of them by `**`,
        /// gives a pattern that matches it.
        #[test]
        fn a_name_with_wildcards_for_segments_matches(
            parts in proptest::collection::vec("[a-z0-9_-]{1,5}", 1..8),
            stars in proptest::collection::vec(0u8..4, 8),
        ) {
            let name = parts.join(".");
            let mut pattern = Vec::new();
            let mut i = 0;
            while i < parts.len() {
                match stars[i] {
                    // `*` for this one.
                    1 => pattern.push("*".to_owned()),
                    // `**` for this one and the next (or none of them).
                    2 if pattern.last().map(String::as_str) != Some("**") => {
                        pattern.push("**".to_owned());
                        i += 1;
                    }
                    3 if pattern.last().map(String::as_str) != Some("**") => {
                        pattern.push("**".to_owned());
                        pattern.push(parts[i].clone());
                    }
                    _ => pattern.push(parts[i].clone()),
                }
                i += 1;
            }
            let pattern = pattern.join(".");
            let parsed = Pattern::parse(&pattern);
            prop_assert!(parsed.is_ok(), "{}: {:?}", pattern, parsed);
            prop_assert!(
                parsed.is_ok_and(|p| p.matches(&name)),
                "{} should match {}", pattern, name
            );
        }
    }
}
