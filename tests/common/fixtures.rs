//! Hand-built reports for renderer tests: fixed histograms and timelines (no timing, no
//! server), checks evaluated by the real `assertion::evaluate`, so every renderer sees the
//! shapes a run produces and snapshots stay stable.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hdrhistogram::Histogram;
use perfspec::assertion::{Unit, evaluate};
use perfspec::compare::{Doubt, Verdict};
use perfspec::gate::{Change, Comparison, Decision, GateOutcome, Needed, Source};
use perfspec::measure::{ErrorKind, Generator, Measurement, RequestStats, Second, SecondStats};
use perfspec::report::{BaselineView, BrokenSpec, Measured, RunReport, Series, TrialReport};
use perfspec::spec::{Context, Scenario, Spec};

/// 2026-11-18T11:06:40Z.
pub const STARTED: u64 = 1_795_000_000;

fn at(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(secs)
}

/// The scenario `name` of a spec with requests `search` (weight 9) and `health`.
pub fn scenario(name: &str, load: &str, asserts: &[&str]) -> Scenario {
    let text = format!(
        "[target]\nurl = \"http://127.0.0.1:8080\"\n[[request]]\nname = \"search\"\nmethod = \"POST\"\npath = \"/search\"\nweight = 9\n[[request]]\nname = \"health\"\npath = \"/health\"\n[scenario.{name}]\nload = {load}\nwarmup = \"2s\"\nduration = \"8s\"\nassert = {asserts:?}\n"
    );
    Spec::parse(
        &text,
        Path::new("perf-specs/search.toml"),
        &Context::default(),
    )
    .unwrap_or_else(|e| panic!("{e}"))
    .scenarios
    .remove(0)
}

/// A heavy-tailed latency distribution: `n` samples around `median_us`, the p99 about 5x.
fn latencies(median_us: f64, n: u64) -> impl Iterator<Item = u64> {
    (0..n).map(move |i| {
        let q = (i as f64 + 0.5) / n as f64;
        (median_us / 1.27 * (1.0 / (1.0 - q)).powf(0.35)).round() as u64
    })
}

fn histogram(median_us: f64, n: u64) -> Histogram<u64> {
    let mut h = Histogram::new(3).unwrap();
    for v in latencies(median_us, n) {
        h.record(v).unwrap();
    }
    h
}

fn stats(
    name: &str,
    median_us: f64,
    ok: u64,
    errors: &[(ErrorKind, u64)],
    open: bool,
) -> RequestStats {
    let mut s = RequestStats::new(name, open);
    s.latency = histogram(median_us, ok);
    if open {
        s.service = Some(histogram(median_us * 0.8, ok));
    }
    s.ok = ok;
    s.bytes = ok * 512;
    s.errors = errors.iter().copied().collect::<BTreeMap<_, _>>();
    s
}

/// Seconds -2..8 with `per_second` requests each, split 9:1 between search and health, the
/// median drifting, and a slow patch in seconds 4 and 5 when `spike`.
fn timeline(median_us: f64, per_second: u64, errors_at: &[(i64, u64)], spike: bool) -> Vec<Second> {
    (-2..8)
        .map(|t| {
            let drift = 1.0 + 0.15 * ((t as f64) * 0.9).sin();
            let slow = if spike && (4..=5).contains(&t) {
                3.0
            } else {
                1.0
            };
            let requests = [(0.9, 1.0), (0.1, 0.3)]
                .map(|(share, speed)| {
                    let n = (per_second as f64 * share).round() as u64;
                    let mut latency = Histogram::<u32>::new(2).unwrap();
                    for v in latencies(median_us * speed * drift * slow, n) {
                        latency.record(v).unwrap();
                    }
                    SecondStats {
                        ok: n,
                        errors: 0,
                        latency,
                    }
                })
                .to_vec();
            let mut second = Second {
                t,
                requests,
                dropped: 0,
            };
            if let Some((_, e)) = errors_at.iter().find(|(s, _)| *s == t) {
                second.requests[0].errors = *e;
            }
            second
        })
        .collect()
}

