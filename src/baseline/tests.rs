use std::path::Path;

use super::*;

fn sample() -> Baseline {
    let mut h = crate::measure::new_histogram();
    for v in [100u64, 200, 300] {
        h.record(v).unwrap();
    }
    Baseline {
        schema: SCHEMA.into(),
        schema_version: SCHEMA_VERSION,
        spec: "search".into(),
        scenario: "steady".into(),
        profile: None,
        provenance: provenance(Path::new(".")),
        load: "closed, 1 user".into(),
        runs: 1,
        window_s: vec![1.0],
        scopes: BTreeMap::from([
            ("all".to_string(), scope()),
            ("search".to_string(), scope()),
        ]),
        histograms: BTreeMap::from([("search".to_string(), encode(&h))]),
    }
}

/// One run of 3 successful requests in 1 s: 100, 200 and 300 µs.
fn scope() -> Scope {
    let stats = [
        ("min", 100.0),
        ("p50", 200.0),
        ("p95", 300.0),
        ("max", 300.0),
    ];
    Scope {
        requests: vec![3],
        errors: vec![0],
        throughput_per_s: vec![3.0],
        latency_us: stats
            .iter()
            .map(|(k, v)| (k.to_string(), vec![*v]))
            .collect(),
        service_us: None,
        extra: BTreeMap::new(),
    }
}

#[test]
fn writes_reads_and_checks_the_scenario() {
    let dir = std::env::temp_dir().join(format!("perfspec-baseline-{}", std::process::id()));
    let p = path(&dir, Some("ci-runner"), "search", "steady");
    assert!(p.ends_with("ci-runner/search/steady.json"));
    let b = sample();
    b.write(&p).unwrap();
    let text = std::fs::read_to_string(&p).unwrap();
    assert!(text.ends_with("}\n") && text.contains("\n  \"schema\": \"perfspec-baseline\""));
    assert_eq!(Baseline::read(&p, "search", "steady").unwrap(), b);
    let e = Baseline::read(&p, "search", "peak")
        .unwrap_err()
        .to_string();
    assert!(e.contains("is for search::steady, not search::peak"), "{e}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn bad_files_get_clear_errors() {
    let p = Path::new("baselines/search/steady.json");
    let err = |text: &str| {
        Baseline::parse(text, p, "search", "steady")
            .unwrap_err()
            .to_string()
    };
    let e = err("{\"schema\": \"perfspec-baseline\",\n \"schema_version\": 1,\n \"spec\": ");
    assert!(
        e.starts_with("baseline baselines/search/steady.json:3:") && e.contains("corrupt"),
        "{e}"
    );
    let e = err("{\"schema\": \"perfspec-baseline\", \"schema_version\": 7}");
    assert!(e.contains("schema 7 (written by a newer perfspec)"), "{e}");
    let e = err("{\"schema\": \"something-else\"}");
    assert!(e.contains("not a perfspec baseline"), "{e}");
    let mut b = serde_json::to_value(sample()).unwrap();
    b["histograms"]["search"] = "garbage!".into();
    let e = err(&b.to_string());
    assert!(e.contains("`histograms.search`: not base64"), "{e}");
    let e = Baseline::read(Path::new("/nonexistent/x.json"), "a", "b")
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with("cannot read baseline /nonexistent/x.json"),
        "{e}"
    );
}

/// A file whose numbers cannot come from a run is refused with its field and line.
#[test]
fn meaningless_numbers_are_located_errors() {
    let p = Path::new("baselines/search/steady.json");
    let err = |edit: &dyn Fn(&mut serde_json::Value)| {
        let mut v = serde_json::to_value(sample()).unwrap();
        edit(&mut v);
        let text = serde_json::to_string_pretty(&v).unwrap();
        let e = Baseline::parse(&text, p, "search", "steady")
            .unwrap_err()
            .to_string();
        // The line named is the line of the field.
        let line: usize = e
            .split(':')
            .nth(1)
            .and_then(|l| l.parse().ok())
            .unwrap_or_else(|| panic!("no line in {e}"));
        let field = e.split('`').nth(1).unwrap().rsplit('.').next().unwrap();
        let at = text.lines().nth(line - 1).unwrap_or_default();
        assert!(
            at.contains(&format!("\"{field}\":")),
            "line {line} is {at:?}: {e}"
        );
        e
    };
    let e = err(&|v| v["runs"] = 0.into());
    assert!(
        e.contains("`runs`: a baseline holds at least one run"),
        "{e}"
    );
    let e = err(&|v| v["scopes"]["all"]["requests"] = serde_json::json!([0]));
    assert!(
        e.contains("`scopes.all.requests`: run 1 completed no request"),
        "{e}"
    );
    let e = err(&|v| v["scopes"]["all"]["latency_us"]["p95"] = serde_json::json!([]));
    assert!(
        e.contains("`scopes.all.latency_us.p95`: 0 values for 1 runs"),
        "{e}"
    );
    let e = err(&|v| v["scopes"]["search"]["latency_us"]["p95"] = serde_json::json!([-5.0]));
    assert!(
        e.contains("`scopes.search.latency_us.p95`: run 1: -5"),
        "{e}"
    );
    let e =
        err(&|v| v["scopes"]["search"]["latency_us"]["max"] = serde_json::json!([u64::MAX as f64]));
    assert!(e.contains("is not a value a run records"), "{e}");
    let e = err(&|v| v["scopes"]["all"]["latency_us"]["p95"] = serde_json::json!([150.0]));
    assert!(e.contains("p95 150 is below p50 200"), "{e}");
    let e = err(&|v| v["scopes"]["search"]["errors"] = serde_json::json!([4]));
    assert!(e.contains("4 errors of 3 requests"), "{e}");
    let e = err(&|v| v["scopes"]["all"]["throughput_per_s"] = serde_json::json!([30.0]));
    assert!(
        e.contains("3 successful requests over 1 s is 3.000/s"),
        "{e}"
    );
    let e = err(&|v| v["window_s"] = serde_json::json!([0.0]));
    assert!(e.contains("`window_s`: run 1 measured for 0 s"), "{e}");
    let e = err(&|v| {
        v["scopes"]["search"]["requests"] = serde_json::json!([4]);
        v["scopes"]["search"]["throughput_per_s"] = serde_json::json!([4.0]);
    });
    assert!(
        e.contains(
            "`histograms.search`: the histogram holds 3 samples, but the runs of `search` count 4"
        ),
        "{e}"
    );
    let e = err(&|v| v["histograms"]["search"] = "garbage!".into());
    assert!(e.contains("`histograms.search`: not base64"), "{e}");
}

