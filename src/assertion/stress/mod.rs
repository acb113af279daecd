//! Evaluating what stress runs add: checks limited to a phase, `availability`,
//! `recovery-time`, `capacity`, `capacity-users` and `sut.alive`; finding the recovery point;
//! and the abort conditions checked while load runs. Pure, no I/O.

use super::eval::{Check, Outcome, evaluate_one, samples_needed};
use super::window::of_window;
use super::{Assertion, Metric, Stat, Unit};
use crate::measure::{Liveness, Measurement, Recovery, Second, SecondStats, stat_of};
use crate::spec::RecoveryRule;

/// The check of `a` when it is one of the metrics or scopes this module owns.
pub(super) fn evaluate(a: &Assertion, m: &Measurement) -> Option<Check> {
    if let Some(name) = &a.phase {
        return Some(in_phase(a, name, m));
    }
    let (observed, samples, note, undecided) = match a.metric {
        Metric::Availability => availability(a, m),
        Metric::RecoveryTime => recovery_time(m),
        Metric::Capacity | Metric::CapacityUsers => capacity(a, m),
        Metric::SutAlive => match &m.course.alive {
            Some(Liveness::Alive) => (Some(1.0), 1, None, None),
            Some(Liveness::Exited(how)) => (Some(0.0), 1, Some(how.clone()), None),
            None => {
                return Some(
                    check(a, None, 0, None, None)
                        .not_measurable("no process of the target was watched in this run"),
                );
            }
        },
        _ => return None,
    };
    Some(check(a, observed, samples, note, undecided))
}

fn check(
    a: &Assertion,
    observed: Option<f64>,
    samples: u64,
    note: Option<String>,
    undecided: Option<String>,
) -> Check {
    let mut c = Check::judged(a, observed, samples, note);
    if let Some(why) = undecided {
        c.outcome = Outcome::Inconclusive(why);
    }
    c
}

impl Check {
    fn not_measurable(mut self, why: &str) -> Check {
        self.outcome = Outcome::NotMeasurable(why.into());
        self
    }
}

type Observed = (Option<f64>, u64, Option<String>, Option<String>);

/// The same check on the phase's own measurement.
fn in_phase(a: &Assertion, name: &str, m: &Measurement) -> Check {
    let inner = Assertion {
        phase: None,
        ..a.clone()
    };
    let undecided = |why: String| {
        let mut c = check(a, None, 0, None, None);
        c.outcome = Outcome::Inconclusive(why);
        c
    };
    let Some(phase) = m.phase(name) else {
        return undecided(format!("phase `{name}` was not measured"));
    };
    if !phase.measured() {
        return undecided(format!(
            "phase `{name}` was not reached: load stopped at {:.1} s, the phase starts at {:.1} s",
            m.window.as_secs_f64(),
            phase.from_s
        ));
    }
    let mut c = evaluate_one(&inner, &phase.measurement);
    c.assertion = a.clone();
    let span = format!(
        "phase {:.1}–{:.1} s",
        phase.from_s.max(0.0),
        phase.from_s.max(0.0) + phase.measurement.window.as_secs_f64()
    );
    c.note = Some(match c.note.take() {
        Some(n) => format!("{span}; {n}"),
        None => span,
    });
    c
}

/// Seconds with requests in which every request succeeded, over seconds with requests.
fn availability(a: &Assertion, m: &Measurement) -> Observed {
    let index = a.scope.as_ref().and_then(|n| m.request_index(n));
    let last = m.window.as_secs_f64().ceil() as i64;
    let (mut seconds, mut up) = (0u64, 0u64);
    for s in m.timeline.iter().filter(|s| s.t >= 0 && s.t < last) {
        let stats = match index {
            Some(i) => s.requests[i].clone(),
            None => s.total(),
        };
        if stats.ok + stats.errors == 0 {
            continue;
        }
        seconds += 1;
        up += u64::from(stats.errors == 0);
    }
    if seconds == 0 {
        return (
            None,
            0,
            Some("no request started in the measured time".into()),
            None,
        );
    }
    (
        Some(up as f64 / seconds as f64),
        seconds,
        Some(format!(
            "{up} of {seconds} seconds with requests had no failed request"
        )),
        None,
    )
}

fn recovery_time(m: &Measurement) -> Observed {
    let Some(r) = &m.course.recovery else {
        return (
            None,
            0,
            None,
            Some("recovery was not measured in this run".into()),
        );
    };
    if let Some(why) = &r.undecided {
        return (None, 0, None, Some(why.clone()));
    }
    let limits = limits_text(r);
    match r.time_s() {
        Some(t) => (
            Some(t * 1e6),
            u64::from(r.windows),
            Some(format!(
                "`{}` ended at {:.1} s; recovered at {:.0} s ({limits})",
                r.after,
                r.after_end_s,
                r.recovered_at_s.unwrap_or_default()
            )),
            None,
        ),
        None if r.thin > 0 => (
            None,
            u64::from(r.windows),
            None,
            Some(format!(
                "no recovery seen after `{}`, and {} of {} windows had fewer than the {} samples a p95 needs",
                r.after,
                r.thin,
                r.windows,
                samples_needed(95.0)
            )),
        ),
        None => (
            None,
            u64::from(r.windows),
            Some(format!(
                "did not recover after `{}` ended at {:.1} s ({limits}; {} windows judged)",
                r.after, r.after_end_s, r.windows
            )),
            None,
        ),
    }
}

