//! Assertions over windows (`p95 < 200ms per 10s`): tumbling windows from the start of
//! measurement, each judged on its own; the observed value is the worst window's.

use std::time::Duration;

use super::eval::{Check, Outcome, samples_needed};
use super::{Assertion, Metric};
use crate::measure::{Measurement, Second, SecondStats, stat_of};

/// A metric's value over one window's merged seconds (`None`: not kept per second).
pub(super) fn of_window(metric: &Metric, s: &SecondStats, dropped: u64, secs: f64) -> Option<f64> {
    let n = s.ok + s.errors;
    match metric {
        Metric::Latency(stat) => stat_of(&s.latency, *stat),
        Metric::ErrorRate => Some(if n == 0 {
            0.0
        } else {
            s.errors as f64 / n as f64
        }),
        Metric::Errors => Some(s.errors as f64),
        Metric::Throughput => Some(s.ok as f64 / secs),
        Metric::Requests => Some(n as f64),
        Metric::Dropped => Some(dropped as f64),
        // Not kept per second; windows are refused for them when parsing.
        _ => None,
    }
}

/// Tumbling windows from the start of measurement; only complete windows count. The observed
/// value is the worst window's.
pub(super) fn windowed(
    a: &Assertion,
    m: &Measurement,
    w: Duration,
    make: impl Fn(Option<f64>, u64, Option<String>) -> Check,
) -> Check {
    let width = w.as_secs() as i64;
    let full = (m.window.as_secs_f64() / width as f64).floor() as i64;
    if full == 0 {
        let mut c = make(None, 0, None);
        c.outcome = Outcome::Inconclusive(format!(
            "the measured time ({:.1} s) is shorter than one {width} s window",
            m.window.as_secs_f64()
        ));
        return c;
    }
    let index = a.scope.as_ref().and_then(|n| m.request_index(n));
    let needed = a.metric.percentile().map_or(0, samples_needed);
    let mut worst: Option<(f64, i64, u64)> = None;
    let (mut failing, mut thin) = (0, 0);
    for k in 0..full {
        let mut acc = SecondStats::new();
        let mut dropped = 0;
        for second in m
            .timeline
            .iter()
            .filter(|s: &&Second| s.t >= k * width && s.t < (k + 1) * width)
        {
            dropped += second.dropped;
            match index {
                Some(i) => acc.merge(&second.requests[i]),
                None => acc.merge(&second.total()),
            }
        }
        let samples = acc.ok + acc.errors;
        if samples < needed {
            // Too few samples for this window's percentile: it neither passes nor fails.
            thin += 1;
            continue;
        }
        let Some(v) = of_window(&a.metric, &acc, dropped, width as f64) else {
            failing += 1;
            continue;
        };
        if !a.op.holds(v, a.limit) {
            failing += 1;
        }
        let worse = match worst {
            None => true,
            Some((w, ..)) => {
                if a.metric.higher_is_better() {
                    v < w
                } else {
                    v > w
                }
            }
        };
        if worse {
            worst = Some((v, k, acc.ok + acc.errors));
        }
    }
    let (observed, at, samples) = match worst {
        Some((v, k, n)) => (Some(v), k, n),
        None => (None, 0, 0),
    };
    let mut note = format!(
        "worst of {full} windows: {}–{} s; {failing} of {full} missed",
        at * width,
        (at + 1) * width
    );
    if thin > 0 {
        note.push_str(&format!("; {thin} had fewer than {needed} samples"));
    }
    let mut c = make(observed, samples, Some(note));
    if failing > 0 {
        c.outcome = Outcome::Fail;
    } else if thin > 0 {
        c.outcome = Outcome::Inconclusive(format!(
            "{thin} of {full} windows had fewer than the {needed} samples a p{} needs",
            a.metric.percentile().unwrap_or(0.0)
        ));
    }
    c
}
