//! Another bridge for the same prefix on the same LAN: found, reported,
//! and kept from doubling events.
//!
//! Every bridge announces itself on NATS (`_EVENTCAST.bridges.PREFIX`,
//! every [`announce_interval`](crate::BridgeConfig::announce_interval))
//! with its id, site and the sender id of its eventcast node. Bridge B
//! finds bridge A on its LAN when:
//!
//! - B hears on the LAN an event from A's node (A emitted it from NATS), or
//! - B receives from NATS, published by A, an event whose sender B heard
//!   on its own LAN (or B's own node: A heard what B emitted).
//!
//! Either way B drops that event (this is what would loop), reports A once,
//! and the bridge with the higher id stands by (publishes and emits
//! nothing) while the other keeps announcing itself. Announcements list
//! the bridges found on the announcer's LAN, so that A learns of B even
//! when B stood by before A saw anything of it.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use crate::headers::MAX_ID_LEN;
use crate::notice::BridgeNotice;

/// How many sender ids of each kind are remembered at most.
const MAX_REMEMBERED: usize = 4096;

/// How many bridges found on this LAN are remembered at most (there is
/// one other, rarely a few).
const MAX_ON_LAN: usize = 256;

/// How many bridges are reported at most over the bridge's life; beyond,
/// another is counted, not reported.
const MAX_REPORTED: usize = 1024;

/// The longest site name kept (longer ones are cut, on a character
/// boundary): only said in notices.
const MAX_SITE_LEN: usize = 256;

/// Another bridge as it announced itself.
#[derive(Debug, Clone)]
struct Announced {
    bridge: String,
    site: String,
    last: Instant,
}

/// When each of [`Rivals`]' bounded tables was last pruned (see [`prune`]).
#[derive(Debug, Default)]
struct Pruned {
    by_node: Option<Instant>,
    last_seen: Option<Instant>,
    lan_senders: Option<Instant>,
    on_lan: Option<Instant>,
}

/// What this bridge knows of the others.
#[derive(Debug)]
pub(crate) struct Rivals {
    me: String,
    /// By the sender id of their node.
    by_node: HashMap<String, Announced>,
    /// Bridge id to the last time it announced itself.
    last_seen: HashMap<String, Instant>,
    /// Bridges found on this LAN: id to site.
    on_lan: HashMap<String, String>,
    /// Sender ids heard on this LAN, and when.
    lan_senders: HashMap<String, Instant>,
    /// Bridges found on this LAN already reported.
    reported: HashSet<String>,
    /// Announcements, bridges found and reports not remembered because
    /// their table was full or an id was too long.
    not_remembered: u64,
    /// When each table was last pruned.
    pruned: Pruned,
    /// How long an announcement keeps a bridge alive.
    alive: Duration,
    standing_by: bool,
}

impl Rivals {
    pub(crate) fn new(me: String, announce_interval: Duration) -> Self {
        Rivals {
            me,
            by_node: HashMap::new(),
            last_seen: HashMap::new(),
            on_lan: HashMap::new(),
            lan_senders: HashMap::new(),
            reported: HashSet::new(),
            not_remembered: 0,
            pruned: Pruned::default(),
            alive: announce_interval * 3,
            standing_by: false,
        }
    }

    /// Another bridge's announcement; `on_lan` lists the bridges it found
    /// on its LAN.
    pub(crate) fn announced(
        &mut self,
        now: Instant,
        bridge: &str,
        site: &str,
        node: &str,
        on_lan: &[String],
    ) {
        if bridge == self.me {
            return;
        }
        if bridge.len() > MAX_ID_LEN || node.len() > MAX_ID_LEN {
            self.not_remembered += 1;
            return;
        }
        let site = cut(site);
        if on_lan.contains(&self.me) {
            self.note_on_lan(now, bridge, site);
        }
        let alive = self.alive;
        prune(
            &mut self.by_node,
            MAX_REMEMBERED,
            now,
            &mut self.pruned.by_node,
            |_, a| now.saturating_duration_since(a.last) < alive,
        );
        prune(
            &mut self.last_seen,
            MAX_REMEMBERED,
            now,
            &mut self.pruned.last_seen,
            |_, t| now.saturating_duration_since(*t) < alive,
        );
        if !self.by_node.contains_key(node) && self.by_node.len() >= MAX_REMEMBERED
            || !self.last_seen.contains_key(bridge) && self.last_seen.len() >= MAX_REMEMBERED
        {
            self.not_remembered += 1;
            return;
        }
        self.by_node.insert(
            node.to_owned(),
            Announced {
                bridge: bridge.to_owned(),
                site: site.to_owned(),
                last: now,
            },
        );
        self.last_seen.insert(bridge.to_owned(), now);
    }

