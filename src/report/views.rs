//! What the harness hands the reports beside the measurement, derived from it: the resource
//! timelines as named [`Series`] (one chart per kind of figure) and the baseline comparison as
//! a [`BaselineView`].

use super::{BaselineView, Series};
use crate::assertion::Unit;
use crate::gate::GateOutcome;
use crate::measure::Measurement;
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

/// The service's metrics that `assertions` read, as chart series: gauges as read (matching
/// series added up), counters as their rate between consecutive reads (a restart counts from
/// zero).
pub fn metric_series(m: &Measurement, assertions: &[crate::assertion::Assertion]) -> Vec<Series> {
    let Some(scraped) = &m.metrics else {
        return Vec::new();
    };
    let mut out: Vec<Series> = Vec::new();
    for r in super::metrics_json::refs(assertions) {
        let mut label = r.text();
        label.truncate(label.len() - r.figure.name().len() - 1);
        let counter =
            r.figure.of_counter() || scraped.kind(&r.name) == crate::scrape::Kind::Counter;
        let name = if counter {
            format!("{label} /s")
        } else {
            label.clone()
        };
        if out.iter().any(|s| s.name == name) {
            continue;
        }
        let mut sums: std::collections::BTreeMap<u64, (f64, f64)> = Default::default();
        for s in scraped
            .series
            .iter()
            .filter(|s| s.name == r.name && r.matchers.iter().all(|m| m.matches(&s.labels)))
        {
            for p in &s.points {
                sums.entry(p.t.to_bits()).or_insert((p.t, 0.0)).1 += p.v;
            }
        }
        let mut points: Vec<(f64, f64)> = sums.into_values().collect();
        points.sort_by(|a, b| a.0.total_cmp(&b.0));
        if counter {
            points = points
                .windows(2)
                .filter(|w| w[1].0 > w[0].0)
                .map(|w| {
                    let increase = if w[1].1 >= w[0].1 {
                        w[1].1 - w[0].1
                    } else {
                        w[1].1
                    };
                    (w[1].0, increase / (w[1].0 - w[0].0))
                })
                .collect();
        }
        if points.is_empty() {
            continue;
        }
        out.push(Series {
            chart: format!("Service: {label}"),
            name,
            unit: if counter {
                Unit::PerSecond
            } else {
                Unit::Number
            },
            points,
        });
    }
    out
}

/// The base side as the reports show it, when the trial was compared with one.
pub fn baseline_view(g: &GateOutcome) -> Option<BaselineView> {
    let GateOutcome::Compared {
        source,
        latency,
        changes,
        ..
    } = g
    else {
        return None;
    };
    Some(BaselineView {
        label: source.label(),
        changes: changes
            .iter()
            .filter(|c| c.compared.is_some())
            .cloned()
            .collect(),
        latency: latency.clone(),
        // Baselines keep per-run figures and histograms, not per-second resource curves.
        series: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gate::{Change, Comparison, Decision, Source};

    fn compared(decision: Decision, change: f64) -> GateOutcome {
        GateOutcome::Compared {
            source: Source::Baseline {
                path: "baselines/s/x.json".into(),
                blessed: "2026-11-20, abc1234".into(),
                other_host: None,
            },
            latency: None,
            binding: true,
            changes: vec![
                Change {
                    metric: "p95".into(),
                    unit: Unit::Micros,
                    compared: Some(Comparison {
                        base: 1000.0,
                        head: 1000.0 * (1.0 + change),
                        change,
                        interval: (change - 0.01, change + 0.01),
                        decision,
                        worse: change,
                        runs: (3, 1),
                        paired: false,
                        needed: None,
                    }),
                    note: None,
                },
                Change {
                    metric: "ttft.p95".into(),
                    unit: Unit::Micros,
                    compared: None,
                    note: Some("not in the baseline".into()),
                },
            ],
            problems: vec![],
        }
    }

    #[test]
    fn a_comparison_becomes_the_compared_changes() {
        let v = baseline_view(&compared(Decision::Regressed, 0.25)).unwrap();
        assert_eq!(v.label, "baselines/s/x.json (blessed 2026-11-20, abc1234)");
        assert_eq!(v.changes.len(), 1, "uncompared metrics have no change");
        assert_eq!(v.changes[0].decision(), Some(Decision::Regressed));
        assert_eq!(v.changes[0].text(), "p95 ↑25.0%");
    }

    #[test]
    fn missing_and_blessed_baselines_have_no_view() {
        let missing = GateOutcome::Missing {
            path: "p".into(),
            command: "c".into(),
            required: false,
        };
        assert!(baseline_view(&missing).is_none());
    }
}
