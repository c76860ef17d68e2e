//! A large body handed to the node's task in parts as it is written, so
//! that its first datagrams leave while the rest is being written.
//!
//! A cold large body is written into fresh memory, which the kernel maps
//! page by page as it is first written: about 1.2 us a 4 KiB page on the
//! VM measured, 5 ms for 16 MiB, all of it before the first datagram when
//! the body goes whole. [`PartWriter`] takes the body's bytes in order
//! (`arglist/parts.rs` gives them), fills a part at a time (its pages
//! faulted in at once, `prefault.rs`), and hands each to the task as it
//! is full: a first part of [`FIRST_PART`] bytes, to start the event soon,
//! then parts of [`PART`]. Each is a whole number of segments, so a
//! segment never spans two; the endpoint sends each part's segments as
//! it comes (`Endpoint::emit_body_start`, `emit_body_part`).

use eventcast_proto::{EmitError, SenderId};
use serde::Serialize;
use tracing::warn;

use super::emit::{LocalArgs, Queued, Refused};
use super::writers::Counted;
use super::Eventcast;
use crate::arglist::parts::{PartsPlan, Sink};
use crate::driver::Outgoing;
use crate::error::Error;
use crate::inline::Commands;
use crate::shared::Shared;

/// About how long the first part is: the first datagrams wait for it.
const FIRST_PART: usize = 256 * 1024;

/// About how long every later part is.
const PART: usize = 1024 * 1024;

/// The shortest body written in parts: below it, the time its
/// first datagram waits for the whole is short.
const PARTS_MIN: usize = 512 * 1024;

/// Room in the send queue reserved for a body written in parts, and the
/// run it goes to (`None`: stopped, nothing reserved).
pub(super) struct Admitted<'w> {
    id: SenderId,
    run: Option<(Commands, Counted<'w>)>,
}

impl Eventcast {
    /// A plan to write the body of `name` and `args` in parts as it goes
    /// out: for a body of at least [`PARTS_MIN`] bytes with a long value,
    /// when no spare is ready for it (written into a spare, its pages are
    /// there already and the copy is short). A spare is owed then, as
    /// after any large body.
    ///
    /// `size` is the body's size bound (`arglist::size_bound`): planning
    /// writes the body but for its long values, which a mid-sized body
    /// would pay for in vain.
    pub(super) fn parts_plan<A: Serialize + ?Sized>(
        &self,
        size: usize,
        name: &str,
        args: &A,
    ) -> Option<PartsPlan> {
        if size < PARTS_MIN {
            return None;
        }
        let plan = crate::arglist::parts::plan(name, args)?;
        let len = plan.len();
        if len < PARTS_MIN || self.handle.spare.ready_for(len) {
            return None;
        }
        // As if it had taken the spare: one is owed for the next.
        self.handle.spare.owe(len);
        Some(plan)
    }

    /// Checks a body of `len` bytes to be written in parts against
    /// `max_message_size` and reserves its room in the send queue (none
    /// while stopped): the run to hand it to.
    pub(super) fn admit_parts(&self, len: usize) -> Result<Admitted<'_>, Refused> {
        let max = self.handle.config.protocol.max_message_size;
        if len > max {
            let e = EmitError::MessageTooLarge { len, max };
            return Err(Refused::Other(e.into()));
        }
        let current = self.current();
        let Some(commands) = current.commands.clone() else {
            return Ok(Admitted {
                id: current.id,
                run: None,
            });
        };
        let limit = self.handle.config.protocol.max_send_queue_bytes;
        let reserved = self.handle.shared.reserve(len, limit);
        reserved.map_err(|e| Refused::Full(None, e))?;
        // Counted under the lock `stop` takes to end admissions.
        let counted = self.handle.writers.admit();
        Ok(Admitted {
            id: current.id,
            run: Some((commands, counted)),
        })
    }

    /// Writes the body `plan` planned in parts, handing each to the
    /// node's task as it is full (`parts.rs`), then fires the local
    /// listeners as any emit does.
    pub(super) fn write_parts<A: Serialize + ?Sized>(
        &self,
        name: &str,
        args: &A,
        plan: &PartsPlan,
        admitted: Admitted<'_>,
    ) -> Result<(), Error> {
        let len = plan.len();
        let Admitted { id, run } = admitted;
        let Some((commands, counted)) = run else {
            self.emitted(name, LocalArgs::Later(args), Queued { id, bytes: None });
            return Ok(());
        };
        let segment = self.handle.config.protocol.max_payload_size;
        let (written, taken) = {
            let _one = self.handle.writers.one_at_a_time();
            let shared = &self.handle.shared;
            let mut writer = PartWriter::new(&commands, shared, segment, len);
            let written = plan.write(name, args, &mut writer);
            (written, writer.finish())
        };
        // Handed over whole: `stop` need not wait for the local listeners
        // (one of them may be waiting for `stop`).
        drop(counted);
        if written.is_err() {
            // Its receivers find the body malformed, and drop it.
            warn!(target: "eventcast", name, "the arguments serialized otherwise the second time: event sent malformed");
            return Err(Error::Args(format!(
                "{name}: the arguments serialized differently on a second pass; the event went out malformed"
            )));
        }
        let bytes = taken.then_some(len);
        self.emitted(name, LocalArgs::Later(args), Queued { id, bytes });
        Ok(())
    }
}

