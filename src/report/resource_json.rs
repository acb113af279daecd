//! The `resources` field of the JSON result: per sampled entity, statistics over the measured
//! window and the whole timeline, every field carrying its unit (`cpu_percent`, `rss_bytes`,
//! `t_s`).

use std::collections::BTreeMap;

use indexmap::IndexMap;
use serde::Serialize;
use serde_json::Value;

use crate::resources::{Entity, GpuStatus, Quantity, Resources, Summary, fit_window};

#[derive(Serialize)]
pub(super) struct ResourcesJson {
    sample_interval_ms: u64,
    /// What sampling itself cost.
    sampling: SamplingJson,
    cpus: usize,
    /// Which processes `sut` is.
    sut_processes: Option<String>,
    gpu: GpuJson,
    entities: IndexMap<String, EntityJson>,
}

#[derive(Serialize)]
struct SamplingJson {
    samples: u64,
    cpu_percent: f64,
    cpu_us_per_sample: f64,
    wall_s: f64,
}

#[derive(Serialize)]
struct GpuJson {
    devices: u32,
    unavailable: Option<String>,
}

#[derive(Serialize)]
struct EntityJson {
    /// Statistics over the measured window, by quantity.
    summary: IndexMap<&'static str, SummaryJson>,
    /// The memory fit (Theil–Sen) over the measured window, for processes.
    leak: Option<LeakJson>,
    /// Every sample, warm-up included (`t_s` < 0), in time order.
    timeline: Vec<IndexMap<&'static str, Value>>,
}

#[derive(Serialize)]
struct SummaryJson {
    samples: usize,
    min: Value,
    mean: Value,
    p95: Value,
    max: Value,
    last: Value,
    /// For counters: the increase over the measured window; `null` for other quantities.
    total: Option<Value>,
}

#[derive(Serialize)]
struct LeakJson {
    rss_slope_bytes_per_s: f64,
    rss_growth_fraction: Option<f64>,
    rss_at_fit_start_bytes: f64,
    fit_points: usize,
}

impl ResourcesJson {
    pub(super) fn of(r: &Resources) -> ResourcesJson {
        ResourcesJson {
            sample_interval_ms: r.interval.as_millis() as u64,
            sampling: SamplingJson {
                samples: r.cost.samples,
                cpu_percent: round3(r.cost.percent_of_core()),
                cpu_us_per_sample: round3(r.cost.per_sample().as_secs_f64() * 1e6),
                wall_s: round3(r.cost.wall.as_secs_f64()),
            },
            cpus: r.cpus,
            sut_processes: r.sut.clone(),
            gpu: match &r.gpu {
                GpuStatus::Devices(n) => GpuJson {
                    devices: *n,
                    unavailable: None,
                },
                GpuStatus::Unavailable(why) => GpuJson {
                    devices: 0,
                    unavailable: Some(why.clone()),
                },
            },
            entities: r
                .entities
                .iter()
                .map(|e| (e.name.clone(), EntityJson::of(e, r)))
                .collect(),
        }
    }
}

impl EntityJson {
    fn of(e: &Entity, r: &Resources) -> EntityJson {
        let mut summary = IndexMap::new();
        for (q, series) in &e.series {
            if let Some(s) = Summary::of(series, r.window, q.cumulative()) {
                summary.insert(q.json_name(), SummaryJson::of(&s));
            }
        }
        let leak = fit_window(e.series(Quantity::Rss), r.window).map(|fit| LeakJson {
            rss_slope_bytes_per_s: round3(fit.slope),
            rss_growth_fraction: fit.growth(r.window).map(round6),
            rss_at_fit_start_bytes: fit.at(fit.t_start).round(),
            fit_points: fit.points,
        });
        // One row per tick: quantities sampled at the same instant share a row.
        let mut rows: BTreeMap<i64, IndexMap<&'static str, Value>> = BTreeMap::new();
        for (q, series) in &e.series {
            for p in series {
                let row = rows
                    .entry((p.t * 1e6).round() as i64)
                    .or_insert_with(|| IndexMap::from([("t_s", Value::from(round3(p.t)))]));
                row.insert(q.json_name(), number(p.v));
            }
        }
        EntityJson {
            summary,
            leak,
            timeline: rows.into_values().collect(),
        }
    }
}

impl SummaryJson {
    fn of(s: &Summary) -> SummaryJson {
        SummaryJson {
            samples: s.samples,
            min: number(s.min),
            mean: number(s.mean),
            p95: number(s.p95),
            max: number(s.max),
            last: number(s.last),
            total: s.total.map(number),
        }
    }
}

/// Whole numbers as integers (bytes, counts), others rounded to 3 decimals.
fn number(v: f64) -> Value {
    if v.fract() == 0.0 && v.abs() < 9e15 {
        Value::from(v as i64)
    } else {
        Value::from(round3(v))
    }
}

fn round3(v: f64) -> f64 {
    (v * 1000.0).round() / 1000.0
}

fn round6(v: f64) -> f64 {
    (v * 1e6).round() / 1e6
}
