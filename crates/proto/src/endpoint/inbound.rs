//! What a node does with a datagram it reads: each frame to the part of
//! the node it is for (reassembly, the sender's NACKs and statuses, flow
//! control), and what is not a frame of this version dropped and counted.

use std::net::SocketAddr;
use std::time::Instant;

use tracing::debug;

use super::{Endpoint, MAX_VERSION_REPORTS};
use crate::feedback::Read;
use crate::receive::Segment;
use crate::shared::{EndpointEvent, ProtocolError};
use crate::wire::{DecodeError, Flags, Frame};

impl Endpoint {
    /// A datagram in the clear, or opened by the guard.
    pub(super) fn handle_plain(&mut self, now: Instant, from: SocketAddr, datagram: &[u8]) {
        match Frame::parse(datagram) {
            Ok(frame) => self.handle_frame(now, from, frame),
            Err(e) => self.drop_undecodable(from, datagram, e),
        }
    }

    /// A frame of another node, or this node's own heard back. A node that
    /// does not receive events only serves the NACKs addressed to it.
    pub(super) fn handle_frame(&mut self, now: Instant, from: SocketAddr, frame: Frame<'_>) {
        let control = match frame {
            Frame::Heartbeat(_) | Frame::Nack(_) | Frame::Status(_) => true,
            Frame::Data(_) | Frame::Batch(_) => false,
            // The handshake's frames mean something only sealed: the guard
            // handles those (even for a node that only sends).
            Frame::Challenge(_) | Frame::Answer(_) => {
                self.stats.dropped.malformed += 1;
                debug!(%from, "challenge or answer outside a sealed frame dropped");
                return;
            }
        };
        if frame.sender() == self.id {
            self.stats.own_datagrams += 1;
            self.stats.own_control += u64::from(control);
            return;
        }
        self.stats.control_received += u64::from(control);
        let receiving = self.receiving;
        if receiving {
            self.receiver.heard(now, frame.sender());
        }
        // Whether the sender was believed real before this datagram: a
        // status it draws otherwise comes out of the budget of those (a
        // made-up id's one whole event would make it believed).
        let believed = receiving && self.receiver.believes(frame.sender());
        let stats = &mut self.stats;
        // Only data reassembly took counts for flow control: a forged or
        // refused datagram earns its sender no status.
        let accepted_before = stats.segments_received;
        match frame {
            Frame::Data(_) | Frame::Batch(_) if !receiving => stats.dropped.not_receiving += 1,
            Frame::Data(data) => {
                let segment = Segment::of_frame(from, &data);
                self.receiver
                    .on_segment(now, stats, segment, data.payload());
                let h = data.header();
                let read = Read::segment(
                    h.sender,
                    h.seq.get(),
                    h.index.get(),
                    h.count,
                    data.payload().len(),
                    h.message_len,
                );
                self.read(now, read, accepted_before, believed);
            }
            Frame::Batch(batch) => {
                stats.batches_received += 1;
                let retransmission = batch.flags().contains(Flags::RETRANSMISSION);
                for (i, body) in batch.bodies().iter().enumerate() {
                    stats.batched_messages_received += 1;
                    let seq = batch.first().get() + i as u64;
                    let segment =
                        Segment::whole(from, batch.sender(), seq, body.len(), retransmission);
                    self.receiver.on_segment(now, stats, segment, body);
                }
                let bodies = batch.bodies();
                let read = Read {
                    sender: batch.sender(),
                    seq: batch.first().get() + bodies.len().saturating_sub(1) as u64,
                    end: bodies.last().map_or(0, |b| b.len() as u32),
                    bytes: bodies.iter().map(|b| b.len() as u64).sum(),
                    last_of_many: false,
                };
                self.read(now, read, accepted_before, believed);
            }
            Frame::Heartbeat(hb) => {
                stats.heartbeats_received += 1;
                if receiving && self.receiver.on_heartbeat(now, stats, from, &hb) {
                    let (sender, lead) = (hb.sender(), hb.lead().get());
                    let owed = self.feedback.on_heartbeat(now, sender, lead, believed);
                    stats.statuses_withheld += self.feedback.take_withheld();
                    if let Some(status) = owed {
                        stats.statuses_sent += 1;
                        self.control.push_back(status);
                    }
                }
            }
            Frame::Nack(nack) if nack.target() == self.id => {
                self.sender.on_nack(now, &self.config, &nack, stats);
            }
            Frame::Nack(nack) => {
                stats.nacks_overheard += 1;
                if receiving {
                    self.receiver.on_overheard_nack(now, stats, &nack);
                }
            }
            Frame::Status(status) => self.on_status(now, &status),
            // Dropped above.
            Frame::Challenge(_) | Frame::Answer(_) => {}
        }
    }

    /// A status: this node's stream's, or another's (ignored).
    pub(super) fn on_status(&mut self, now: Instant, status: &crate::wire::Status) {
        if status.target() == self.id {
            self.sender.on_status(now, status, &mut self.stats);
        } else {
            self.stats.statuses_overheard += 1;
        }
    }

    /// What a data frame or batch read: a status for its sender, if one is
    /// owed now. Nothing unless reassembly took some of it (its
    /// `segments_received` grew past `accepted_before`).
    pub(super) fn read(&mut self, now: Instant, read: Read, accepted_before: u64, believed: bool) {
        if self.stats.segments_received == accepted_before {
            return;
        }
        let owed = self.feedback.on_read(now, read, believed);
        self.stats.statuses_withheld += self.feedback.take_withheld();
        if let Some(status) = owed {
            self.stats.statuses_sent += 1;
            self.control.push_back(status);
        }
    }

    pub(super) fn drop_undecodable(&mut self, from: SocketAddr, datagram: &[u8], e: DecodeError) {
        let drops = &mut self.stats.dropped;
        match e {
            DecodeError::BadMagic => match crate::wire::legacy_version(datagram) {
                Some(version) => self.report_version(from, version),
                None => drops.not_eventcast += 1,
            },
            DecodeError::UnsupportedVersion { version } => self.report_version(from, version),
            _ => drops.malformed += 1,
        }
        debug!(%from, error = %e, "datagram dropped");
    }

    /// Counts a datagram of another protocol version and reports it to the
    /// application once per source address.
    pub(super) fn report_version(&mut self, from: SocketAddr, version: u8) {
        self.stats.dropped.unsupported_version += 1;
        if self.version_reported.len() < MAX_VERSION_REPORTS && self.version_reported.insert(from) {
            self.queue_event(EndpointEvent::ProtocolError(
                ProtocolError::UnsupportedVersion { from, version },
            ));
        }
    }
}
