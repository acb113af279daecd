use std::time::Duration;

use super::*;
use crate::assertion::{Op, Outcome, evaluate};
use crate::measure::{
    Capacity, CapacityStep, PhaseMeasurement, RequestStats, StepOutcome, StepRun,
};

const REQS: &[&str] = &["search", "embed"];

fn parse(s: &str) -> Assertion {
    Assertion::parse(s, REQS).unwrap_or_else(|e| panic!("{s}: {e:?}"))
}

#[test]
fn the_phase_clause_and_the_new_metrics_parse() {
    let a = parse("p95 in steady < 300ms");
    assert_eq!(
        (a.metric.clone(), a.phase.as_deref(), a.window),
        (
            Metric::Latency(Stat::Percentile(95.0)),
            Some("steady"),
            None
        )
    );
    assert_eq!(&a.text[a.phase_range().unwrap()], "steady");
    let a = parse("search.error-rate over 5s in stress-2 < 5%");
    assert_eq!(
        (a.scope.as_deref(), a.window, a.phase.as_deref()),
        (
            Some("search"),
            Some(Duration::from_secs(5)),
            Some("stress-2")
        )
    );
    assert_eq!(&a.text[a.phase_range().unwrap()], "stress-2");
    let a = parse("sut.alive");
    assert_eq!((a.metric, a.op, a.limit), (Metric::SutAlive, Op::Eq, 1.0));
    assert_eq!(parse("sut.alive == 1").metric, Metric::SutAlive);
    assert_eq!(parse("availability >= 99%").limit, 0.99);
    assert_eq!(parse("recovery-time < 10s").limit, 10e6);
    assert_eq!(parse("capacity > 200/s").metric, Metric::Capacity);
    assert_eq!(parse("capacity-users >= 40").metric, Metric::CapacityUsers);
    assert_eq!(
        parse("availability in stress > 90%").phase.as_deref(),
        Some("stress")
    );
}

#[test]
fn the_phase_clause_is_refused_with_a_located_reason() {
    let cases = [
        (
            "p95 in steady over 5s < 1s",
            "the window comes before the phase",
            "over 5s",
        ),
        ("p95 in  < 1s", "`in` needs a phase name", ""),
        ("p95 in st/eady < 1s", "invalid phase name", "st/eady"),
        (
            "sut.cpu.mean in stress < 50%",
            "cannot be limited to a phase",
            "sut.cpu.mean",
        ),
        (
            "capacity in stress > 5/s",
            "cannot be limited to a phase",
            "capacity",
        ),
        (
            "search.capacity > 5/s",
            "belongs to no request",
            "search.capacity",
        ),
        (
            "availability over 5s > 90%",
            "cannot be checked per window",
            "availability",
        ),
    ];
    for (text, want, at) in cases {
        let e = Assertion::parse(text, REQS).expect_err(text);
        assert!(e.message.contains(want), "{text}: {}", e.message);
        if !at.is_empty() {
            assert_eq!(&text[e.range.clone()], at, "{text}");
        }
    }
}

/// One second of the timeline: `ok` successful requests of `ms` milliseconds and `errors`
/// failures.
type Row = (i64, u64, u64, u64);

fn second(t: i64, ok: u64, errors: u64, ms: u64) -> Second {
    let mut s = SecondStats::new();
    s.ok = ok;
    s.errors = errors;
    for _ in 0..ok {
        s.latency.record(ms * 1000).unwrap();
    }
    Second {
        t,
        requests: vec![s, SecondStats::new()],
        dropped: 0,
    }
}

/// A measurement of `window_s` seconds from its rows, seconds counted from `from`.
fn measurement(window_s: u64, rows: &[Row], from: i64) -> Measurement {
    let mut total = RequestStats::new("search", false);
    let mut timeline = Vec::new();
    for &(t, ok, errors, ms) in rows {
        total.ok += ok;
        if errors > 0 {
            *total
                .errors
                .entry(crate::measure::ErrorKind::Timeout)
                .or_default() += errors;
        }
        for _ in 0..ok {
            total.latency.record(ms * 1000).unwrap();
        }
        timeline.push(second(t - from, ok, errors, ms));
    }
    Measurement {
        window: Duration::from_secs(window_s),
        requests: vec![total, RequestStats::new("embed", false)],
        timeline,
        ..Measurement::empty()
    }
}

