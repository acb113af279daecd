//! `decide`: every regression metric of a scenario, the base side against the head runs.

use super::{Change, GateOutcome, Rule, Source, compare, paired};
use crate::baseline::{Baseline, decode, side_of_baseline, side_of_runs};
use crate::measure::Measurement;
use crate::spec::Regression;

/// The base side's runs.
#[derive(Debug, Clone, PartialEq)]
pub enum BaseRuns {
    /// A blessed baseline: independent of the head runs.
    Stored(Box<Baseline>),
    /// One file per A/B round, in round order: the i-th pairs with the i-th head run.
    Rounds(Vec<Baseline>),
}

/// What the head runs are compared with.
#[derive(Debug, Clone, PartialEq)]
pub struct BaseSide {
    /// Where it comes from, for people.
    pub source: Source,
    /// Its runs.
    pub runs: BaseRuns,
    /// Whether a regression fails the test.
    pub binding: bool,
    /// What already makes the comparison incomplete or not allowed (a round that could not
    /// measure, a baseline from another machine under `host-mismatch = "fail"`).
    pub problems: Vec<String>,
}

/// Compares every metric of `rule` between `base` and `head` (pure).
pub fn decide(rule: &Regression, base: &BaseSide, head: &[Measurement]) -> GateOutcome {
    let r = Rule::of(rule);
    let changes = rule
        .metrics
        .iter()
        .map(|g| {
            let (text, scope, metric, turn) = (&g.text, g.scope.as_deref(), &g.metric, g.turn);
            let hib = metric.higher_is_better();
            let head_side = side_of_runs(head, scope, metric, turn);
            let (compared, note) = match (&base.runs, head_side) {
                (_, None) => (None, Some("not measured in this run".to_string())),
                (BaseRuns::Stored(b), Some(h)) => match side_of_baseline(b, scope, metric, turn) {
                    None => (
                        None,
                        Some("not in the baseline (re-bless to include it)".to_string()),
                    ),
                    Some(b) => (compare(&b, &h, hib, r), None),
                },
                (BaseRuns::Rounds(rounds), Some(h)) => {
                    // One value per round: a statistic the base revision kept per run.
                    let values: Option<Vec<f64>> = rounds
                        .iter()
                        .map(|b| {
                            side_of_baseline(b, scope, metric, turn)
                                .filter(|s| s.runs.len() == 1)
                                .map(|s| s.runs[0])
                        })
                        .collect();
                    match values {
                        None => (None, Some("not measured at the base revision".to_string())),
                        Some(v) => (paired(&v, &h.runs, hib, r), None),
                    }
                }
            };
            let note = note.or_else(|| {
                compared
                    .is_none()
                    .then(|| "no positive value to compare".to_string())
            });
            Change {
                metric: text.clone(),
                unit: metric.unit(),
                compared,
                note,
            }
        })
        .collect();
    GateOutcome::Compared {
        source: base.source.clone(),
        latency: match &base.runs {
            BaseRuns::Stored(b) => merged_latency(std::slice::from_ref(b)),
            BaseRuns::Rounds(rounds) => merged_latency(rounds),
        },
        binding: base.binding,
        changes,
        problems: base.problems.clone(),
    }
}

/// Every request's histogram of the baselines merged; `None` when there is none or one does
/// not decode (files are checked when read; the chart is then left without a baseline).
fn merged_latency(files: &[Baseline]) -> Option<hdrhistogram::Histogram<u64>> {
    let mut all = crate::measure::new_histogram();
    for text in files.iter().flat_map(|b| b.histograms.values()) {
        all.add(&decode(text).ok()?).ok()?;
    }
    (!all.is_empty()).then_some(all)
}
