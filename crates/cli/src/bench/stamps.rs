//! Figure 8's clock: each event's send and arrival time on the host's
//! `CLOCK_MONOTONIC`, the clock every process of one host shares (LCM's
//! `bench/lcm/oneway.c` stamps its messages with it). The sender reports
//! when it handed each event to the API (or, raw UDP, its first datagram
//! to the socket), each receiver when it had each event whole; the parent
//! subtracts. It needs both roles on one host, which the bench's runs are.
//! Every flow figure's transfer is timed on the same clock
//! (`Sent::start_ns` to `Received::last_ns`).

/// Nanoseconds on `CLOCK_MONOTONIC`; `None` where there is no such clock.
pub(crate) fn monotonic_ns() -> Option<u64> {
    #[cfg(unix)]
    {
        let mut ts = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: `ts` is a valid, writable timespec for the duration of
        // the call; clock_gettime writes nothing else.
        let rc = unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
        if rc != 0 {
            return None;
        }
        let secs = u64::try_from(ts.tv_sec).ok()?;
        let nanos = u64::try_from(ts.tv_nsec).ok()?;
        secs.checked_mul(1_000_000_000)?.checked_add(nanos)
    }
    #[cfg(not(unix))]
    {
        None
    }
}

/// A receiver's arrival times, by event number (from 0, the start marker
/// not counted); empty unless the role was asked for them.
#[derive(Clone, Debug, Default)]
pub(crate) struct Arrivals {
    times: Vec<Option<u64>>,
    /// The start marker's number in an eventcast sender's stream.
    marker: Option<u64>,
}

impl Arrivals {
    /// Room for `events` arrivals when `stamped`, else none kept.
    pub(crate) fn new(stamped: bool, events: u64) -> Self {
        let len = if stamped {
            usize::try_from(events).unwrap_or(0)
        } else {
            0
        };
        Arrivals {
            times: vec![None; len],
            marker: None,
        }
    }

    /// The start marker arrived with number `seq` in its sender's stream
    /// (the first one counts).
    pub(crate) fn marker(&mut self, seq: Option<u64>) {
        if self.marker.is_none() {
            self.marker = seq;
        }
    }

    /// An eventcast event numbered `seq` in its sender's stream is whole
    /// now: event `seq - marker - 1`, or, without both numbers, the
    /// `order`th to arrive (from 0; a sender's events arrive in order).
    pub(crate) fn arrived_seq(&mut self, seq: Option<u64>, order: u64) {
        let index = match (self.marker, seq) {
            (Some(marker), Some(seq)) => seq.wrapping_sub(marker).wrapping_sub(1),
            _ => order,
        };
        self.arrived(index);
    }

    /// Event `index` is whole now (the first time counts; an index out of
    /// range, which a stray datagram could carry, is ignored).
    pub(crate) fn arrived(&mut self, index: u64) {
        let Some(slot) = usize::try_from(index)
            .ok()
            .and_then(|i| self.times.get_mut(i))
        else {
            return;
        };
        if slot.is_none() {
            *slot = monotonic_ns();
        }
    }

    /// The times, for the report.
    pub(crate) fn into_vec(self) -> Vec<Option<u64>> {
        self.times
    }
}

/// One-way milliseconds of each event: its arrival less its send time,
/// `None` for an event that did not arrive (or has no send time).
pub(crate) fn one_way_ms(sent_ns: &[u64], arrived_ns: &[Option<u64>]) -> Vec<Option<f64>> {
    sent_ns
        .iter()
        .enumerate()
        .map(|(i, &sent)| {
            let arrived = arrived_ns.get(i).copied().flatten()?;
            let ns = arrived.checked_sub(sent)?;
            Some(ns as f64 / 1e6)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_clock_runs_forward() {
        let a = monotonic_ns().unwrap();
        let b = monotonic_ns().unwrap();
        assert!(b >= a);
    }

    #[test]
    fn arrivals_keep_the_first_time_of_each_event() {
        let mut arrivals = Arrivals::new(true, 3);
        arrivals.arrived(1);
        let first = arrivals.times[1];
        arrivals.arrived(1);
        arrivals.arrived(7);
        assert_eq!(arrivals.times[1], first);
        let times = arrivals.into_vec();
        assert_eq!(times.len(), 3);
        assert!(times[0].is_none() && times[1].is_some() && times[2].is_none());
        assert!(Arrivals::new(false, 3).into_vec().is_empty());
    }

    #[test]
    fn eventcast_events_are_numbered_from_the_marker() {
        let mut arrivals = Arrivals::new(true, 3);
        arrivals.arrived_seq(Some(12), 0);
        assert!(arrivals.times[0].is_some(), "no marker yet: in order");
        let mut arrivals = Arrivals::new(true, 3);
        arrivals.marker(Some(10));
        arrivals.marker(Some(50));
        arrivals.arrived_seq(Some(13), 0);
        arrivals.arrived_seq(Some(10), 1);
        assert!(arrivals.times[2].is_some());
        assert!(arrivals.times[0].is_none() && arrivals.times[1].is_none());
        let mut unnumbered = Arrivals::new(true, 3);
        unnumbered.arrived_seq(None, 1);
        assert!(unnumbered.times[1].is_some());
    }

    #[test]
    fn one_way_is_arrival_less_send() {
        let sent = [1_000_000, 2_000_000, 3_000_000];
        let arrived = [Some(1_500_000), None, Some(2_000_000)];
        let ms = one_way_ms(&sent, &arrived);
        assert_eq!(ms, vec![Some(0.5), None, None]);
        assert_eq!(one_way_ms(&sent, &[]), vec![None, None, None]);
    }
}