fn phase(name: &str, from: i64, to: i64, rows: &[Row]) -> PhaseMeasurement {
    let inside: Vec<Row> = rows
        .iter()
        .copied()
        .filter(|r| r.0 >= from && r.0 < to)
        .collect();
    PhaseMeasurement {
        name: name.into(),
        from_s: from as f64,
        to_s: to as f64,
        measurement: measurement((to - from) as u64, &inside, from),
    }
}

/// 5 s steady at 10 ms, 5 s of stress at 400 ms (50 errors in one second), then 200 ms,
/// falling to 11 ms at second 14.
fn stressed() -> Measurement {
    let rows: Vec<Row> = (0..20)
        .map(|t| {
            let ms = match t {
                0..5 => 10,
                5..10 => 400,
                10..14 => 200,
                _ => 11,
            };
            (t, 200, u64::from(t == 7) * 50, ms)
        })
        .collect();
    let mut m = measurement(20, &rows, 0);
    m.course.phases = vec![
        phase("steady", 0, 5, &rows),
        phase("stress", 5, 10, &rows),
        phase("after", 10, 20, &rows),
    ];
    m
}

fn rule(reference: Option<&str>) -> RecoveryRule {
    RecoveryRule {
        after: "stress".into(),
        reference: reference.map(String::from),
        tolerance: 0.5,
        p95: None,
        error_rate: None,
        window: 1,
        hold: 3,
    }
}

#[test]
fn recovery_is_the_first_of_hold_windows_back_within_the_reference() {
    let mut m = stressed();
    let r = find_recovery(&rule(Some("steady")), &m);
    assert_eq!(r.after_end_s, 10.0);
    let limit = r.p95_limit_us.unwrap();
    assert!(
        (limit - 15_000.0).abs() < 20.0,
        "steady's 10 ms p95 plus 50 %: {limit}"
    );
    assert_eq!(r.error_rate_limit, Some(0.01));
    assert_eq!((r.recovered_at_s, r.time_s()), (Some(14.0), Some(4.0)));
    m.course.recovery = Some(r);
    let c = evaluate(&[parse("recovery-time < 5s")], &m).remove(0);
    assert_eq!((c.outcome, c.observed), (Outcome::Pass, Some(4e6)));
    let c = evaluate(&[parse("recovery-time < 3s")], &m).remove(0);
    assert_eq!(c.outcome, Outcome::Fail);

    // A limit it never gets under: no recovery, and the check fails.
    let never = RecoveryRule {
        reference: None,
        p95: Some(5_000.0),
        ..rule(None)
    };
    m.course.recovery = Some(find_recovery(&never, &m));
    assert_eq!(m.course.recovery.as_ref().unwrap().recovered_at_s, None);
    let c = evaluate(&[parse("recovery-time < 5s")], &m).remove(0);
    assert_eq!((c.outcome, c.observed), (Outcome::Fail, None));
    assert!(c.note.unwrap().contains("did not recover"));

    // Windows with too few samples for a p95 leave it undecided.
    let mut thin = stressed();
    for s in &mut thin.timeline {
        s.requests[0] = second(s.t, 20, 0, 10).requests[0].clone();
    }
    thin.course.recovery = Some(find_recovery(&never, &thin));
    let c = evaluate(&[parse("recovery-time < 5s")], &thin).remove(0);
    assert!(matches!(c.outcome, Outcome::Inconclusive(_)), "{c:?}");
}

