//! Regression checks: one metric of this run against the blessed baseline, decided with
//! statistics that account for noise, so the gate does not cry wolf. Pure: no I/O.
//!
//! Both sides are one or more runs. On the log scale the change is
//! `d = mean(ln current) − mean(ln baseline)`; the noise of one run is the largest of the
//! run-to-run spread (pooled from the sides that have two runs or more), the sampling error of
//! the statistic within a run (for percentiles, from the histogram) and a floor. The 95 %
//! interval `d ± t · σ · √(1/N + 1/M)` (Student t with the runs' degrees of freedom) decides:
//! regressed only when the whole interval is worse than the threshold, improved when it is
//! better, pass or warn when it is inside the threshold, inconclusive otherwise.

use hdrhistogram::Histogram;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use statrs::distribution::{ContinuousCDF, Normal, StudentsT};

/// How a metric compares with its baseline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Change {
    /// Within the threshold, and the point estimate within the warning level.
    Pass,
    /// Within the threshold, but worse than the warning level.
    Warn,
    /// Worse than the threshold, beyond the noise.
    Regressed,
    /// Better than the threshold, beyond the noise.
    Improved,
    /// The noise does not allow a decision.
    Inconclusive,
}

impl Change {
    /// `PASS`, `WARN`, `REGRESSED`, `IMPROVED`, `INCONCLUSIVE`.
    pub fn label(self) -> &'static str {
        match self {
            Change::Pass => "PASS",
            Change::Warn => "WARN",
            Change::Regressed => "REGRESSED",
            Change::Improved => "IMPROVED",
            Change::Inconclusive => "INCONCLUSIVE",
        }
    }
}

/// One side of a comparison: the metric's value in each run, and its sampling error within a
/// run on the log scale (0 where it has none, e.g. throughput).
#[derive(Debug, Clone, PartialEq)]
pub struct Side {
    /// The value of each run (positive).
    pub runs: Vec<f64>,
    /// Standard error of ln(value) from sampling within one run.
    pub within_se: f64,
}

/// The thresholds of a comparison.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rule {
    /// Worse by more than this share beyond the noise: regressed.
    pub threshold: f64,
    /// Worse by more than this share (point estimate): warn.
    pub warn: f64,
    /// Least noise of one run (a share).
    pub noise_floor: f64,
}

/// The comparison of one metric.
#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    /// Geometric mean of the baseline runs.
    pub baseline: f64,
    /// Geometric mean of the current runs.
    pub current: f64,
    /// Relative change, current over baseline, minus one (signed: +0.12 is 12 % higher).
    pub change: f64,
    /// 95 % interval of the relative change.
    pub interval: (f64, f64),
    /// The verdict.
    pub outcome: Change,
    /// The point estimate of how much worse, whatever the metric's direction: +0.12 is 12 %
    /// worse (higher latency, lower throughput).
    pub worse: f64,
    /// Runs on each side (baseline, current).
    pub runs: (usize, usize),
}

/// Compares `current` with `baseline`; `higher_is_better` for throughput-like metrics.
/// `None` when a side has no positive value.
pub fn compare(
    baseline: &Side,
    current: &Side,
    higher_is_better: bool,
    rule: Rule,
) -> Option<Comparison> {
    let logs = |s: &Side| -> Option<Vec<f64>> {
        let v: Vec<f64> = s
            .runs
            .iter()
            .copied()
            .filter(|x| *x > 0.0 && x.is_finite())
            .map(f64::ln)
            .collect();
        (!v.is_empty()).then_some(v)
    };
    let (b, c) = (logs(baseline)?, logs(current)?);
    let (n, m) = (b.len() as f64, c.len() as f64);
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    let ss = |v: &[f64]| {
        let mu = mean(v);
        v.iter().map(|x| (x - mu).powi(2)).sum::<f64>()
    };
    let df = (b.len() - 1) + (c.len() - 1);
    let pooled = if df > 0 {
        (ss(&b) + ss(&c)) / df as f64
    } else {
        0.0
    };
    let floor = (1.0 + rule.noise_floor).ln();
    let sigma = pooled
        .sqrt()
        .max(baseline.within_se)
        .max(current.within_se)
        .max(floor);
    let d = mean(&c) - mean(&b);
    let se = sigma * (1.0 / n + 1.0 / m).sqrt();
    let z = if df > 0 {
        StudentsT::new(0.0, 1.0, df as f64).ok()?.inverse_cdf(0.975)
    } else {
        Normal::new(0.0, 1.0).ok()?.inverse_cdf(0.975)
    };
    let (lo, hi) = (d - z * se, d + z * se);
    let rel = |x: f64| x.exp() - 1.0;
    // "Worse" as a positive share: up for latency, down for throughput.
    let (worse, worse_lo, worse_hi) = if higher_is_better {
        (rel(-d), rel(-hi), rel(-lo))
    } else {
        (rel(d), rel(lo), rel(hi))
    };
    let outcome = if worse_lo > rule.threshold {
        Change::Regressed
    } else if worse_hi < -rule.threshold {
        Change::Improved
    } else if worse_hi <= rule.threshold {
        if worse > rule.warn {
            Change::Warn
        } else {
            Change::Pass
        }
    } else {
        Change::Inconclusive
    };
    Some(Comparison {
        baseline: mean(&b).exp(),
        current: mean(&c).exp(),
        change: rel(d),
        interval: (rel(lo), rel(hi)),
        outcome,
        worse,
        runs: (b.len(), c.len()),
    })
}

impl Comparison {
    /// Whether more runs are worth taking before the gate decides: regressed, or undecided
    /// with the point estimate already past the threshold (one more run usually settles it
    /// one way or the other, where a single run's interval is too wide).
    pub fn suspect(&self, threshold: f64) -> bool {
        self.outcome == Change::Regressed
            || (self.outcome == Change::Inconclusive && self.worse > threshold)
    }
}

