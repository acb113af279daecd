//! Leak detection: a robust line through memory samples after the warm-up.
//!
//! First-versus-last sample calls an allocator's sawtooth a leak whenever the run happens to end
//! on a tooth. The Theil–Sen estimator takes the median of the slopes between every pair of
//! points: a sawtooth's rises and falls cancel out, a steady climb does not, and a few outliers
//! (a burst, a collection) cannot move it. O(n²) pairs: above [`MAX_FIT_POINTS`] points the
//! series is thinned evenly first (an hour at 250 ms is 14,400 points).

use std::time::Duration;

use super::series::{Point, in_window};

/// Fewer points than this in the measured window give no fit (the check is inconclusive).
pub const MIN_FIT_POINTS: usize = 8;

/// Points used at most; longer series are thinned evenly.
pub const MAX_FIT_POINTS: usize = 2000;

/// A fitted line `v = intercept + slope × t`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Fit {
    /// Change per second, in the series' unit.
    pub slope: f64,
    /// The line's value at `t = 0`.
    pub intercept: f64,
    /// The first point's time.
    pub t_start: f64,
    /// The last point's time.
    pub t_end: f64,
    /// Points used.
    pub points: usize,
}

impl Fit {
    /// The line's value at `t`.
    pub fn at(&self, t: f64) -> f64 {
        self.intercept + self.slope * t
    }

    /// Growth over `window` as a fraction of the line's value where it starts:
    /// slope × window / value at the first point. `None` when that value is not positive.
    pub fn growth(&self, window: Duration) -> Option<f64> {
        let start = self.at(self.t_start);
        (start > 0.0).then(|| self.slope * window.as_secs_f64() / start)
    }
}

/// The Theil–Sen fit of `points` (in time order), `None` with fewer than [`MIN_FIT_POINTS`].
///
/// ```
/// use perfspec::resources::{Point, theil_sen};
/// // A climb of 2 per second with one wild outlier.
/// let mut points: Vec<Point> = (0..20).map(|i| Point { t: i as f64, v: 100.0 + 2.0 * i as f64 }).collect();
/// points[7].v = 10_000.0;
/// let fit = theil_sen(&points).unwrap();
/// assert_eq!(fit.slope, 2.0);
/// assert_eq!(fit.at(0.0), 100.0);
/// ```
pub fn theil_sen(points: &[Point]) -> Option<Fit> {
    if points.len() < MIN_FIT_POINTS {
        return None;
    }
    let used: Vec<Point> = if points.len() > MAX_FIT_POINTS {
        let step = (points.len() - 1) as f64 / (MAX_FIT_POINTS - 1) as f64;
        (0..MAX_FIT_POINTS)
            .map(|i| points[((i as f64 * step).round() as usize).min(points.len() - 1)])
            .collect()
    } else {
        points.to_vec()
    };
    let mut slopes = Vec::with_capacity(used.len() * (used.len() - 1) / 2);
    for (i, a) in used.iter().enumerate() {
        for b in &used[i + 1..] {
            let dt = b.t - a.t;
            if dt > 0.0 {
                slopes.push((b.v - a.v) / dt);
            }
        }
    }
    let slope = median(&mut slopes)?;
    let mut offsets: Vec<f64> = used.iter().map(|p| p.v - slope * p.t).collect();
    let intercept = median(&mut offsets)?;
    Some(Fit {
        slope,
        intercept,
        t_start: used[0].t,
        t_end: used[used.len() - 1].t,
        points: used.len(),
    })
}

/// The fit of a series' points in the measured window.
pub fn fit_window(series: &[Point], window: Duration) -> Option<Fit> {
    theil_sen(in_window(series, window))
}

/// The median (mean of the two middle values for an even count), reordering `values`.
fn median(values: &mut [f64]) -> Option<f64> {
    let n = values.len();
    if n == 0 {
        return None;
    }
    let mid = n / 2;
    let (_, &mut upper, _) = values.select_nth_unstable_by(mid, f64::total_cmp);
    if n % 2 == 1 {
        return Some(upper);
    }
    let lower = values[..mid]
        .iter()
        .copied()
        .fold(f64::NEG_INFINITY, f64::max);
    Some((lower + upper) / 2.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: f64 = 1024.0 * 1024.0;

    /// Samples every 250 ms for `secs` seconds.
    fn sampled(secs: f64, f: impl Fn(f64) -> f64) -> Vec<Point> {
        (0..=(secs * 4.0) as usize)
            .map(|i| {
                let t = i as f64 / 4.0;
                Point { t, v: f(t) }
            })
            .collect()
    }

    #[test]
    fn an_allocator_sawtooth_is_not_a_leak() {
        // 100 MiB baseline, climbing 20 MiB over 5 s then freed, for a minute; the run ends
        // at the top of a tooth, where first-versus-last would see +19 %.
        let saw = sampled(59.75, |t| 100.0 * MIB + 4.0 * MIB * (t % 5.0));
        let fit = theil_sen(&saw).unwrap();
        let growth = fit.growth(Duration::from_secs(60)).unwrap();
        let naive = (saw.last().unwrap().v - saw[0].v) / saw[0].v;
        assert!(naive > 0.15, "first-vs-last would call it a leak: {naive}");
        // What is left is the tooth seen from inside a 60 s window: a tenth of that.
        assert!(growth.abs() < 0.03, "growth {growth}");
    }

    #[test]
    fn a_steady_climb_is_a_leak_even_under_noise() {
        // 1 MiB/s on a 50 MiB baseline, with ±3 MiB of deterministic jitter and spikes.
        let climb = sampled(30.0, |t| {
            let jitter = ((t * 7.3).sin() * 3.0
                + if ((t * 4.0) as u64).is_multiple_of(17) {
                    40.0
                } else {
                    0.0
                })
                * MIB;
            50.0 * MIB + MIB * t + jitter
        });
        let fit = theil_sen(&climb).unwrap();
        assert!(
            (fit.slope / MIB - 1.0).abs() < 0.1,
            "slope {}",
            fit.slope / MIB
        );
        let growth = fit.growth(Duration::from_secs(30)).unwrap();
        assert!((growth - 0.6).abs() < 0.1, "growth {growth}");
    }

    #[test]
    fn long_series_are_thinned_and_short_ones_give_no_fit() {
        let long = sampled(3600.0, |t| 1000.0 + 0.5 * t);
        let fit = theil_sen(&long).unwrap();
        assert_eq!(fit.points, MAX_FIT_POINTS);
        assert!((fit.slope - 0.5).abs() < 1e-9);
        assert_eq!((fit.t_start, fit.t_end), (0.0, 3600.0));
        assert!(theil_sen(&long[..MIN_FIT_POINTS - 1]).is_none());
    }

    #[test]
    fn medians() {
        assert_eq!(median(&mut [3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&mut [4.0, 1.0, 3.0, 2.0]), Some(2.5));
        assert_eq!(median(&mut []), None);
    }
}
