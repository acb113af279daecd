//! What other parts of perfspec hand the reports beside the measurement: named time series
//! (resource samplers) and a view of the baseline (baseline comparison). Renderers draw both
//! generically, so a new resource or a new baseline figure needs no renderer change.

use hdrhistogram::Histogram;

use crate::assertion::Unit;

/// A named time series, drawn as one line of a chart.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// The name in legends and JSON: `sut.cpu`, `sut.rss`, `gpu0.memory`.
    pub name: String,
    /// The chart it is drawn in: series with the same chart title share one chart (and must
    /// share a unit), e.g. `CPU`, `Memory`, `GPU utilisation`.
    pub chart: String,
    /// The unit of the values (resource CPU is [`Unit::Percent`]: 50.0 is half a core).
    pub unit: Unit,
    /// `(seconds from the start of measurement, value)`, in time order; negative times are
    /// the warm-up.
    pub points: Vec<(f64, f64)>,
}

/// The baseline of a trial as the reports show it.
#[derive(Debug, Clone, Default)]
pub struct BaselineView {
    /// Where it comes from, for people: `baselines/search/steady.json (2026-11-20, abc123)`.
    pub label: String,
    /// Key metrics against the baseline (the "vs baseline" columns).
    pub changes: Vec<Change>,
    /// The baseline's latency of all requests (µs), overlaid on the latency distribution and
    /// as reference lines on latency over time.
    pub latency: Option<Histogram<u64>>,
    /// Baseline series overlaid on the trial's series of the same name (dashed).
    pub series: Vec<Series>,
}

/// How one metric moved against the baseline.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    /// The metric as assertions name it: `p95`, `throughput`, `search.p99`.
    pub metric: String,
    /// Relative change in percent: `12.0` is 12 % above the baseline.
    pub percent: f64,
    /// What the change means once noise is accounted for.
    pub judgement: Judgement,
}

/// The meaning of a change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Judgement {
    /// Worse beyond the threshold and the noise.
    Regressed,
    /// Better beyond the noise.
    Improved,
    /// Within the noise.
    Unchanged,
}

impl Change {
    /// `p95 ↑12.0%`, with an arrow for the direction of the number.
    pub fn text(&self) -> String {
        let arrow = if self.percent > 0.0 {
            '↑'
        } else if self.percent < 0.0 {
            '↓'
        } else {
            '→'
        };
        format!("{} {arrow}{:.1}%", self.metric, self.percent.abs())
    }
}