/// Standard error of ln(q-quantile) of a histogram from sampling alone: the quantile of a
/// resample of n values is the histogram's quantile at a random rank, ≈ N(q, q(1−q)/n).
pub fn quantile_se(h: &Histogram<u64>, q: f64) -> f64 {
    let n = h.len();
    if n < 2 {
        return 0.0;
    }
    let spread = (q * (1.0 - q) / n as f64).sqrt();
    let mut rng = SmallRng::seed_from_u64(0x5EED);
    let draws: Vec<f64> = (0..400)
        .map(|_| {
            let p = (q + spread * standard_normal(&mut rng)).clamp(0.0, 1.0);
            (h.value_at_quantile(p).max(1) as f64).ln()
        })
        .collect();
    let mu = draws.iter().sum::<f64>() / draws.len() as f64;
    (draws.iter().map(|x| (x - mu).powi(2)).sum::<f64>() / (draws.len() - 1) as f64).sqrt()
}

fn standard_normal(rng: &mut SmallRng) -> f64 {
    // Box–Muller.
    let (u1, u2): (f64, f64) = (rng.random::<f64>().max(f64::MIN_POSITIVE), rng.random());
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

#[cfg(test)]
mod tests {
    use super::*;

    const RULE: Rule = Rule {
        threshold: 0.10,
        warn: 0.05,
        noise_floor: 0.01,
    };

    fn side(runs: &[f64]) -> Side {
        Side {
            runs: runs.to_vec(),
            within_se: 0.0,
        }
    }

    #[test]
    fn unchanged_runs_pass_and_a_clear_slowdown_regresses() {
        let base = side(&[100.0, 102.0, 99.0, 101.0, 100.0]);
        let same = compare(&base, &side(&[101.0, 99.5]), false, RULE).unwrap();
        assert_eq!(same.outcome, Change::Pass, "{same:?}");
        let slow = compare(&base, &side(&[121.0, 119.0]), false, RULE).unwrap();
        assert_eq!(slow.outcome, Change::Regressed, "{slow:?}");
        assert!((slow.change - 0.1980).abs() < 0.01);
        assert!(slow.interval.0 > 0.10);
    }

    #[test]
    fn noisy_runs_are_inconclusive_rather_than_a_guess() {
        let base = side(&[100.0, 130.0, 85.0, 120.0, 95.0]);
        let c = compare(&base, &side(&[118.0]), false, RULE).unwrap();
        assert_eq!(c.outcome, Change::Inconclusive, "{c:?}");
        assert!(
            c.suspect(RULE.threshold),
            "worse than the threshold: confirm"
        );
        let near = compare(&base, &side(&[106.0]), false, RULE).unwrap();
        assert_eq!(near.outcome, Change::Inconclusive, "{near:?}");
        assert!(
            !near.suspect(RULE.threshold),
            "within the threshold: no more runs"
        );
        // Throughput 20 % down is worse: suspect even though the number went down.
        let tp = compare(
            &side(&[100.0, 130.0, 85.0, 120.0, 95.0]),
            &side(&[85.0]),
            true,
            RULE,
        )
        .unwrap();
        assert!(tp.worse > 0.1 && tp.suspect(RULE.threshold), "{tp:?}");
    }

    #[test]
    fn direction_follows_the_metric() {
        let base = side(&[1000.0, 1010.0, 990.0]);
        // Throughput down 20 %: worse. Up 20 %: better.
        assert_eq!(
            compare(&base, &side(&[800.0, 805.0]), true, RULE)
                .unwrap()
                .outcome,
            Change::Regressed
        );
        assert_eq!(
            compare(&base, &side(&[1200.0, 1195.0]), true, RULE)
                .unwrap()
                .outcome,
            Change::Improved
        );
        // Latency down 20 %: better.
        assert_eq!(
            compare(&base, &side(&[800.0, 805.0]), false, RULE)
                .unwrap()
                .outcome,
            Change::Improved
        );
    }

    #[test]
    fn a_small_worsening_warns() {
        let base = side(&[100.0, 100.5, 99.5, 100.2, 99.8]);
        let c = compare(&base, &side(&[106.5, 106.0]), false, RULE).unwrap();
        assert_eq!(c.outcome, Change::Warn, "{c:?}");
    }

    #[test]
    fn single_runs_rely_on_the_sampling_error_and_the_floor() {
        let tight = Side {
            runs: vec![100.0],
            within_se: 0.01,
        };
        let c = compare(
            &tight,
            &Side {
                runs: vec![125.0],
                within_se: 0.01,
            },
            false,
            RULE,
        )
        .unwrap();
        assert_eq!(c.outcome, Change::Regressed, "{c:?}");
        let loose = Side {
            runs: vec![100.0],
            within_se: 0.10,
        };
        let c = compare(
            &loose,
            &Side {
                runs: vec![125.0],
                within_se: 0.10,
            },
            false,
            RULE,
        )
        .unwrap();
        assert_eq!(c.outcome, Change::Inconclusive, "{c:?}");
        assert!(
            compare(&side(&[0.0]), &side(&[1.0]), false, RULE).is_none(),
            "no positive baseline value"
        );
    }

    #[test]
    fn quantile_sampling_error_shrinks_with_samples() {
        let make = |n: u64| {
            let mut h = Histogram::<u64>::new(3).unwrap();
            for i in 0..n {
                h.record(1000 + (i * 7919) % 1000).unwrap();
            }
            h
        };
        let (small, large) = (
            quantile_se(&make(200), 0.99),
            quantile_se(&make(20_000), 0.99),
        );
        assert!(small > 2.0 * large && large > 0.0, "{small} vs {large}");
    }
}
