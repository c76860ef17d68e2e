//! The parsers of option values that clap does not have: each refuses a
//! bad value with a message naming it.

use std::net::IpAddr;
use std::time::Duration;

use eventcast::WireProtocol;

/// Parses a multicast group address.
pub(crate) fn parse_group(text: &str) -> Result<IpAddr, String> {
    let ip: IpAddr = text
        .parse()
        .map_err(|_| format!("`{text}` is not an IP address"))?;
    if ip.is_multicast() {
        Ok(ip)
    } else {
        Err(format!(
            "{ip} is not a multicast address (224.0.0.0/4 or ff00::/8)"
        ))
    }
}

/// Parses a wire protocol name.
pub(crate) fn parse_protocol(text: &str) -> Result<WireProtocol, String> {
    match text {
        "native" => Ok(WireProtocol::Native),
        "legacy-v3" => Ok(WireProtocol::LegacyV3),
        _ => Err(format!(
            "`{text}` is not a protocol: native, or legacy-v3 (eventcast 0.1.x)"
        )),
    }
}

/// The longest timeout taken: a hundred years, for ever in effect. A
/// deadline is the time now plus the timeout, which must fit an `Instant`
/// (a timeout of 1e19 s fits a `Duration`, not that).
pub(crate) const MAX_TIMEOUT: Duration = Duration::from_secs(100 * 365 * 24 * 60 * 60);

/// Parses a number of seconds, fractions allowed (`10`, `0.5`), at most
/// [`MAX_TIMEOUT`]; every duration option takes it. Each way to be wrong
/// has its message: not a number (`NaN` included), below 0, or too long
/// (however long: `1e15`, `1e300`, `inf`).
pub(crate) fn parse_seconds(text: &str) -> Result<Duration, String> {
    let not_a_number = || format!("`{text}` is not a number of seconds (like 10 or 0.5)");
    let secs: f64 = text.trim().parse().map_err(|_| not_a_number())?;
    if secs.is_nan() {
        return Err(not_a_number());
    }
    if secs < 0.0 {
        return Err(format!(
            "`{text}` is not a duration: give 0 or more seconds"
        ));
    }
    // Compared as numbers first: past `Duration::MAX` (1.8e19 s) there is
    // no `Duration` to compare.
    let too_long = || format!("`{text}` seconds is more than a hundred years");
    if secs > MAX_TIMEOUT.as_secs_f64() {
        return Err(too_long());
    }
    // `abs`: -0 is 0.
    let duration = Duration::try_from_secs_f64(secs.abs()).map_err(|_| too_long())?;
    if duration > MAX_TIMEOUT {
        return Err(too_long());
    }
    Ok(duration)
}

/// Parses a byte count for an option: digits, optionally followed by a unit
/// K, M or G (powers of 1024: KiB, MiB, GiB), in any case, with or without
/// a trailing `B` or `iB` (`65536`, `64K`, `64kb`, `10MiB`, `1g`). Zero is
/// refused: no option takes an empty size. `T` is the option's type; a
/// count it cannot hold is refused.
pub(crate) fn parse_bytes<T: TryFrom<u64>>(text: &str) -> Result<T, String> {
    let trimmed = text.trim();
    let digits = trimmed.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    let unit = &trimmed[digits.len()..];
    let n: u64 = digits
        .trim()
        .parse()
        .map_err(|_| format!("`{text}` is not a number of bytes (like 1000000, 64K, 64M or 1G)"))?;
    let shift = match unit.to_ascii_uppercase().as_str() {
        "" | "B" => 0,
        "K" | "KB" | "KIB" => 10,
        "M" | "MB" | "MIB" => 20,
        "G" | "GB" | "GIB" => 30,
        _ => {
            return Err(format!(
                "`{text}`: unknown unit `{unit}` (use K, M or G, powers of 1024)"
            ))
        }
    };
    if n == 0 {
        return Err(format!("`{text}`: give more than 0 bytes"));
    }
    n.checked_mul(1 << shift)
        .and_then(|n| T::try_from(n).ok())
        .ok_or_else(|| format!("`{text}` is too large"))
}

