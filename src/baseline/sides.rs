//! The two sides of a regression comparison: a metric's figure in each of the runs being
//! gated, and in each run a baseline recorded.

use hdrhistogram::Histogram;

use std::collections::BTreeMap;

use super::runs::{capacity_side, cost_of, flow_family, scope_key};
use super::{Baseline, decode};
use crate::assertion::{FlowFigure, FlowMetric, Metric, Stat, Token};
use crate::gate::{Side, quantile_se};
use crate::measure::{Channel, Measurement, RequestStats, new_histogram, stat_of};

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