#[test]
fn checks_in_a_phase_read_only_its_requests() {
    let m = stressed();
    let checks = evaluate(
        &[
            parse("p95 in steady < 20ms"),
            parse("p95 in stress < 20ms"),
            parse("error-rate in stress < 1%"),
            parse("error-rate in steady < 1%"),
            parse("p95 in nowhere < 1s"),
        ],
        &m,
    );
    let outcomes: Vec<&Outcome> = checks.iter().map(|c| &c.outcome).collect();
    assert_eq!(
        outcomes[..4],
        [
            &Outcome::Pass,
            &Outcome::Fail,
            &Outcome::Fail,
            &Outcome::Pass
        ]
    );
    let stress_p95 = checks[1].observed.unwrap();
    assert!((stress_p95 - 400_000.0).abs() < 500.0, "{stress_p95}");
    assert!(matches!(checks[4].outcome, Outcome::Inconclusive(_)));
    assert!(
        checks[0]
            .note
            .as_ref()
            .unwrap()
            .starts_with("phase 0.0–5.0 s")
    );
}

#[test]
fn availability_counts_seconds_without_a_failure() {
    let m = stressed();
    let c = evaluate(&[parse("availability >= 95%")], &m).remove(0);
    assert_eq!((c.observed, c.samples), (Some(19.0 / 20.0), 20));
    assert_eq!(c.outcome, Outcome::Pass);
    let c = evaluate(&[parse("availability in stress > 90%")], &m).remove(0);
    assert_eq!((c.observed, c.outcome), (Some(0.8), Outcome::Fail));
}

#[test]
fn capacity_checks_read_the_search_and_a_lower_bound_only_decides_a_pass() {
    let mut m = stressed();
    let run = StepRun {
        outcome: StepOutcome::Held,
        throughput: 200.0,
        p50_us: None,
        p95_us: None,
        p99_us: None,
        error_rate: 0.0,
        window_s: 2.0,
        reason: None,
        noisy: false,
    };
    let mut capacity = Capacity {
        users: false,
        held: Some(200.0),
        value: Some(200.0),
        failed: Some(210.0),
        lower_bound: None,
        steps: vec![CapacityStep {
            level: 200.0,
            outcome: StepOutcome::Held,
            runs: vec![run],
        }],
    };
    m.course.capacity = Some(capacity.clone());
    let checks = evaluate(&[parse("capacity > 150/s"), parse("capacity > 250/s")], &m);
    assert_eq!(
        (&checks[0].outcome, &checks[1].outcome),
        (&Outcome::Pass, &Outcome::Fail)
    );
    capacity.lower_bound = Some("the generator saturated".into());
    m.course.capacity = Some(capacity);
    let checks = evaluate(&[parse("capacity > 150/s"), parse("capacity > 250/s")], &m);
    assert_eq!(checks[0].outcome, Outcome::Pass);
    assert!(matches!(checks[1].outcome, Outcome::Inconclusive(_)));
}

#[test]
fn sut_alive_reads_the_targets_fate() {
    let mut m = stressed();
    let check = |m: &Measurement| evaluate(&[parse("sut.alive")], m).remove(0).outcome;
    assert!(matches!(check(&m), Outcome::NotMeasurable(_)));
    m.course.alive = Some(Liveness::Alive);
    assert_eq!(check(&m), Outcome::Pass);
    m.course.alive = Some(Liveness::Exited("signal 9".into()));
    assert_eq!(check(&m), Outcome::Fail);
}

#[test]
fn abort_conditions_breach_on_a_window() {
    let a = parse("error-rate over 5s > 20%");
    let mut w = second(0, 70, 30, 10);
    assert_eq!(
        breach(&a, &w, None, 3, 8).as_deref(),
        Some("30.0% in 3–8 s")
    );
    w.requests[0].errors = 10;
    assert_eq!(breach(&a, &w, None, 3, 8), None);
    // A percentile from too few samples never aborts.
    let p = parse("p99 over 5s > 100ms");
    assert_eq!(breach(&p, &second(0, 20, 0, 500), None, 0, 5), None);
    assert!(breach(&p, &second(0, 600, 0, 500), None, 0, 5).is_some());
    // Scoped to a request: its own counts.
    let s = parse("embed.errors over 5s > 0");
    assert_eq!(breach(&s, &second(0, 70, 30, 10), Some(1), 0, 5), None);
}
