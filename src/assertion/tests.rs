use std::collections::BTreeMap;
use std::time::Duration;

use super::eval::samples_needed;
use super::*;
use crate::measure::{ErrorKind, Measurement, RequestStats, Second, SecondStats};

const REQS: &[&str] = &["search", "embed"];

fn parse(s: &str) -> Assertion {
    Assertion::parse(s, REQS).unwrap_or_else(|e| panic!("{s}: {e:?}"))
}

#[test]
fn parses_the_grammar() {
    let a = parse("p95 < 300ms");
    assert_eq!(
        (a.scope.as_deref(), a.metric, a.op, a.limit),
        (
            None,
            Metric::Latency(Stat::Percentile(95.0)),
            Op::Lt,
            300_000.0
        )
    );
    let a = parse("search.p99.9 <= 1.5s");
    assert_eq!(
        (a.scope.as_deref(), a.metric, a.limit),
        (
            Some("search"),
            Metric::Latency(Stat::Percentile(99.9)),
            1_500_000.0
        )
    );
    assert_eq!(
        parse("embed.latency.max<2s").metric,
        Metric::Latency(Stat::Max)
    );
    assert_eq!(parse("error-rate < 1%").limit, 0.01);
    assert_eq!(parse("throughput > 20/s").limit, 20.0);
    assert_eq!(parse("throughput > 600/min").limit, 10.0);
    assert_eq!(parse("requests >= 100").op, Op::Ge);
    assert_eq!(parse("errors == 0").op, Op::Eq);
    let a = parse("p99 over 10s < 800ms");
    assert_eq!(a.window, Some(Duration::from_secs(10)));
    assert_eq!(
        parse("search.median < 5ms").metric,
        Metric::Latency(Stat::Percentile(50.0))
    );
}

#[test]
fn rejects_with_a_located_reason() {
    let cases = [
        ("p96x < 3ms", "unknown metric"),
        ("p95 < 300", "is not a time"),
        ("p95 < 3%", "is not a time"),
        ("error-rate < 0.01", "is not a percentage"),
        ("throughput > 20", "is not a rate"),
        ("requests >= 10ms", "is not a plain number"),
        ("p95 300ms", "has no comparison"),
        ("nosuch.p95 < 3ms", "unknown request `nosuch`"),
        ("p100 < 3ms", "not a percentile"),
        ("p95 <", "has no value"),
        ("< 3ms", "no metric"),
        ("p95 => 3ms", "unknown operator `=>`"),
        ("p95 <> 3ms", "unknown operator `<>`"),
        ("p95 = 3ms", "unknown operator `=`"),
        ("", "the assertion is empty"),
        ("p95 < 300ms, p99 < 1s", "one assertion per string"),
        ("P95 < 3ms", "unknown metric `P95`"),
        ("error-rate < 150%", "above 100%"),
        ("p95 < 0ms", "can never hold"),
        ("requests >= 1.5", "whole numbers"),
        ("p99 over 1.5s < 3ms", "whole number of seconds"),
        ("p99 over soon < 3ms", "is not a duration"),
    ];
    for (text, want) in cases {
        let e = Assertion::parse(text, REQS).expect_err(text);
        assert!(e.message.contains(want), "{text}: {}", e.message);
        // A missing value is pointed at just after the text.
        assert!(e.range.end <= text.len() + 1, "{text}: {:?}", e.range);
    }
}

fn measurement() -> Measurement {
    let mut search = RequestStats::new("search", false);
    for ms in 1..=100u64 {
        search.latency.record(ms * 1000).unwrap();
    }
    search.ok = 100;
    search.errors = BTreeMap::from([(ErrorKind::Http5xx, 2)]);
    let mut embed = RequestStats::new("embed", false);
    embed.latency.record(500).unwrap();
    embed.ok = 1;
    let second = |t: i64, ok: u64, ms: u64| {
        let mut s = SecondStats::new();
        s.ok = ok;
        for _ in 0..ok {
            s.latency.record(ms * 1000).unwrap();
        }
        Second {
            t,
            requests: vec![s, SecondStats::new()],
            dropped: 0,
        }
    };
    Measurement {
        window: Duration::from_secs(4),
        requests: vec![search, embed],
        timeline: vec![
            second(-1, 50, 900),
            second(0, 10, 10),
            second(1, 10, 10),
            second(2, 10, 200),
            second(3, 10, 10),
        ],
        ..Measurement::empty()
    }
}