fn closed_measurement(median_us: f64, spike: bool) -> Measurement {
    Measurement {
        started_at: at(STARTED),
        warmup: Duration::from_secs(2),
        window: Duration::from_secs(8),
        requests: vec![
            stats(
                "search",
                median_us,
                1_800,
                &[(ErrorKind::Http5xx, 3), (ErrorKind::Timeout, 1)],
                false,
            ),
            stats("health", median_us * 0.3, 200, &[], false),
        ],
        timeline: timeline(median_us, 250, &[(3, 3), (6, 1)], spike),
        interrupted: 0,
        resources: None,
        course: Default::default(),
        metrics: None,
        generator: Generator {
            lateness: None,
            requested: None,
            sent: 2_004,
            dropped: 0,
            cpu: Some(0.231),
            threads: 2,
        },
    }
}

fn trial(
    spec: &str,
    scenario: Scenario,
    m: Measurement,
    doubts: Vec<Doubt>,
    problems: Vec<String>,
) -> TrialReport {
    let checks = evaluate(&scenario.assertions, &m);
    TrialReport {
        spec: spec.into(),
        spec_file: format!("perf-specs/{spec}.toml"),
        outcome: Ok(Measured {
            measurement: m,
            verdict: Verdict::new(checks, problems, doubts),
        }),
        log: Some(format!("target/perfspec/logs/{spec}/{}.log", scenario.name)),
        scenario,
        series: Vec::new(),
        baseline: None,
    }
}

/// A closed-model trial whose checks all pass.
pub fn passing() -> TrialReport {
    trial(
        "search",
        scenario(
            "steady",
            "{ model = \"closed\", users = 4, think-time = \"10ms..30ms\" }",
            &[
                "p95 < 50ms",
                "search.p99 < 100ms",
                "error-rate < 1%",
                "throughput > 50/s",
            ],
        ),
        closed_measurement(2_000.0, false),
        vec![],
        vec![],
    )
}

/// How one metric moved: a hand-built comparison of 3 baseline runs against 1.
pub fn change(
    metric: &str,
    change: f64,
    interval: (f64, f64),
    decision: Decision,
    needed: Option<Needed>,
) -> Change {
    let unit = if metric == "throughput" {
        Unit::PerSecond
    } else {
        Unit::Micros
    };
    Change {
        metric: metric.into(),
        unit,
        compared: Some(Comparison {
            base: 2_000.0,
            head: 2_000.0 * (1.0 + change),
            change,
            interval,
            decision,
            worse: change,
            runs: (3, 1),
            paired: false,
            needed,
        }),
        note: None,
    }
}

/// A closed-model trial that misses a latency limit, with resource series and a baseline.
pub fn failing() -> TrialReport {
    let mut t = trial(
        "search",
        scenario(
            "tight",
            "{ model = \"closed\", users = 4 }",
            &[
                "p95 < 5ms",
                "p99 over 2s < 20ms",
                "error-rate < 0.1%",
                "throughput > 200/s",
                "requests >= 500",
            ],
        ),
        closed_measurement(3_000.0, true),
        vec![],
        vec![],
    );
    let points =
        |f: &dyn Fn(f64) -> f64| (-2..8).map(|t| (t as f64, f(t as f64))).collect::<Vec<_>>();
    t.series = vec![
        Series {
            name: "sut.cpu".into(),
            chart: "CPU of the target".into(),
            unit: Unit::Fraction,
            points: points(&|t| 0.42 + 0.03 * t.max(0.0)),
        },
        Series {
            name: "sut.rss".into(),
            chart: "Memory of the target".into(),
            unit: Unit::Bytes,
            points: points(&|t| (96.0 + 2.5 * (t + 2.0)) * 1024.0 * 1024.0),
        },
    ];
    t.baseline = Some(BaselineView {
        label: "baselines/search/tight.json".into(),
        changes: vec![
            change("p95", 0.482, (0.31, 0.66), Decision::Regressed, None),
            change(
                "p99",
                0.031,
                (-0.08, 0.15),
                Decision::Inconclusive,
                Some(Needed::Runs(4)),
            ),
            change("throughput", -0.014, (-0.03, 0.002), Decision::Pass, None),
        ],
        latency: Some(histogram(2_000.0, 2_000)),
        series: vec![Series {
            name: "sut.rss".into(),
            chart: "Memory of the target".into(),
            unit: Unit::Bytes,
            points: points(&|_| 100.0 * 1024.0 * 1024.0),
        }],
    });
    t
}

