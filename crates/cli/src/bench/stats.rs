//! The statistics of the figures: min / median / max over repeated runs,
//! percentiles of round trips, ratios that are undefined rather than
//! infinite when the baseline is zero.

use serde::Serialize;

/// Minimum, median and maximum of one figure over repeated runs.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub(crate) struct Summary {
    /// The smallest value.
    pub(crate) min: f64,
    /// The median (the mean of the two middle values for an even count).
    pub(crate) median: f64,
    /// The largest value.
    pub(crate) max: f64,
    /// How many runs gave a value.
    pub(crate) runs: usize,
}

impl Summary {
    /// The summary of the finite values among `values`; `None` when there
    /// is none (every run failed to give a value).
    pub(crate) fn of(values: &[f64]) -> Option<Summary> {
        let sorted = sorted_finite(values);
        Some(Summary {
            min: *sorted.first()?,
            median: median_of_sorted(&sorted)?,
            max: *sorted.last()?,
            runs: sorted.len(),
        })
    }
}

/// The finite values of `values`, in increasing order.
pub(crate) fn sorted_finite(values: &[f64]) -> Vec<f64> {
    let mut sorted: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    sorted.sort_by(f64::total_cmp);
    sorted
}

fn median_of_sorted(sorted: &[f64]) -> Option<f64> {
    let n = sorted.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(sorted[n / 2]),
        _ => Some((sorted[n / 2 - 1] + sorted[n / 2]) / 2.0),
    }
}

/// The `p`th percentile (0 < `p` <= 100) of values sorted in increasing
/// order, by the nearest-rank method: the smallest value that at least
/// `p`% of the values are less than or equal to. `p` of 0 or less gives the
/// minimum. `None` for no values.
pub(crate) fn percentile(sorted: &[f64], p: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let n = sorted.len();
    let rank = (p.clamp(0.0, 100.0) / 100.0 * n as f64).ceil() as usize;
    Some(sorted[rank.clamp(1, n) - 1])
}

/// `value / base`, or `None` when either is missing or not finite, or the
/// base is zero.
pub(crate) fn ratio(value: Option<f64>, base: Option<f64>) -> Option<f64> {
    match (value, base) {
        (Some(v), Some(b)) if v.is_finite() && b.is_finite() && b != 0.0 => Some(v / b),
        _ => None,
    }
}

/// The median of a summary, if there is one.
pub(crate) fn median(summary: Option<Summary>) -> Option<f64> {
    summary.map(|s| s.median)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_of_odd_and_even_counts() {
        let s = Summary::of(&[5.0, 1.0, 3.0]).unwrap();
        assert_eq!((s.min, s.median, s.max, s.runs), (1.0, 3.0, 5.0, 3));
        let s = Summary::of(&[4.0, 1.0, 3.0, 2.0]).unwrap();
        assert_eq!((s.min, s.median, s.max, s.runs), (1.0, 2.5, 4.0, 4));
        let s = Summary::of(&[7.0]).unwrap();
        assert_eq!((s.min, s.median, s.max, s.runs), (7.0, 7.0, 7.0, 1));
    }

    #[test]
    fn summary_ignores_values_that_are_not_finite() {
        let s = Summary::of(&[f64::NAN, 2.0, f64::INFINITY, 4.0]).unwrap();
        assert_eq!((s.min, s.median, s.max, s.runs), (2.0, 3.0, 4.0, 2));
        assert_eq!(Summary::of(&[]), None);
        assert_eq!(Summary::of(&[f64::NAN]), None);
    }

    #[test]
    fn percentiles_by_nearest_rank() {
        let values: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&values, 50.0), Some(50.0));
        assert_eq!(percentile(&values, 99.0), Some(99.0));
        assert_eq!(percentile(&values, 100.0), Some(100.0));
        assert_eq!(percentile(&values, 0.0), Some(1.0));
        assert_eq!(percentile(&values, 0.5), Some(1.0));
        // Ten values: the 99th percentile is the largest, the median the fifth.
        let ten: Vec<f64> = (1..=10).map(f64::from).collect();
        assert_eq!(percentile(&ten, 99.0), Some(10.0));
        assert_eq!(percentile(&ten, 50.0), Some(5.0));
        assert_eq!(percentile(&[3.0], 99.0), Some(3.0));
        assert_eq!(percentile(&[], 50.0), None);
    }

    #[test]
    fn ratios_are_undefined_without_a_baseline() {
        assert_eq!(ratio(Some(3.0), Some(2.0)), Some(1.5));
        assert_eq!(ratio(Some(0.0), Some(2.0)), Some(0.0));
        assert_eq!(ratio(Some(3.0), Some(0.0)), None);
        assert_eq!(ratio(None, Some(2.0)), None);
        assert_eq!(ratio(Some(1.0), None), None);
        assert_eq!(ratio(Some(f64::NAN), Some(1.0)), None);
    }

    #[test]
    fn sorted_finite_sorts_and_filters() {
        assert_eq!(
            sorted_finite(&[3.0, f64::NAN, -1.0, 2.0]),
            vec![-1.0, 2.0, 3.0]
        );
    }
}
