//! What `top` counts: events and bytes by event name and by sender, their
//! rates over the latest tick, losses; and the sorted rows it shows. A
//! leaf: it knows events and losses, nothing of terminals.

use std::cmp::Ordering;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use eventcast::SenderId;

/// Columns `top` can sort by (`s` moves to the next).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SortBy {
    /// Events per second, highest first.
    Rate,
    /// Bytes per second.
    ByteRate,
    /// Events in all.
    Events,
    /// Most recently seen first.
    LastSeen,
    /// Alphabetical.
    Name,
}

impl SortBy {
    /// The next column, round and round.
    pub(crate) fn next(self) -> Self {
        match self {
            SortBy::Rate => SortBy::ByteRate,
            SortBy::ByteRate => SortBy::Events,
            SortBy::Events => SortBy::LastSeen,
            SortBy::LastSeen => SortBy::Name,
            SortBy::Name => SortBy::Rate,
        }
    }

    /// Its name, for the header.
    pub(crate) fn label(self) -> &'static str {
        match self {
            SortBy::Rate => "events/s",
            SortBy::ByteRate => "bytes/s",
            SortBy::Events => "events",
            SortBy::LastSeen => "last seen",
            SortBy::Name => "name",
        }
    }
}

/// Counts of one name, one sender, or all.
#[derive(Clone, Debug)]
struct Counter {
    events: u64,
    bytes: u64,
    last: Option<Instant>,
    /// At the latest tick.
    events_then: u64,
    bytes_then: u64,
    event_rate: f64,
    byte_rate: f64,
    lost: u64,
}

impl Counter {
    fn new() -> Self {
        Self {
            events: 0,
            bytes: 0,
            last: None,
            events_then: 0,
            bytes_then: 0,
            event_rate: 0.0,
            byte_rate: 0.0,
            lost: 0,
        }
    }

    fn add(&mut self, bytes: u64, now: Instant) {
        self.events += 1;
        self.bytes += bytes;
        self.last = Some(now);
    }

    fn tick(&mut self, secs: f64) {
        if secs > 0.0 {
            self.event_rate = (self.events - self.events_then) as f64 / secs;
            self.byte_rate = (self.bytes - self.bytes_then) as f64 / secs;
        }
        self.events_then = self.events;
        self.bytes_then = self.bytes;
    }

    fn row(&self, label: String, address: String, now: Instant) -> Row {
        Row {
            label,
            address,
            events: self.events,
            bytes: self.bytes,
            event_rate: self.event_rate,
            byte_rate: self.byte_rate,
            since_last: self.last.map(|t| now.saturating_duration_since(t)),
            lost: self.lost,
        }
    }
}

/// One line of a table.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Row {
    /// The event name or the sender id.
    pub(crate) label: String,
    /// The sender's address (empty for names).
    pub(crate) address: String,
    pub(crate) events: u64,
    pub(crate) bytes: u64,
    pub(crate) event_rate: f64,
    pub(crate) byte_rate: f64,
    /// How long since the latest event; `None`: none yet.
    pub(crate) since_last: Option<Duration>,
    /// Events reported lost.
    pub(crate) lost: u64,
}

/// What the screen shows at one moment.
#[derive(Clone, Debug)]
pub(crate) struct Snapshot {
    pub(crate) total: Row,
    pub(crate) names: Vec<Row>,
    pub(crate) senders: Vec<Row>,
    /// From the node's counters.
    pub(crate) repairs: u64,
    pub(crate) kernel_drops: u64,
    pub(crate) uptime: Duration,
    pub(crate) sort: SortBy,
    pub(crate) reverse: bool,
}

/// The counts since `top` started.
pub(crate) struct Model {
    started: Instant,
    last_tick: Instant,
    total: Counter,
    names: HashMap<String, Counter>,
    senders: HashMap<SenderId, (Counter, Option<SocketAddr>)>,
}

impl Model {
    pub(crate) fn new(now: Instant) -> Self {
        Self {
            started: now,
            last_tick: now,
            total: Counter::new(),
            names: HashMap::new(),
            senders: HashMap::new(),
        }
    }

    /// One event of `bytes` bytes.
    pub(crate) fn event(
        &mut self,
        name: &str,
        sender: SenderId,
        from: Option<SocketAddr>,
        bytes: u64,
        now: Instant,
    ) {
        self.total.add(bytes, now);
        match self.names.get_mut(name) {
            Some(counter) => counter.add(bytes, now),
            None => {
                let mut counter = Counter::new();
                counter.add(bytes, now);
                self.names.insert(name.to_owned(), counter);
            }
        }
        let (counter, address) = self
            .senders
            .entry(sender)
            .or_insert_with(|| (Counter::new(), from));
        counter.add(bytes, now);
        if from.is_some() {
            *address = from;
        }
    }

