//! The `time` field: JavaScript's `Date.prototype.toISOString()`.

use bson::DateTime;

/// Formats `t` as JavaScript's `toISOString()` does, the form the original
/// puts in `time`: `YYYY-MM-DDTHH:mm:ss.sssZ`, always with milliseconds, and
/// with a signed six-digit year outside 0000..=9999.
pub fn js_iso_string(t: DateTime) -> String {
    let ms = t.timestamp_millis();
    let days = ms.div_euclid(86_400_000);
    let in_day = ms.rem_euclid(86_400_000);
    let (year, month, day) = civil_from_days(days);
    let (h, m, s, milli) = (
        in_day / 3_600_000,
        in_day / 60_000 % 60,
        in_day / 1000 % 60,
        in_day % 1000,
    );
    let year = if (0..=9999).contains(&year) {
        format!("{year:04}")
    } else if year < 0 {
        format!("-{:06}", year.unsigned_abs())
    } else {
        format!("+{year:06}")
    };
    format!("{year}-{month:02}-{day:02}T{h:02}:{m:02}:{s:02}.{milli:03}Z")
}

/// The proleptic Gregorian date of a count of days since 1970-01-01
/// (Howard Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn iso(ms: i64) -> String {
        js_iso_string(DateTime::from_millis(ms))
    }

    #[test]
    fn like_javascript() {
        // Values checked against node: new Date(ms).toISOString()
        assert_eq!(iso(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(iso(1_383_000_000_000), "2013-10-28T22:40:00.000Z");
        assert_eq!(iso(1_795_238_379_911), "2026-11-21T05:19:39.911Z");
        assert_eq!(iso(951_782_400_000), "2000-02-29T00:00:00.000Z");
        assert_eq!(iso(-1), "1969-12-31T23:59:59.999Z");
        assert_eq!(iso(-62_167_219_200_000), "0000-01-01T00:00:00.000Z");
        assert_eq!(iso(-62_167_219_200_001), "-000001-12-31T23:59:59.999Z");
        assert_eq!(iso(253_402_300_800_000), "+010000-01-01T00:00:00.000Z");
        assert_eq!(iso(8_640_000_000_000_000), "+275760-09-13T00:00:00.000Z");
    }

    #[test]
    fn never_panics_at_the_extremes() {
        let _ = iso(i64::MIN);
        let _ = iso(i64::MAX);
    }
}
