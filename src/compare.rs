//! From checks, run problems and doubts about the run to one verdict: pure, no I/O.
//!
//! ```
//! use perfspec::compare::{Status, Verdict};
//! let v = Verdict::new(vec![], vec!["target exited during the run".into()], vec![]);
//! assert_eq!(v.status(), Status::Fail);
//! ```

mod stall;

use std::time::Duration;

use crate::assertion::{Check, Metric, Op, Outcome};
use crate::gate::GateOutcome;
use crate::measure::{Measurement, stat_of};
use crate::spec::{Inconclusive, Load, Scenario};
use crate::units::{fmt_percent, fmt_rate, fmt_us};

/// The overall outcome of a trial.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// Every check held.
    Pass,
    /// A check failed or the run had a problem.
    Fail,
    /// Nothing failed, but something could not be decided.
    Inconclusive,
}

impl Status {
    /// `PASS`, `FAIL`, `INCONCLUSIVE`.
    pub fn label(self) -> &'static str {
        match self {
            Status::Pass => "PASS",
            Status::Fail => "FAIL",
            Status::Inconclusive => "INCONCLUSIVE",
        }
    }
}

/// A reason not to trust the run.
#[derive(Debug, Clone, PartialEq)]
pub struct Doubt {
    /// What happened, with figures.
    pub reason: String,
    /// Whether failed checks are suspect too: a saturated generator inflates latency, so its
    /// failures may be its own; dropped arrivals only hide the worst requests, so failures
    /// stand.
    pub masks_failures: bool,
}

/// The checks of one trial and what they add up to, built once from its parts: the status is
/// derived, never set, so nothing can add a problem without the status following.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    status: Status,
    checks: Vec<Check>,
    problems: Vec<String>,
    doubts: Vec<Doubt>,
    gate: Option<GateOutcome>,
}

impl Verdict {
    /// A verdict without a gate outcome (see [`Verdict::build`]).
    pub fn new(checks: Vec<Check>, problems: Vec<String>, doubts: Vec<Doubt>) -> Verdict {
        Verdict::build(checks, problems, doubts, None)
    }

    /// Problems (the run's and the gate's) fail the trial. A doubt that masks failures makes it
    /// inconclusive whatever the checks say. Otherwise a failed check or a binding regression
    /// fails it, and anything undecided (a doubt, an inconclusive check, a binding comparison
    /// the noise did not let decide) makes it inconclusive. Checks that could not be measured
    /// on this machine neither pass nor fail the trial; reports show them.
    pub fn build(
        checks: Vec<Check>,
        mut problems: Vec<String>,
        doubts: Vec<Doubt>,
        gate: Option<GateOutcome>,
    ) -> Verdict {
        if let Some(g) = &gate {
            problems.extend(g.problems());
        }
        let failed = checks.iter().any(|c| c.outcome == Outcome::Fail)
            || gate.as_ref().is_some_and(GateOutcome::regressed);
        let undecided = !doubts.is_empty()
            || checks
                .iter()
                .any(|c| matches!(c.outcome, Outcome::Inconclusive(_)))
            || gate.as_ref().is_some_and(GateOutcome::undecided);
        let status = if !problems.is_empty() {
            Status::Fail
        } else if doubts.iter().any(|d| d.masks_failures) {
            Status::Inconclusive
        } else if failed {
            Status::Fail
        } else if undecided {
            Status::Inconclusive
        } else {
            Status::Pass
        };
        Verdict {
            status,
            checks,
            problems,
            doubts,
            gate,
        }
    }

    /// The same parts with the gate's outcome (replacing any earlier one).
    pub fn with_gate(self, gate: GateOutcome) -> Verdict {
        let problems = self.own_problems();
        Verdict::build(self.checks, problems, self.doubts, Some(gate))
    }

    /// The same parts and one more problem.
    pub fn with_problem(self, problem: String) -> Verdict {
        let mut problems = self.own_problems();
        problems.push(problem);
        Verdict::build(self.checks, problems, self.doubts, self.gate)
    }

    /// The problems the run itself had (those of the gate are added again when rebuilt).
    fn own_problems(&self) -> Vec<String> {
        let from_gate = self.gate.as_ref().map_or(0, |g| g.problems().len());
        self.problems[..self.problems.len() - from_gate].to_vec()
    }

    /// The overall status.
    pub fn status(&self) -> Status {
        self.status
    }

    /// Every assertion, evaluated.
    pub fn checks(&self) -> &[Check] {
        &self.checks
    }

    /// Problems with the run itself (the target crashed …) and with the gate (a round that
    /// could not measure, a missing baseline under CI): each fails the trial.
    pub fn problems(&self) -> &[String] {
        &self.problems
    }

    /// Reasons the measurement cannot be trusted: the trial is inconclusive.
    pub fn doubts(&self) -> &[Doubt] {
        &self.doubts
    }

    /// What the gate said, when there was one to compare with (or to write).
    pub fn gate(&self) -> Option<&GateOutcome> {
        self.gate.as_ref()
    }