/// Every baseline this repository commits passes the checks.
#[test]
fn committed_baselines_are_meaningful() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("baselines");
    let mut seen = 0;
    let mut stack = vec![root];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let p = entry.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|e| e == "json") {
                let text = std::fs::read_to_string(&p).unwrap();
                let v: serde_json::Value = serde_json::from_str(&text).unwrap();
                let (spec, scenario) =
                    (v["spec"].as_str().unwrap(), v["scenario"].as_str().unwrap());
                Baseline::parse(&text, &p, spec, scenario).unwrap_or_else(|e| panic!("{e}"));
                seen += 1;
            }
        }
    }
    assert!(seen >= 5, "{seen} baselines");
}

#[test]
fn flow_durations_are_kept_and_compared_per_run() {
    use crate::assertion::{FlowFigure, FlowMetric, Metric, Stat};
    use crate::measure::{FlowMeasurement, Measurement};
    let run = |ms: u64| {
        let mut duration = crate::measure::new_histogram();
        for _ in 0..200 {
            duration.record(ms * 1000).unwrap();
        }
        let mut m = Measurement {
            window: std::time::Duration::from_secs(10),
            ..Measurement::empty()
        };
        m.course.flows = vec![FlowMeasurement {
            name: "crud".into(),
            succeeded: 200,
            failed: 0,
            duration,
        }];
        m
    };
    let runs = [run(100), run(120)];
    let metric = Metric::Flow(FlowMetric {
        flow: Some("crud".into()),
        figure: FlowFigure::Duration(Stat::Percentile(95.0)),
    });
    let head = side_of_runs(&runs, None, &metric, None).unwrap();
    assert_eq!(head.runs.len(), 2);
    assert!((head.runs[0] - 100_000.0).abs() < 100.0, "{:?}", head.runs);
    let mut b = sample();
    b.scopes = scopes_of(&runs);
    let base = side_of_baseline(&b, None, &metric, None).unwrap();
    assert_eq!(base.runs, head.runs, "a baseline keeps each run's figure");
    let all = Metric::Flow(FlowMetric {
        flow: None,
        figure: FlowFigure::Duration(Stat::Percentile(95.0)),
    });
    assert_eq!(
        side_of_baseline(&b, None, &all, None).unwrap().runs,
        head.runs
    );
}

#[test]
fn each_turn_is_kept_and_compared_as_its_own_scope() {
    use crate::assertion::{Metric, Stat};
    use crate::measure::{Measurement, RequestStats, TurnMeasurement};
    let measurement = |name: &str, ms: u64, n: u64| {
        let mut r = RequestStats::new(name, false);
        for _ in 0..n {
            r.latency.record(ms * 1000).unwrap();
        }
        r.ok = n;
        Measurement {
            window: std::time::Duration::from_secs(10),
            requests: vec![r],
            ..Measurement::empty()
        }
    };
    let run = |turn2_ms: u64| {
        let mut m = measurement("chat", 50, 300);
        m.course.turns = vec![
            TurnMeasurement {
                turn: 1,
                measurement: measurement("chat", 80, 150),
            },
            TurnMeasurement {
                turn: 2,
                measurement: measurement("chat", turn2_ms, 150),
            },
        ];
        m
    };
    let runs = [run(20), run(22)];
    let p95 = Metric::Latency(Stat::Percentile(95.0));
    let head = side_of_runs(&runs, Some("chat"), &p95, Some(2)).unwrap();
    assert!((head.runs[0] - 20_000.0).abs() < 50.0, "{:?}", head.runs);
    let mut b = sample();
    b.scopes = scopes_of(&runs);
    b.runs = 2;
    assert!(
        b.scopes.contains_key("all in turn 2"),
        "{:?}",
        b.scopes.keys()
    );
    assert_eq!(
        side_of_baseline(&b, Some("chat"), &p95, Some(2))
            .unwrap()
            .runs,
        head.runs
    );
    assert_eq!(
        side_of_baseline(&b, None, &p95, Some(1))
            .unwrap()
            .runs
            .len(),
        2,
        "turn 1 of every request"
    );
    // A turn the runs do not have: not measured, on either side.
    assert!(side_of_runs(&runs, None, &p95, Some(3)).is_none());
    assert!(side_of_baseline(&b, None, &p95, Some(3)).is_none());
}
