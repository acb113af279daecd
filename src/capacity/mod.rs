//! Capacity search: the scenario run again and again at rising levels (arrival rate in the open
//! model, users in the closed one) until its own assertions fail. Each step is an ordinary
//! run with its own measurement and verdict; this module only decides what to run next and
//! what the runs add up to. The harness runs the steps (`harness::trial`), so there is one
//! scheduler and one way to measure.
//!
//! A step holds when its verdict passes, fails when a check fails (or arrivals were dropped,
//! or the run had a problem), and is inconclusive when the generator saturated or a check had
//! too few samples: then the search stops and the result is a lower bound, never a knee. A
//! step whose checks came within 10 % of their limits is noisy and runs again (`repeat`),
//! the majority deciding and a tie counting as failed; an inconclusive step runs again too
//! (a generator starved by other processes is often passing noise) and stops the search only
//! when no run of it could decide.

mod levels;

use std::time::Duration;

use crate::assertion::{Metric, Outcome, evaluate, samples_needed};
use crate::compare::{Status, Verdict, doubts};
use crate::measure::{Capacity, CapacityStep, Measurement, StepOutcome, StepRun, stat_of};
use crate::report::Measured;
use crate::spec::{CapacityRule, Load, Scenario};
use levels::Levels;

/// A check within this share of its limit makes a step noisy.
const NOISE: f64 = 0.10;

/// The longest a step is lengthened to for its samples.
const LONGEST_STEP: Duration = Duration::from_secs(600);

/// A capacity search in progress.
pub(crate) struct Search {
    scenario: Scenario,
    rule: CapacityRule,
    /// Each request's share of the mix, by name, for the samples a scoped percentile needs.
    shares: Vec<(String, f64)>,
    levels: Levels,
    steps: Vec<CapacityStep>,
    /// The level being run, with its runs so far.
    current: Option<(f64, Vec<StepRun>)>,
    /// The run kept for the result: the last that held at the highest level held, else the
    /// first run of all.
    kept: Option<(f64, Measured)>,
    first: Option<Measured>,
    runs: u32,
}

impl Search {
    /// A search for `scenario`, which must have a `capacity` rule; `weights` are the
    /// requests' names and weights.
    pub fn new(scenario: &Scenario, weights: &[(String, u32)]) -> Option<Search> {
        let rule = scenario.capacity.clone()?;
        let total: u32 = weights.iter().map(|w| w.1).sum();
        Some(Search {
            levels: Levels::new(&rule, matches!(scenario.load, Load::Closed(_))),
            scenario: scenario.clone(),
            rule,
            shares: weights
                .iter()
                .map(|(n, w)| (n.clone(), f64::from(*w) / f64::from(total.max(1))))
                .collect(),
            steps: Vec::new(),
            current: None,
            kept: None,
            first: None,
            runs: 0,
        })
    }

    /// The scenario of the next run, at its level; `None` when the search is over.
    pub fn next_run(&mut self) -> Option<Scenario> {
        if self.runs >= self.rule.max_steps {
            return None;
        }
        let level = match &self.current {
            Some((level, _)) => *level,
            None => {
                let level = self.levels.next()?;
                self.current = Some((level, Vec::new()));
                level
            }
        };
        Some(self.at(level))
    }

    /// The scenario run at `level`: that rate or that many users, no capacity rule, no
    /// capacity assertions, long enough for the percentiles asserted (open model).
    fn at(&self, level: f64) -> Scenario {
        let mut s = self.scenario.clone();
        s.capacity = None;
        s.assertions
            .retain(|a| !matches!(a.metric, Metric::Capacity | Metric::CapacityUsers));
        match &mut s.load {
            Load::Open(o) => {
                o.rate = level;
                let needed = s
                    .assertions
                    .iter()
                    .filter_map(|a| {
                        let share = a.scope.as_ref().map_or(1.0, |n| {
                            self.shares
                                .iter()
                                .find(|(m, _)| m == n)
                                .map_or(1.0, |x| x.1)
                        });
                        Some(samples_needed(a.metric.percentile()?) as f64 / share)
                    })
                    .fold(0.0, f64::max);
                // A quarter more than needed: errors and the last in-flight requests count
                // for nothing.
                let long = Duration::from_secs_f64(1.25 * needed / level.max(1e-9));
                s.duration = s.duration.max(long.min(LONGEST_STEP));
            }
            Load::Closed(c) => c.users = level as u32,
        }
        s
    }

