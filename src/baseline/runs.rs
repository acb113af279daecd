//! Each run's figures, per scope (`all` and each request), and the sides of a regression
//! comparison taken from runs or from a baseline.

use std::collections::BTreeMap;

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

use crate::assertion::{Metric, Stat};
use crate::measure::{Measurement, RequestStats, new_histogram, stat_of};

/// The statistics kept for every run.
const STATS: [Stat; 9] = [
    Stat::Min,
    Stat::Mean,
    Stat::Percentile(50.0),
    Stat::Percentile(75.0),
    Stat::Percentile(90.0),
    Stat::Percentile(95.0),
    Stat::Percentile(99.0),
    Stat::Percentile(99.9),
    Stat::Max,
];

/// One scope's figures in each run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Scope {
    /// Completed requests per run.
    pub requests: Vec<u64>,
    /// Failed requests per run.
    pub errors: Vec<u64>,
    /// Successful requests per second, per run.
    pub throughput_per_s: Vec<f64>,
    /// Response-time statistics (µs) per run, by name (`p99`, `mean`, …).
    pub latency_us: BTreeMap<String, Vec<f64>>,
    /// Service-time statistics (µs) per run, when they differ (open model).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_us: Option<BTreeMap<String, Vec<f64>>>,
    /// Token and stage statistics (µs) per run: `ttft`, `itl`, `tpot`, `stage.NAME`, and
    /// `output-tokens-per-second` (`value`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub extra: BTreeMap<String, BTreeMap<String, Vec<f64>>>,
}

fn stats_of(h: &Histogram<u64>) -> impl Iterator<Item = (String, f64)> + '_ {
    STATS
        .iter()
        .filter_map(|&s| Some((s.name(), (stat_of(h, s)? * 1000.0).round() / 1000.0)))
}

/// The histograms of a request's tokens and stages, by family name.
fn families(s: &RequestStats) -> Vec<(String, &Histogram<u64>)> {
    let mut out = Vec::new();
    if let Some(st) = &s.stream {
        out.extend([
            ("ttft".to_string(), &st.ttft),
            ("itl".to_string(), &st.itl),
            ("tpot".to_string(), &st.tpot),
        ]);
    }
    out.extend(s.stages.iter().map(|(n, h)| (format!("stage.{n}"), h)));
    out
}

/// The scopes of a set of runs of one scenario.
pub fn scopes_of(runs: &[Measurement]) -> BTreeMap<String, Scope> {
    let mut out: BTreeMap<String, Scope> = BTreeMap::new();
    for m in runs {
        add_requests(&mut out, m, None);
        // The chat requests of each turn index, as their own scopes (`all in turn 2`).
        for t in &m.course.turns {
            add_requests(&mut out, &t.measurement, Some(t.turn));
        }
        // A capacity search's result and the flows' durations belong to the run as a whole.
        if let Some(all) = out.get_mut("all") {
            let total = m.flow(None).map(|t| (flow_family(None), t.duration));
            let each = m
                .course
                .flows
                .iter()
                .map(|f| (flow_family(Some(&f.name)), f.duration.clone()));
            for (family, h) in total.into_iter().chain(each) {
                let table = all.extra.entry(family).or_default();
                for (name, v) in stats_of(&h) {
                    table.entry(name).or_default().push(v);
                }
            }
            for (name, v) in capacity_of(m) {
                all.extra
                    .entry(name.into())
                    .or_default()
                    .entry("value".into())
                    .or_default()
                    .push((v * 1000.0).round() / 1000.0);
            }
        }
    }
    add_costs(runs, &mut out);
    out
}

/// The key of a scope: a request's name or `all`, and ` in turn N` for the requests sent as
/// turn N of multi-turn conversations.
pub(super) fn scope_key(name: &str, turn: Option<u32>) -> String {
    match turn {
        None => name.to_string(),
        Some(n) => format!("{name} in turn {n}"),
    }
}