    /// `count` events of `sender` reported lost.
    pub(crate) fn loss(&mut self, sender: SenderId, count: u64) {
        self.total.lost += count;
        let (counter, _) = self
            .senders
            .entry(sender)
            .or_insert_with(|| (Counter::new(), None));
        counter.lost += count;
    }

    /// Computes the rates since the previous tick.
    pub(crate) fn tick(&mut self, now: Instant) {
        let secs = now.saturating_duration_since(self.last_tick).as_secs_f64();
        self.last_tick = now;
        self.total.tick(secs);
        self.names.values_mut().for_each(|c| c.tick(secs));
        self.senders.values_mut().for_each(|(c, _)| c.tick(secs));
    }

    /// The rows, sorted.
    pub(crate) fn snapshot(&self, now: Instant, sort: SortBy, reverse: bool) -> Snapshot {
        let mut names: Vec<Row> = self
            .names
            .iter()
            .map(|(name, c)| c.row(name.clone(), String::new(), now))
            .collect();
        let mut senders: Vec<Row> = self
            .senders
            .iter()
            .map(|(id, (c, addr))| {
                let address = addr.map(|a| a.to_string()).unwrap_or_else(|| "-".into());
                c.row(id.to_string(), address, now)
            })
            .collect();
        for rows in [&mut names, &mut senders] {
            rows.sort_by(|a, b| compare(a, b, sort));
            if reverse {
                rows.reverse();
            }
        }
        Snapshot {
            total: self.total.row("all".into(), String::new(), now),
            names,
            senders,
            repairs: 0,
            kernel_drops: 0,
            uptime: now.saturating_duration_since(self.started),
            sort,
            reverse,
        }
    }
}

/// `sort`'s order, then by label so that equal rows keep their place.
fn compare(a: &Row, b: &Row, sort: SortBy) -> Ordering {
    let first = match sort {
        SortBy::Rate => b.event_rate.total_cmp(&a.event_rate),
        SortBy::ByteRate => b.byte_rate.total_cmp(&a.byte_rate),
        SortBy::Events => b.events.cmp(&a.events),
        // Seen most recently (smallest `since_last`) first; never seen last.
        SortBy::LastSeen => match (a.since_last, b.since_last) {
            (Some(x), Some(y)) => x.cmp(&y),
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (None, None) => Ordering::Equal,
        },
        SortBy::Name => Ordering::Equal,
    };
    first.then_with(|| a.label.cmp(&b.label))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_rates_and_sorts() {
        let t0 = Instant::now();
        let mut model = Model::new(t0);
        let a = SenderId::new(1);
        let b = SenderId::new(2);
        let from: SocketAddr = "10.0.0.1:4000".parse().unwrap();
        for _ in 0..10 {
            model.event("fast", a, Some(from), 100, t0);
        }
        model.event("slow", b, None, 5000, t0 + Duration::from_millis(500));
        model.loss(b, 3);
        let t1 = t0 + Duration::from_secs(2);
        model.tick(t1);
        let s = model.snapshot(t1, SortBy::Rate, false);
        assert_eq!(s.total.events, 11);
        assert_eq!(s.total.lost, 3);
        assert_eq!(s.names[0].label, "fast");
        assert_eq!(s.names[0].event_rate, 5.0);
        assert_eq!(s.names[0].byte_rate, 500.0);
        let s = model.snapshot(t1, SortBy::ByteRate, false);
        assert_eq!(s.names[0].label, "slow");
        let s = model.snapshot(t1, SortBy::LastSeen, false);
        assert_eq!(s.names[0].label, "slow");
        assert_eq!(s.names[0].since_last, Some(Duration::from_millis(1500)));
        let s = model.snapshot(t1, SortBy::Name, true);
        assert_eq!(s.names[0].label, "slow");
        assert_eq!(s.senders.len(), 2);
        let sender_b = s.senders.iter().find(|r| r.label == b.to_string()).unwrap();
        assert_eq!((sender_b.lost, sender_b.address.as_str()), (3, "-"));
        // No events since: the rates fall to zero at the next tick.
        model.tick(t1 + Duration::from_secs(1));
        let s = model.snapshot(t1, SortBy::Rate, false);
        assert_eq!(s.total.event_rate, 0.0);
    }
}
