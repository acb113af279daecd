//! Evaluating assertions against a measurement: pure, no I/O.

use std::time::Duration;

use super::window::windowed;
use super::{Assertion, ConnPhase, Metric, Op, ResourceMetric, Token, Unit};
use crate::measure::{Channel, Measurement, RequestStats, stat_of};
use crate::resources::Observed;

/// The result of one check.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// The limit holds.
    Pass,
    /// The limit is missed.
    Fail,
    /// The run cannot decide (too few samples, untrustworthy run); says why.
    Inconclusive(String),
    /// The metric could not be measured on this machine; says why.
    NotMeasurable(String),
}

impl Outcome {
    /// A short label: `PASS`, `FAIL`, `INCONCLUSIVE`, `N/A`.
    pub fn label(&self) -> &'static str {
        match self {
            Outcome::Pass => "PASS",
            Outcome::Fail => "FAIL",
            Outcome::Inconclusive(_) => "INCONCLUSIVE",
            Outcome::NotMeasurable(_) => "N/A",
        }
    }
}

/// One assertion, evaluated.
#[derive(Debug, Clone, PartialEq)]
pub struct Check {
    /// The assertion.
    pub assertion: Assertion,
    /// The observed value in the metric's unit (the worst window for windowed checks).
    pub observed: Option<f64>,
    /// Samples behind the observed value.
    pub samples: u64,
    /// The verdict of this check.
    pub outcome: Outcome,
    /// Extra context for people (which window, why not measured).
    pub note: Option<String>,
}

impl Check {
    /// `a` judged on `observed`: a pass when the limit holds, a failure otherwise (no value
    /// fails too).
    pub(super) fn judged(
        a: &Assertion,
        observed: Option<f64>,
        samples: u64,
        note: Option<String>,
    ) -> Check {
        let outcome = match observed {
            Some(v) if a.op.holds(v, a.limit) => Outcome::Pass,
            _ => Outcome::Fail,
        };
        Check {
            assertion: a.clone(),
            observed,
            samples,
            outcome,
            note,
        }
    }

    /// The unit of observed and limit.
    pub fn unit(&self) -> Unit {
        self.assertion.metric.unit()
    }

    /// Room left before the limit is missed, in the metric's unit: positive when passing.
    pub fn margin(&self) -> Option<f64> {
        let observed = self.observed?;
        let limit = self.assertion.limit;
        Some(match self.assertion.op {
            Op::Lt | Op::Le => limit - observed,
            Op::Gt | Op::Ge => observed - limit,
            Op::Eq => -(observed - limit).abs(),
        })
    }
}

/// Samples a percentile needs to mean something: at least 5 beyond it, so p99 needs 500 and
/// p50 needs 10.
pub fn samples_needed(percentile: f64) -> u64 {
    // Round away float noise before the ceiling: 5 / 0.001 must give 5000, not 5001.
    ((5.0 / (1.0 - percentile / 100.0) * 1e6).round() / 1e6).ceil() as u64
}

/// What would decide a percentile from too few samples: the measured time that gives `needed`
/// samples at the rate `samples` arrived in `window`.
fn duration_needed(samples: u64, needed: u64, window: Duration) -> String {
    if samples == 0 || window.is_zero() {
        return String::new();
    }
    let rate = samples as f64 / window.as_secs_f64();
    // Whole seconds, rounded up: what a spec would say.
    let secs = (needed as f64 / rate).ceil().max(1.0);
    format!(
        "; at the observed {} that takes about `duration = \"{}s\"`",
        crate::units::fmt_rate(rate),
        secs as u64
    )
}

/// Evaluates every assertion.
pub fn evaluate(assertions: &[Assertion], m: &Measurement) -> Vec<Check> {
    assertions.iter().map(|a| evaluate_one(a, m)).collect()
}

