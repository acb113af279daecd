//! The `metrics` field of the JSON result: what was read from the service's own `/metrics`.
//! Series that an assertion reads keep every point; the others keep their last value and,
//! for counters, their increase over the measured window (a large endpoint would otherwise
//! make the file huge).

use serde::Serialize;

use crate::assertion::{Assertion, Figure, Metric, MetricRef, ScrapedMetric};
use crate::scrape::{Kind, MetricSeries, Scraped};

#[derive(Serialize)]
pub(super) struct MetricsJson {
    path: String,
    reads: usize,
    failed_reads: usize,
    first_error: Option<String>,
    skipped_ticks: u64,
    /// CPU of the scraping thread (request, parse, storage).
    scrape_cpu_percent: f64,
    scrape_cpu_us_per_read: f64,
    series: Vec<SeriesJson>,
}

#[derive(Serialize)]
struct SeriesJson {
    name: String,
    labels: std::collections::BTreeMap<String, String>,
    kind: Kind,
    /// Whether an assertion reads it (then `points` holds every read).
    asserted: bool,
    last: Option<f64>,
    /// Counters: the increase over the measured window, restarts counted from 0.
    delta: Option<f64>,
    /// `[t_s, value]`, warm-up included (`t_s` < 0).
    points: Vec<[f64; 2]>,
}

/// The metric references of `assertions`.
pub(crate) fn refs(assertions: &[Assertion]) -> Vec<&MetricRef> {
    assertions
        .iter()
        .filter_map(|a| match &a.metric {
            Metric::Scraped(s) => Some(s.refs()),
            _ => None,
        })
        .flatten()
        .collect()
}

fn selected(s: &MetricSeries, refs: &[&MetricRef]) -> bool {
    refs.iter()
        .any(|r| r.name == s.name && r.matchers.iter().all(|m| m.matches(&s.labels)))
}

impl MetricsJson {
    pub(super) fn of(m: &Scraped, assertions: &[Assertion]) -> MetricsJson {
        let refs = refs(assertions);
        let (failed, first) = m.failures();
        MetricsJson {
            path: m.path.clone(),
            reads: m.scrapes.len(),
            failed_reads: failed,
            first_error: first.map(str::to_string),
            skipped_ticks: m.skipped,
            scrape_cpu_percent: round(m.cost.percent_of_core()),
            scrape_cpu_us_per_read: round(m.cost.per_sample().as_secs_f64() * 1e6),
            series: m
                .series
                .iter()
                .map(|s| {
                    let asserted = selected(s, &refs);
                    let kind = m.kind(&s.name);
                    let delta = (kind == Kind::Counter).then(|| {
                        let one = ScrapedMetric::One(MetricRef {
                            name: s.name.clone(),
                            matchers: s
                                .labels
                                .iter()
                                .map(|(k, v)| crate::assertion::Matcher {
                                    label: k.clone(),
                                    value: v.clone(),
                                    negate: false,
                                })
                                .collect(),
                            figure: Figure::Delta,
                        });
                        match m.observe(&one) {
                            crate::scrape::Reading::Value { value, .. } => Some(round(value)),
                            _ => None,
                        }
                    });
                    SeriesJson {
                        name: s.name.clone(),
                        labels: s.labels.iter().cloned().collect(),
                        kind,
                        asserted,
                        last: crate::resources::in_window(&s.points, m.window)
                            .last()
                            .map(|p| p.v),
                        delta: delta.flatten(),
                        points: if asserted {
                            s.points.iter().map(|p| [round(p.t), p.v]).collect()
                        } else {
                            Vec::new()
                        },
                    }
                })
                .collect(),
        }
    }
}

fn round(v: f64) -> f64 {
    (v * 1000.0).round() / 1000.0
}
