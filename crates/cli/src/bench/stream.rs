//! Figure 8 computed from its runs: each event's one-way time (its arrival
//! less its send, both on the host's clock), the first event of a run apart
//! from the later ones.

use super::plan::Plan;
use super::proto;
use super::report::{Stream, StreamSide};
use super::runs::{Both, FlowRun};
use super::stamps;
use super::stats::{median, ratio, Summary};

/// Figure 8 of the report.
pub(crate) fn stream(plan: &Plan, runs: &Both<FlowRun>) -> Stream {
    let raw_udp = side(&runs.raw);
    let eventcast = side(&runs.eventcast);
    Stream {
        events: plan.stream_events,
        event_bytes: plan.stream_size,
        max_payload_size: plan.stream_payload,
        datagrams: proto::body_len(plan.stream_size).div_ceil(plan.stream_payload) as u64,
        gap_ms: plan.stream_gap.as_millis(),
        first_one_way_ratio: ratio(
            median(eventcast.first_one_way_ms),
            median(raw_udp.first_one_way_ms),
        ),
        later_one_way_ratio: ratio(
            median(eventcast.later_one_way_ms),
            median(raw_udp.later_one_way_ms),
        ),
        raw_udp,
        eventcast,
    }
}

/// One transport's runs.
fn side(runs: &[FlowRun]) -> StreamSide {
    let mut first = Vec::new();
    let mut later = Vec::new();
    let mut every = Vec::new();
    let mut lost = Vec::new();
    for run in runs {
        let Some(received) = run.received.first() else {
            continue;
        };
        lost.push(run.sent.events.saturating_sub(received.events) as f64);
        let ms = stamps::one_way_ms(&run.sent.sent_ns, &received.arrived_ns);
        let Some((head, tail)) = ms.split_first() else {
            continue;
        };
        first.extend(*head);
        let tail: Vec<f64> = tail.iter().flatten().copied().collect();
        if let Some(m) = Summary::of(&tail) {
            later.push(m.median);
        }
        every.extend(tail);
    }
    StreamSide {
        first_one_way_ms: Summary::of(&first),
        later_one_way_ms: Summary::of(&later),
        later_one_way_ms_every_event: Summary::of(&every),
        lost: Summary::of(&lost),
    }
}

#[cfg(test)]
mod tests {
    use super::super::proto::{Received, Sent};
    use super::*;

    fn run(sent_ns: Vec<u64>, arrived_ns: Vec<Option<u64>>) -> FlowRun {
        FlowRun {
            sent: Sent {
                events: sent_ns.len() as u64,
                sent_ns,
                ..Sent::default()
            },
            received: vec![Received {
                events: arrived_ns.iter().flatten().count() as u64,
                arrived_ns,
                ..Received::default()
            }],
        }
    }

    #[test]
    fn the_first_event_stands_apart_from_the_later_ones() {
        let ms = 1_000_000;
        let runs = [
            // 2 ms, then 1, 3, 1 ms: later median 1 ms.
            run(
                vec![0, 100 * ms, 200 * ms, 300 * ms],
                vec![Some(2 * ms), Some(101 * ms), Some(203 * ms), Some(301 * ms)],
            ),
            // 4 ms, one lost, then 2 ms.
            run(
                vec![0, 100 * ms, 200 * ms],
                vec![Some(4 * ms), None, Some(202 * ms)],
            ),
        ];
        let s = side(&runs);
        let first = s.first_one_way_ms.unwrap();
        assert_eq!((first.min, first.median, first.max), (2.0, 3.0, 4.0));
        let later = s.later_one_way_ms.unwrap();
        assert_eq!((later.median, later.runs), (1.5, 2));
        let every = s.later_one_way_ms_every_event.unwrap();
        assert_eq!(
            (every.min, every.median, every.max, every.runs),
            (1.0, 1.5, 3.0, 4)
        );
        let lost = s.lost.unwrap();
        assert_eq!((lost.min, lost.max), (0.0, 1.0));
    }

    #[test]
    fn a_run_without_times_gives_no_figure() {
        let s = side(&[run(vec![], vec![])]);
        assert!(s.first_one_way_ms.is_none() && s.later_one_way_ms.is_none());
        assert!(s.lost.is_some());
        assert!(side(&[]).lost.is_none());
    }
}
