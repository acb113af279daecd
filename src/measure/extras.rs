//! What some responses tell beyond their latency: token timing of streams, stage timings from
//! `Server-Timing`, and whether a request met the goodput budgets.

use std::collections::BTreeMap;
use std::time::Duration;

use hdrhistogram::Histogram;
use tokio::time::Instant;

use super::stats::merge_into;
use super::{RequestStats, StreamStats, new_histogram};
use crate::client::Detail;
use crate::spec::Goodput;

/// Extras of one request name, accumulated in one shard.
#[derive(Debug, Clone)]
pub(crate) struct Extras {
    stream: Option<StreamStats>,
    stages: BTreeMap<String, Histogram<u64>>,
    good: Option<u64>,
}

impl Extras {
    /// Extras for a request that streams (or not), counting goodput when budgets are set.
    pub fn new(streams: bool, goodput: bool) -> Extras {
        Extras {
            stream: streams.then(StreamStats::new),
            stages: BTreeMap::new(),
            good: goodput.then_some(0),
        }
    }

    /// Records the extras of one successful, measured request.
    pub fn record(
        &mut self,
        detail: &Detail,
        intended: Instant,
        done: Instant,
        budgets: Option<&Goodput>,
    ) {
        for (name, us) in &detail.stages {
            let h = match self.stages.get_mut(name) {
                Some(h) => h,
                None => self
                    .stages
                    .entry(name.clone())
                    .or_insert_with(new_histogram),
            };
            let _ = h.record(*us);
        }
        let e2e = done.saturating_duration_since(intended);
        let mut ttft = None;
        let mut tpot = None;
        if let (Some(acc), Some(t)) = (&mut self.stream, &detail.stream) {
            let tokens = t.tokens();
            acc.output_tokens += tokens;
            if t.usage.is_some() {
                acc.counted_by_usage += 1;
            } else {
                acc.counted_by_events += 1;
            }
            for gap in &t.gaps_us {
                let _ = acc.itl.record(*gap);
            }
            if let Some(first) = t.first {
                let first_token = first.saturating_duration_since(intended);
                let _ = acc.ttft.record(micros(first_token));
                ttft = Some(first_token);
                if tokens >= 2 {
                    let per = done.saturating_duration_since(first)
                        / (tokens - 1).min(u64::from(u32::MAX)) as u32;
                    let _ = acc.tpot.record(micros(per));
                    tpot = Some(per);
                }
            }
        }
        if let (Some(good), Some(b)) = (&mut self.good, budgets) {
            let within = |budget: Option<Duration>, value: Option<Duration>| match (budget, value) {
                (Some(limit), Some(v)) => v <= limit,
                // A budget on something this response does not have (TTFT of a plain
                // response) does not apply; a stream without any token misses its TTFT.
                (Some(_), None) => detail.stream.is_none(),
                (None, _) => true,
            };
            if within(b.ttft, ttft) && within(b.tpot, tpot) && within(b.e2e, Some(e2e)) {
                *good += 1;
            }
        }
    }

    /// Adds these extras into finished stats.
    pub fn finish_into(&self, stats: &mut RequestStats) {
        if let Some(s) = &self.stream {
            stats.stream.get_or_insert_with(StreamStats::new).merge(s);
        }
        for (name, h) in &self.stages {
            merge_into(
                stats
                    .stages
                    .entry(name.clone())
                    .or_insert_with(new_histogram),
                h,
            );
        }
        if let Some(g) = self.good {
            *stats.good.get_or_insert(0) += g;
        }
    }
}

fn micros(d: Duration) -> u64 {
    d.as_micros().min(3_600_000_000) as u64
}
