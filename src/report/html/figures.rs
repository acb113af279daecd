//! The charts of one trial, from its measurement, checks, series and baseline: latency
//! percentiles over time, the latency distribution, throughput and errors over time, and one
//! chart per group of named series (resources).

use hdrhistogram::Histogram;

use super::axis::{Quantity, Scale, long, nines};
use super::chart::{Chart, Line, Marker, Rule};
use crate::assertion::{Check, Metric, Outcome, Stat, Unit};
use crate::measure::{Measurement, stat_of};
use crate::report::{BaselineView, Measured, Series, TrialReport};

const P50: &str = "#2563eb";
const P95: &str = "#ea580c";
const P99: &str = "#9333ea";
const OK: &str = "#16a34a";
const ERR: &str = "#dc2626";
const DROP: &str = "#ca8a04";
const ALL: &str = "#111827";
const GREY: &str = "#6b7280";
const PASS: &str = "#15803d";
const FAIL: &str = "#dc2626";
const UNDECIDED: &str = "#b45309";
/// Colours of per-request lines and of named series.
const PALETTE: [&str; 6] = [
    "#0891b2", "#db2777", "#65a30d", "#7c3aed", "#ea580c", "#2563eb",
];
const BASELINE_DASH: &str = "6 4";
/// Points per line above which tooltips are left out (the page stays small).
const MAX_TIPS: usize = 400;

/// The charts of a measured trial: the latency distribution (shown beside the checks), then
/// everything over time in page order.
pub(crate) fn charts(measured: &Measured, r: &TrialReport) -> (Chart, Vec<Chart>) {
    let m = &measured.measurement;
    let checks = measured.verdict.checks();
    let baseline = r.baseline.as_ref();
    let mut over_time = vec![
        latency_over_time(m, checks, baseline),
        throughput(m, checks),
    ];
    over_time.extend(named(&r.series, baseline));
    // Phases are shaded on every chart over time; the recovery is marked on latency.
    let bands = super::stress::phase_bands(m);
    for chart in &mut over_time {
        chart.bands = bands.clone();
    }
    if let Some(marker) = super::stress::recovery_marker(m) {
        over_time[0].markers.push(marker);
    }
    over_time.extend(super::stress::capacity_charts(m));
    (distribution(m, checks, baseline), over_time)
}

fn outcome_color(c: &Check) -> &'static str {
    match c.outcome {
        Outcome::Pass => PASS,
        Outcome::Fail => FAIL,
        _ => UNDECIDED,
    }
}

/// Whether a check is about all requests of the whole run (not one request, not one phase):
/// only those are drawn as limits across a whole chart.
fn whole(c: &Check) -> bool {
    c.assertion.scope.is_none() && c.assertion.phase.is_none() && c.assertion.turn.is_none()
}

fn warmup_shade(m: &Measurement) -> Option<(f64, f64, &'static str)> {
    let first = m.timeline.first().map_or(0, |s| s.t);
    (first < 0).then_some((first as f64, 0.0, "warm-up"))
}

fn latency_over_time(m: &Measurement, checks: &[Check], baseline: Option<&BaselineView>) -> Chart {
    let mut lines = [("p50", P50, 50.0), ("p95", P95, 95.0), ("p99", P99, 99.0)]
        .map(|(label, color, q)| {
            let mut line = Line::new(label, color);
            for s in &m.timeline {
                let t = s.total();
                let v = stat_of(&t.latency, Stat::Percentile(q)).unwrap_or(f64::NAN);
                line.points.push((s.t as f64, v));
                if m.timeline.len() <= MAX_TIPS && v.is_finite() {
                    line.tips.push((
                        s.t as f64,
                        v,
                        format!(
                            "{}–{} s: {label} {} ({} requests)",
                            s.t,
                            s.t + 1,
                            long(Quantity::Of(Unit::Micros), v),
                            t.ok
                        ),
                    ));
                }
            }
            line
        })
        .to_vec();
    lines[2].width = 1.5;
    let mut rules: Vec<Rule> = checks
        .iter()
        .filter(|c| whole(c) && matches!(c.assertion.metric, Metric::Latency(_)))
        .map(|c| Rule {
            y: c.assertion.limit,
            label: c.assertion.text.clone(),
            color: outcome_color(c),
            left: false,
        })
        .collect();
    if let Some(h) = baseline.and_then(|b| b.latency.as_ref()) {
        for (label, q, color) in [("baseline p95", 95.0, P95), ("baseline p99", 99.0, P99)] {
            if let Some(v) = stat_of(h, Stat::Percentile(q)) {
                rules.push(Rule {
                    y: v,
                    label: format!("{label} {}", long(Quantity::Of(Unit::Micros), v)),
                    color,
                    left: true,
                });
            }
        }
    }
    Chart {
        title: "Latency over time".into(),
        about: "Response time percentiles of the requests started in each second (all requests; 2 significant figures), with the latency limits of the checks.".into(),
        x: (Scale::Linear, Quantity::Seconds),
        y: (Scale::Linear, Quantity::Of(Unit::Micros)),
        lines,
        rules,
        markers: Vec::new(),
        shade: warmup_shade(m),
        bands: Vec::new(),
    }
}

