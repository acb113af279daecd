//! What the harness hands the reports beside the measurement, derived from it: the resource
//! timelines as named [`Series`] (one chart per kind of figure) and the baseline comparison as
//! a [`BaselineView`].

use super::{BaselineView, Change, Judgement, Series};
use crate::assertion::Unit;
use crate::compare::BaselineOutcome;
use crate::measure::Measurement;
use crate::regression;
use crate::resources::{Point, Quantity, Resources};

/// The charts resource series are drawn in, in page order: (entity filter, quantity, chart,
/// series suffix, unit). Process CPU is a share of one core, the machine's of all cores, so
/// they get separate charts.
const CHARTS: &[(Entities, Quantity, &str, &str, Unit)] = &[
    (
        Entities::Processes,
        Quantity::Cpu,
        "CPU (% of one core)",
        "cpu",
        Unit::Percent,
    ),
    (
        Entities::Processes,
        Quantity::Rss,
        "Memory (RSS)",
        "rss",
        Unit::Bytes,
    ),
    (
        Entities::Machine,
        Quantity::Cpu,
        "Machine CPU (% of all cores)",
        "cpu",
        Unit::Percent,
    ),
    (
        Entities::Gpus,
        Quantity::GpuUtil,
        "GPU utilisation",
        "util",
        Unit::Percent,
    ),
    (
        Entities::Gpus,
        Quantity::GpuMem,
        "GPU memory",
        "memory",
        Unit::Bytes,
    ),
    (
        Entities::Gpus,
        Quantity::GpuPower,
        "GPU power",
        "power",
        Unit::Watts,
    ),
];

#[derive(Clone, Copy, PartialEq)]
enum Entities {
    /// The target's process tree (`sut`) and the generator's process.
    Processes,
    /// The whole machine (`system`).
    Machine,
    /// `gpu0`, `gpu1`, …
    Gpus,
}

impl Entities {
    fn holds(self, name: &str) -> bool {
        match self {
            Entities::Processes => name == "sut" || name == "generator",
            Entities::Machine => name == "system",
            Entities::Gpus => name.starts_with("gpu"),
        }
    }
}

/// The resource timelines of a measurement as chart series; empty when nothing was sampled.
pub fn series_of(m: &Measurement) -> Vec<Series> {
    m.resources.as_ref().map_or_else(Vec::new, resource_series)
}

fn resource_series(r: &Resources) -> Vec<Series> {
    let mut out = Vec::new();
    for &(entities, q, chart, suffix, unit) in CHARTS {
        for e in r.entities.iter().filter(|e| entities.holds(&e.name)) {
            let points: &[Point] = e.series(q);
            if points.is_empty() {
                continue;
            }
            out.push(Series {
                name: format!("{}.{suffix}", e.name),
                chart: chart.to_string(),
                unit,
                points: points.iter().map(|p| (p.t, p.v)).collect(),
            });
        }
    }
    out
}

/// The baseline as the reports show it, when the trial was compared with one.
pub fn baseline_view(b: &BaselineOutcome) -> Option<BaselineView> {
    let BaselineOutcome::Compared {
        path,
        blessed,
        latency,
        checks,
        ..
    } = b
    else {
        return None;
    };
    let changes = checks
        .iter()
        .filter_map(|c| {
            let cmp = c.comparison.as_ref()?;
            Some(Change {
                metric: c.metric.clone(),
                percent: cmp.change * 100.0,
                judgement: match cmp.outcome {
                    regression::Change::Regressed => Judgement::Regressed,
                    regression::Change::Improved => Judgement::Improved,
                    regression::Change::Pass
                    | regression::Change::Warn
                    | regression::Change::Inconclusive => Judgement::Unchanged,
                },
            })
        })
        .collect();
    Some(BaselineView {
        label: format!("{path} ({blessed})"),
        changes,
        latency: latency.clone(),
        // Baselines keep per-run figures and histograms, not per-second resource curves.
        series: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compare::RegressionCheck;
    use crate::regression::Comparison;

    fn compared(outcome: regression::Change, change: f64) -> BaselineOutcome {
        BaselineOutcome::Compared {
            path: "baselines/s/x.json".into(),
            blessed: "2026-11-20, abc1234".into(),
            latency: None,
            other_host: None,
            binding: true,
            checks: vec![
                RegressionCheck {
                    metric: "p95".into(),
                    unit: Unit::Micros,
                    comparison: Some(Comparison {
                        baseline: 1000.0,
                        current: 1000.0 * (1.0 + change),
                        change,
                        interval: (change - 0.01, change + 0.01),
                        outcome,
                        worse: change,
                        runs: (3, 1),
                    }),
                    note: None,
                },
                RegressionCheck {
                    metric: "ttft.p95".into(),
                    unit: Unit::Micros,
                    comparison: None,
                    note: Some("not in the baseline".into()),
                },
            ],
        }
    }

    #[test]
    fn a_comparison_becomes_changes_with_judgements() {
        let v = baseline_view(&compared(regression::Change::Regressed, 0.25)).unwrap();
        assert_eq!(v.label, "baselines/s/x.json (2026-11-20, abc1234)");
        assert_eq!(v.changes.len(), 1, "uncompared metrics have no change");
        assert_eq!(v.changes[0].judgement, Judgement::Regressed);
        assert!((v.changes[0].percent - 25.0).abs() < 1e-9);
        let warn = baseline_view(&compared(regression::Change::Warn, 0.06)).unwrap();
        assert_eq!(warn.changes[0].judgement, Judgement::Unchanged);
        let better = baseline_view(&compared(regression::Change::Improved, -0.3)).unwrap();
        assert_eq!(better.changes[0].judgement, Judgement::Improved);
    }

    #[test]
    fn missing_and_blessed_baselines_have_no_view() {
        let missing = BaselineOutcome::Missing {
            path: "p".into(),
            command: "c".into(),
            required: false,
        };
        assert!(baseline_view(&missing).is_none());
    }
}