/// Cuts a body into parts and hands them to the node's task. Dropped
/// before [`finish`](Self::finish) (a `Serialize` that panicked), it makes
/// the body up to its length with bytes no receiver takes for a body
/// (`arglist::parts::spoil`), so that the messages after it are not held
/// up (its receivers drop it as malformed), or gives its
/// room in the send queue back if nothing was handed over.
pub(super) struct PartWriter<'c> {
    commands: &'c Commands,
    shared: &'c Shared,
    segment: usize,
    len: usize,
    /// Bytes handed over so far.
    handed: usize,
    /// The part being written, and how long it is to be.
    part: Vec<u8>,
    part_len: usize,
    started: bool,
    /// The node's task took every part handed over (it has not ended).
    taken: bool,
    finished: bool,
}

impl<'c> PartWriter<'c> {
    /// A writer of a body of `len` bytes cut into segments of `segment`,
    /// whose room in `shared`'s send queue is reserved.
    pub(super) fn new(
        commands: &'c Commands,
        shared: &'c Shared,
        segment: usize,
        len: usize,
    ) -> Self {
        Self {
            commands,
            shared,
            segment: segment.max(1),
            len,
            handed: 0,
            part: Vec::new(),
            part_len: 0,
            started: false,
            taken: true,
            finished: false,
        }
    }

    /// Hands over what is left; whether the task took the body. A body
    /// started and then not taken gives nothing back: the task has ended,
    /// and its room went with the run's (a release now could take it from
    /// a run started since).
    pub(super) fn finish(mut self) -> bool {
        self.finished = true;
        if !self.part.is_empty() {
            self.hand_over();
        }
        if !self.started {
            self.shared.release_queue(self.len);
        }
        self.started && self.taken
    }

    fn next_part(&mut self) {
        let about = if self.started { PART } else { FIRST_PART };
        let whole = about.div_ceil(self.segment) * self.segment;
        self.part_len = whole.min(self.len - self.handed);
        self.part = Vec::with_capacity(self.part_len);
        crate::prefault::spare(&mut self.part);
    }

    fn hand_over(&mut self) {
        let part = std::mem::take(&mut self.part);
        self.handed += part.len();
        self.part_len = 0;
        let out = if self.started {
            Outgoing::Part(part)
        } else {
            self.started = true;
            Outgoing::Start {
                len: self.len,
                first: part,
            }
        };
        if self.taken {
            self.taken = self.commands.emit(out).is_ok();
        }
    }
}

impl Sink for PartWriter<'_> {
    fn write(&mut self, mut bytes: &[u8]) {
        if !self.taken {
            // The task has ended: nothing more is handed over.
            return;
        }
        while !bytes.is_empty() {
            if self.part_len == 0 {
                if self.handed >= self.len {
                    // Past the length promised: the plan never gives that.
                    return;
                }
                self.next_part();
            }
            let n = (self.part_len - self.part.len()).min(bytes.len());
            let (now, later) = bytes.split_at(n);
            self.part.extend_from_slice(now);
            bytes = later;
            if self.part.len() == self.part_len {
                self.hand_over();
            }
        }
    }
}

impl Drop for PartWriter<'_> {
    fn drop(&mut self) {
        if self.finished {
            return;
        }
        if !self.started {
            self.shared.release_queue(self.len);
            return;
        }
        // Started: its room is the run's, cleared when the task ends.
        let missing = self.len.saturating_sub(self.handed + self.part.len());
        crate::arglist::parts::spoil(self, missing);
    }
}