#[test]
fn evaluates_overall_and_scoped() {
    let m = measurement();
    let checks = evaluate(
        &[
            parse("search.p50 < 60ms"),
            parse("max < 50ms"),
            parse("error-rate < 1%"),
            parse("throughput > 20/s"),
        ],
        &m,
    );
    let outcomes: Vec<_> = checks.iter().map(|c| c.outcome.clone()).collect();
    assert_eq!(
        outcomes,
        vec![Outcome::Pass, Outcome::Fail, Outcome::Fail, Outcome::Pass]
    );
    assert!((checks[2].observed.unwrap() - 2.0 / 103.0).abs() < 1e-9);
    assert!((checks[3].observed.unwrap() - 101.0 / 4.0).abs() < 1e-9);
    assert!(checks[0].margin().unwrap() > 0.0);
    assert!(checks[1].margin().unwrap() < 0.0);
}

#[test]
fn a_percentile_from_too_few_samples_is_inconclusive_either_way() {
    assert_eq!(
        (
            samples_needed(99.0),
            samples_needed(95.0),
            samples_needed(50.0),
            samples_needed(99.9)
        ),
        (500, 100, 10, 5000)
    );
    let m = measurement();
    // 101 successful requests: enough for a p95 (100), not for a p99 (500).
    for text in ["p99 < 1s", "p99 < 1ms"] {
        let c = &evaluate(&[parse(text)], &m)[0];
        match &c.outcome {
            Outcome::Inconclusive(why) => assert!(
                why.contains("p99 from 101 samples") && why.contains("at least 500"),
                "{why}"
            ),
            other => panic!("{text}: {other:?}"),
        }
    }
    assert_eq!(evaluate(&[parse("p95 < 1s")], &m)[0].outcome, Outcome::Pass);
}

#[test]
fn windows_take_the_worst() {
    let m = measurement();
    let c = &evaluate(&[parse("search.max over 2s < 100ms")], &m)[0];
    assert_eq!(c.outcome, Outcome::Fail);
    assert!(c.note.as_deref().unwrap().contains("2–4 s"), "{:?}", c.note);
    let c = &evaluate(&[parse("max over 1s < 300ms")], &m)[0];
    assert_eq!(c.outcome, Outcome::Pass, "warm-up second excluded: {c:?}");
    let c = &evaluate(&[parse("p50 over 2s < 300ms")], &m)[0];
    assert_eq!(
        c.outcome,
        Outcome::Pass,
        "20 samples per window are enough for a median: {c:?}"
    );
    let c = &evaluate(&[parse("p99 over 1s < 300ms")], &m)[0];
    assert!(
        matches!(&c.outcome, Outcome::Inconclusive(why) if why.contains("4 of 4 windows")),
        "{c:?}"
    );
    let c = &evaluate(&[parse("max over 5s < 300ms")], &m)[0];
    assert!(matches!(c.outcome, Outcome::Inconclusive(_)), "{c:?}");
}

#[test]
fn missing_samples_fail_with_a_note() {
    let mut m = measurement();
    m.requests[1] = RequestStats::new("embed", false);
    let c = &evaluate(&[parse("embed.p95 < 1s")], &m)[0];
    assert_eq!(c.outcome, Outcome::Fail);
    assert_eq!(c.note.as_deref(), Some("no successful requests to measure"));
}

#[test]
fn service_time_and_dropped_arrivals() {
    let mut m = measurement();
    let mut service = crate::measure::RequestStats::new("search", true).latency;
    for _ in 0..100 {
        service.record(2_000).unwrap();
    }
    m.requests[0].service = Some(service);
    m.generator.dropped = 3;
    let checks = evaluate(
        &[
            parse("search.service.p50 < 5ms"),
            parse("search.p50 < 5ms"),
            parse("dropped == 0"),
        ],
        &m,
    );
    let outcomes: Vec<_> = checks.iter().map(|c| c.outcome.clone()).collect();
    assert_eq!(outcomes, vec![Outcome::Pass, Outcome::Fail, Outcome::Fail]);
    assert!(
        Assertion::parse("search.dropped == 0", REQS)
            .unwrap_err()
            .message
            .contains("belong to no request")
    );
    assert!(
        Assertion::parse("service.p99 over 10s < 1s", REQS)
            .unwrap_err()
            .message
            .contains("per window")
    );
}

#[test]
fn resource_metrics_parse_with_their_units() {
    let a = parse("sut.cpu.mean < 80%");
    assert_eq!(
        (a.metric.unit(), a.limit, a.scope),
        (Unit::Percent, 80.0, None)
    );
    assert_eq!(
        parse("sut.cpu.p95 < 250%").limit,
        250.0,
        "a process may use several cores"
    );
    assert_eq!(
        parse("sut.rss.max < 2GiB").limit,
        2.0 * 1024.0 * 1024.0 * 1024.0
    );
    assert_eq!(parse("sut.rss.growth < 10%").limit, 0.1);
    assert_eq!(
        parse("sut.rss.growth < 150%").limit,
        1.5,
        "growth may exceed 100%"
    );
    assert_eq!(
        parse("sut.rss.slope < 1MiB/min").limit,
        1024.0 * 1024.0 / 60.0
    );
    assert_eq!(parse("sut.threads.max <= 64").metric.unit(), Unit::Count);
    assert_eq!(
        parse("sut.disk.write < 10MiB").metric.name(),
        "sut.disk.write"
    );
    assert_eq!(parse("gpu0.temp.max < 85C").limit, 85.0);
    assert_eq!(parse("gpu.power.mean < 300W").metric.unit(), Unit::Watts);
    assert_eq!(parse("gpu.mem.sut < 20GiB").metric.name(), "gpu.mem.sut");
    assert!(matches!(
        parse("system.mem.max < 8GiB").metric,
        Metric::Resource(ResourceMetric {
            source: Source::System,
            ..
        })
    ));
}

