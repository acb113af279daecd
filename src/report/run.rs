//! A whole run (every trial that ran, and specs that could not be read) and the key figures
//! summaries show for each trial.

use std::time::SystemTime;

use super::{Measured, TrialReport};
use crate::assertion::{Outcome, Stat};

/// Everything one run of the harness produced.
#[derive(Debug, Clone)]
pub struct RunReport {
    /// When the run started (wall clock).
    pub started_at: SystemTime,
    /// The trials that ran, in the order they ran.
    pub trials: Vec<TrialReport>,
    /// Specs that could not be read or parsed (their test failed without measuring).
    pub broken: Vec<BrokenSpec>,
}

/// A spec file whose test failed before any scenario could run.
#[derive(Debug, Clone, PartialEq)]
pub struct BrokenSpec {
    /// The test name (the file stem).
    pub name: String,
    /// The error, as the test printed it.
    pub error: String,
}

/// How many trials ended how.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Passed.
    pub pass: usize,
    /// Failed a check or had a problem.
    pub fail: usize,
    /// Could not decide.
    pub inconclusive: usize,
    /// Could not measure (broken specs included).
    pub error: usize,
}

impl Counts {
    /// Every trial counted.
    pub fn total(&self) -> usize {
        self.pass + self.fail + self.inconclusive + self.error
    }
}

impl RunReport {
    /// Whether nothing ran (`--list`, every test filtered out).
    pub fn is_empty(&self) -> bool {
        self.trials.is_empty() && self.broken.is_empty()
    }

    /// Trials by status; broken specs count as errors.
    pub fn counts(&self) -> Counts {
        let mut c = Counts {
            error: self.broken.len(),
            ..Counts::default()
        };
        for t in &self.trials {
            match t.status_name() {
                "pass" => c.pass += 1,
                "fail" => c.fail += 1,
                "inconclusive" => c.inconclusive += 1,
                _ => c.error += 1,
            }
        }
        c
    }

    /// Whether every test of the run passed (as libtest counts it).
    pub fn passed(&self) -> bool {
        self.broken.is_empty() && self.trials.iter().all(TrialReport::passes)
    }

    /// One line: `1 failed, 3 passed (4 scenarios)`.
    pub fn headline(&self) -> String {
        let c = self.counts();
        let mut parts = Vec::new();
        for (n, word) in [
            (c.fail, "failed"),
            (c.error, "could not measure"),
            (c.inconclusive, "inconclusive"),
            (c.pass, "passed"),
        ] {
            if n > 0 {
                parts.push(format!("{n} {word}"));
            }
        }
        let total = c.total();
        format!(
            "{} ({total} scenario{})",
            parts.join(", "),
            if total == 1 { "" } else { "s" }
        )
    }
}

/// The figures summaries show for one measured trial (all requests together).
#[derive(Debug, Clone, PartialEq)]
pub struct Figures {
    /// Completed requests.
    pub requests: u64,
    /// Successful requests per second of measured time.
    pub throughput: f64,
    /// Response-time percentiles, µs; `None` without successful requests.
    pub p50: Option<f64>,
    /// See `p50`.
    pub p95: Option<f64>,
    /// See `p50`.
    pub p99: Option<f64>,
    /// Failed requests.
    pub errors: u64,
    /// Failed over completed.
    pub error_rate: f64,
    /// Checks evaluated.
    pub checks: usize,
    /// Checks that passed.
    pub passed: usize,
    /// Checks that failed.
    pub failed: usize,
    /// Checks that could not decide (too few samples, …).
    pub undecided: usize,
    /// Measured seconds.
    pub window_s: f64,
}

impl Figures {
    /// `4/5 passed`, `3/5 passed, 1 undecided`.
    pub fn checks_text(&self) -> String {
        let mut t = format!("{}/{} passed", self.passed, self.checks);
        if self.undecided > 0 {
            t.push_str(&format!(", {} undecided", self.undecided));
        }
        t
    }

    /// The figures of a measured trial.
    pub fn of(m: &Measured) -> Figures {
        let total = m.measurement.total();
        let p = |q| total.stat(Stat::Percentile(q));
        let count = |o: &Outcome| {
            m.verdict
                .checks()
                .iter()
                .filter(|c| c.outcome == *o)
                .count()
        };
        Figures {
            requests: total.requests(),
            throughput: m.measurement.throughput(&total),
            p50: p(50.0),
            p95: p(95.0),
            p99: p(99.0),
            errors: total.error_count(),
            error_rate: total.error_rate(),
            checks: m.verdict.checks().len(),
            passed: count(&Outcome::Pass),
            failed: count(&Outcome::Fail),
            undecided: m
                .verdict
                .checks()
                .iter()
                .filter(|c| matches!(c.outcome, Outcome::Inconclusive(_)))
                .count(),
            window_s: m.measurement.window.as_secs_f64(),
        }
    }
}
