//! One resource metric, read from the sampled series: a value, or why there is none.

use super::leak::{MIN_FIT_POINTS, fit_window};
use super::series::{Point, in_window, increase, stat, window_increase};
use super::{GpuStatus, Quantity, Resources};
use crate::assertion::{Reduce, ResourceMetric, Source, Stat};
use crate::units::fmt_duration;

/// What the samples say about a resource metric.
#[derive(Debug, Clone, PartialEq)]
pub enum Observed {
    /// The value, from this many samples, with context for people.
    Value {
        /// In the metric's unit.
        value: f64,
        /// Samples behind it.
        samples: u64,
        /// Context (the fit, the devices).
        note: Option<String>,
    },
    /// Too few samples to decide.
    Inconclusive(String),
    /// Nothing to measure on this machine or target.
    NotMeasurable(String),
}

impl Resources {
    /// Reads `m` from the samples of the measured window.
    pub fn observe(&self, m: ResourceMetric) -> Observed {
        let names: Vec<String> = match m.source {
            Source::Gpu(index) => {
                if let GpuStatus::Unavailable(why) = &self.gpu {
                    return Observed::NotMeasurable(format!("no GPU to measure: {why}"));
                }
                let all: Vec<String> = self.gpus().map(|e| e.name.clone()).collect();
                match index {
                    None => all,
                    Some(i) if all.contains(&format!("gpu{i}")) => vec![format!("gpu{i}")],
                    Some(i) => {
                        return Observed::NotMeasurable(format!(
                            "there is no gpu{i}: {} GPU(s) were found",
                            all.len()
                        ));
                    }
                }
            }
            source => vec![source.name()],
        };
        let Some(first) = names.first() else {
            return Observed::NotMeasurable("no GPU was sampled".into());
        };
        if m.source == Source::Sut && self.sut.is_none() {
            return Observed::NotMeasurable(
                "the target's processes are unknown (a `url` target needs `pid`, `pid-file` or `process-name`)"
                    .into(),
            );
        }
        let series: Vec<&[Point]> = names
            .iter()
            .filter_map(|n| self.entity(n))
            .map(|e| e.series(m.quantity))
            .filter(|s| !s.is_empty())
            .collect();
        if series.is_empty() {
            return Observed::NotMeasurable(match m.quantity {
                Quantity::DiskRead | Quantity::DiskWrite => {
                    "the target's disk counters (/proc/PID/io) are not readable".to_string()
                }
                Quantity::GpuMemSut => "the GPU driver did not say which processes use its memory (inside a container it reports host PIDs)".to_string(),
                Quantity::Instructions => self.counters.clone().unwrap_or_else(|| {
                    "instructions were not counted (the target's threads are unknown)".to_string()
                }),
                _ => format!("`{}` was never sampled on {first}", m.name()),
            });
        }
        let window = self.window;
        let span = format!(
            "{} samples every {} in the measured {}",
            series
                .iter()
                .map(|s| in_window(s, window).len())
                .sum::<usize>(),
            fmt_duration(self.interval),
            fmt_duration(window)
        );
        match m.reduce {
            Reduce::PerRequest => {
                let n = in_window(series[0], window).len();
                match window_increase(series[0], window) {
                    Some(v) => value(v, n, None),
                    None => none_in_window(&m, window),
                }
            }
            Reduce::Total => {
                let total: Option<f64> = series.iter().map(|s| increase(s, window)).sum();
                let n = series
                    .iter()
                    .map(|s| in_window(s, window).len())
                    .sum::<usize>();
                match total {
                    Some(v) => value(v, n, None),
                    None => none_in_window(&m, window),
                }
            }
            Reduce::Growth | Reduce::Slope => {
                let s = series[0];
                let n = in_window(s, window).len();
                let Some(fit) = fit_window(s, window) else {
                    return Observed::Inconclusive(format!(
                        "a leak fit needs at least {MIN_FIT_POINTS} samples in the measured time, got {n}: lengthen `duration` or shorten `sample-interval` (now {})",
                        fmt_duration(self.interval)
                    ));
                };
                let note = format!(
                    "Theil–Sen fit over {} samples: {} at the start, {}/min",
                    fit.points,
                    crate::units::fmt_bytes(fit.at(fit.t_start)),
                    crate::units::fmt_bytes(fit.slope * 60.0),
                );
                match m.reduce {
                    Reduce::Slope => value(fit.slope, n, Some(note)),
                    _ => match fit.growth(window) {
                        Some(g) => value(g, n, Some(note)),
                        None => Observed::NotMeasurable(
                            "memory at the start of the fit is zero: growth is undefined".into(),
                        ),
                    },
                }
            }
            Reduce::Last => {
                // Every device's last sample: the highest.
                let lasts: Vec<f64> = series
                    .iter()
                    .filter_map(|s| in_window(s, window).last().map(|p| p.v))
                    .collect();
                match stat(&lasts, Stat::Max) {
                    Some(v) => value(v, lasts.len(), None),
                    None => none_in_window(&m, window),
                }
            }
            Reduce::Stat(st) => {
                let values: Vec<f64> = if m.quantity == Quantity::GpuMemSut && series.len() > 1 {
                    summed(&series, window)
                } else {
                    // Every device's samples pooled: max is the highest reading on any
                    // device, mean the average over devices and time.
                    series
                        .iter()
                        .flat_map(|s| in_window(s, window).iter().map(|p| p.v))
                        .collect()
                };
                match stat(&values, st) {
                    Some(v) => value(v, values.len(), (series.len() > 1).then_some(span)),
                    None => none_in_window(&m, window),
                }
            }
        }
    }
}

impl Resources {
    /// A cost per request (`sut.cpu-per-request`, `sut.instructions-per-request`): the
    /// counter's increase over exactly the measured window over the `requests` completed in
    /// it.
    pub fn per_request(&self, m: ResourceMetric, requests: u64) -> Observed {
        match self.observe(m) {
            Observed::Value { value: total, .. } if requests > 0 => Observed::Value {
                value: total / requests as f64,
                samples: requests,
                note: Some(format!(
                    "{} over {} requests",
                    match m.quantity {
                        Quantity::CpuTime => crate::units::fmt_us(total),
                        _ => crate::units::fmt_count(total),
                    },
                    crate::units::fmt_count(requests as f64)
                )),
            },
            Observed::Value { .. } => Observed::Inconclusive(
                "no request completed in the measured time: nothing to divide by".into(),
            ),
            other => other,
        }
    }
}

fn value(value: f64, samples: usize, note: Option<String>) -> Observed {
    Observed::Value {
        value,
        samples: samples as u64,
        note,
    }
}

fn none_in_window(m: &ResourceMetric, window: std::time::Duration) -> Observed {
    Observed::NotMeasurable(format!(
        "no sample of `{}` fell in the measured {} (did the process exit?)",
        m.name(),
        fmt_duration(window)
    ))
}

/// The sum over devices at each tick (devices are sampled at the same instants).
fn summed(series: &[&[Point]], window: std::time::Duration) -> Vec<f64> {
    let mut by_tick: std::collections::BTreeMap<u64, f64> = std::collections::BTreeMap::new();
    for s in series {
        for p in in_window(s, window) {
            *by_tick.entry((p.t * 1e6).round() as u64).or_default() += p.v;
        }
    }
    by_tick.into_values().collect()
}

#[cfg(test)]
mod tests;
