//! The handshake that keeps replays of earlier traffic out
//! (`docs/PROTOCOL.md` §16.8), between the replay window and the rest of
//! the endpoint: which opened datagrams go on now, which wait for their
//! sender's answer, which are dropped; the challenges and answers this node
//! sends; the held datagrams an answer releases.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::Instant;

use tracing::debug;

use super::answerer::Answerer;
use super::challenger::{Challenger, Held, Hold};
use super::handshake::Handshake;
use super::nonce::NonceSource;
use super::replay::{ReplayGuard, Status};
use crate::ids::SenderId;
use crate::stats::Stats;
use crate::wire::{Answer, Challenge, FrameType, CHALLENGE_NONCE_LEN, NONCE_LEN};

pub(crate) struct Freshness {
    own: SenderId,
    hs: Handshake,
    challenger: Challenger,
    answerer: Answerer,
    /// Held datagrams an answer let through: `(from, inner datagram)`.
    released: VecDeque<(SocketAddr, Vec<u8>)>,
    /// Whether unverified senders are challenged (see
    /// [`set_challenging`](Self::set_challenging)).
    challenging: bool,
    /// Whether they are challenged at all (`false`:
    /// `Encryption::danger_skip_handshake`): this node then only answers.
    may_challenge: bool,
}

impl Freshness {
    /// The handshake of node `own`; `may_challenge`: whether it challenges the
    /// senders it hears (it answers the challenges addressed to it either
    /// way).
    pub(crate) fn new(
        own: SenderId,
        hs: Handshake,
        max_senders: usize,
        may_challenge: bool,
    ) -> Self {
        Self {
            own,
            hs,
            challenger: Challenger::new(max_senders),
            answerer: Answerer::new(),
            released: VecDeque::new(),
            challenging: may_challenge,
            may_challenge,
        }
    }

    /// Whether senders not verified yet are challenged and their datagrams
    /// held (the default). A node that does not receive other senders'
    /// events turns it off: it has no use for their events, so it starts
    /// no round and holds nothing; their datagrams go on unverified, for
    /// the endpoint to drop unread (it reads only the NACKs and statuses
    /// addressed to it, which are never held anyway). Rounds in progress
    /// end as usual. Challenges addressed to this node are answered either
    /// way. A node that never challenges stays so.
    pub(crate) fn set_challenging(&mut self, on: bool) {
        self.challenging = on && self.may_challenge;
    }

    /// This node seals its datagram number `packet` at `now`.
    pub(crate) fn on_seal(&mut self, now: Instant, packet: u64) {
        self.answerer.on_seal(now, packet);
    }

    /// An opened, fresh datagram `d` of another node, `sender`: `true` if
    /// it goes on now (anything from a verified sender at or above its
    /// floor, or a NACK); `false` if it was a challenge or an answer
    /// (handled here), is held (copied), or was dropped (counted).
    pub(crate) fn admit(
        &mut self,
        now: Instant,
        sender: SenderId,
        d: Held<&[u8]>,
        replay: &mut ReplayGuard,
        nonces: &mut dyn NonceSource,
        stats: &mut Stats,
    ) -> bool {
        let ty = d.inner.get(3).and_then(|&b| FrameType::from_byte(b));
        match ty {
            Some(FrameType::Challenge) => {
                match Challenge::parse(d.inner) {
                    Ok(c) if c.from == sender => {
                        stats.challenges_received += 1;
                        if c.target == self.own && !self.answerer.on_challenge(now, &c, &self.hs) {
                            stats.challenges_ignored += 1;
                        }
                    }
                    _ => malformed(stats, sender, "challenge"),
                }
                return false;
            }
            Some(FrameType::Answer) => {
                match Answer::parse(d.inner) {
                    Ok(a) if a.sender() == sender => {
                        stats.answers_received += 1;
                        self.on_answer(d.packet, &a, replay, stats);
                    }
                    _ => malformed(stats, sender, "answer"),
                }
                return false;
            }
            _ => {}
        }
        match replay.status(sender) {
            Some(Status::Verified { floor }) => {
                if d.packet >= floor {
                    return true;
                }
                stats.dropped.unvouched += 1;
                debug!(%sender, packet = d.packet, floor, "sealed before the point its sender vouched for: dropped");
                return false;
            }
            // A NACK carries no event: it is not held (nor challenged), so
            // that repairs never wait for a handshake. Replayed, it can at
            // most make a sender repair again, within its repair budget.
            // Nor is a status: replayed, its window is still clamped.
            _ if matches!(ty, Some(FrameType::Nack | FrameType::Status)) => return true,
            Some(Status::Refused { until }) if now < until => {
                stats.dropped.unverified += 1;
                return false;
            }
            // Not receiving: nothing of it is read but what was let
            // through above, so it is not worth a round.
            _ if !self.challenging => return true,
            _ => {}
        }
        if !self.challenger.in_round(sender) {
            match self.start_round(now, sender, replay, nonces) {
                Started::Yes => {}
                Started::Full => {
                    stats.rounds_full += 1;
                    stats.dropped.unverified += 1;
                    debug!(%sender, "too many senders being challenged: datagram dropped");
                    return false;
                }
                Started::NoNonce => {
                    stats.dropped.unverified += 1;
                    return false;
                }
            }
        }
        if self.challenger.hold(sender, d, &self.hs) == Hold::Refused {
            stats.dropped.unverified += 1;
            debug!(%sender, "held datagrams over their limit: dropped");
        }
        let displaced = self.challenger.take_displaced();
        if displaced > 0 {
            stats.held_displaced += displaced;
            stats.dropped.unverified += displaced;
            debug!(%sender, displaced, "held bytes full: room taken from the sender holding the most");
        }
        false
    }

