//! What stress runs add to the charts: phases as tinted bands on every chart over time, the
//! recovery point on latency over time, and the curve of a capacity search (latency and
//! throughput against the level of each step).

use super::axis::{Quantity, Scale};
use super::chart::{Chart, Line, Marker, Rule};
use crate::assertion::Unit;
use crate::measure::{Measurement, StepOutcome};

const P50: &str = "#2563eb";
const P95: &str = "#ea580c";
const P99: &str = "#9333ea";
const OK: &str = "#16a34a";
const GREY: &str = "#6b7280";
const HELD: &str = "#15803d";
const FAILED: &str = "#dc2626";

/// The phases, as bands from start to end (seconds from the end of the warm-up).
pub(super) fn phase_bands(m: &Measurement) -> Vec<(f64, f64, String)> {
    m.course
        .phases
        .iter()
        .map(|p| (p.from_s, p.to_s, p.name.clone()))
        .collect()
}

/// ◆ where the service recovered, at the p95 it had to get under.
pub(super) fn recovery_marker(m: &Measurement) -> Option<Marker> {
    let r = m.course.recovery.as_ref()?;
    let at = r.recovered_at_s?;
    Some(Marker {
        x: at,
        y: r.p95_limit_us?,
        label: format!(
            "recovered {:.0} s after {}",
            r.time_s().unwrap_or_default(),
            r.after
        ),
        color: HELD,
    })
}

/// Latency percentiles and throughput against the level of each step (the last run of
/// each), the levels that held and failed marked.
pub(super) fn capacity_charts(m: &Measurement) -> Vec<Chart> {
    let Some(c) = &m.course.capacity else {
        return Vec::new();
    };
    let x = if c.users {
        Quantity::Of(Unit::Count)
    } else {
        Quantity::Of(Unit::PerSecond)
    };
    let mut steps: Vec<_> = c
        .steps
        .iter()
        .filter_map(|s| Some((s.level, s.outcome, s.runs.last()?)))
        .collect();
    steps.sort_by(|a, b| a.0.total_cmp(&b.0));
    let level = |v: f64| c.level_text(v);
    let mut latency =
        [("p50", P50, 0), ("p95", P95, 1), ("p99", P99, 2)].map(|(label, color, i)| {
            let mut line = Line::new(label, color);
            for (l, _, run) in &steps {
                let v = [run.p50_us, run.p95_us, run.p99_us][i].unwrap_or(f64::NAN);
                line.points.push((*l, v));
                if v.is_finite() {
                    line.tips.push((
                        *l,
                        v,
                        format!("{}: {label} {}", level(*l), Unit::Micros.format(v)),
                    ));
                }
            }
            line
        });
    latency[2].width = 1.5;
    let markers = |y: &dyn Fn(&crate::measure::StepRun) -> Option<f64>| -> Vec<Marker> {
        steps
            .iter()
            .filter_map(|(l, outcome, run)| {
                let (text, color) = match outcome {
                    StepOutcome::Held => ("held", HELD),
                    StepOutcome::Failed => ("failed", FAILED),
                    StepOutcome::Inconclusive => ("undecided", GREY),
                };
                let marks_edge = Some(*l) == c.held || Some(*l) == c.failed;
                if !marks_edge && *outcome != StepOutcome::Inconclusive {
                    return None;
                }
                Some(Marker {
                    x: *l,
                    y: y(run)?,
                    label: format!("{} {text}", level(*l)),
                    color,
                })
            })
            .collect()
    };
    let mut throughput = Line::new("throughput", OK);
    for (l, _, run) in &steps {
        throughput.points.push((*l, run.throughput));
        throughput.tips.push((
            *l,
            run.throughput,
            format!("{}: {}", level(*l), Unit::PerSecond.format(run.throughput)),
        ));
    }
    let mut lines = vec![throughput];
    if !c.users {
        // What was offered: a level that held completes about as many requests as arrive.
        let mut offered = Line::new("offered (the level)", GREY);
        offered.points = steps.iter().map(|(l, ..)| (*l, *l)).collect();
        offered.dash = Some("6 4");
        offered.width = 1.5;
        lines.push(offered);
    }
    let rules = c
        .value
        .map(|v| Rule {
            y: v,
            label: format!("capacity {}", Unit::PerSecond.format(v)),
            color: HELD,
            left: true,
        })
        .into_iter()
        .collect();
    let about = if c.users {
        "each step's users"
    } else {
        "each step's arrival rate"
    };
    vec![
        Chart {
            title: "Capacity search: latency".into(),
            about: format!(
                "Response time percentiles of each step (its last run) against {about}; ◆ marks the highest level that held and the lowest that failed."
            ),
            x: (Scale::Linear, x),
            y: (Scale::Log, Quantity::Of(Unit::Micros)),
            lines: latency.to_vec(),
            rules: Vec::new(),
            markers: markers(&|r| r.p95_us),
            shade: None,
            bands: Vec::new(),
        },
        Chart {
            title: "Capacity search: throughput".into(),
            about: format!(
                "Successful requests per second of each step against {about}, and the capacity found."
            ),
            x: (Scale::Linear, x),
            y: (Scale::Linear, Quantity::Of(Unit::PerSecond)),
            lines,
            rules,
            markers: markers(&|r| Some(r.throughput)),
            shade: None,
            bands: Vec::new(),
        },
    ]
}