    /// An event heard on the LAN from `sender`: `false` when it is another
    /// bridge's emit (found on this LAN, then), which must not be published.
    pub(crate) fn lan_event(&mut self, now: Instant, sender: &str) -> bool {
        if let Some(other) = self.by_node.get(sender).cloned() {
            self.note_on_lan(now, &other.bridge, &other.site);
            return false;
        }
        let minute = Duration::from_secs(60);
        prune(
            &mut self.lan_senders,
            MAX_REMEMBERED,
            now,
            &mut self.pruned.lan_senders,
            |_, t| now.saturating_duration_since(*t) < minute,
        );
        if self.lan_senders.len() < MAX_REMEMBERED || self.lan_senders.contains_key(sender) {
            self.lan_senders.insert(sender.to_owned(), now);
        } else {
            self.not_remembered += 1;
        }
        true
    }

    /// A NATS message from `bridge` of an event `sender` emitted: `false`
    /// when `sender` is on this LAN (`own_node`, or heard here), so that
    /// `bridge` is too and the message is this LAN's own event come back.
    pub(crate) fn nats_event(
        &mut self,
        now: Instant,
        bridge: &str,
        site: &str,
        sender: &str,
        own_node: &str,
    ) -> bool {
        if bridge == self.me || (sender != own_node && !self.lan_senders.contains_key(sender)) {
            return true;
        }
        // Inbound drops longer ids as bad headers first; this is the
        // table's own bound.
        if bridge.len() <= MAX_ID_LEN {
            self.note_on_lan(now, bridge, cut(site));
        } else {
            self.not_remembered += 1;
        }
        false
    }

    /// Records `bridge` as found on this LAN, within [`MAX_ON_LAN`]: when
    /// full, those no longer alive are forgotten first (a scan at most
    /// every [`PRUNE_EVERY`]); if none is, the new one is not remembered.
    fn note_on_lan(&mut self, now: Instant, bridge: &str, site: &str) {
        if self.on_lan.len() >= MAX_ON_LAN && !self.on_lan.contains_key(bridge) {
            let (last_seen, alive) = (&self.last_seen, self.alive);
            prune(
                &mut self.on_lan,
                MAX_ON_LAN,
                now,
                &mut self.pruned.on_lan,
                |b, _| {
                    last_seen
                        .get(b)
                        .is_some_and(|t| now.saturating_duration_since(*t) < alive)
                },
            );
            if self.on_lan.len() >= MAX_ON_LAN {
                self.not_remembered += 1;
                return;
            }
        }
        let new = self
            .on_lan
            .insert(bridge.to_owned(), site.to_owned())
            .is_none();
        // One that `update` can no longer report is counted once, here.
        if new && self.reported.len() >= MAX_REPORTED && !self.reported.contains(bridge) {
            self.not_remembered += 1;
        }
    }

    /// Whether this bridge stands by now, and what changed to say so.
    pub(crate) fn update(&mut self, now: Instant) -> (bool, Vec<BridgeNotice>) {
        let alive = |bridge: &str| {
            self.last_seen
                .get(bridge)
                .is_some_and(|t| now.saturating_duration_since(*t) < self.alive)
        };
        let standing_by = self
            .on_lan
            .keys()
            .any(|bridge| bridge.as_str() < self.me.as_str() && alive(bridge));
        let mut notices = Vec::new();
        for (bridge, site) in &self.on_lan {
            if self.reported.contains(bridge) {
                continue;
            }
            if self.reported.len() >= MAX_REPORTED {
                // Counted when it was noted (`note_on_lan`), not each time.
                continue;
            }
            self.reported.insert(bridge.clone());
            notices.push(BridgeNotice::OtherBridge {
                bridge: bridge.clone(),
                site: site.clone(),
                standing_by: bridge.as_str() < self.me.as_str(),
            });
        }
        if self.standing_by && !standing_by {
            notices.push(BridgeNotice::Resumed);
        }
        self.standing_by = standing_by;
        (standing_by, notices)
    }