fn limits_text(r: &Recovery) -> String {
    let mut parts = Vec::new();
    if let Some(p) = r.p95_limit_us {
        parts.push(format!("p95 ≤ {}", Unit::Micros.format(p)));
    }
    if let Some(e) = r.error_rate_limit {
        parts.push(format!("error rate ≤ {}", Unit::Fraction.format(e)));
    }
    parts.join(", ")
}

fn capacity(a: &Assertion, m: &Measurement) -> Observed {
    let Some(c) = &m.course.capacity else {
        return (None, 0, None, Some("no capacity search in this run".into()));
    };
    let observed = match a.metric {
        Metric::CapacityUsers => c.held,
        _ => c.value,
    };
    let steps = c.steps.iter().map(|s| s.runs.len() as u64).sum();
    let Some(v) = observed else {
        let lowest = c.steps.first().map_or(0.0, |s| s.level);
        return (
            None,
            steps,
            Some(format!(
                "not even the first level ({}) held",
                c.level_text(lowest)
            )),
            c.lower_bound.clone(),
        );
    };
    let note = match (&c.lower_bound, c.failed) {
        (Some(why), _) => Some(format!("at least this: {why}")),
        (None, Some(f)) => Some(format!(
            "{} held, {} failed",
            c.level_text(c.held.unwrap_or_default()),
            c.level_text(f)
        )),
        (None, None) => None,
    };
    // A lower bound decides a check it already passes; otherwise the search could not tell.
    let undecided = match &c.lower_bound {
        Some(why) if !a.op.holds(v, a.limit) => {
            Some(format!("capacity is only a lower bound: {why}"))
        }
        _ => None,
    };
    (Some(v), steps, note, undecided)
}

/// Finds the recovery after `rule.after`: the first whole second after the phase's end from
/// which `hold` consecutive windows (of `window` seconds, one starting every second) have a
/// p95 and an error rate within the limits: those given, or the reference phase's p95 plus
/// the tolerance and its error rate plus one point.
pub fn find_recovery(rule: &RecoveryRule, m: &Measurement) -> Recovery {
    let after_end_s = m.phase(&rule.after).map_or(0.0, |p| p.to_s);
    let mut r = Recovery {
        after: rule.after.clone(),
        after_end_s,
        p95_limit_us: rule.p95,
        error_rate_limit: rule.error_rate,
        recovered_at_s: None,
        windows: 0,
        thin: 0,
        undecided: None,
    };
    if let Some(name) = &rule.reference {
        let stats = m.phase(name).map(|p| p.measurement.total());
        let needed = samples_needed(95.0);
        match stats {
            Some(s) if s.ok >= needed => {
                let p95 = stat_of(&s.latency, Stat::Percentile(95.0)).unwrap_or_default();
                let own = p95 * (1.0 + rule.tolerance);
                r.p95_limit_us = Some(rule.p95.map_or(own, |l| l.min(own)));
                r.error_rate_limit
                    .get_or_insert((s.error_rate() + 0.01).min(1.0));
            }
            other => {
                r.undecided = Some(format!(
                    "the reference phase `{name}` had {} successful requests: a p95 needs {needed}",
                    other.map_or(0, |s| s.ok)
                ));
                return r;
            }
        }
    }
    let end = m.window.as_secs_f64().floor() as i64;
    let (width, hold) = (rule.window as i64, rule.hold as i64);
    let mut streak = 0;
    let mut s = after_end_s.ceil() as i64;
    while s + width <= end {
        let w = merged(&m.timeline, s, s + width);
        r.windows += 1;
        let within = if w.ok + w.errors < samples_needed(95.0) {
            r.thin += 1;
            false
        } else {
            within(&r, &w)
        };
        streak = if within { streak + 1 } else { 0 };
        if streak == hold {
            r.recovered_at_s = Some((s + 1 - hold) as f64);
            break;
        }
        s += 1;
    }
    r
}

fn within(r: &Recovery, w: &SecondStats) -> bool {
    let n = w.ok + w.errors;
    let p95_ok = r
        .p95_limit_us
        .is_none_or(|l| stat_of(&w.latency, Stat::Percentile(95.0)).is_some_and(|v| v <= l));
    let errors_ok = r
        .error_rate_limit
        .is_none_or(|l| n > 0 && w.errors as f64 / n as f64 <= l);
    p95_ok && errors_ok
}

/// Every request of the timeline's seconds in `from..to` together.
fn merged(timeline: &[Second], from: i64, to: i64) -> SecondStats {
    let mut acc = SecondStats::new();
    for s in timeline.iter().filter(|s| s.t >= from && s.t < to) {
        acc.merge(&s.total());
    }
    acc
}

/// Whether abort condition `a` holds in `window` (the seconds `from..to` of the measured time
/// merged, their drops summed; `index` is the request `a` is scoped to): what it saw, for the
/// reason. A window with too few samples for a percentile never aborts.
pub fn breach(
    a: &Assertion,
    window: &Second,
    index: Option<usize>,
    from: i64,
    to: i64,
) -> Option<String> {
    let stats = match index {
        Some(i) => window.requests.get(i)?.clone(),
        None => window.total(),
    };
    let needed = a.metric.percentile().map_or(0, samples_needed);
    if stats.ok + stats.errors < needed.max(1) {
        return None;
    }
    let v = of_window(&a.metric, &stats, window.dropped, (to - from) as f64)?;
    a.op.holds(v, a.limit)
        .then(|| format!("{} in {from}–{to} s", a.metric.unit().format(v)))
}

#[cfg(test)]
mod tests;