pub(super) fn evaluate_one(a: &Assertion, m: &Measurement) -> Check {
    if let Some(turn) = a.turn {
        return super::turn::evaluate(a, turn, m);
    }
    // Phases, recovery, capacity, availability and liveness.
    if let Some(check) = super::stress::evaluate(a, m) {
        return check;
    }
    let make = |observed: Option<f64>, samples: u64, note: Option<String>| {
        Check::judged(a, observed, samples, note)
    };
    if let Metric::Resource(r) = &a.metric {
        return resource(a, *r, m, make);
    }
    if let Metric::Scraped(s) = &a.metric {
        return scraped(a, s, m, make);
    }
    if let Metric::Flow(f) = &a.metric {
        return super::flow::evaluate(a, f, m);
    }
    let stats = match &a.scope {
        Some(name) => match m.request(name) {
            Some(s) => s.clone(),
            None => {
                return make(
                    None,
                    0,
                    Some(format!("no request named `{name}` was measured")),
                );
            }
        },
        None => m.total(),
    };
    match a.window {
        None => {
            let (observed, samples, note) = overall(&a.metric, &stats, m);
            let mut check = make(observed, samples, note.clone());
            // No connection opened in the measured window is not a miss: kept-alive
            // connections were opened before it (during the warm-up).
            if let (Metric::Connection(ConnPhase::Connect | ConnPhase::Tls, _), None, Some(why)) =
                (&a.metric, observed, note)
                && stats.requests() > 0
                && stats.phases.connect.is_empty()
            {
                check.outcome = Outcome::Inconclusive(why);
                return check;
            }
            // A percentile from too few samples says nothing, whichever way it points.
            if let (Some(p), Some(_)) = (a.metric.percentile(), observed)
                && samples < samples_needed(p)
            {
                check.outcome = Outcome::Inconclusive(format!(
                    "{} from {samples} samples: a p{p} needs at least {} (5 beyond it){}",
                    a.metric.name(),
                    samples_needed(p),
                    duration_needed(samples, samples_needed(p), m.window)
                ));
            }
            check
        }
        Some(w) => windowed(a, m, w, make),
    }
}

/// A resource metric: from the sampled series; not measurable where nothing was sampled.
fn resource(
    a: &Assertion,
    r: ResourceMetric,
    m: &Measurement,
    make: impl Fn(Option<f64>, u64, Option<String>) -> Check,
) -> Check {
    let observed = match &m.resources {
        Some(res) if r.reduce == crate::assertion::Reduce::PerRequest => {
            res.per_request(r, m.total().requests())
        }
        Some(res) => res.observe(r),
        None => Observed::NotMeasurable("resources were not sampled in this run".into()),
    };
    match observed {
        Observed::Value {
            value,
            samples,
            note,
        } => {
            let mut check = make(Some(value), samples, note);
            // Percentiles of samples obey the same rule as percentiles of requests.
            if let Some(p) = a.metric.percentile()
                && samples < samples_needed(p)
            {
                let interval = m.resources.as_ref().map(|r| r.interval);
                let takes = interval.map_or(String::new(), |i| {
                    format!(
                        "; at one sample every {} that takes a `duration` of at least {}",
                        crate::units::fmt_duration(i),
                        crate::units::fmt_duration(i * samples_needed(p) as u32)
                    )
                });
                check.outcome = Outcome::Inconclusive(format!(
                    "{} from {samples} samples: a p{p} needs at least {} (lengthen `duration` or shorten `sample-interval`){takes}",
                    a.metric.name(),
                    samples_needed(p)
                ));
            }
            check
        }
        Observed::Inconclusive(why) => {
            let mut check = make(None, 0, None);
            check.outcome = Outcome::Inconclusive(why);
            check
        }
        Observed::NotMeasurable(why) => {
            let mut check = make(None, 0, None);
            check.outcome = Outcome::NotMeasurable(why);
            check
        }
    }
}

/// A metric of the service: from its scraped series. A metric or label it does not export
/// fails with what it does export; scrapes that allow no number are inconclusive.
fn scraped(
    a: &Assertion,
    s: &super::ScrapedMetric,
    m: &Measurement,
    make: impl Fn(Option<f64>, u64, Option<String>) -> Check,
) -> Check {
    use crate::scrape::Reading;
    let Some(scraped) = &m.metrics else {
        let mut check = make(None, 0, None);
        check.outcome = Outcome::Inconclusive(
            "the service's metrics were not read in this run (the target has no `metrics` endpoint)"
                .into(),
        );
        return check;
    };
    match scraped.observe(s) {
        Reading::Value {
            value,
            samples,
            note,
        } => {
            let mut check = make(Some(value), samples, note);
            if let Some(p) = a.metric.percentile()
                && samples < samples_needed(p)
            {
                check.outcome = Outcome::Inconclusive(format!(
                    "{} from {samples} reads: a p{p} needs at least {} (lengthen `duration` or shorten `sample-interval`)",
                    a.metric.name(),
                    samples_needed(p)
                ));
            }
            check
        }
        Reading::Missing(why) => make(None, 0, Some(why)),
        Reading::Undecided(why) => {
            let mut check = make(None, 0, None);
            check.outcome = Outcome::Inconclusive(why);
            check
        }
    }
}

