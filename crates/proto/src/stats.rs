//! Counters of everything the endpoint did and everything it dropped.

/// What an [`Endpoint`](crate::Endpoint) has done since it was created.
///
/// Counters only grow; `partial_*` and `senders` are current values.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct Stats {
    /// Messages this node emitted to the group.
    pub messages_sent: u64,
    /// Datagrams this node handed out to send, of every kind (data,
    /// batches, repairs, NACKs, heartbeats).
    pub datagrams_sent: u64,
    /// Segments sent the first time (repairs not included); a batch entry
    /// counts as one segment, like in `segments_received`.
    pub segments_sent: u64,
    /// Bytes of those datagrams.
    pub bytes_sent: u64,
    /// Datagrams received, whatever became of them.
    pub datagrams_received: u64,
    /// Bytes of those datagrams.
    pub bytes_received: u64,
    /// This node's own datagrams heard back through multicast loopback and
    /// ignored (its own emits reach its listeners directly). Told by the
    /// sender id alone, before any key or tag check (checking would cost
    /// an AES pass on each): a forgery under this node's id counts here
    /// too, and is ignored all the same.
    pub own_datagrams: u64,
    /// Of `own_datagrams`, this node's own NACKs, heartbeats and
    /// statuses.
    pub own_control: u64,
    /// Of `datagrams_received`, other nodes' NACKs, heartbeats and
    /// statuses (the rest is data, batches, and whatever was dropped).
    pub control_received: u64,
    /// Segments accepted into reassembly (single-segment messages included).
    pub segments_received: u64,
    /// Messages received complete and delivered.
    pub messages_received: u64,
    /// Partial messages being reassembled now.
    pub partial_messages: u64,
    /// Bytes those partial messages hold now, bookkeeping included.
    pub partial_bytes: u64,
    /// Gauge: bytes the senders' windows of finished messages take now
    /// (charged to the partial budgets with `partial_bytes`).
    pub window_bytes: u64,
    /// Senders whose state is tracked now.
    pub senders: u64,
    /// Senders forgotten to make room for new ones.
    pub senders_evicted: u64,
    /// Of `senders_evicted`: senders not believed real, forgotten because a
    /// believed sender's segment found the memory budget full.
    pub senders_forgotten_for_room: u64,
    /// Datagrams sealed (encrypted) before sending.
    pub datagrams_sealed: u64,
    /// Sealed datagrams received that were authenticated and fresh.
    pub datagrams_opened: u64,
    /// Datagrams not sent because the primary key had sealed as many as it
    /// may ([`SealLimits`](crate::crypto::SealLimits)).
    pub seal_refused: u64,
    /// Senders whose replay window is tracked now.
    pub replay_senders: u64,
    /// Replay windows forgotten to make room for new senders.
    pub replay_senders_evicted: u64,
    /// Senders first heard mid-stream whose stream began before this node
    /// joined: their earlier messages are not asked for (a late join).
    pub late_joins: u64,

    /// Messages of `messages_sent` whose body was queued in parts as its
    /// encoder wrote it (`Endpoint::emit_body_start`).
    pub messages_sent_in_parts: u64,
    /// Messages of `messages_sent` queued as pieces shared rather than
    /// copied (`Endpoint::emit_body_pieces`: a large argument's bytes kept
    /// as the caller handed them over).
    pub messages_sent_shared: u64,
    /// Batch frames sent (several small messages in one datagram).
    pub batches_sent: u64,
    /// Batch frames received and parsed.
    pub batches_received: u64,
    /// Messages received inside batch frames (each also counts in
    /// `segments_received` or in a drop counter).
    pub batched_messages_received: u64,
    /// NACK datagrams this node sent.
    pub nacks_sent: u64,
    /// Times this node held back its own NACK because it heard another
    /// receiver ask for the same data first.
    pub nacks_suppressed: u64,
    /// NACKs received that ask this node for repairs.
    pub nacks_received: u64,
    /// NACKs received from other receivers to other senders (heard for
    /// suppression).
    pub nacks_overheard: u64,
    /// Repair datagrams sent (segments or batches sent again).
    pub repairs_sent: u64,
    /// Repaired segments or batch entries received that were new here.
    pub repairs_received: u64,
    /// Segments not repaired again because they were repaired within
    /// `repair_linger` (one repair served several NACKs).
    pub repairs_lingered: u64,
    /// NACKs that asked for data no longer in the retransmit store.
    pub repairs_unavailable: u64,
    /// Heartbeats sent.
    pub heartbeats_sent: u64,
    /// Heartbeats received.
    pub heartbeats_received: u64,
    /// Messages declared lost for good (each also reported to the
    /// application in an `EndpointEvent::Loss`).
    pub messages_lost: u64,
    /// Loss reports (`EndpointEvent::Loss`) queued for the application.
    pub loss_reports: u64,
    /// Messages lost while their sender was not yet believed real (no
    /// message of it had completed, no heartbeat agreed with its data):
    /// their report waits until it is, and is then counted in
    /// `messages_lost` too. An id a stranger makes up and sends only
    /// partial messages under is never believed, so those are never
    /// reported lost.
    pub losses_waiting: u64,
    /// Of `losses_waiting`, never reported: the sender was forgotten
    /// before it was believed real, or more of its losses waited than a
    /// sender may keep (4 runs of seqs). (Losses waiting when the node
    /// stops receiving, `Endpoint::set_receiving(false)`, are dropped
    /// with everything else it received, and counted in neither.)
    pub losses_untold: u64,
    /// Runs of missing seqs left unrecorded because the budgets
    /// (`max_partial_bytes`, `max_partial_bytes_per_sender`) had no room
    /// for their record: of a sender not believed real, the whole run; of
    /// one believed, the part past what it vouched for (the part it
    /// vouched for is given up and reported lost). Nothing asks for them;
    /// they are reported only if something later gives them up
    /// (docs/PROTOCOL.md §8.1, §9.6, §9.7).
    pub gaps_unrecorded: u64,
    /// Times the pacer held the sender back (each wait counted once).
    pub pacing_waits: u64,
    /// Times the adaptive rate was cut after a NACK (by half the first
    /// time, ending the slow start; by a quarter after that).
    pub rate_decreases: u64,
    /// Gauge: the sending rate, bytes per second.
    pub send_rate: u64,
    /// Status frames this node sent: its read position and receive window,
    /// to the senders it reads (docs/PROTOCOL.md §2.6).
    pub statuses_sent: u64,
    /// Statuses owed to senders not believed real (before the datagram
    /// that drew them) that were withheld, each counted once: at most 200
    /// a second (after a burst of 64) go to those, over all of them, so
    /// that ids a stranger makes up cannot make every node answer each of
    /// their datagrams to the whole group. A withheld one goes later,
    /// budget allowing.
    pub statuses_withheld: u64,
    /// Status frames addressed to this node, as a sender.
    pub statuses_received: u64,
    /// Status frames from one receiver to another sender, heard and
    /// ignored.
    pub statuses_overheard: u64,
    /// Times the receivers' windows held new data or repairs back (each
    /// wait counted once).
    pub window_waits: u64,
    /// Receivers that stopped counting because their window held this
    /// sender back for `repair_timeout` without their reading anything
    /// (gone, or forged); each counts again once it reports progress.
    pub window_lapses: u64,
    /// Gauge: receivers whose windows this sender follows now (0: it paces
    /// blind, by `initial_rate` and loss alone).
    pub window_receivers: u64,
    /// Gauge: the smallest of those windows, bytes (after clamping to
    /// `burst ..= max_window`); 0 when none counts.
    pub send_window: u64,
    /// Gauge: the receive window this node advertises, bytes (0: it sends
    /// no status).
    pub advertised_window: u64,
    /// Gauge: bytes of messages waiting to be sent the first time.
    pub send_queue_bytes: u64,
    /// Bytes of messages that left the send queue (all their segments
    /// sent once).
    pub send_queue_released: u64,
    /// Gauge: bytes of sent messages kept for repairs.
    pub retransmit_store_bytes: u64,
    /// Gauge: complete messages held back for order.
    pub held_messages: u64,
    /// Gauge: bytes loss recovery holds (messages held for order, records
    /// of missing messages), charged to the partial budgets with
    /// `partial_bytes`.
    pub recovery_bytes: u64,
    /// What was dropped, by reason.
    pub dropped: DropStats,

    // The handshake against replays across restarts (docs/PROTOCOL.md
    // §16.8), with a key only.
    /// Challenges this node sent: to a sender first heard (or heard again
    /// after it was forgotten), and again while it does not answer.
    pub challenges_sent: u64,
    /// Repeated challenges not sent, over the budget of repeats (100 a
    /// second after a burst of 64, over all senders): their rounds go on
    /// and end as scheduled.
    pub challenges_withheld: u64,
    /// Datagrams of senders not challenged yet, dropped because as many
    /// rounds of challenges as `max_senders` were in progress (counted in
    /// `dropped.unverified` too): many senders heard at once that never
    /// answer, such as replays of runs that have ended.
    pub rounds_full: u64,
    /// Datagrams held for a sender's answer and dropped to make room for
    /// another sender's, the bytes held being full: each from the sender
    /// that held the most, the oldest first (counted in
    /// `dropped.unverified` too). One sender (an honest one with a large
    /// first event, or a replay of one recorded run) can hold all the room
    /// while it is alone, but not keep newer senders out.
    pub held_displaced: u64,
    /// Challenges received (to this node or to others).
    pub challenges_received: u64,
    /// Challenges to this node left unanswered because too many were
    /// waiting for the next answer (the challenger asks again).
    pub challenges_ignored: u64,
    /// Answer datagrams this node sent (each answers up to 32 challenges).
    pub answers_sent: u64,
    /// Answers received (to this node's challenges or to others').
    pub answers_received: u64,
    /// Answer entries to this node that matched no round in progress and
    /// came from a sender not verified: the round had ended without them
    /// (the sender given up, or forgotten to make room), so a sender that
    /// was alive had what it sent meanwhile discarded. A second answer to a
    /// round already answered (a repeated challenge crossed the first
    /// answer) is normal and not counted.
    pub answers_late: u64,
    /// Senders that answered this node's challenge: their datagrams are
    /// accepted from the point they vouched for on.
    pub senders_verified: u64,
    /// Senders that answered none of a round's challenges: given up, their
    /// held datagrams discarded (counted in `dropped.unverified`).
    pub senders_unanswered: u64,
    /// Gauge: datagrams held for senders whose answer is awaited.
    pub handshake_held: u64,
    /// Gauge: bytes those datagrams hold, bookkeeping included.
    pub handshake_held_bytes: u64,
    // A hostile LAN: admission of senders, plausibility, budgets, conflicts.
    /// New senders refused because every tracked sender is believed real
    /// and heard (their datagrams count in `dropped.refused`).
    pub senders_refused: u64,
    /// Gauge: senders forgotten earlier whose resume point is remembered
    /// (heard again, they resume there rather than from 0).
    pub senders_remembered: u64,
    /// Senders forgotten earlier that were heard again and resumed where
    /// they were.
    pub senders_resumed: u64,
    /// Heartbeats whose lead was not plausible (for the sender, or for
    /// where it resumes if it was forgotten), ignored (also counted in
    /// `heartbeats_received`).
    pub heartbeats_implausible: u64,
    /// Datagrams past the plausible end taken anyway: from an established
    /// sender's own address, within what its stream may have reached (a
    /// receiver that fell far behind; PROTOCOL.md §9.7).
    pub far_ahead_taken: u64,
    /// Senders whose state was built again from later data, the datagram
    /// it was first built on being contradicted by what followed.
    pub senders_reanchored: u64,
    /// NACK rounds held back by the NACK budgets (asked later).
    pub nacks_deferred: u64,
    /// Segments asked for by a NACK and not repaired because the repair
    /// budget was spent (asked again later). At most 4,096 are counted per
    /// NACK: once the budget is spent, what a NACK asks for past them is
    /// not looked at.
    pub repairs_refused: u64,
    /// Second, different copies of a message already finished (reported
    /// once per sender as `EndpointEvent::Conflict`).
    pub conflicts: u64,
}

