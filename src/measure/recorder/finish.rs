//! The end of recording: every shard's accumulators folded into one [`Measurement`].

use std::time::Duration;

use super::{Recorder, lock};
use crate::measure::stats::merge_into;
use crate::measure::{
    Course, ErrorKind, Generator, Measurement, RequestStats, TurnMeasurement, new_histogram,
};

impl Recorder {
    /// Takes what was recorded (the recorder is left empty); `generator` is completed with
    /// the shards' lateness, sent and dropped counts.
    pub fn finish(
        &self,
        warmup: Duration,
        window: Duration,
        mut generator: Generator,
    ) -> Measurement {
        self.collect();
        let flows = self.finish_flows();
        let mut requests: Vec<RequestStats> = self
            .names
            .iter()
            .map(|n| RequestStats::new(n.clone(), self.open))
            .collect();
        let mut interrupted = 0;
        generator.lateness = self.open.then(new_histogram);
        for shard in self.shards.iter() {
            let shard = std::mem::take(&mut *lock(shard));
            interrupted += shard.interrupted;
            generator.sent += shard.sent;
            generator.dropped += shard.dropped;
            if let (Some(total), Some(l)) = (&mut generator.lateness, &shard.lateness) {
                merge_into(total, l);
            }
            for (stats, acc) in requests.iter_mut().zip(&shard.requests) {
                merge_into(&mut stats.latency, &acc.latency);
                if let (Some(total), Some(s)) = (&mut stats.service, &acc.service) {
                    merge_into(total, s);
                }
                stats.ok += acc.ok;
                stats.bytes += acc.bytes;
                acc.extras.finish_into(stats);
                stats.phases.merge(&acc.phases);
                stats.refusals.merge(&acc.refusals);
                for (kind, &n) in ErrorKind::ALL.iter().zip(&acc.errors) {
                    if n > 0 {
                        *stats.errors.entry(*kind).or_default() += n;
                    }
                }
            }
        }
        let timeline = std::mem::take(&mut *lock(&self.timeline));
        let phases = self
            .phases
            .iter()
            .map(|p| p.finish(self.measure_from, window, generator.threads))
            .collect();
        let turns = self
            .turns
            .iter()
            .zip(1..)
            .map(|(r, turn)| TurnMeasurement {
                turn,
                measurement: r.finish(
                    warmup,
                    window,
                    Generator {
                        threads: generator.threads,
                        ..Generator::default()
                    },
                ),
            })
            .collect();
        Measurement {
            started_at: self.started_at,
            warmup,
            window,
            requests,
            timeline: timeline.into_values().collect(),
            interrupted,
            generator,
            resources: None,
            course: Course {
                phases,
                turns,
                flows,
                ..Course::default()
            },
            metrics: None,
        }
    }
}