    /// Whether the test passes: it passed, or it is inconclusive and every source of doubt
    /// is one the scenario lets pass (`inconclusive = "pass"` for the run,
    /// `regression.inconclusive = "pass"` for the comparison).
    pub fn passes(&self, scenario: &Scenario) -> bool {
        match self.status {
            Status::Pass => true,
            Status::Fail => false,
            Status::Inconclusive => {
                let run_undecided = !self.doubts.is_empty()
                    || self
                        .checks
                        .iter()
                        .any(|c| matches!(c.outcome, Outcome::Inconclusive(_)));
                let gate_undecided = self.gate.as_ref().is_some_and(GateOutcome::undecided);
                (!run_undecided || scenario.inconclusive == Inconclusive::Pass)
                    && (!gate_undecided || scenario.regression.inconclusive == Inconclusive::Pass)
            }
        }
    }

    /// Replaces every secret in the texts of the verdict.
    pub(crate) fn redact(&mut self, secrets: &[String]) {
        let r = |t: &str| crate::report::redact(t, secrets);
        for p in &mut self.problems {
            *p = r(p);
        }
        for d in &mut self.doubts {
            d.reason = r(&d.reason);
        }
        for c in &mut self.checks {
            c.note = c.note.as_deref().map(r);
        }
    }

    /// Whether a binding regression was found.
    pub fn regressed(&self) -> bool {
        self.gate.as_ref().is_some_and(GateOutcome::regressed)
    }

    /// How many checks failed.
    pub fn failed(&self) -> usize {
        self.checks
            .iter()
            .filter(|c| c.outcome == Outcome::Fail)
            .count()
    }
}

/// The lateness above which the generator, not the service, shaped the run: the scenario's
/// `max-lateness`, else a tenth of the tightest latency limit asserted (at least 1 ms), else
/// 10 ms.
pub fn max_lateness(s: &Scenario) -> Duration {
    if let Some(d) = s.max_lateness {
        return d;
    }
    match tightest_latency_limit(s) {
        Some(tightest) => Duration::from_micros((tightest / 10.0).max(1000.0) as u64),
        None => Duration::from_millis(10),
    }
}

/// The tightest upper limit (µs) the scenario asserts on a latency, if any.
fn tightest_latency_limit(s: &Scenario) -> Option<f64> {
    s.assertions
        .iter()
        .filter(|a| {
            matches!(a.metric, Metric::Latency(_) | Metric::Service(_))
                && matches!(a.op, Op::Lt | Op::Le)
        })
        .map(|a| a.limit)
        .reduce(f64::min)
}

/// What the generator's own figures say about the run.
pub fn doubts(s: &Scenario, m: &Measurement) -> Vec<Doubt> {
    let g = &m.generator;
    let mut doubts = Vec::new();
    let secs = m.window.as_secs_f64().max(1e-9);
    let cpu = g.cpu.map_or(String::new(), |c| {
        format!(", generator CPU {}", fmt_percent(c))
    });
    match &s.load {
        Load::Open(open) => {
            let limit = max_lateness(s);
            let p99 = g
                .lateness
                .as_ref()
                .and_then(|h| stat_of(h, crate::assertion::Stat::Percentile(99.0)))
                .unwrap_or(0.0);
            let requested = g.requested.unwrap_or(0) as f64;
            let late = p99 > limit.as_micros() as f64;
            // A busy generator that falls short of the rate starves its own users: they look
            // busy, arrivals drop, and the lateness of the few sent requests stays small.
            let short = g.cpu.is_some_and(|c| c >= 0.9) && (g.sent as f64) < 0.99 * requested;
            if late || short {
                // Late while its own threads idle: something else took the CPU (other
                // processes, or the target on the same cores).
                let starved = g.cpu.is_some_and(|c| c < 0.5);
                let what = if starved {
                    "generator starved of CPU"
                } else {
                    "generator saturated"
                };
                let mut reason = format!(
                    "{what}: achieved {} of {}, schedule lateness p99 {} (limit {}){cpu}",
                    fmt_rate(g.sent as f64 / secs),
                    fmt_rate(requested / secs),
                    fmt_us(p99),
                    fmt_us(limit.as_micros() as f64)
                );
                if starved {
                    reason.push_str("; its own threads were mostly idle, so other processes (or the target) kept it from running on time");
                }
                doubts.push(Doubt {
                    reason,
                    masks_failures: true,
                });
            }
            let asserted = s.assertions.iter().any(|a| a.metric == Metric::Dropped);
            if g.dropped > 0 && !asserted {
                doubts.push(Doubt {
                    reason: format!(
                        "{} of {} arrivals dropped: all {} users were busy, so the slowest requests are missing from the percentiles (assert on `dropped` to decide, or raise `max-users`)",
                        g.dropped,
                        g.sent + g.dropped,
                        open.max_users
                    ),
                    masks_failures: false,
                });
            }
        }
        Load::Closed(_) => {
            doubts.extend(stall::closed_stall(s, m));
            if let Some(c) = g.cpu.filter(|&c| c >= 0.95) {
                doubts.push(Doubt {
                    reason: format!(
                        "generator saturated: its {} worker thread(s) were busy {} of the run, so latency includes time spent in the generator",
                        g.threads,
                        fmt_percent(c)
                    ),
                    masks_failures: true,
                });
            }
        }
    }
    doubts
}

#[cfg(test)]
mod tests;