/// Points of a percentile curve: from p0 to the deepest percentile the samples can tell
/// apart from the maximum (one in `n`), then the maximum.
pub(crate) fn curve(h: &Histogram<u64>) -> Vec<(f64, f64)> {
    let n = h.len();
    if n == 0 {
        return Vec::new();
    }
    let deepest = (n as f64).log10().min(5.0);
    let steps = (deepest / 0.025).ceil() as usize;
    let mut points = Vec::with_capacity(steps + 2);
    for i in 0..=steps {
        let x = (i as f64 * 0.025).min(deepest);
        let p = (1.0 - 10f64.powf(-x)) * 100.0;
        points.push((p, h.value_at_quantile(p / 100.0) as f64));
    }
    points.push(((1.0 - 10f64.powf(-deepest)) * 100.0, h.max() as f64));
    points
}

fn curve_line(label: &str, color: &'static str, h: &Histogram<u64>) -> Line {
    let mut line = Line::new(label, color);
    line.points = curve(h);
    let deepest = line.points.last().map_or(0.0, |p| p.0);
    for q in [50.0, 90.0, 99.0, 99.9, 99.99] {
        if nines(q) <= nines(deepest) + 1e-9
            && let Some(v) = stat_of(h, Stat::Percentile(q))
        {
            line.tips.push((
                q,
                v,
                format!("{label}: p{q} {}", long(Quantity::Of(Unit::Micros), v)),
            ));
        }
    }
    line.tips.push((
        deepest,
        h.max() as f64,
        format!(
            "{label}: max {} ({} samples)",
            long(Quantity::Of(Unit::Micros), h.max() as f64),
            h.len()
        ),
    ));
    line
}

fn distribution(m: &Measurement, checks: &[Check], baseline: Option<&BaselineView>) -> Chart {
    let total = m.total();
    let mut lines = Vec::new();
    if m.requests.len() > 1 {
        for (i, r) in m.requests.iter().enumerate() {
            let mut line = curve_line(&r.name, PALETTE[i % PALETTE.len()], &r.latency);
            line.width = 1.5;
            lines.push(line);
        }
    }
    let mut all = curve_line("all requests", ALL, &total.latency);
    all.width = 2.5;
    lines.push(all);
    if let Some(service) = &total.service {
        let mut line = curve_line("all, service time (from the actual send)", GREY, service);
        line.dash = Some("2 3");
        line.width = 1.5;
        lines.push(line);
    }
    if let Some(h) = baseline.and_then(|b| b.latency.as_ref()) {
        let mut line = curve_line("baseline (all)", GREY, h);
        line.dash = Some(BASELINE_DASH);
        lines.push(line);
    }
    let markers = checks
        .iter()
        .filter(|c| {
            c.assertion.window.is_none()
                && c.assertion.phase.is_none()
                && c.assertion.turn.is_none()
        })
        .filter_map(|c| match c.assertion.metric {
            Metric::Latency(Stat::Percentile(p)) => Some(Marker {
                x: p,
                y: c.assertion.limit,
                label: c.assertion.text.clone(),
                color: outcome_color(c),
            }),
            _ => None,
        })
        .collect();
    Chart {
        title: "Latency distribution".into(),
        about: "Response time at each percentile over the measured time (full precision), on log scales; ◆ marks the percentile limits of the checks. Curves end where the samples run out.".into(),
        x: (Scale::Nines, Quantity::Percentile),
        y: (Scale::Log, Quantity::Of(Unit::Micros)),
        lines,
        rules: Vec::new(),
        markers,
        shade: None,
        bands: Vec::new(),
    }
}