    fn start_round(
        &mut self,
        now: Instant,
        sender: SenderId,
        replay: &mut ReplayGuard,
        nonces: &mut dyn NonceSource,
    ) -> Started {
        let mut a = [0u8; NONCE_LEN];
        let mut b = [0u8; NONCE_LEN];
        if nonces.fill(&mut a).is_err() || nonces.fill(&mut b).is_err() {
            return Started::NoNonce;
        }
        let mut nonce = [0u8; CHALLENGE_NONCE_LEN];
        nonce[..NONCE_LEN].copy_from_slice(&a);
        nonce[NONCE_LEN..].copy_from_slice(&b[..CHALLENGE_NONCE_LEN - NONCE_LEN]);
        if !self
            .challenger
            .start(now, self.own, sender, nonce, &self.hs)
        {
            return Started::Full;
        }
        replay.set_status(sender, Status::Unverified);
        debug!(%sender, "new sender: challenged");
        Started::Yes
    }

    /// An answer, itself sealed as packet number `packet`.
    fn on_answer(
        &mut self,
        packet: u64,
        answer: &Answer,
        replay: &mut ReplayGuard,
        stats: &mut Stats,
    ) {
        let sender = answer.sender();
        for entry in answer.entries().iter().filter(|e| e.challenger == self.own) {
            let Some(held) = self.challenger.answered(sender, &entry.nonce) else {
                // A second answer to a round already answered is normal (a
                // repeated challenge crossed the first answer). Any other
                // came after its round had ended without it: the sender
                // was given up (or forgotten) and what it sent meanwhile
                // discarded, though it was alive.
                if !matches!(replay.status(sender), Some(Status::Verified { .. })) {
                    stats.answers_late += 1;
                    debug!(%sender, "answer for a round no longer in progress: ignored");
                }
                continue;
            };
            // A sender cannot vouch for datagrams it has not sealed yet.
            let floor = entry.floor.get().min(packet);
            stats.senders_verified += 1;
            replay.set_status(sender, Status::Verified { floor });
            debug!(%sender, floor, held = held.len(), "sender answered: verified");
            for d in held {
                if d.packet >= floor {
                    self.released.push_back((d.from, d.inner));
                } else {
                    stats.dropped.unvouched += 1;
                }
            }
        }
    }

    /// Retries and give-ups due at `now`.
    pub(crate) fn handle_timeout(
        &mut self,
        now: Instant,
        replay: &mut ReplayGuard,
        stats: &mut Stats,
    ) {
        let given_up = self.challenger.handle_timeout(now, self.own, &self.hs);
        stats.challenges_withheld += self.challenger.take_withheld();
        for (sender, held) in given_up {
            stats.senders_unanswered += 1;
            stats.dropped.unverified += held as u64;
            debug!(%sender, held, "sender never answered: its datagrams are discarded");
            let until = now + self.hs.cooldown;
            replay.set_status(sender, Status::Refused { until });
        }
    }

    /// The earliest retry, give-up or answer due.
    pub(crate) fn next_timer(&self) -> Option<Instant> {
        [
            self.challenger.next_timer(),
            self.answerer.next_timer(&self.hs),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// The next challenge or answer to send (plain; the guard seals it);
    /// `next_packet` is the packet number this node seals next.
    pub(crate) fn poll_control(
        &mut self,
        now: Instant,
        next_packet: u64,
        stats: &mut Stats,
    ) -> Option<Vec<u8>> {
        let mut out = Vec::new();
        if let Some(c) = self.challenger.poll_challenge() {
            stats.challenges_sent += 1;
            c.write(&mut out);
            return Some(out);
        }
        let answer = self
            .answerer
            .poll_answer(now, self.own, next_packet, &self.hs)?;
        stats.answers_sent += 1;
        answer.write(&mut out);
        Some(out)
    }

    /// The next held datagram an answer let through.
    pub(crate) fn poll_released(&mut self) -> Option<(SocketAddr, Vec<u8>)> {
        self.released.pop_front()
    }

    /// Datagrams held now, and their bytes.
    pub(crate) fn held(&self) -> (usize, usize) {
        (self.challenger.held_count(), self.challenger.held_bytes())
    }
}

/// Whether a round of challenges started.
enum Started {
    Yes,
    /// As many rounds as `max_senders` are in progress.
    Full,
    /// No nonce could be drawn.
    NoNonce,
}

fn malformed(stats: &mut Stats, sender: SenderId, what: &str) {
    stats.dropped.malformed += 1;
    debug!(%sender, "malformed {what} dropped");
}
