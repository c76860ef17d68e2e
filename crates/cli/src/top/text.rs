//! How `top` writes numbers, and its plain-text summary (stdout not a
//! terminal).

use std::fmt::Write as _;
use std::time::Duration;

use super::model::{Row, Snapshot};
use crate::json::size;

/// `12/s`, `1.5/s`, `0/s`.
fn rate(per_sec: f64) -> String {
    if per_sec >= 100.0 || per_sec == per_sec.trunc() {
        format!("{per_sec:.0}/s")
    } else {
        format!("{per_sec:.1}/s")
    }
}

/// `1.5 KiB/s`.
fn byte_rate(per_sec: f64) -> String {
    format!("{}/s", size(per_sec as usize))
}

/// `0.3s`, `42s`, `5m`, `2h`, `-` (never).
fn ago(since: Option<Duration>) -> String {
    match since {
        None => "-".into(),
        Some(d) if d < Duration::from_secs(10) => format!("{:.1}s", d.as_secs_f64()),
        Some(d) if d < Duration::from_secs(120) => format!("{}s", d.as_secs()),
        Some(d) if d < Duration::from_secs(7200) => format!("{}m", d.as_secs() / 60),
        Some(d) => format!("{}h", d.as_secs() / 3600),
    }
}

/// The header: the totals, then the losses, repairs, kernel drops and
/// uptime (two lines in the terminal view: one would not fit 80 columns
/// once the counts grow; one line of plain text).
pub(crate) fn header(s: &Snapshot) -> [String; 2] {
    [
        format!(
            "{} events ({}), {} ({})",
            s.total.events,
            rate(s.total.event_rate),
            size(s.total.bytes as usize),
            byte_rate(s.total.byte_rate),
        ),
        format!(
            "lost {}, repaired {}, kernel drops {}, up {}s",
            s.total.lost,
            s.repairs,
            s.kernel_drops,
            s.uptime.as_secs()
        ),
    ]
}

/// The plain summary: the header, then a table of names and one of
/// senders, then a blank line.
pub(crate) fn plain(s: &Snapshot) -> String {
    let mut out = format!("eventcast top: {}\n", header(s).join(", "));
    let order = if s.reverse { ", reversed" } else { "" };
    let _ = writeln!(out, "sorted by {}{order}", s.sort.label());
    let _ = writeln!(
        out,
        "{:<24} {:>10} {:>9} {:>10} {:>12} {:>6}",
        "NAME", "EVENTS", "EVENTS/S", "BYTES", "BYTES/S", "LAST"
    );
    for row in &s.names {
        let [label, events, event_rate, bytes, byte_rate, last] = name_cells(row);
        let _ = writeln!(
            out,
            "{label:<24} {events:>10} {event_rate:>9} {bytes:>10} {byte_rate:>12} {last:>6}"
        );
    }
    let _ = writeln!(
        out,
        "{:<16} {:<22} {:>10} {:>9} {:>6} {:>6}",
        "SENDER", "ADDRESS", "EVENTS", "EVENTS/S", "LOST", "LAST"
    );
    for row in &s.senders {
        let [label, address, events, event_rate, lost, last] = sender_cells(row);
        let _ = writeln!(
            out,
            "{label:<16} {address:<22} {events:>10} {event_rate:>9} {lost:>6} {last:>6}"
        );
    }
    out.push('\n');
    out
}

/// The cells of an event name's row, in both views: name, events,
/// events/s, bytes, bytes/s, last seen.
pub(crate) fn name_cells(row: &Row) -> [String; 6] {
    [
        row.label.clone(),
        row.events.to_string(),
        rate(row.event_rate),
        size(row.bytes as usize),
        byte_rate(row.byte_rate),
        ago(row.since_last),
    ]
}

/// The cells of a sender's row, in both views: sender, address, events,
/// events/s, lost, last seen.
pub(crate) fn sender_cells(row: &Row) -> [String; 6] {
    [
        row.label.clone(),
        row.address.clone(),
        row.events.to_string(),
        rate(row.event_rate),
        row.lost.to_string(),
        ago(row.since_last),
    ]
}

/// `address` in `width` columns: whole when it fits, else its start, `…`
/// and its end from the scope or the port on
/// (`[fe80::c39:b0ff:fe…%3]:41234`): the port tells two senders of one
/// host apart, and was cut off with the end.
pub(crate) fn fit_address(address: &str, width: usize) -> String {
    if address.chars().count() <= width {
        return address.to_owned();
    }
    let tail_at = ['%', ']', ':']
        .iter()
        .find_map(|&c| address.rfind(c))
        .unwrap_or(address.len());
    let tail = &address[tail_at..];
    match width.checked_sub(tail.len() + 1) {
        Some(head) if head > 0 => format!("{}…{tail}", address.get(..head).unwrap_or("")),
        // Not even the end fits: its last columns.
        _ => address
            .get(address.len().saturating_sub(width)..)
            .unwrap_or(address)
            .to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_for_people() {
        assert_eq!(rate(0.0), "0/s");
        assert_eq!(rate(1.25), "1.2/s");
        assert_eq!(rate(250.4), "250/s");
        assert_eq!(byte_rate(1536.0), "1.5 KiB/s");
        assert_eq!(ago(None), "-");
        assert_eq!(ago(Some(Duration::from_millis(300))), "0.3s");
        assert_eq!(ago(Some(Duration::from_secs(300))), "5m");
    }

    #[test]
    fn addresses_keep_their_port_when_cut() {
        let v6 = "[fe80::c39:b0ff:fee3:e75e%3]:41234";
        assert_eq!(fit_address(v6, 40), v6);
        assert_eq!(fit_address(v6, 35), v6);
        assert_eq!(fit_address(v6, 28), "[fe80::c39:b0ff:fe…%3]:41234");
        assert_eq!(
            fit_address("[2001:db8::1234:5678:9abc]:41234", 20),
            "[2001:db8::1…]:41234"
        );
        assert_eq!(fit_address("10.200.0.2:41234", 12), "10.20…:41234");
        assert_eq!(fit_address("10.200.0.2:41234", 5), "41234");
        assert_eq!(fit_address("-", 10), "-");
    }
}