/// Adds one run's requests (each, and `all`) to `out`, under keys for `turn`.
fn add_requests(out: &mut BTreeMap<String, Scope>, m: &Measurement, turn: Option<u32>) {
    let mut each: Vec<RequestStats> = m.requests.clone();
    each.push(m.total());
    // Every request, also one never sent as a turn: each run must have every scope.
    for s in &each {
        let scope = out
            .entry(scope_key(&s.name, turn))
            .or_insert_with(|| Scope {
                requests: vec![],
                errors: vec![],
                throughput_per_s: vec![],
                latency_us: BTreeMap::new(),
                service_us: s.service.as_ref().map(|_| BTreeMap::new()),
                extra: BTreeMap::new(),
            });
        scope.requests.push(s.requests());
        scope.errors.push(s.error_count());
        scope
            .throughput_per_s
            .push((m.throughput(s) * 1000.0).round() / 1000.0);
        for (name, v) in stats_of(&s.latency) {
            scope.latency_us.entry(name).or_default().push(v);
        }
        if let (Some(service), Some(map)) = (&s.service, &mut scope.service_us) {
            for (name, v) in stats_of(service) {
                map.entry(name).or_default().push(v);
            }
        }
        for (family, h) in families(s) {
            let table = scope.extra.entry(family).or_default();
            for (name, v) in stats_of(h) {
                table.entry(name).or_default().push(v);
            }
        }
        if let Some(st) = &s.stream {
            let rate = st.output_tokens as f64 / m.window.as_secs_f64().max(1e-9);
            scope
                .extra
                .entry("output-tokens-per-second".into())
                .or_default()
                .entry("value".into())
                .or_default()
                .push((rate * 1000.0).round() / 1000.0);
        }
    }
}

/// The results of a capacity search a baseline keeps: `capacity` (a rate) and, closed model,
/// `capacity-users`.
fn capacity_of(m: &Measurement) -> Vec<(&'static str, f64)> {
    let Some(c) = &m.course.capacity else {
        return Vec::new();
    };
    let mut out: Vec<(&'static str, f64)> = c.value.map(|v| ("capacity", v)).into_iter().collect();
    if c.users
        && let Some(users) = c.held
    {
        out.push(("capacity-users", users));
    }
    out
}

/// The capacity found in a run and its sampling error on the log scale: the knee lies
/// somewhere between the highest level held and the lowest that failed, evenly likely.
pub(super) fn capacity_side(m: &Measurement, metric: &Metric) -> Option<(f64, f64)> {
    let c = m.course.capacity.as_ref()?;
    let value = match metric {
        Metric::CapacityUsers => c.held?,
        _ => c.value?,
    };
    let within = match (c.held, c.failed) {
        (Some(h), Some(f)) if h > 0.0 && f > h => (f / h).ln() / 12f64.sqrt(),
        _ => 0.0,
    };
    Some((value, within))
}

/// The cost metrics kept per run when every run measured them.
const COSTS: [&str; 2] = ["sut.cpu-per-request", "sut.instructions-per-request"];

/// A cost metric (`sut.cpu-per-request`) of one run, when measured.
pub(super) fn cost_of(m: &Measurement, metric: &crate::assertion::ResourceMetric) -> Option<f64> {
    match m
        .resources
        .as_ref()?
        .per_request(*metric, m.total().requests())
    {
        crate::resources::Observed::Value { value, .. } => Some(value),
        _ => None,
    }
}

fn cost_metric(name: &str) -> Option<crate::assertion::ResourceMetric> {
    match crate::assertion::parse_metric(name, &[]).ok()?.1 {
        Metric::Resource(r) => Some(r),
        _ => None,
    }
}

/// Adds the cost metrics every run measured to the `all` scope.
fn add_costs(runs: &[Measurement], scopes: &mut BTreeMap<String, Scope>) {
    let Some(all) = scopes.get_mut("all") else {
        return;
    };
    for name in COSTS {
        let Some(metric) = cost_metric(name) else {
            continue;
        };
        let values: Option<Vec<f64>> = runs
            .iter()
            .map(|m| cost_of(m, &metric).map(|v| (v * 1000.0).round() / 1000.0))
            .collect();
        if let Some(v) = values {
            all.extra
                .entry(name.to_string())
                .or_default()
                .insert("value".into(), v);
        }
    }
}

/// Per request: its response-time histogram of all runs merged, encoded.
pub fn histograms_of(runs: &[Measurement]) -> BTreeMap<String, String> {
    let mut merged: BTreeMap<String, Histogram<u64>> = BTreeMap::new();
    for m in runs {
        for r in &m.requests {
            let h = merged.entry(r.name.clone()).or_insert_with(new_histogram);
            let _ = h.add(&r.latency);
        }
    }
    merged
        .iter()
        .map(|(k, h)| (k.clone(), super::encode(h)))
        .collect()
}

/// The family a baseline keeps a flow's durations under: `flow.crud.duration`, or
/// `flow.duration` for every flow together.
pub(super) fn flow_family(flow: Option<&str>) -> String {
    match flow {
        Some(name) => format!("flow.{name}.duration"),
        None => "flow.duration".into(),
    }
}