    /// Takes the outcome of the run `next_run` asked for.
    pub fn record(&mut self, run: Measured) {
        self.runs += 1;
        let Some((level, mut runs)) = self.current.take() else {
            return;
        };
        let step = step_run(&run);
        if self.first.is_none() {
            self.first = Some(run.clone());
        }
        if step.outcome == StepOutcome::Held && self.kept.as_ref().is_none_or(|(l, _)| level >= *l)
        {
            self.kept = Some((level, run));
        }
        runs.push(step);
        match decide(&runs, self.rule.repeat) {
            Some(outcome) => {
                self.levels.record(level, outcome);
                self.steps.push(CapacityStep {
                    level,
                    outcome,
                    runs,
                });
            }
            None => self.current = Some((level, runs)),
        }
    }

    /// The result: the run kept (or the first), with the search attached and every assertion
    /// (capacity ones included) evaluated on it; `None` when nothing ran.
    pub fn finish(mut self) -> Option<Measured> {
        // A step cut short by `max-steps` is decided by what it has.
        if let Some((level, runs)) = self.current.take() {
            let outcome = decide(&runs, runs.len().saturating_sub(1) as u32)
                .unwrap_or(StepOutcome::Inconclusive);
            self.levels.record(level, outcome);
            self.steps.push(CapacityStep {
                level,
                outcome,
                runs,
            });
        }
        let capacity = self.result();
        let (level, base) = match self.kept.take() {
            Some((level, m)) => (Some(level), m),
            None => (None, self.first.take()?),
        };
        let mut m = base.measurement;
        let scenario = self.at(level.unwrap_or(self.rule.from));
        m.course.capacity = Some(capacity);
        let checks = evaluate(&self.scenario.assertions, &m);
        let verdict = Verdict::new(
            checks,
            base.verdict.problems().to_vec(),
            doubts(&scenario, &m),
        );
        Some(Measured {
            measurement: m,
            verdict,
        })
    }

    fn result(&self) -> Capacity {
        let users = matches!(self.scenario.load, Load::Closed(_));
        let l = &self.levels;
        let text = |v: f64| {
            if users {
                format!("{v:.0} users")
            } else {
                crate::units::fmt_rate(v)
            }
        };
        let lower_bound = if let Some(u) = l.undecided {
            let why = self
                .steps
                .iter()
                .find(|s| s.level == u)
                .and_then(|s| s.runs.iter().rev().find_map(|r| r.reason.clone()))
                .unwrap_or_default();
            Some(format!(
                "the step at {} could not be decided: {why}",
                text(u)
            ))
        } else if l.failed.is_none() && l.held.is_some() {
            Some(format!(
                "the highest level tried ({}) still held",
                text(self.rule.to)
            ))
        } else if self.runs >= self.rule.max_steps && self.levels.next().is_some() {
            Some(format!(
                "the search stopped after max-steps = {} runs",
                self.rule.max_steps
            ))
        } else {
            None
        };
        let value = match (users, &self.kept) {
            (false, _) => l.held,
            (true, Some((_, m))) => {
                let me = &m.measurement;
                Some(me.throughput(&me.total()))
            }
            (true, None) => None,
        };
        Capacity {
            users,
            held: l.held,
            value,
            failed: l.failed,
            lower_bound,
            steps: self.steps.clone(),
        }
    }
}

