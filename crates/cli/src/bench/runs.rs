//! What the measurements keep: the reports of the role processes, run by
//! run and transport by transport, before any figure is computed from them.

use serde::{Deserialize, Serialize};

use super::args::Transport;
use super::proto::{Pinged, Received, Sent};

/// One run of a flow: the sender's report and each receiver's.
#[derive(Clone, Debug)]
pub(crate) struct FlowRun {
    /// The sender's report.
    pub(crate) sent: Sent,
    /// Each receiver's report.
    pub(crate) received: Vec<Received>,
}

/// Runs of each transport.
#[derive(Clone, Debug)]
pub(crate) struct Both<T> {
    /// Raw UDP.
    pub(crate) raw: Vec<T>,
    /// Raw UDP on tokio (figure 2 only).
    pub(crate) raw_tokio: Vec<T>,
    /// eventcast.
    pub(crate) eventcast: Vec<T>,
}

impl<T> Default for Both<T> {
    fn default() -> Self {
        Both {
            raw: Vec::new(),
            raw_tokio: Vec::new(),
            eventcast: Vec::new(),
        }
    }
}

impl<T> Both<T> {
    /// Keeps `run` with the runs of `transport`.
    pub(crate) fn push(&mut self, transport: Transport, run: T) {
        match transport {
            Transport::Raw => self.raw.push(run),
            Transport::RawTokio => self.raw_tokio.push(run),
            Transport::Eventcast => self.eventcast.push(run),
        }
    }
}

/// One case of figure 3.
#[derive(Clone, Debug)]
pub(crate) struct LargeRuns {
    /// Bytes of the event's argument.
    pub(crate) size: usize,
    /// max_payload_size.
    pub(crate) payload: usize,
    /// The runs.
    pub(crate) runs: Both<FlowRun>,
}

/// Figure 4 at one loss level: the share of events delivered complete in
/// each run.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub(crate) struct LossLevelRuns {
    /// The level, in percent.
    pub(crate) loss_percent: u8,
    /// Raw UDP: share of events all of whose datagrams arrived.
    pub(crate) raw: Vec<f64>,
    /// eventcast: share of events delivered.
    pub(crate) eventcast: Vec<f64>,
}

/// Figure 5's eventcast runs with the key set.
#[derive(Clone, Debug)]
pub(crate) struct EncryptedRuns {
    /// Figure 1 encrypted.
    pub(crate) small: Vec<FlowRun>,
    /// Figure 3 encrypted, case by case.
    pub(crate) large: Vec<(usize, usize, Vec<FlowRun>)>,
}

/// Everything measured.
#[derive(Clone, Debug)]
pub(crate) struct Measured {
    /// Figure 1 (and 6).
    pub(crate) small: Both<FlowRun>,
    /// Figure 2.
    pub(crate) latency: Both<Pinged>,
    /// Figure 3 (and 6).
    pub(crate) large: Vec<LargeRuns>,
    /// Figure 4, or why it was not measured.
    pub(crate) loss: Result<Vec<LossLevelRuns>, String>,
    /// Figure 5: figures 1 and 3 with a key.
    pub(crate) encrypted: EncryptedRuns,
    /// Figure 7.
    pub(crate) fanout: Both<FlowRun>,
    /// Figure 8: a stream of large events, each run's send and arrival
    /// times.
    pub(crate) stream: Both<FlowRun>,
}
