//! Event arguments for people: a short one-line rendering, and sizes.
//!
//! The Extended JSON conversion itself lives in the library
//! ([`eventcast::extjson`]), shared with the REPL; it is re-exported here
//! under the names the commands use.

use std::fmt::Write as _;

use bson::Bson;

pub(crate) use eventcast::extjson::{parse_arg, ExtJson, Relaxed};

/// Strings and binaries longer than this are shown by their size.
const SHORT_TEXT: usize = 40;

/// Arrays and documents show at most this many elements.
const SHORT_ITEMS: usize = 8;

/// A one-line rendering of an argument list for people, like
/// `"hello", 5, {"$date":"2013-10-28T22:40:00Z"}`: relaxed Extended JSON, with
/// long strings and binaries cut and their size shown, and long arrays and
/// documents cut after a few elements. Never as long as a large argument.
pub(crate) fn abbreviate(args: &[Bson]) -> String {
    let mut out = String::new();
    for (i, arg) in args.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        abbreviate_into(arg, &mut out);
    }
    out
}

fn abbreviate_into(value: &Bson, out: &mut String) {
    match value {
        Bson::String(text) if text.len() > SHORT_TEXT => {
            let start: String = text.chars().take(12).collect();
            let start = serde_json::to_string(&start).unwrap_or_default();
            let _ = write!(
                out,
                "{}…\" (string of {})",
                start.trim_end_matches('"'),
                size(text.len())
            );
        }
        Bson::Binary(binary) if binary.bytes.len() > SHORT_TEXT => {
            let _ = write!(out, "<binary, {}>", size(binary.bytes.len()));
        }
        Bson::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().take(SHORT_ITEMS).enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                abbreviate_into(item, out);
            }
            if items.len() > SHORT_ITEMS {
                let _ = write!(out, ", … {} more", items.len() - SHORT_ITEMS);
            }
            out.push(']');
        }
        Bson::Document(doc) => {
            out.push('{');
            for (i, (key, item)) in doc.iter().take(SHORT_ITEMS).enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                let _ = write!(out, "{}: ", serde_json::to_string(key).unwrap_or_default());
                abbreviate_into(item, out);
            }
            if doc.len() > SHORT_ITEMS {
                let _ = write!(out, ", … {} more", doc.len() - SHORT_ITEMS);
            }
            out.push('}');
        }
        other => out.push_str(&serde_json::to_string(&Relaxed(other)).unwrap_or_default()),
    }
}

/// `1 MiB`, `1.5 KiB`, `17 bytes`.
pub(crate) fn size(bytes: usize) -> String {
    const KIB: usize = 1024;
    const MIB: usize = 1024 * 1024;
    let (unit, name) = match bytes {
        b if b >= MIB => (MIB, "MiB"),
        b if b >= KIB => (KIB, "KiB"),
        1 => return "1 byte".to_owned(),
        b => return format!("{b} bytes"),
    };
    if bytes % unit == 0 {
        format!("{} {name}", bytes / unit)
    } else {
        format!("{:.1} {name}", bytes as f64 / unit as f64)
    }
}

/// `1 event`, `2 events`, `0 events`.
pub(crate) fn plural(n: u64, what: &str) -> String {
    match n {
        1 => format!("1 {what}"),
        n => format!("{n} {what}s"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bson::doc;

    #[test]
    fn plural_says_one_without_s() {
        assert_eq!(plural(1, "event"), "1 event");
        assert_eq!(plural(0, "event"), "0 events");
        assert_eq!(plural(2, "loss report"), "2 loss reports");
    }

    #[test]
    fn abbreviated_for_people() {
        let big = "x".repeat(1 << 20);
        let args = vec![
            Bson::from("hello"),
            Bson::Int32(5),
            Bson::String(big),
            Bson::Array((0..10).map(Bson::Int32).collect()),
            Bson::Document(doc! {"a": 1}),
        ];
        let short = abbreviate(&args);
        assert_eq!(
            short,
            "\"hello\", 5, \"xxxxxxxxxxxx…\" (string of 1 MiB), \
             [0, 1, 2, 3, 4, 5, 6, 7, … 2 more], {\"a\": 1}"
        );
        assert_eq!(abbreviate(&[]), "");
    }

    #[test]
    fn sizes() {
        assert_eq!(size(0), "0 bytes");
        assert_eq!(size(1), "1 byte");
        assert_eq!(size(1023), "1023 bytes");
        assert_eq!(size(1024), "1 KiB");
        assert_eq!(size(1536), "1.5 KiB");
        assert_eq!(size(1 << 20), "1 MiB");
        assert_eq!(size((1 << 20) + 26), "1.0 MiB");
    }
}
