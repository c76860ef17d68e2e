//! A command line cut into words, so that arguments read as they do on the
//! shell command line of `eventcast emit`:
//!
//! - words are separated by spaces or tabs;
//! - `'single quotes'` group text, spaces included, without escapes (as in
//!   the shell); the text inside is then read like any argument;
//! - a word that starts with `{`, `[` or `"` runs to the end of that JSON
//!   value, spaces inside included (`{"a": 1, "b": [1, 2]}` is one word);
//!   if the value never ends, the word ends at the next space;
//! - anything else runs to the next space.

use bson::Bson;

use crate::extjson::{self, ExtJsonError};

/// One word of a command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Token {
    /// The word, without its single quotes.
    text: String,
    /// Whether it was in single quotes.
    quoted: bool,
}

impl Token {
    /// The word as an event argument: Extended JSON when it is JSON, else a
    /// string (as `eventcast emit` reads its arguments).
    pub(super) fn to_arg(&self) -> Result<Bson, ExtJsonError> {
        extjson::parse_arg(&self.text)
    }

    /// The word as a name: its text, or the string itself when it is a JSON
    /// string in double quotes (`"my event"`).
    pub(super) fn to_name(&self) -> String {
        if !self.quoted && self.text.starts_with('"') {
            if let Ok(name) = serde_json::from_str::<String>(&self.text) {
                return name;
            }
        }
        self.text.clone()
    }

    /// The word as written, for keywords (command names, levels).
    pub(super) fn as_str(&self) -> &str {
        &self.text
    }
}

/// Cuts `line` into words; an unterminated single quote is an error.
pub(super) fn split(line: &str) -> Result<Vec<Token>, String> {
    let mut tokens = Vec::new();
    let mut rest = line.trim_start_matches(is_space);
    while let Some(first) = rest.chars().next() {
        let (token, after) = match first {
            '\'' => {
                let inner = &rest[1..];
                let end = inner
                    .find('\'')
                    .ok_or_else(|| "unterminated ' quote".to_owned())?;
                (
                    Token {
                        text: inner[..end].to_owned(),
                        quoted: true,
                    },
                    &inner[end + 1..],
                )
            }
            '{' | '[' | '"' => {
                let end = json_end(rest).unwrap_or_else(|| bare_end(rest));
                // Text glued to the value's end belongs to the word.
                let end = end + bare_end(&rest[end..]);
                (bare(&rest[..end]), &rest[end..])
            }
            _ => {
                let end = bare_end(rest);
                (bare(&rest[..end]), &rest[end..])
            }
        };
        tokens.push(token);
        rest = after.trim_start_matches(is_space);
    }
    Ok(tokens)
}

fn bare(text: &str) -> Token {
    Token {
        text: text.to_owned(),
        quoted: false,
    }
}

fn is_space(c: char) -> bool {
    c == ' ' || c == '\t'
}

/// Where the word starting `text` ends: at the first space or the end.
fn bare_end(text: &str) -> usize {
    text.find(is_space).unwrap_or(text.len())
}

/// Where the JSON value starting `text` ends (brackets balanced, strings
/// with their escapes skipped), if it does.
fn json_end(text: &str) -> Option<usize> {
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for (i, c) in text.char_indices() {
        if in_string {
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => {
                    in_string = false;
                    if depth == 0 {
                        return Some(i + 1);
                    }
                }
                _ => {}
            }
            continue;
        }
        match c {
            '"' => in_string = true,
            '{' | '[' => depth += 1,
            '}' | ']' => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return Some(i + 1);
                }
            }
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(line: &str) -> Vec<String> {
        split(line)
            .unwrap()
            .into_iter()
            .map(|t| t.as_str().to_owned())
            .collect()
    }

    #[test]
    fn plain_words() {
        assert_eq!(
            words("  emit  greet\thello 5 "),
            ["emit", "greet", "hello", "5"]
        );
        assert!(words("").is_empty());
        assert!(words(" \t ").is_empty());
    }

    #[test]
    fn json_values_keep_their_spaces() {
        assert_eq!(
            words(
                r#"emit x {"a": 1, "b": [1, "2 3"]} [1, 2] "two words" {"$date": "2013-10-28T22:40:00Z"}"#
            ),
            [
                "emit",
                "x",
                r#"{"a": 1, "b": [1, "2 3"]}"#,
                "[1, 2]",
                r#""two words""#,
                r#"{"$date": "2013-10-28T22:40:00Z"}"#
            ]
        );
        // Brackets and escaped quotes inside strings do not count.
        assert_eq!(words(r#"{"a": "}\" ]"} x"#), [r#"{"a": "}\" ]"}"#, "x"]);
    }

    #[test]
    fn unfinished_json_is_a_plain_word() {
        assert_eq!(words("emit x {not json"), ["emit", "x", "{not", "json"]);
        assert_eq!(words(r#""abc def"#), [r#""abc"#, "def"]);
        assert_eq!(words("] x"), ["]", "x"]);
        assert_eq!(words("{a}b c"), ["{a}b", "c"]);
    }

    #[test]
    fn single_quotes_group_text() {
        let tokens = split("emit 'my event' 'hello world' '5' ''").unwrap();
        assert_eq!(tokens[1].to_name(), "my event");
        assert_eq!(tokens[2].to_arg().unwrap(), Bson::from("hello world"));
        // As in the shell: '5' is the text 5, read as the number 5.
        assert_eq!(tokens[3].to_arg().unwrap(), Bson::Int32(5));
        assert_eq!(tokens[4].to_arg().unwrap(), Bson::from(""));
        assert_eq!(split("emit 'oops").unwrap_err(), "unterminated ' quote");
    }

    #[test]
    fn arguments_as_on_the_command_line() {
        let tokens = split(r#"hello 5 "5" [1,2] {"a":1} {"$date":"soon"} "x y""#).unwrap();
        assert_eq!(tokens[0].to_arg().unwrap(), Bson::from("hello"));
        assert_eq!(tokens[1].to_arg().unwrap(), Bson::Int32(5));
        assert_eq!(tokens[2].to_arg().unwrap(), Bson::from("5"));
        assert!(matches!(tokens[3].to_arg().unwrap(), Bson::Array(_)));
        assert!(matches!(tokens[4].to_arg().unwrap(), Bson::Document(_)));
        assert!(tokens[5].to_arg().is_err());
        assert_eq!(tokens[6].to_name(), "x y");
        assert_eq!(tokens[0].to_name(), "hello");
    }
}