/// What a run at one level says.
fn step_run(run: &Measured) -> StepRun {
    let v = &run.verdict;
    let m: &Measurement = &run.measurement;
    let total = m.total();
    let p = |q| stat_of(&total.latency, crate::assertion::Stat::Percentile(q));
    let failed_check = v
        .checks()
        .iter()
        .find(|c| c.outcome == Outcome::Fail)
        .map(|c| {
            let unit = c.unit();
            format!(
                "{} ({})",
                c.assertion.text,
                c.observed.map_or("-".into(), |o| unit.format(o))
            )
        });
    let masking = v.doubts().iter().find(|d| d.masks_failures);
    let (outcome, reason) = match v.status() {
        Status::Pass => (StepOutcome::Held, None),
        _ if !v.problems().is_empty() => (StepOutcome::Failed, v.problems().first().cloned()),
        _ if masking.is_some() => (StepOutcome::Inconclusive, masking.map(|d| d.reason.clone())),
        Status::Fail => (StepOutcome::Failed, failed_check),
        // Drops mean the users could not keep up: the level did not hold.
        Status::Inconclusive if !v.doubts().is_empty() => (
            StepOutcome::Failed,
            v.doubts().first().map(|d| d.reason.clone()),
        ),
        Status::Inconclusive => (
            StepOutcome::Inconclusive,
            v.checks().iter().find_map(|c| match &c.outcome {
                Outcome::Inconclusive(why) => Some(why.clone()),
                _ => None,
            }),
        ),
    };
    let noisy = outcome != StepOutcome::Inconclusive
        && v.checks()
            .iter()
            .any(|c| match (c.margin(), c.assertion.limit) {
                (Some(margin), limit) if limit != 0.0 => (margin / limit).abs() < NOISE,
                _ => false,
            });
    StepRun {
        outcome,
        throughput: m.throughput(&total),
        p50_us: p(50.0),
        p95_us: p(95.0),
        p99_us: p(99.0),
        error_rate: total.error_rate(),
        window_s: m.window.as_secs_f64(),
        reason,
        noisy,
    }
}

/// The outcome of a level from its runs so far, `None` while another run is needed. A clear
/// run (decisive, not close to a limit, agreeing with any decisive run before it) decides; a
/// noisy or inconclusive one (a generator starved by other processes is often passing noise)
/// is repeated, up to `1 + repeat` runs in all, until a majority agrees. At the end, more held
/// than failed holds, a tie fails, and no decisive run at all is inconclusive.
fn decide(runs: &[StepRun], repeat: u32) -> Option<StepOutcome> {
    let last = runs.last()?;
    let count = |o: StepOutcome| runs.iter().filter(|r| r.outcome == o).count();
    let (held, failed) = (count(StepOutcome::Held), count(StepOutcome::Failed));
    let agrees = runs
        .iter()
        .all(|r| r.outcome == last.outcome || r.outcome == StepOutcome::Inconclusive);
    if last.outcome != StepOutcome::Inconclusive && !last.noisy && agrees {
        return Some(last.outcome);
    }
    let most = (repeat + 1) as usize;
    let majority = most / 2 + 1;
    if held >= majority {
        Some(StepOutcome::Held)
    } else if failed >= majority {
        Some(StepOutcome::Failed)
    } else if runs.len() < most {
        None
    } else if held + failed == 0 {
        Some(StepOutcome::Inconclusive)
    } else if held > failed {
        Some(StepOutcome::Held)
    } else {
        Some(StepOutcome::Failed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(outcome: StepOutcome, noisy: bool) -> StepRun {
        StepRun {
            outcome,
            throughput: 0.0,
            p50_us: None,
            p95_us: None,
            p99_us: None,
            error_rate: 0.0,
            window_s: 1.0,
            reason: None,
            noisy,
        }
    }

    #[test]
    fn noisy_steps_are_repeated_until_a_majority_agrees() {
        use StepOutcome::{Failed, Held, Inconclusive};
        assert_eq!(decide(&[run(Held, false)], 2), Some(Held));
        assert_eq!(decide(&[run(Failed, false)], 2), Some(Failed));
        assert_eq!(decide(&[run(Held, true)], 2), None, "noisy: run again");
        assert_eq!(decide(&[run(Held, true)], 0), Some(Held), "no repeats");
        assert_eq!(decide(&[run(Held, true), run(Held, false)], 2), Some(Held));
        assert_eq!(decide(&[run(Held, true), run(Failed, true)], 2), None);
        assert_eq!(
            decide(&[run(Held, true), run(Failed, true), run(Failed, false)], 2),
            Some(Failed)
        );
        assert_eq!(
            decide(&[run(Held, true), run(Failed, true)], 1),
            Some(Failed),
            "a tie fails"
        );
        assert_eq!(
            decide(&[run(Held, true), run(Inconclusive, false)], 2),
            None,
            "an inconclusive run is run again"
        );
        assert_eq!(
            decide(&[run(Inconclusive, false), run(Held, false)], 2),
            Some(Held),
            "a clear run after a starved one decides"
        );
        assert_eq!(
            decide(
                &[
                    run(Inconclusive, false),
                    run(Inconclusive, false),
                    run(Inconclusive, false)
                ],
                2
            ),
            Some(Inconclusive)
        );
        assert_eq!(decide(&[run(Inconclusive, false)], 0), Some(Inconclusive));
    }
}
