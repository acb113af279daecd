//! A phase of a run recorded on its own: a recorder that sees only the outcomes intended to
//! start within the phase, so its statistics are as precise as the whole run's.

use std::ops::Range;
use std::time::Duration;

use tokio::time::Instant;

use super::recorder::Recorder;
use super::{Generator, PhaseMeasurement};

/// A phase: its time range and the recorder of its requests.
pub(super) struct PhaseRecorder {
    name: String,
    span: Range<Instant>,
    recorder: Recorder,
}

impl PhaseRecorder {
    /// Phase `name` over `span`; `recorder` measures from the phase's measured start.
    pub fn new(name: String, span: Range<Instant>, recorder: Recorder) -> PhaseRecorder {
        PhaseRecorder {
            name,
            span,
            recorder,
        }
    }

    /// Its recorder, when an outcome intended at `at` belongs to this phase.
    pub fn recorder_at(&self, at: Instant) -> Option<&Recorder> {
        self.span.contains(&at).then_some(&self.recorder)
    }

    /// What the phase measured, when the run measured from `measure_from` for `window`.
    pub fn finish(
        &self,
        measure_from: Instant,
        window: Duration,
        threads: usize,
    ) -> PhaseMeasurement {
        let seconds = |at: Instant| {
            if at >= measure_from {
                (at - measure_from).as_secs_f64()
            } else {
                -(measure_from - at).as_secs_f64()
            }
        };
        let from = self.span.start.max(measure_from);
        let to = self.span.end.min(measure_from + window);
        PhaseMeasurement {
            name: self.name.clone(),
            from_s: seconds(self.span.start),
            to_s: seconds(self.span.end),
            measurement: self.recorder.finish(
                from.saturating_duration_since(self.span.start),
                to.saturating_duration_since(from),
                Generator {
                    threads,
                    ..Generator::default()
                },
            ),
        }
    }
}