/// Datagrams and messages dropped, by reason. The five sealed-frame reasons
/// (`unencrypted` to `too_old`) are the boundary's: they are counted before
/// parsing, so a datagram dropped there
/// is counted in no other field.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct DropStats {
    /// Datagrams that are not eventcast's (wrong magic).
    pub not_eventcast: u64,
    /// Datagrams of another protocol version, the original Node.js
    /// eventcast's (0.1.x, version 3) included.
    pub unsupported_version: u64,
    /// Datagrams too short, with unknown frame types or flags, or with
    /// inconsistent headers.
    pub malformed: u64,
    /// Segments already held, or of a message already delivered or given up.
    pub duplicate: u64,
    /// Segments of messages too old for the sender's window (or just
    /// below the point a forgotten sender, started afresh, was forgotten
    /// with: delivered, or owed and lost, before).
    pub stale: u64,
    /// Datagrams declaring a message over `max_message_size`.
    pub message_too_large: u64,
    /// Segments refused because a memory or count budget was full.
    pub over_budget: u64,
    /// Partial messages given up after `message_ttl` without progress.
    pub expired: u64,
    /// Partial messages forgotten with their sender to make room, slid
    /// out of the sender's window, or given up by loss recovery: declared
    /// lost (also counted in `messages_lost` once reported), or history a
    /// late joiner is not owed.
    pub abandoned: u64,
    /// Complete messages whose body was not a valid event (bad BSON, too
    /// deep, wrong shape).
    pub bad_body: u64,
    /// Unencrypted datagrams received while this node requires encryption.
    pub unencrypted: u64,
    /// Sealed datagrams whose key id names no key in the ring (or the node
    /// has no key).
    pub no_key: u64,
    /// Sealed datagrams that do not authenticate (wrong key, tampering,
    /// forgery).
    pub bad_tag: u64,
    /// Authenticated datagrams whose packet number was already seen.
    pub replayed: u64,
    /// Authenticated datagrams too old for the sender's replay window.
    pub too_old: u64,
    /// Complete messages from before this node's start of their sender's
    /// stream (a late joiner hears history, e.g. repairs for others), which
    /// ordered delivery has no place for.
    pub before_start: u64,

    // The handshake against replays across restarts (docs/PROTOCOL.md
    // §16.8): counted at the boundary, like the five above.
    /// Authenticated datagrams of senders that never answered this node's
    /// challenge (held, then discarded), over the limits of what is held
    /// (or held, then dropped to make room for another sender's), or
    /// received in the cool-down after a sender was given up.
    pub unverified: u64,
    /// Authenticated datagrams sealed before the packet number their
    /// sender vouched for in its answer: traffic captured earlier and
    /// replayed (or live traffic delayed longer than the handshake's
    /// slack).
    pub unvouched: u64,
    // A hostile LAN.
    /// Segments (and batch entries) whose seq is not plausible for their
    /// sender: too far ahead of what was heard of it (or of where it
    /// resumes, if it was forgotten established).
    pub implausible: u64,
    /// Segments (and batch entries) of new senders refused admission.
    pub refused: u64,
    /// Data and batch datagrams of other senders dropped unread by a node
    /// that does not receive events (it only sends).
    pub not_receiving: u64,
}

impl DropStats {
    /// Every datagram or message dropped, for any reason.
    pub fn total(&self) -> u64 {
        self.not_eventcast
            + self.unsupported_version
            + self.malformed
            + self.duplicate
            + self.stale
            + self.message_too_large
            + self.over_budget
            + self.expired
            + self.abandoned
            + self.bad_body
            + self.unencrypted
            + self.no_key
            + self.bad_tag
            + self.replayed
            + self.too_old
            + self.before_start
            + self.unverified
            + self.unvouched
            + self.implausible
            + self.refused
            + self.not_receiving
    }
}
