//! Each run's figures, per scope (`all` and each request), and the sides of a regression
//! comparison taken from runs or from a baseline.

use std::collections::BTreeMap;

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

use super::{Baseline, decode};
use crate::assertion::{FlowFigure, FlowMetric, Metric, Stat, Token};
use crate::gate::{Side, quantile_se};
use crate::measure::{Channel, Measurement, RequestStats, new_histogram, stat_of};

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
fn scope_key(name: &str, turn: Option<u32>) -> String {
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
fn capacity_side(m: &Measurement, metric: &Metric) -> Option<(f64, f64)> {
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
fn cost_of(m: &Measurement, metric: &crate::assertion::ResourceMetric) -> Option<f64> {
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

/// The histogram and statistic a metric reads from one request's stats.
fn histogram_of<'a>(s: &'a RequestStats, metric: &Metric) -> Option<(&'a Histogram<u64>, Stat)> {
    match metric {
        Metric::Latency(stat) => Some((s.histogram(Channel::Response), *stat)),
        Metric::Service(stat) => Some((s.histogram(Channel::Service), *stat)),
        Metric::Stream(token, stat) => {
            let st = s.stream.as_ref()?;
            Some((
                match token {
                    Token::Ttft => &st.ttft,
                    Token::Itl => &st.itl,
                    Token::Tpot => &st.tpot,
                },
                *stat,
            ))
        }
        Metric::Stage(name, stat) => Some((s.stages.get(name)?, *stat)),
        _ => None,
    }
}

/// The metric in each run of `runs`, for scope `scope` (`None`: all requests), of the requests
/// sent as turn `turn` of their conversations when one is given.
pub fn side_of_runs(
    runs: &[Measurement],
    scope: Option<&str>,
    metric: &Metric,
    turn: Option<u32>,
) -> Option<Side> {
    if let Some(n) = turn {
        let turned: Vec<Measurement> = runs
            .iter()
            .map(|m| m.turn(n).map(|t| t.measurement.clone()))
            .collect::<Option<_>>()?;
        return side_of_runs(&turned, scope, metric, None);
    }
    let mut values = Vec::new();
    let mut se = Vec::new();
    for m in runs {
        let stats = match scope {
            Some(name) => m.request(name)?.clone(),
            None => m.total(),
        };
        let (value, within) = match metric {
            Metric::Capacity | Metric::CapacityUsers => match capacity_side(m, metric) {
                Some((v, w)) => (Some(v), w),
                None => (None, 0.0),
            },
            Metric::Resource(r) if scope.is_none() => (cost_of(m, r), 0.0),
            Metric::Flow(FlowMetric {
                flow,
                figure: FlowFigure::Duration(stat),
            }) => match m.flow(flow.as_deref()) {
                Some(f) => (
                    stat_of(&f.duration, *stat),
                    match stat {
                        Stat::Percentile(p) => quantile_se(&f.duration, p / 100.0),
                        _ => 0.0,
                    },
                ),
                None => (None, 0.0),
            },
            Metric::Throughput => (Some(m.throughput(&stats)), 0.0),
            Metric::OutputTokensPerSecond => (
                stats
                    .stream
                    .as_ref()
                    .map(|s| s.output_tokens as f64 / m.window.as_secs_f64().max(1e-9)),
                0.0,
            ),
            other => {
                let (h, stat) = histogram_of(&stats, other)?;
                let within = match stat {
                    Stat::Percentile(p) => quantile_se(h, p / 100.0),
                    _ => 0.0,
                };
                (stat_of(h, stat), within)
            }
        };
        values.push(value?);
        se.push(within);
    }
    Some(Side {
        runs: values,
        within_se: se.iter().sum::<f64>() / se.len().max(1) as f64,
    })
}

/// The metric in each blessed run, for scope `scope` (`None`: `all`). Response-time
/// statistics that were not kept per run come from the merged histogram, as one run.
/// With `turn`, the scope of the requests sent as that turn (kept per run only: no merged
/// histogram).
pub fn side_of_baseline(
    b: &Baseline,
    scope: Option<&str>,
    metric: &Metric,
    turn: Option<u32>,
) -> Option<Side> {
    let s = b.scopes.get(&scope_key(scope.unwrap_or("all"), turn))?;
    let merged = || -> Option<Histogram<u64>> {
        if turn.is_some() {
            return None;
        }
        let mut h = new_histogram();
        for (name, text) in &b.histograms {
            if scope.is_none_or(|want| want == name) {
                let _ = h.add(decode(text).ok()?);
            }
        }
        (!h.is_empty()).then_some(h)
    };
    // The merged histogram has every run's samples: one run's error is √runs larger.
    let within = |h: &Histogram<u64>, stat: Stat| match stat {
        Stat::Percentile(p) => quantile_se(h, p / 100.0) * (b.runs.max(1) as f64).sqrt(),
        _ => 0.0,
    };
    let runs_of = |table: Option<&BTreeMap<String, Vec<f64>>>, stat: Stat| {
        table.and_then(|t| t.get(&stat.name())).cloned()
    };
    match metric {
        Metric::Throughput => Some(Side {
            runs: s.throughput_per_s.clone(),
            within_se: 0.0,
        }),
        Metric::OutputTokensPerSecond => Some(Side {
            runs: s
                .extra
                .get("output-tokens-per-second")?
                .get("value")?
                .clone(),
            within_se: 0.0,
        }),
        Metric::Capacity | Metric::CapacityUsers => Some(Side {
            runs: s.extra.get(metric.name().as_str())?.get("value")?.clone(),
            within_se: 0.0,
        }),
        Metric::Latency(stat) => match runs_of(Some(&s.latency_us), *stat) {
            Some(runs) => Some(Side {
                runs,
                within_se: merged().map_or(0.0, |h| within(&h, *stat)),
            }),
            None => {
                let h = merged()?;
                Some(Side {
                    runs: vec![stat_of(&h, *stat)?],
                    within_se: within(&h, *stat),
                })
            }
        },
        Metric::Service(stat) => Some(Side {
            runs: runs_of(s.service_us.as_ref(), *stat)?,
            within_se: 0.0,
        }),
        Metric::Stream(token, stat) => Some(Side {
            runs: runs_of(s.extra.get(token.name()), *stat)?,
            within_se: 0.0,
        }),
        Metric::Stage(name, stat) => Some(Side {
            runs: runs_of(s.extra.get(&format!("stage.{name}")), *stat)?,
            within_se: 0.0,
        }),
        Metric::Resource(r) if scope.is_none() => Some(Side {
            runs: s.extra.get(&r.name())?.get("value")?.clone(),
            within_se: 0.0,
        }),
        Metric::Flow(FlowMetric {
            flow,
            figure: FlowFigure::Duration(stat),
        }) => Some(Side {
            runs: runs_of(s.extra.get(&flow_family(flow.as_deref())), *stat)?,
            within_se: 0.0,
        }),
        _ => None,
    }
}

/// The family a baseline keeps a flow's durations under: `flow.crud.duration`, or
/// `flow.duration` for every flow together.
fn flow_family(flow: Option<&str>) -> String {
    match flow {
        Some(name) => format!("flow.{name}.duration"),
        None => "flow.duration".into(),
    }
}