fn throughput(m: &Measurement, checks: &[Check]) -> Chart {
    let mut ok = Line::new("successful/s", OK);
    let mut err = Line::new("errors/s", ERR);
    let mut dropped = Line::new("dropped/s", DROP);
    let tips = m.timeline.len() <= MAX_TIPS;
    for s in &m.timeline {
        let t = s.total();
        let x = s.t as f64;
        ok.points.push((x, t.ok as f64));
        err.points.push((x, t.errors as f64));
        dropped.points.push((x, s.dropped as f64));
        if tips {
            let text = format!(
                "{}–{} s: {} ok, {} errors{}",
                s.t,
                s.t + 1,
                t.ok,
                t.errors,
                if s.dropped > 0 {
                    format!(", {} dropped", s.dropped)
                } else {
                    String::new()
                }
            );
            ok.tips.push((x, t.ok as f64, text.clone()));
            if t.errors > 0 {
                err.tips.push((x, t.errors as f64, text));
            }
        }
    }
    err.width = 1.5;
    let mut lines = vec![ok, err];
    if m.generator.dropped > 0 || m.timeline.iter().any(|s| s.dropped > 0) {
        dropped.width = 1.5;
        lines.push(dropped);
    }
    let rules = checks
        .iter()
        .filter(|c| whole(c) && c.assertion.metric == Metric::Throughput)
        .map(|c| Rule {
            y: c.assertion.limit,
            label: c.assertion.text.clone(),
            color: outcome_color(c),
            left: false,
        })
        .collect();
    Chart {
        title: "Throughput and errors over time".into(),
        about: "Requests started in each second that succeeded, failed, or (open model) found no free user.".into(),
        x: (Scale::Linear, Quantity::Seconds),
        y: (Scale::Linear, Quantity::Of(Unit::PerSecond)),
        lines,
        rules,
        markers: Vec::new(),
        shade: warmup_shade(m),
        bands: Vec::new(),
    }
}

/// One chart per distinct `chart` of the series, in order of first appearance; a baseline
/// series of the same name is overlaid dashed.
fn named(series: &[Series], baseline: Option<&BaselineView>) -> Vec<Chart> {
    let mut titles: Vec<&str> = Vec::new();
    for s in series {
        if !titles.contains(&s.chart.as_str()) {
            titles.push(&s.chart);
        }
    }
    titles
        .into_iter()
        .map(|title| {
            let members: Vec<&Series> = series.iter().filter(|s| s.chart == title).collect();
            let unit = members[0].unit;
            let mut lines = Vec::new();
            for (i, s) in members.iter().enumerate() {
                let color = PALETTE[i % PALETTE.len()];
                let mut line = Line::new(&s.name, color);
                line.points = s.points.clone();
                if s.points.len() <= MAX_TIPS {
                    line.tips = s
                        .points
                        .iter()
                        .map(|&(t, v)| (t, v, format!("{:.0} s: {} {}", t, s.name, unit.format(v))))
                        .collect();
                }
                lines.push(line);
                if let Some(b) = baseline.and_then(|b| b.series.iter().find(|b| b.name == s.name)) {
                    let mut line = Line::new(format!("{} (baseline)", s.name), color);
                    line.points = b.points.clone();
                    line.dash = Some(BASELINE_DASH);
                    line.width = 1.5;
                    lines.push(line);
                }
            }
            let first = members
                .iter()
                .flat_map(|s| s.points.first().map(|p| p.0))
                .fold(0.0f64, f64::min);
            Chart {
                title: title.to_string(),
                about: format!(
                    "{} over time.",
                    members
                        .iter()
                        .map(|s| s.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                x: (Scale::Linear, Quantity::Seconds),
                y: (Scale::Linear, Quantity::Of(unit)),
                lines,
                rules: Vec::new(),
                markers: Vec::new(),
                shade: (first < 0.0).then_some((first, 0.0, "warm-up")),
                bands: Vec::new(),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn curves_stop_where_the_samples_run_out() {
        let mut h = crate::measure::new_histogram();
        for v in 1..=1000u64 {
            h.record(v * 10).unwrap();
        }
        let c = curve(&h);
        let (p_last, v_last) = *c.last().unwrap();
        assert!((p_last - 99.9).abs() < 1e-6, "1,000 samples reach p99.9");
        assert_eq!(v_last, h.max() as f64);
        assert_eq!(c[0], (0.0, h.value_at_quantile(0.0) as f64));
        assert!(c.windows(2).all(|w| w[0].0 <= w[1].0 && w[0].1 <= w[1].1));
        assert!(curve(&crate::measure::new_histogram()).is_empty());
    }
}