/// An open-model trial whose generator could not keep up: inconclusive.
pub fn inconclusive() -> TrialReport {
    let mut m = closed_measurement(1_500.0, false);
    for r in &mut m.requests {
        r.service = Some(histogram(1_100.0, r.ok));
        r.errors.clear();
    }
    for s in &mut m.timeline {
        s.dropped = if s.t >= 2 { 12 } else { 0 };
        for r in &mut s.requests {
            r.errors = 0;
        }
    }
    let mut lateness = Histogram::new(3).unwrap();
    for v in latencies(4_000.0, 2_000) {
        lateness.record(v).unwrap();
    }
    m.generator = Generator {
        lateness: Some(lateness),
        requested: Some(4_000),
        sent: 2_000,
        dropped: 72,
        cpu: Some(0.97),
        threads: 1,
    };
    trial(
        "embed",
        scenario("peak", "{ model = \"open\", rate = \"500/s\", max-users = 64 }", &["p99 < 100ms", "dropped == 0"]),
        m,
        vec![Doubt {
            reason: "generator saturated: achieved 250.0/s of 500.0/s, schedule lateness p99 18.6 ms (limit 10.0 ms), generator CPU 97.0%".into(),
            masks_failures: true,
        }],
        vec![],
    )
}

/// A trial whose checks pass but whose A/B comparison could not decide p95 (and a check
/// with too few samples for its percentile): inconclusive, passing by the default
/// `regression.inconclusive = "pass"` only where the gate is all that is undecided.
pub fn undecided() -> TrialReport {
    let scenario = scenario(
        "steady",
        "{ model = \"closed\", users = 4 }",
        &["p50 < 50ms", "error-rate < 1%"],
    );
    let m = closed_measurement(2_000.0, false);
    let checks = evaluate(&scenario.assertions, &m);
    let mut p95 = change(
        "p95",
        0.058,
        (-0.031, 0.149),
        Decision::Inconclusive,
        Some(Needed::Runs(4)),
    );
    if let Some(c) = &mut p95.compared {
        (c.runs, c.paired) = ((6, 6), true);
    }
    let gate = GateOutcome::Compared {
        source: Source::Ab {
            base: "main (3f2c1ab)".into(),
            control: false,
        },
        latency: None,
        binding: true,
        changes: vec![
            p95,
            change("p50", 0.012, (-0.02, 0.04), Decision::Pass, None),
        ],
        problems: vec![],
    };
    let verdict = Verdict::build(checks, vec![], vec![], Some(gate));
    let baseline = verdict
        .gate()
        .and_then(perfspec::report::views::baseline_view);
    TrialReport {
        spec: "search".into(),
        spec_file: "perf-specs/search.toml".into(),
        outcome: Ok(Measured {
            measurement: m,
            verdict,
        }),
        log: None,
        scenario,
        series: Vec::new(),
        baseline,
    }
}

/// A trial whose target never became ready.
pub fn unmeasured() -> TrialReport {
    TrialReport {
        spec: "embed".into(),
        scenario: scenario("cold", "{ model = \"closed\", users = 1 }", &["p95 < 50ms"]),
        spec_file: "perf-specs/embed.toml".into(),
        outcome: Err("target not ready after 30s: GET /health: connection refused\n--- last lines of target/perfspec/logs/embed/cold.log ---\nerror: address in use <0.0.0.0:8080>".into()),
        log: Some("target/perfspec/logs/embed/cold.log".into()),
        series: Vec::new(),
        baseline: None,
    }
}

/// A run with one trial of each status and a broken spec.
pub fn run() -> RunReport {
    RunReport {
        started_at: at(STARTED - 60),
        trials: vec![
            passing(),
            failing(),
            inconclusive(),
            undecided(),
            unmeasured(),
        ],
        broken: vec![BrokenSpec {
            name: "broken".into(),
            error: "error: `weight` 0: a request needs a weight of at least 1\n  --> perf-specs/broken.toml:6:10".into(),
        }],
    }
}
