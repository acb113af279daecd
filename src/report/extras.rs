//! What other parts of perfspec hand the reports beside the measurement: named time series
//! (resource samplers) and a view of the baseline (baseline comparison). Renderers draw both
//! generically, so a new resource or a new baseline figure needs no renderer change.

use hdrhistogram::Histogram;

use crate::assertion::Unit;
use crate::gate::Change;

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

/// The base side of a trial's comparison (a baseline, or the base revision of an A/B run) as
/// the reports show it.
#[derive(Debug, Clone, Default)]
pub struct BaselineView {
    /// Where it comes from, for people: `baselines/search/steady.json (2026-11-20, abc123)`.
    pub label: String,
    /// Key metrics against the baseline (the "vs baseline" columns): those compared.
    pub changes: Vec<Change>,
    /// The baseline's latency of all requests (µs), overlaid on the latency distribution and
    /// as reference lines on latency over time.
    pub latency: Option<Histogram<u64>>,
    /// Baseline series overlaid on the trial's series of the same name (dashed).
    pub series: Vec<Series>,
}
