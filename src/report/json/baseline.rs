//! The `baseline` object of a result file: the regression gate's comparison, check by check,
//! or why there was none.

use serde::Serialize;

use super::{round3, round6};
use crate::gate::{Change, Decision, GateOutcome, Needed, Source};

/// The gate's comparison (or why there was none).
#[derive(Serialize)]
pub(super) struct BaselineJson {
    /// `compared`, `missing` or `blessed`.
    kind: &'static str,
    /// `baseline`, `ab` or `ab-control` when compared.
    source: Option<&'static str>,
    /// The baseline file, or the base revision of an A/B run.
    path: String,
    /// When and from what commit the baseline was blessed.
    blessed: Option<String>,
    other_host: Option<String>,
    binding: Option<bool>,
    command: Option<String>,
    changes: Vec<String>,
    checks: Vec<RegressionJson>,
    problems: Vec<String>,
}

#[derive(Serialize)]
struct RegressionJson {
    metric: String,
    unit: &'static str,
    baseline: Option<f64>,
    current: Option<f64>,
    change: Option<f64>,
    interval_low: Option<f64>,
    interval_high: Option<f64>,
    outcome: Option<Decision>,
    runs_baseline: Option<usize>,
    runs_current: Option<usize>,
    paired: Option<bool>,
    needed: Option<Needed>,
    undecided: Option<String>,
    note: Option<String>,
}

impl BaselineJson {
    pub(super) fn of(g: &GateOutcome) -> BaselineJson {
        let empty = |kind, path: &str| BaselineJson {
            kind,
            source: None,
            path: path.to_string(),
            blessed: None,
            other_host: None,
            binding: None,
            command: None,
            changes: vec![],
            checks: vec![],
            problems: vec![],
        };
        match g {
            GateOutcome::Missing { path, command, .. } => BaselineJson {
                command: Some(command.clone()),
                problems: g.problems(),
                ..empty("missing", path)
            },
            GateOutcome::Blessed { path, changes } => BaselineJson {
                changes: changes.clone(),
                ..empty("blessed", path)
            },
            GateOutcome::Compared {
                source,
                binding,
                changes,
                problems,
                ..
            } => {
                let (kind, path, blessed, other_host) = match source {
                    Source::Baseline {
                        path,
                        blessed,
                        other_host,
                    } => (
                        "baseline",
                        path.clone(),
                        Some(blessed.clone()),
                        other_host.clone(),
                    ),
                    Source::Ab { base, control } => (
                        if *control { "ab-control" } else { "ab" },
                        base.clone(),
                        None,
                        None,
                    ),
                };
                BaselineJson {
                    source: Some(kind),
                    blessed,
                    other_host,
                    binding: Some(*binding),
                    checks: changes.iter().map(RegressionJson::of).collect(),
                    problems: problems.clone(),
                    ..empty("compared", &path)
                }
            }
        }
    }
}

impl RegressionJson {
    fn of(c: &Change) -> RegressionJson {
        let cmp = c.compared.as_ref();
        RegressionJson {
            metric: c.metric.clone(),
            unit: c.unit.json_suffix(),
            baseline: cmp.map(|x| round3(x.base)),
            current: cmp.map(|x| round3(x.head)),
            change: cmp.map(|x| round6(x.change)),
            interval_low: cmp.map(|x| round6(x.interval.0)),
            interval_high: cmp.map(|x| round6(x.interval.1)),
            outcome: cmp.map(|x| x.decision),
            runs_baseline: cmp.map(|x| x.runs.0),
            runs_current: cmp.map(|x| x.runs.1),
            paired: cmp.map(|x| x.paired),
            needed: cmp.and_then(|x| x.needed),
            undecided: c.undecided_text(),
            note: c.note.clone(),
        }
    }
}
