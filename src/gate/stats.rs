//! The statistics of the gate: one metric of the head runs against the base side, decided
//! with statistics that account for noise, so the gate does not cry wolf. Pure: no I/O.
//!
//! **Two groups** (a stored baseline): on the log scale the change is
//! `d = mean(ln head) − mean(ln base)`; the noise of one run is the largest of the run-to-run
//! spread (pooled from the sides that have two runs or more), the sampling error of the
//! statistic within a run (for percentiles, from the histogram) and a floor. The 95 % interval
//! is `d ± t · σ · √(1/N + 1/M)` (Student t with the runs' degrees of freedom).
//!
//! **Pairs** (A/B rounds on one machine): each round runs both revisions back to back, so the
//! machine's slow episodes hit both; the change is the mean of the per-round log-ratios
//! `dᵢ = ln headᵢ − ln baseᵢ`, its interval `d̄ ± t · s / √n` with `s` their spread (at least
//! √2 × the floor) and `n − 1` degrees of freedom.
//!
//! Either interval decides the same way: regressed only when the whole interval is worse than
//! the threshold, improved when it is better, pass or warn when it is inside the threshold,
//! undecided otherwise, with an estimate of how many more runs would decide it.

use hdrhistogram::Histogram;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use statrs::distribution::{ContinuousCDF, StudentsT};

use super::{Comparison, Decision, Needed};

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

impl Rule {
    /// The rule of a scenario's `regression` table.
    pub fn of(r: &crate::spec::Regression) -> Rule {
        Rule {
            threshold: r.threshold,
            warn: r.warn,
            noise_floor: r.noise_floor,
        }
    }
}

/// The two-sided 95 % quantile of Student's t with `df` degrees of freedom (normal at 0).
fn t975(df: usize) -> f64 {
    if df == 0 {
        return 1.959_964;
    }
    StudentsT::new(0.0, 1.0, df as f64).map_or(1.959_964, |t| t.inverse_cdf(0.975))
}

fn positive_logs(runs: &[f64]) -> Option<Vec<f64>> {
    let v: Vec<f64> = runs
        .iter()
        .copied()
        .filter(|x| *x > 0.0 && x.is_finite())
        .map(f64::ln)
        .collect();
    (!v.is_empty()).then_some(v)
}

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len().max(1) as f64
}

fn sum_sq(v: &[f64]) -> f64 {
    let mu = mean(v);
    v.iter().map(|x| (x - mu).powi(2)).sum()
}

/// The decision of a log-scale interval `d ± half`, as (decision, worse, interval).
fn judge(d: f64, half: f64, higher_is_better: bool, rule: Rule) -> (Decision, f64, (f64, f64)) {
    let (lo, hi) = (d - half, d + half);
    let rel = |x: f64| x.exp() - 1.0;
    // "Worse" as a positive share: up for latency, down for throughput.
    let (worse, worse_lo, worse_hi) = if higher_is_better {
        (rel(-d), rel(-hi), rel(-lo))
    } else {
        (rel(d), rel(lo), rel(hi))
    };
    let decision = if worse_lo > rule.threshold {
        Decision::Regressed
    } else if worse_hi < -rule.threshold {
        Decision::Improved
    } else if worse_hi <= rule.threshold {
        if worse > rule.warn {
            Decision::Warn
        } else {
            Decision::Pass
        }
    } else {
        Decision::Inconclusive
    };
    (decision, worse, (rel(lo), rel(hi)))
}

/// How far (log scale) the point estimate is from the threshold the interval straddles: the
/// half-width that would decide it.
fn room(worse: f64, threshold: f64) -> f64 {
    ((1.0 + worse).max(f64::MIN_POSITIVE).ln() - (1.0 + threshold).ln()).abs()
}

/// The most runs an estimate of "more runs" reports; beyond, the change is on the threshold.
const MAX_RUNS: usize = 1000;

