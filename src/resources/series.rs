//! Time series of samples and their statistics over the measured window.

use std::time::{Duration, Instant};

use serde::Serialize;

use crate::assertion::Stat;

/// One sample: `t` seconds from the end of the warm-up (negative before it), and its value in
/// the quantity's unit.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Point {
    /// Seconds from the end of the warm-up.
    pub t: f64,
    /// The value.
    pub v: f64,
}

/// Seconds from `from` to `at`, negative before it: a sample's `t` on the measured clock (the
/// warm-up's samples come out negative).
pub fn secs_since(from: Instant, at: Instant) -> f64 {
    if at >= from {
        (at - from).as_secs_f64()
    } else {
        -(from - at).as_secs_f64()
    }
}

/// The points of `series` inside the measured window, `0 <= t <= window`.
pub fn in_window(series: &[Point], window: Duration) -> &[Point] {
    let end = window.as_secs_f64();
    let from = series.partition_point(|p| p.t < 0.0);
    let to = series.partition_point(|p| p.t <= end);
    &series[from..to.max(from)]
}

/// A statistic of values (in any order); `None` without values.
pub fn stat(values: &[f64], s: Stat) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    Some(match s {
        Stat::Min => values.iter().copied().fold(f64::INFINITY, f64::min),
        Stat::Max => values.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        Stat::Mean => mean,
        Stat::Stdev => (values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n).sqrt(),
        Stat::Percentile(p) => {
            // Nearest rank: the smallest value with at least p % of the values at or below it.
            let mut sorted = values.to_vec();
            sorted.sort_by(f64::total_cmp);
            let rank = ((p / 100.0 * n).ceil() as usize).clamp(1, sorted.len());
            sorted[rank - 1]
        }
    })
}

/// What a series did in the measured window.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    /// Points in the window.
    pub samples: usize,
    /// Smallest value.
    pub min: f64,
    /// Mean value.
    pub mean: f64,
    /// 95th percentile (nearest rank).
    pub p95: f64,
    /// Largest value.
    pub max: f64,
    /// The last value in the window.
    pub last: f64,
    /// For counters: the increase over the window (from the last point before it).
    pub total: Option<f64>,
}

impl Summary {
    /// Statistics of `series` over `window`; `None` when no point falls in it.
    pub fn of(series: &[Point], window: Duration, cumulative: bool) -> Option<Summary> {
        let points = in_window(series, window);
        let values: Vec<f64> = points.iter().map(|p| p.v).collect();
        let get = |s| stat(&values, s);
        Some(Summary {
            samples: points.len(),
            min: get(Stat::Min)?,
            mean: get(Stat::Mean)?,
            p95: get(Stat::Percentile(95.0))?,
            max: get(Stat::Max)?,
            last: *values.last()?,
            total: cumulative.then(|| increase(series, window)).flatten(),
        })
    }
}

/// The increase of a counter over the window: its last value in the window minus its last
/// value before the window (or its first value in it when sampling began later).
pub fn increase(series: &[Point], window: Duration) -> Option<f64> {
    let points = in_window(series, window);
    let last = points.last()?.v;
    let before = series
        .iter()
        .take_while(|p| p.t < 0.0)
        .last()
        .or(points.first())?;
    Some((last - before.v).max(0.0))
}

/// The increase of a counter over exactly `[0, window]`: its value at each end, interpolated
/// linearly between the samples around it. `None` when the samples do not reach both ends.
pub fn window_increase(series: &[Point], window: Duration) -> Option<f64> {
    let at = |t: f64| -> Option<f64> {
        let after = series.partition_point(|p| p.t < t);
        let b = series.get(after)?;
        if b.t == t || after == 0 {
            return (b.t == t).then_some(b.v);
        }
        let a = series[after - 1];
        Some(a.v + (b.v - a.v) * (t - a.t) / (b.t - a.t))
    };
    Some((at(window.as_secs_f64())? - at(0.0)?).max(0.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series(values: &[(f64, f64)]) -> Vec<Point> {
        values.iter().map(|&(t, v)| Point { t, v }).collect()
    }

    #[test]
    fn statistics_use_the_measured_window_only() {
        let s = series(&[
            (-0.5, 100.0),
            (0.0, 1.0),
            (0.5, 3.0),
            (1.0, 2.0),
            (1.5, 50.0),
        ]);
        let sum = Summary::of(&s, Duration::from_secs(1), false).unwrap();
        assert_eq!(
            (sum.samples, sum.min, sum.mean, sum.max, sum.last),
            (3, 1.0, 2.0, 3.0, 2.0)
        );
        assert!(Summary::of(&s[..1], Duration::from_secs(1), false).is_none());
    }

    #[test]
    fn percentiles_are_nearest_rank() {
        let values: Vec<f64> = (1..=20).map(f64::from).collect();
        assert_eq!(stat(&values, Stat::Percentile(95.0)), Some(19.0));
        assert_eq!(stat(&values, Stat::Percentile(50.0)), Some(10.0));
        assert_eq!(stat(&[7.0], Stat::Percentile(99.0)), Some(7.0));
        assert_eq!(stat(&[], Stat::Max), None);
    }

    #[test]
    fn window_increases_interpolate_at_both_ends() {
        // 100 per second, sampled every 0.4 s from -0.3 s: exactly 100 × window.
        let s: Vec<Point> = (0..10)
            .map(|i| {
                let t = -0.3 + 0.4 * f64::from(i);
                Point {
                    t,
                    v: 1000.0 + 100.0 * t,
                }
            })
            .collect();
        let inc = window_increase(&s, Duration::from_secs(2)).unwrap();
        assert!((inc - 200.0).abs() < 1e-9, "{inc}");
        assert_eq!(
            window_increase(&s[..5], Duration::from_secs(2)),
            None,
            "no sample after the window"
        );
        assert_eq!(
            window_increase(&s[1..], Duration::from_secs(1)),
            None,
            "none before it"
        );
    }

    #[test]
    fn counters_count_from_the_last_point_before_the_window() {
        let s = series(&[
            (-1.0, 10.0),
            (-0.2, 40.0),
            (0.3, 50.0),
            (0.8, 90.0),
            (2.0, 500.0),
        ]);
        assert_eq!(increase(&s, Duration::from_secs(1)), Some(50.0));
        // Sampling that began inside the window counts from its first point.
        assert_eq!(increase(&s[2..], Duration::from_secs(1)), Some(40.0));
    }
}