    /// The ids of the bridges found on this LAN.
    pub(crate) fn on_lan(&self) -> Vec<String> {
        self.on_lan.keys().cloned().collect()
    }

    /// How many other bridges were found on this LAN.
    pub(crate) fn found(&self) -> usize {
        self.on_lan.len()
    }

    /// Announcements, bridges found and reports not remembered (a table
    /// full, an id too long).
    pub(crate) fn not_remembered(&self) -> u64 {
        self.not_remembered
    }
}

/// `site`, cut to at most [`MAX_SITE_LEN`] bytes on a character boundary.
fn cut(site: &str) -> &str {
    let mut end = site.len().min(MAX_SITE_LEN);
    while !site.is_char_boundary(end) {
        end -= 1;
    }
    &site[..end]
}

/// How often a full table is scanned for stale entries at most: while it
/// is full of live ones, new entries are refused without a scan each.
const PRUNE_EVERY: Duration = Duration::from_secs(1);

/// Keeps `map` small: when it holds `max` entries, drops those `live`
/// says are no longer (at most every [`PRUNE_EVERY`], `pruned` saying when
/// it last did).
fn prune<V>(
    map: &mut HashMap<String, V>,
    max: usize,
    now: Instant,
    pruned: &mut Option<Instant>,
    mut live: impl FnMut(&String, &V) -> bool,
) {
    let due = pruned.is_none_or(|at| now.saturating_duration_since(at) >= PRUNE_EVERY);
    if map.len() >= max && due {
        map.retain(|k, v| live(k, v));
        *pruned = Some(now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECOND: Duration = Duration::from_secs(1);

    #[test]
    fn the_higher_id_stands_by_while_the_other_lives() {
        let now = Instant::now();
        let mut b = Rivals::new("bbbb".into(), SECOND);
        b.announced(now, "aaaa", "lab", "node-a", &[]);
        assert!(b.lan_event(now, "node-x"), "an ordinary LAN node");
        assert!(!b.lan_event(now, "node-a"), "bridge a's emit");
        let (standing_by, notices) = b.update(now);
        assert!(standing_by);
        assert_eq!(
            notices,
            vec![BridgeNotice::OtherBridge {
                bridge: "aaaa".into(),
                site: "lab".into(),
                standing_by: true
            }]
        );
        // a is no longer heard from
        let (standing_by, notices) = b.update(now + 4 * SECOND);
        assert!(!standing_by);
        assert_eq!(notices, vec![BridgeNotice::Resumed]);
    }

    #[test]
    fn this_lans_events_coming_back_reveal_the_other_bridge() {
        let now = Instant::now();
        let mut a = Rivals::new("aaaa".into(), SECOND);
        assert!(a.lan_event(now, "node-x"));
        assert!(
            a.nats_event(now, "cccc", "far", "node-y", "node-a"),
            "another site's event"
        );
        assert!(
            !a.nats_event(now, "bbbb", "lab", "node-x", "node-a"),
            "node-x is on our LAN"
        );
        assert!(
            !a.nats_event(now, "bbbb", "lab", "node-a", "node-a"),
            "our own emit"
        );
        a.announced(now, "bbbb", "lab", "node-b", &[]);
        let (standing_by, notices) = a.update(now);
        assert!(!standing_by, "the lower id keeps bridging");
        assert_eq!(notices.len(), 1);
        assert_eq!(a.found(), 1);
        let (_, notices) = a.update(now);
        assert!(notices.is_empty(), "reported once");
    }

    #[test]
    fn a_bridge_standing_by_tells_the_other_one() {
        let now = Instant::now();
        let mut a = Rivals::new("aaaa".into(), SECOND);
        a.announced(now, "cccc", "far", "node-c", &["dddd".to_owned()]);
        assert_eq!(a.found(), 0, "c found another bridge, not us");
        a.announced(now, "bbbb", "lab", "node-b", &["aaaa".to_owned()]);
        assert_eq!(a.on_lan(), ["bbbb"]);
        let (standing_by, notices) = a.update(now);
        assert!(!standing_by);
        assert_eq!(notices.len(), 1);
    }

    #[test]
    fn tables_stay_bounded_under_forged_announcements_and_events() {
        let now = Instant::now();
        let mut a = Rivals::new("aaaa".into(), SECOND);
        let me = ["aaaa".to_owned()];
        for i in 0..10_000 {
            a.announced(now, &format!("b{i}"), "site", &format!("n{i}"), &me);
            a.nats_event(now, &format!("c{i}"), "site", "node-a", "node-a");
        }
        a.update(now);
        assert!(a.by_node.len() <= MAX_REMEMBERED, "{}", a.by_node.len());
        assert!(a.last_seen.len() <= MAX_REMEMBERED, "{}", a.last_seen.len());
        assert!(a.on_lan.len() <= MAX_ON_LAN, "{}", a.on_lan.len());
        assert!(a.reported.len() <= MAX_REPORTED);
        assert!(a.not_remembered() > 0);
        // later rounds, the earlier ones no longer alive: reports stay bounded
        for round in 1..10 {
            let later = now + round * 4 * SECOND;
            for i in 0..MAX_ON_LAN {
                let bridge = format!("r{round}-{i}");
                a.announced(later, &bridge, "site", &format!("n{round}-{i}"), &me);
            }
            a.update(later);
            assert!(a.on_lan.len() <= MAX_ON_LAN, "{}", a.on_lan.len());
        }
        assert!(a.reported.len() <= MAX_REPORTED, "{}", a.reported.len());
        // Bridges that cannot be reported are counted once, not on every
        // update (it runs on every event).
        let counted = a.not_remembered();
        for _ in 0..10 {
            a.update(now + 36 * SECOND);
        }
        assert_eq!(a.not_remembered(), counted);
    }

    #[test]
    fn long_ids_and_sites_are_not_kept() {
        let now = Instant::now();
        let mut a = Rivals::new("aaaa".into(), SECOND);
        let long = "x".repeat(MAX_ID_LEN + 1);
        a.announced(now, &long, "lab", "node-b", &["aaaa".to_owned()]);
        a.announced(now, "bbbb", "lab", &long, &[]);
        assert!(!a.nats_event(now, &long, "lab", "node-a", "node-a"));
        assert!(a.by_node.is_empty() && a.last_seen.is_empty() && a.on_lan.is_empty());
        assert_eq!(a.not_remembered(), 3);
        a.announced(
            now,
            "bbbb",
            &"é".repeat(1000),
            "node-b",
            &["aaaa".to_owned()],
        );
        assert!(a.on_lan["bbbb"].len() <= MAX_SITE_LEN);
    }

    #[test]
    fn a_full_table_is_scanned_at_most_once_a_second() {
        let now = Instant::now();
        let mut a = Rivals::new("aaaa".into(), SECOND);
        for i in 0..MAX_REMEMBERED {
            a.lan_event(now, &format!("s{i}"));
        }
        let later = now + Duration::from_secs(61);
        assert!(a.lan_event(later, "new"), "a scan drops the stale ones");
        assert_eq!(a.lan_senders.len(), 1);
        for i in 0..MAX_REMEMBERED {
            a.lan_event(later, &format!("t{i}"));
        }
        let stale = later + Duration::from_secs(61);
        a.pruned.lan_senders = Some(stale);
        a.lan_event(stale, "newer");
        assert_eq!(a.lan_senders.len(), MAX_REMEMBERED, "no scan yet");
        a.lan_event(stale + SECOND, "newest");
        assert!(a.lan_senders.contains_key("newest"));
    }
}