/// Compares two independent groups of runs (a stored baseline and this run with its
/// confirmations); `higher_is_better` for throughput-like metrics. `None` when a side has no
/// positive value.
pub fn compare(
    baseline: &Side,
    current: &Side,
    higher_is_better: bool,
    rule: Rule,
) -> Option<Comparison> {
    let (b, c) = (
        positive_logs(&baseline.runs)?,
        positive_logs(&current.runs)?,
    );
    let (n, m) = (b.len() as f64, c.len() as f64);
    let df = (b.len() - 1) + (c.len() - 1);
    let pooled = if df > 0 {
        (sum_sq(&b) + sum_sq(&c)) / df as f64
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
    let z = t975(df);
    let half = z * sigma * (1.0 / n + 1.0 / m).sqrt();
    let (decision, worse, interval) = judge(d, half, higher_is_better, rule);
    let needed = (decision == Decision::Inconclusive).then(|| {
        let h = room(worse, rule.threshold);
        let (nb, nc) = (b.len(), c.len());
        let half_at = |bn: usize, cn: usize| {
            t975(bn + cn - 2) * sigma * (1.0 / bn as f64 + 1.0 / cn as f64).sqrt()
        };
        // More runs here, at the noise seen so far; if even endless ones leave the
        // baseline's share of the interval too wide, a baseline of more runs (and as many
        // here).
        (nc + 1..=MAX_RUNS)
            .find(|&k| half_at(nb, k) < h)
            .map(|k| Needed::Runs((k - nc) as u32))
            .or_else(|| {
                (nb + 1..=MAX_RUNS)
                    .find(|&k| half_at(k, k) < h)
                    .map(|k| Needed::BaselineRuns(k as u32))
            })
            .unwrap_or(Needed::Never)
    });
    Some(Comparison {
        base: mean(&b).exp(),
        head: mean(&c).exp(),
        change: d.exp() - 1.0,
        interval,
        decision,
        worse,
        runs: (b.len(), c.len()),
        paired: false,
        needed,
    })
}

/// Compares paired runs: `base[i]` and `head[i]` ran in the same round on the same machine.
/// Pairs where either value is not positive are left out; `None` without a pair.
pub fn paired(
    base: &[f64],
    head: &[f64],
    higher_is_better: bool,
    rule: Rule,
) -> Option<Comparison> {
    let pairs: Vec<(f64, f64)> = base
        .iter()
        .zip(head)
        .filter(|(b, h)| **b > 0.0 && **h > 0.0 && b.is_finite() && h.is_finite())
        .map(|(b, h)| (b.ln(), h.ln()))
        .collect();
    if pairs.is_empty() {
        return None;
    }
    let diffs: Vec<f64> = pairs.iter().map(|(b, h)| h - b).collect();
    let n = diffs.len();
    let d = mean(&diffs);
    let spread = if n > 1 {
        (sum_sq(&diffs) / (n - 1) as f64).sqrt()
    } else {
        0.0
    };
    // A difference of two runs carries the noise of both.
    let sigma = spread.max(std::f64::consts::SQRT_2 * (1.0 + rule.noise_floor).ln());
    // One pair says nothing about the spread: its interval is unbounded.
    let half = if n > 1 {
        t975(n - 1) * sigma / (n as f64).sqrt()
    } else {
        f64::INFINITY
    };
    let (decision, worse, interval) = judge(d, half, higher_is_better, rule);
    let needed = (decision == Decision::Inconclusive).then(|| {
        let h = room(worse, rule.threshold);
        (n + 1..=MAX_RUNS)
            .find(|&k| t975(k - 1) * sigma / (k as f64).sqrt() < h)
            .map_or(Needed::Never, |k| Needed::Runs((k - n) as u32))
    });
    let geo = |i: usize| {
        (pairs
            .iter()
            .map(|p| if i == 0 { p.0 } else { p.1 })
            .sum::<f64>()
            / n as f64)
            .exp()
    };
    Some(Comparison {
        base: geo(0),
        head: geo(1),
        change: d.exp() - 1.0,
        interval,
        decision,
        worse,
        runs: (n, n),
        paired: true,
        needed,
    })
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
mod tests;
