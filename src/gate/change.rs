//! How one metric moved: the one type every report reads.

use crate::assertion::Unit;
use crate::units::fmt_change;

/// What the gate decided about one metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Decision {
    /// Within the threshold, and the point estimate within the warning level.
    Pass,
    /// Within the threshold, but worse than the warning level.
    Warn,
    /// Worse than the threshold, beyond the noise.
    Regressed,
    /// Better than the threshold, beyond the noise.
    Improved,
    /// The noise does not allow a decision: undecided, neither pass nor fail.
    Inconclusive,
}

impl Decision {
    /// `PASS`, `WARN`, `REGRESSED`, `IMPROVED`, `UNDECIDED`.
    pub fn label(self) -> &'static str {
        match self {
            Decision::Pass => "PASS",
            Decision::Warn => "WARN",
            Decision::Regressed => "REGRESSED",
            Decision::Improved => "IMPROVED",
            Decision::Inconclusive => "UNDECIDED",
        }
    }
}

/// What would decide an undecided comparison, at the noise seen so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case", tag = "kind", content = "count")]
pub enum Needed {
    /// About this many more runs of the head (A/B: rounds of both).
    Runs(u32),
    /// No number of new runs: the baseline's own noise is too wide; bless it from about this
    /// many runs.
    BaselineRuns(u32),
    /// The change sits on the threshold: more runs narrow the interval around it but do not
    /// move it off.
    Never,
}

impl Needed {
    /// `about 4 more rounds would decide it`.
    pub fn text(self, paired: bool) -> String {
        let what = if paired { "round" } else { "run" };
        match self {
            Needed::Runs(n) => format!(
                "about {n} more {what}{} would decide it",
                if n == 1 { "" } else { "s" }
            ),
            Needed::BaselineRuns(n) => format!(
                "more runs here cannot decide it: the baseline is too noisy; bless it from about {n} runs"
            ),
            Needed::Never => {
                "the change sits on the threshold: more runs would not decide it".to_string()
            }
        }
    }
}

/// The comparison of one metric, head against base.
#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    /// Geometric mean of the base runs (the baseline, or the base revision in A/B).
    pub base: f64,
    /// Geometric mean of the head runs (this run and its confirmations, or the head revision).
    pub head: f64,
    /// Relative change, head over base, minus one (signed: +0.12 is 12 % higher).
    pub change: f64,
    /// 95 % interval of the relative change.
    pub interval: (f64, f64),
    /// The decision.
    pub decision: Decision,
    /// The point estimate of how much worse, whatever the metric's direction: +0.12 is 12 %
    /// worse (higher latency, lower throughput).
    pub worse: f64,
    /// Runs on each side (base, head); in A/B the pairs used, twice.
    pub runs: (usize, usize),
    /// Whether the runs were paired (A/B rounds) rather than two independent groups.
    pub paired: bool,
    /// What would decide it, when undecided.
    pub needed: Option<Needed>,
}

impl Comparison {
    /// Whether more runs are worth taking before the gate decides: regressed, or undecided
    /// with the point estimate already past the threshold.
    pub fn suspect(&self, threshold: f64) -> bool {
        self.decision == Decision::Regressed
            || (self.decision == Decision::Inconclusive && self.worse > threshold)
    }

    /// `-3.1% .. +14.9%`.
    pub fn interval_text(&self) -> String {
        format!(
            "{} .. {}",
            fmt_change(self.interval.0),
            fmt_change(self.interval.1)
        )
    }
}

/// How one metric moved against the base side: the metric, and its comparison or why there
/// is none.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    /// The metric as written (`p95`, `search.p99`, `throughput`, `sut.cpu-per-request`).
    pub metric: String,
    /// The unit of its values.
    pub unit: Unit,
    /// The comparison; `None` when a side lacks the metric (the note says why).
    pub compared: Option<Comparison>,
    /// Why it was not compared.
    pub note: Option<String>,
}

impl Change {
    /// The decision, when compared.
    pub fn decision(&self) -> Option<Decision> {
        self.compared.as_ref().map(|c| c.decision)
    }

    /// Whether the comparison could not decide.
    pub fn undecided(&self) -> bool {
        self.decision() == Some(Decision::Inconclusive)
    }

    /// `p95 ↑12.0%`, with an arrow for the direction of the number (`p95 -` uncompared).
    pub fn text(&self) -> String {
        let Some(c) = &self.compared else {
            return format!("{} -", self.metric);
        };
        let percent = c.change * 100.0;
        let arrow = if percent > 0.0 {
            '↑'
        } else if percent < 0.0 {
            '↓'
        } else {
            '→'
        };
        format!("{} {arrow}{:.1}%", self.metric, percent.abs())
    }

    /// `p95 ↑5.8% undecided`, `p95 ↑48.2% regressed`, `p95 ↓20.0% improved`, or the text
    /// alone when the change is within the threshold: one cell of a summary.
    pub fn short(&self) -> String {
        match self.decision() {
            Some(Decision::Inconclusive) => format!("{} undecided", self.text()),
            Some(Decision::Regressed) => format!("{} regressed", self.text()),
            Some(Decision::Improved) => format!("{} improved", self.text()),
            _ => self.text(),
        }
    }

    /// For an undecided comparison: `p95 ↑5.8% undecided (95% interval -3.1% .. +14.9%;
    /// about 4 more rounds would decide it)`; `None` otherwise.
    pub fn undecided_text(&self) -> Option<String> {
        let c = self
            .compared
            .as_ref()
            .filter(|c| c.decision == Decision::Inconclusive)?;
        let mut out = format!(
            "{} undecided (95% interval {}",
            self.text(),
            c.interval_text()
        );
        if let Some(n) = c.needed {
            out.push_str("; ");
            out.push_str(&n.text(c.paired));
        }
        out.push(')');
        Some(out)
    }
}
