//! The goals of the bench's ratios, in one table: the report judges the
//! figures by it (`target_met`, the `target` texts of the JSON) and the
//! printed table shows it (the `target` column).

/// How a ratio is held against its goal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Comparison {
    /// The ratio is to be at least the value.
    AtLeast,
    /// The ratio is to be at most the value.
    AtMost,
}

/// The goal of one ratio.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Target {
    /// The ratio it is for.
    pub(crate) name: &'static str,
    /// The figure the ratio belongs to (numbered as in issue 6).
    pub(crate) figure: u8,
    /// Whether the ratio is to stay above or below `value`.
    pub(crate) comparison: Comparison,
    /// The bound.
    pub(crate) value: f64,
}

/// Every goal, by figure: issue 12's (small events at 4 times raw UDP's
/// datagram rate, large events at 0.8 of its MB/s); issue 6 set the first
/// ones (1.0 and 0.5).
pub(crate) const TARGETS: [Target; 5] = [
    Target {
        name: "small events delivered/s",
        figure: 1,
        comparison: Comparison::AtLeast,
        value: 4.0,
    },
    Target {
        name: "round trip p50",
        figure: 2,
        comparison: Comparison::AtMost,
        value: 1.3,
    },
    Target {
        name: "round trip p99",
        figure: 2,
        comparison: Comparison::AtMost,
        value: 1.5,
    },
    Target {
        name: "large event MB/s",
        figure: 3,
        comparison: Comparison::AtLeast,
        value: 0.8,
    },
    Target {
        name: "encrypted / plaintext",
        figure: 5,
        comparison: Comparison::AtLeast,
        value: 0.85,
    },
];

/// Figure 1: small events delivered per second, over raw UDP's.
pub(crate) const SMALL_EVENTS: Target = TARGETS[0];
/// Figure 2: the median round trip, over raw UDP's.
pub(crate) const LATENCY_P50: Target = TARGETS[1];
/// Figure 2: the 99th percentile round trip, over raw UDP's.
pub(crate) const LATENCY_P99: Target = TARGETS[2];
/// Figure 3: MB/s of a large event, over raw UDP's.
pub(crate) const LARGE_EVENTS: Target = TARGETS[3];
/// Figure 5: eventcast with a key, over plaintext eventcast.
pub(crate) const ENCRYPTION: Target = TARGETS[4];

impl Target {
    /// Whether `ratio` meets the goal.
    pub(crate) fn met(self, ratio: f64) -> bool {
        match self.comparison {
            Comparison::AtLeast => ratio >= self.value,
            Comparison::AtMost => ratio <= self.value,
        }
    }

    /// `>=` or `<=`.
    pub(crate) fn sign(self) -> &'static str {
        match self.comparison {
            Comparison::AtLeast => ">=",
            Comparison::AtMost => "<=",
        }
    }

    /// `ratio >= 0.85`, as the JSON's `target` texts say it (the value
    /// with as many decimals as it has, and at least one).
    pub(crate) fn clause(self) -> String {
        format!("ratio {} {:?}", self.sign(), self.value)
    }

    /// The value as a share in words: `85%`, or `4 times` from 1 up.
    pub(crate) fn share(self) -> String {
        if self.value >= 1.0 {
            format!("{} times", self.value)
        } else {
            format!("{:.0}%", self.value * 100.0)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_name_is_the_goal_of_its_figure() {
        let named = [
            (SMALL_EVENTS, 1),
            (LATENCY_P50, 2),
            (LATENCY_P99, 2),
            (LARGE_EVENTS, 3),
            (ENCRYPTION, 5),
        ];
        for (target, figure) in named {
            assert_eq!(target.figure, figure, "{target:?}");
        }
        let mut names: Vec<_> = TARGETS.iter().map(|t| t.name).collect();
        names.dedup();
        assert_eq!(names.len(), TARGETS.len());
        assert!(TARGETS.windows(2).all(|w| w[0].figure <= w[1].figure));
    }

    #[test]
    fn goals_read_as_the_json_says_them() {
        assert_eq!(SMALL_EVENTS.clause(), "ratio >= 4.0");
        assert_eq!(LATENCY_P50.clause(), "ratio <= 1.3");
        assert_eq!(ENCRYPTION.clause(), "ratio >= 0.85");
        assert_eq!(LARGE_EVENTS.share(), "80%");
        assert!(SMALL_EVENTS.met(4.0) && !SMALL_EVENTS.met(3.99));
        assert_eq!(ENCRYPTION.share(), "85%");
        assert!(LATENCY_P99.met(1.5) && !LATENCY_P99.met(1.51));
        assert!(ENCRYPTION.met(0.85) && !ENCRYPTION.met(0.84));
    }
}
