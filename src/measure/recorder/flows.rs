//! Iterations of flows: each one's outcome and, when it succeeded, its duration.

use tokio::time::Instant;

use super::{Recorder, lock, micros};
use crate::measure::FlowMeasurement;

impl Recorder {
    /// Also records the iterations of the flows `names` (by index).
    pub fn with_flows(mut self, names: Vec<String>) -> Recorder {
        for shard in self.shards.iter() {
            // Each shard's counts go under the flow's name at the end: no name per shard.
            lock(shard).flows = names.iter().map(|_| FlowMeasurement::empty("")).collect();
        }
        self.flow_names = names;
        self
    }

    /// Records a finished iteration of flow `flow`, intended to start at `start` and done at
    /// `done`; counted when it was intended in the measured window, like a request.
    pub fn iteration(&self, shard: usize, flow: usize, start: Instant, done: Instant, ok: bool) {
        if start < self.measure_from {
            return;
        }
        let mut s = lock(&self.shards[shard % self.shards.len()]);
        let Some(acc) = s.flows.get_mut(flow) else {
            return;
        };
        if ok {
            acc.succeeded += 1;
            let _ = acc
                .duration
                .record(micros(done.saturating_duration_since(start)));
        } else {
            acc.failed += 1;
        }
    }

    /// Every shard's iterations, per flow (the shards are left empty).
    pub(super) fn finish_flows(&self) -> Vec<FlowMeasurement> {
        let mut out: Vec<FlowMeasurement> =
            self.flow_names.iter().map(FlowMeasurement::empty).collect();
        for shard in self.shards.iter() {
            let flows = std::mem::take(&mut lock(shard).flows);
            for (total, acc) in out.iter_mut().zip(&flows) {
                total.add(acc);
            }
        }
        out
    }
}