#[test]
fn resource_metrics_reject_with_a_reason() {
    let cases = [
        ("search.sut.cpu.max < 80%", "resources belong to no request"),
        ("sut.cpu.max over 5s < 80%", "cannot be checked per window"),
        ("sut.cpu.maxx < 80%", "unknown statistic `maxx`"),
        ("sut.cpux.max < 80%", "unknown resource metric"),
        ("systm.cpu.mean < 80%", "unknown metric"),
        ("cpu.mean < 80%", "say whose resources"),
        ("sut.rss < 1GiB", "needs a statistic"),
        ("sut.rss.max < 80%", "is not a size"),
        ("sut.rss.slope < 1MiB", "is not a size per time"),
        ("sut.cpu.growth < 10%", "leak detection"),
        ("sut.disk.read.max < 1GiB", "takes no statistic"),
        ("gpu.mem.sut.max < 1GiB", "takes no statistic"),
        ("system.cpu.max < 150%", "above 100% means nothing"),
        ("gpu.util.mean < 101%", "above 100% means nothing"),
        ("sut.threads.max < 2.5", "whole numbers"),
        ("sut.rss.max < 0MiB", "can never hold"),
    ];
    for (text, want) in cases {
        let e = Assertion::parse(text, REQS).expect_err(text);
        assert!(e.message.contains(want), "{text}: {}", e.message);
    }
    let e = Assertion::parse("sut.cpu.maxx < 80%", REQS).unwrap_err();
    assert!(
        e.help.unwrap().contains("did you mean `sut.cpu.max`"),
        "did you mean"
    );
    let e = Assertion::parse("systm.cpu.mean < 80%", REQS).unwrap_err();
    assert!(e.help.unwrap().contains("did you mean `system.cpu.mean`"));
}

#[test]
fn flow_metrics_read_iterations() {
    use crate::measure::FlowMeasurement;
    let mut m = measurement();
    let flow = |name: &str, ok: u64, failed: u64, ms: u64| {
        let mut duration = crate::measure::new_histogram();
        for i in 0..ok {
            duration.record((ms + i % 10) * 1000).unwrap();
        }
        FlowMeasurement {
            name: name.into(),
            succeeded: ok,
            failed,
            duration,
        }
    };
    m.course.flows = vec![flow("crud", 190, 10, 100), flow("browse", 10, 0, 20)];
    let check = |text: &str, m: &Measurement| evaluate(&[parse(text)], m).remove(0);
    let check_all = |text: &str| check(text, &m);
    assert_eq!(
        check_all("flow.crud.success-rate >= 95%").outcome,
        Outcome::Pass
    );
    assert_eq!(
        check_all("flow.crud.success-rate > 95%").outcome,
        Outcome::Fail
    );
    assert_eq!(
        check_all("flow.success-rate > 95%").observed,
        Some(200.0 / 210.0)
    );
    assert_eq!(check_all("flow.iterations == 210").outcome, Outcome::Pass);
    assert_eq!(
        check_all("flow.crud.duration.p95 < 110ms").outcome,
        Outcome::Pass
    );
    assert_eq!(
        check_all("flow.crud.duration.p95 < 105ms").outcome,
        Outcome::Fail
    );
    // Ten succeeded iterations cannot give a p95.
    assert!(matches!(
        check_all("flow.browse.duration.p95 < 1s").outcome,
        Outcome::Inconclusive(_)
    ));
    // A result without flow figures (merged from shard files of an older perfspec) cannot tell.
    m.course.flows.clear();
    assert!(matches!(
        check("flow.success-rate > 95%", &m).outcome,
        Outcome::NotMeasurable(_)
    ));
    for (text, want) in [
        ("flow.crud.p95 < 1s", "unknown flow metric"),
        (
            "flow.success-rate over 5s > 90%",
            "cannot be checked per window",
        ),
        (
            "flow.duration.p95 in steady < 1s",
            "cannot be limited to a phase",
        ),
        ("search.flow.success-rate > 90%", "unknown"),
    ] {
        let e = Assertion::parse(text, REQS).expect_err(text);
        assert!(e.message.contains(want), "{text}: {}", e.message);
    }
}
