//! The cells of the bench's table: a row of label, raw UDP, eventcast,
//! ratio and target; numbers with thousands separators, sizes as people
//! write them, summaries as `median [min-max]`, and the rows laid out in
//! aligned columns.

use super::stats::Summary;
use super::targets::{Comparison, Target};

/// One line of the table; a section heading has only a label.
pub(crate) struct Row {
    pub(crate) label: String,
    pub(crate) raw: String,
    pub(crate) eventcast: String,
    pub(crate) ratio: String,
    pub(crate) target: String,
}

impl Row {
    pub(crate) fn heading(label: impl Into<String>) -> Row {
        Row {
            label: label.into(),
            raw: String::new(),
            eventcast: String::new(),
            ratio: String::new(),
            target: String::new(),
        }
    }

    pub(crate) fn new(label: impl Into<String>, raw: String, eventcast: String) -> Row {
        Row {
            label: format!("    {}", label.into()),
            raw,
            eventcast,
            ratio: String::new(),
            target: String::new(),
        }
    }

    pub(crate) fn ratio(mut self, ratio: Option<f64>) -> Row {
        self.ratio = ratio.map_or_else(|| "-".into(), |r| format!("{r:.2}"));
        self
    }

    pub(crate) fn target(mut self, target: Target, ratio: Option<f64>) -> Row {
        self.target = judge(target, ratio);
        self
    }
}

/// `>= 1.00 met`, `>= 1.00 MISSED by 48%`.
fn judge(target: Target, ratio: Option<f64>) -> String {
    let (sign, goal) = (target.sign(), target.value);
    let short = ratio.map(|r| match target.comparison {
        Comparison::AtLeast => (goal - r) / goal,
        Comparison::AtMost => (r - goal) / goal,
    });
    match short {
        None => format!("{sign} {goal:.2}"),
        Some(s) if s <= 0.0 => format!("{sign} {goal:.2} met"),
        Some(s) => format!("{sign} {goal:.2} MISSED by {:.0}%", s * 100.0),
    }
}

/// `1 MiB`, `16 MiB`, `100 KiB`, `1000 B`.
pub(crate) fn bytes(n: usize) -> String {
    match n {
        n if n >= 1 << 20 && n % (1 << 20) == 0 => format!("{} MiB", n >> 20),
        n if n >= 1 << 10 && n % (1 << 10) == 0 => format!("{} KiB", n >> 10),
        n => format!("{n} B"),
    }
}

/// `186,012`.
pub(crate) fn count(v: f64) -> String {
    let n = v.round() as i64;
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 {
        out.insert(0, '-');
    }
    out
}

/// `median [min-max]` with `fmt` for each number; `-` without values.
pub(crate) fn summary(s: Option<Summary>, fmt: impl Fn(f64) -> String) -> String {
    match s {
        None => "-".into(),
        Some(s) if s.min == s.max => fmt(s.median),
        Some(s) => format!("{} [{}-{}]", fmt(s.median), fmt(s.min), fmt(s.max)),
    }
}

pub(crate) fn decimals(places: usize) -> impl Fn(f64) -> String {
    move |v| format!("{v:.places$}")
}

pub(crate) fn mib(kib: f64) -> String {
    format!("{:.1}", kib / 1024.0)
}

/// The rows in aligned columns; a heading runs across.
pub(crate) fn layout(rows: &[Row]) -> String {
    let width = |f: fn(&Row) -> &String| {
        rows.iter()
            .filter(|r| !r.raw.is_empty() || !r.eventcast.is_empty())
            .map(|r| f(r).chars().count())
            .max()
            .unwrap_or(0)
    };
    let w = [
        width(|r| &r.label),
        width(|r| &r.raw),
        width(|r| &r.eventcast),
        width(|r| &r.ratio),
    ];
    let pad = |s: &str, w: usize| format!("{s}{}", " ".repeat(w.saturating_sub(s.chars().count())));
    let mut out = String::new();
    for r in rows {
        let line = if r.raw.is_empty() && r.eventcast.is_empty() && r.ratio.is_empty() {
            r.label.clone()
        } else {
            format!(
                "{}  {}  {}  {}  {}",
                pad(&r.label, w[0]),
                pad(&r.raw, w[1]),
                pad(&r.eventcast, w[2]),
                pad(&r.ratio, w[3]),
                r.target
            )
        };
        out += line.trim_end();
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_have_thousands_separators() {
        assert_eq!(count(186_012.4), "186,012");
        assert_eq!(count(1_000_000.0), "1,000,000");
        assert_eq!(count(999.0), "999");
        assert_eq!(count(0.0), "0");
        assert_eq!(count(-1234.0), "-1,234");
    }

    #[test]
    fn targets_say_by_how_much_they_are_missed() {
        let goal = |comparison, value| Target {
            name: "test",
            figure: 0,
            comparison,
            value,
        };
        let at_least = |value| goal(Comparison::AtLeast, value);
        let at_most = |value| goal(Comparison::AtMost, value);
        assert_eq!(judge(at_least(1.0), Some(0.52)), ">= 1.00 MISSED by 48%");
        assert_eq!(judge(at_least(0.5), Some(0.6)), ">= 0.50 met");
        assert_eq!(judge(at_most(1.3), Some(1.69)), "<= 1.30 MISSED by 30%");
        assert_eq!(judge(at_most(1.5), Some(1.2)), "<= 1.50 met");
        assert_eq!(judge(at_most(1.5), None), "<= 1.50");
    }

    #[test]
    fn sizes_read_as_people_write_them() {
        assert_eq!(bytes(1 << 20), "1 MiB");
        assert_eq!(bytes(16 << 20), "16 MiB");
        assert_eq!(bytes(100 * 1024), "100 KiB");
        assert_eq!(bytes(1000), "1000 B");
    }

    #[test]
    fn summaries_show_the_median_first() {
        let s = Summary::of(&[3.0, 1.0, 2.0]);
        assert_eq!(summary(s, decimals(1)), "2.0 [1.0-3.0]");
        assert_eq!(summary(Summary::of(&[4.0]), decimals(0)), "4");
        assert_eq!(summary(None, decimals(0)), "-");
    }
}