/// Checks a `tracing` filter (`debug`, `eventcast=trace,warn`).
pub(crate) fn parse_log_filter(text: &str) -> Result<String, String> {
    tracing_subscriber::EnvFilter::builder()
        .parse(text)
        .map(|_| text.to_owned())
        .map_err(|e| format!("`{text}` is not a log level or filter ({e})"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_counts() {
        assert_eq!(parse_bytes::<u64>("65536"), Ok(65536));
        assert_eq!(parse_bytes::<u64>(" 64K "), Ok(65536));
        assert_eq!(parse_bytes::<u64>("64 KiB"), Ok(65536));
        assert_eq!(parse_bytes::<u64>("2k"), Ok(2048));
        assert_eq!(parse_bytes::<u64>("2kb"), Ok(2048));
        assert_eq!(parse_bytes::<u64>("10MiB"), Ok(10 << 20));
        assert_eq!(parse_bytes::<u64>("64M"), Ok(64 << 20));
        assert_eq!(parse_bytes::<u64>("1g"), Ok(1 << 30));
        assert_eq!(parse_bytes::<u64>("1GB"), Ok(1 << 30));
        assert_eq!(parse_bytes::<u64>("100b"), Ok(100));
        assert_eq!(parse_bytes::<usize>("1M"), Ok(1 << 20));
    }

    #[test]
    fn bad_byte_counts_name_the_value() {
        for (text, reason) in [
            ("ten", "not a number of bytes"),
            ("", "not a number of bytes"),
            ("-5", "not a number of bytes"),
            ("1.5M", "not a number of bytes"),
            ("M", "not a number of bytes"),
            ("5X", "unknown unit `X`"),
            ("5 TB", "unknown unit `TB`"),
            ("0", "more than 0"),
            ("0K", "more than 0"),
            ("99999999999G", "too large"),
        ] {
            let err = parse_bytes::<u64>(text).unwrap_err();
            assert!(err.contains(&format!("`{text}`")), "{text:?}: {err}");
            assert!(err.contains(reason), "{text:?}: {err}");
        }
        let err = parse_bytes::<u16>("64K").unwrap_err();
        assert!(err.contains("`64K` is too large"), "{err}");
    }

    #[test]
    fn seconds() {
        assert_eq!(parse_seconds("10"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_seconds("0.25"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_seconds("0"), Ok(Duration::ZERO));
        assert!(parse_seconds("-1").unwrap_err().contains("0 or more"));
        assert!(parse_seconds("inf").is_err());
        assert!(parse_seconds("NaN").is_err());
        assert!(parse_seconds("soon").unwrap_err().contains("not a number"));
        assert!(parse_seconds("3153600000").is_ok());
        // Fits a Duration, not a deadline: `listen --timeout 1e19` panicked.
        assert!(parse_seconds("1e19").unwrap_err().contains("hundred years"));
    }

    /// Trial item 12: 1e20 and 1e300 were "not a duration: give 0 or more
    /// seconds", though positive; 1e15 was "more than a hundred years".
    #[test]
    fn every_too_long_duration_is_too_long() {
        for text in [
            "1e15", "1e19", "1e20", "1e300", "1.8e308", "inf", "+inf", "infinity",
        ] {
            let err = parse_seconds(text).unwrap_err();
            assert!(err.contains("more than a hundred years"), "{text}: {err}");
            assert!(!err.contains("0 or more"), "{text}: {err}");
        }
        for text in ["-1", "-0.5", "-1e300", "-inf"] {
            let err = parse_seconds(text).unwrap_err();
            assert!(err.contains("0 or more"), "{text}: {err}");
        }
        for text in ["NaN", "nan", "-nan"] {
            let err = parse_seconds(text).unwrap_err();
            assert!(err.contains("not a number of seconds"), "{text}: {err}");
        }
        assert_eq!(parse_seconds("-0"), Ok(Duration::ZERO));
        assert_eq!(parse_seconds("1e-300"), Ok(Duration::ZERO));
        assert_eq!(
            parse_seconds(&MAX_TIMEOUT.as_secs().to_string()),
            Ok(MAX_TIMEOUT)
        );
    }

    #[test]
    fn log_filters() {
        assert!(parse_log_filter("debug").is_ok());
        assert!(parse_log_filter("eventcast=trace,warn").is_ok());
        assert!(parse_log_filter("eventcast=loud").is_err());
    }
}