/// The observed value over the whole run, its samples, and why there is none.
fn overall(
    metric: &Metric,
    s: &RequestStats,
    m: &Measurement,
) -> (Option<f64>, u64, Option<String>) {
    let secs = m.window.as_secs_f64();
    let per_second = |n: f64| if secs > 0.0 { n / secs } else { 0.0 };
    let none = |why: &str| (None, 0, Some(why.to_string()));
    let hist = |h: &hdrhistogram::Histogram<u64>, stat| match stat_of(h, stat) {
        Some(v) => (Some(v), h.len(), None),
        None => (
            None,
            0,
            Some("no successful requests to measure".to_string()),
        ),
    };
    match metric {
        Metric::Latency(stat) => hist(&s.latency, *stat),
        Metric::Service(stat) => hist(s.histogram(Channel::Service), *stat),
        Metric::Stream(token, stat) => match &s.stream {
            Some(st) => hist(
                match token {
                    Token::Ttft => &st.ttft,
                    Token::Itl => &st.itl,
                    Token::Tpot => &st.tpot,
                },
                *stat,
            ),
            None => none("no streamed responses (requests need stream = \"sse\")"),
        },
        Metric::Stage(name, stat) => match s.stages.get(name) {
            Some(h) => hist(h, *stat),
            None if s.stages.is_empty() => none(&format!(
                "no stage `{name}`: the responses had no Server-Timing header"
            )),
            None => none(&format!(
                "no stage `{name}` in Server-Timing; stages seen: {}",
                s.stages.keys().cloned().collect::<Vec<_>>().join(", ")
            )),
        },
        Metric::Connection(phase, stat) => {
            let p = &s.phases;
            let h = match phase {
                ConnPhase::Connect => &p.connect,
                ConnPhase::Tls => &p.tls,
                ConnPhase::Ttfb => &p.ttfb,
                ConnPhase::Transfer => &p.transfer,
            };
            match (phase, h.is_empty()) {
                (_, false) => hist(h, *stat),
                (ConnPhase::Connect, true) => none(
                    "no connection was opened in the measured window: requests reused kept-alive connections opened before it",
                ),
                (ConnPhase::Tls, true) if p.connect.is_empty() => none(
                    "no TLS connection was opened in the measured window: requests reused kept-alive connections opened before it",
                ),
                (ConnPhase::Tls, true) => none("no TLS handshake: the target is not https"),
                (_, true) => none("no successful HTTP response to measure"),
            }
        }
        Metric::ErrorRate => (Some(s.error_rate()), s.requests(), None),
        Metric::Errors => (Some(s.error_count() as f64), s.requests(), None),
        Metric::Throughput => (Some(per_second(s.ok as f64)), s.ok, None),
        Metric::Requests => (Some(s.requests() as f64), s.requests(), None),
        Metric::Dropped => (
            Some(m.generator.dropped as f64),
            m.generator.sent + m.generator.dropped,
            None,
        ),
        Metric::OutputTokens | Metric::OutputTokensPerSecond => match &s.stream {
            Some(st) => {
                let tokens = st.output_tokens as f64;
                let v = if *metric == Metric::OutputTokens {
                    tokens
                } else {
                    per_second(tokens)
                };
                (
                    Some(v),
                    st.output_tokens,
                    Some(format!("tokens counted from {}", st.counting())),
                )
            }
            None => none("no streamed responses (requests need stream = \"sse\")"),
        },
        Metric::Goodput | Metric::GoodputRate => match s.good {
            Some(good) if *metric == Metric::Goodput => (
                Some(if s.requests() == 0 {
                    0.0
                } else {
                    good as f64 / s.requests() as f64
                }),
                s.requests(),
                None,
            ),
            Some(good) => (Some(per_second(good as f64)), s.requests(), None),
            None => none(
                "no goodput budgets: add goodput = { ttft = \"…\", tpot = \"…\" } to the scenario",
            ),
        },
        // Resources and the service's metrics are read from their series, and stress metrics
        // by `stress`, before this point.
        Metric::Resource(_)
        | Metric::Scraped(_)
        | Metric::Flow(_)
        | Metric::Availability
        | Metric::RecoveryTime
        | Metric::Capacity
        | Metric::CapacityUsers
        | Metric::SutAlive => (None, 0, None),
    }
}
