//! Stress, capacity and recovery end to end: closed-model stages, checks limited to a phase,
//! recovery after an overload, a capacity search, abort-on and `sut.alive`. The demo's worker
//! pool runs in process on 127.0.0.1:0 (its capacity and drain rate are known exactly); the
//! bounds are loose enough for a loaded 2-core machine: they check behaviour, not accuracy
//! (`cargo xtask bench stress` measures that).

mod common;
#[path = "stress/demo.rs"]
mod demo;

use std::time::{Duration, Instant};

use common::{measured, run, scratch, spec};
use demo::Demo;
use perfspec::assertion::Outcome;
use perfspec::compare::Status;
use perfspec::measure::StepOutcome;
use testkit::{Server, text};

/// A spec with one request, `GET {url}{path}`, and scenario `s`.
fn one_request(url: &str, path: &str, scenario: &str) -> String {
    format!(
        r#"
        [target]
        url = "{url}"
        [[request]]
        name = "r"
        path = "{path}"
        [scenario.s]
        {scenario}
        "#
    )
}

fn work_spec(url: &str, scenario: &str) -> String {
    one_request(url, "/work", scenario)
}

/// Fails with the trial's table unless it passed.
fn assert_passed(report: &perfspec::report::TrialReport) {
    assert_eq!(
        measured(report).verdict.status(),
        Status::Pass,
        "{}",
        perfspec::report::console::trial_table(report)
    );
}

#[test]
fn closed_stages_ramp_users_up_and_down_and_phases_measure_their_part() {
    // 20 ms per request, no think time: each user sends about 50 requests a second.
    let server = Server::http(2, |_req| async {
        tokio::time::sleep(Duration::from_millis(20)).await;
        text(200, "ok")
    });
    let dir = scratch("closed-stages");
    let s = spec(
        &dir,
        "stages",
        &one_request(
            &server.url(),
            "/",
            r#"load = { model = "closed", users = 1, stages = [
          { hold = "2s", phase = "one" },
          { ramp = "1s", to = 6 },
          { hold = "2s", phase = "six" },
          { ramp = "500ms", to = 1 },
          { hold = "2s", phase = "back" },
        ] }
        warmup = "500ms"
        assert = ["error-rate in six < 1%", "requests in one >= 20"]"#,
        ),
    );
    let report = run(&dir, &s, "s");
    let m = measured(&report);
    let phases: Vec<(&str, f64, f64)> = m
        .measurement
        .course
        .phases
        .iter()
        .map(|p| (p.name.as_str(), p.from_s, p.to_s))
        .collect();
    assert_eq!(
        phases,
        vec![("one", -0.5, 1.5), ("six", 2.5, 4.5), ("back", 5.0, 7.0)]
    );
    let rate = |name: &str| {
        let p = m.measurement.phase(name).unwrap();
        p.measurement.throughput(&p.measurement.total())
    };
    let (one, six, back) = (rate("one"), rate("six"), rate("back"));
    // Six users send several times what one sends, before and after.
    assert!(six > 3.0 * one && six > 3.0 * back, "{one} {six} {back}");
    assert_passed(&report);
    // The result file says which phase each second is in.
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("out/results/stages/s.json")).unwrap())
            .unwrap();
    assert_eq!(json["course"]["phases"][1]["name"], "six");
    let timeline = json["timeline"].as_array().unwrap();
    let at = |t: i64| timeline.iter().find(|s| s["t_s"] == t).unwrap()["phase"].clone();
    assert_eq!(
        (at(0), at(3), at(6)),
        ("one".into(), "six".into(), "back".into())
    );
    assert_eq!(at(2), serde_json::Value::Null, "the ramp has no phase");
}

#[test]
fn recovery_is_seen_after_the_backlog_drains() {
    // 4 workers of 10 ms: 400/s. 800/s for 2 s fills the queue of 400 (then 503s); back at
    // 100/s the backlog drains at 300/s: about 1.3 s.
    let demo = Demo::start(&[
        "--pool-workers",
        "4",
        "--pool-ms",
        "10",
        "--pool-queue",
        "400",
    ]);
    let dir = scratch("recovery");
    let s = spec(
        &dir,
        "recovery",
        &work_spec(
            &demo.url(),
            r#"load = { model = "open", rate = "100/s", max-users = 1000, stages = [
          { hold = "3s", phase = "steady" },
          { ramp = "100ms", to = "800/s", phase = "stress" },
          { hold = "1900ms", phase = "stress" },
          { ramp = "100ms", to = "100/s", phase = "recovery" },
          { hold = "6900ms", phase = "recovery" },
        ] }
        warmup = "1s"
        max-lateness = "20ms"
        recovery = { after = "stress", reference = "steady" }
        assert = ["recovery-time < 5s", "error-rate in steady < 1%", "error-rate in stress > 5%", "p95 in stress > 100ms"]"#,
        ),
    );
    let report = run(&dir, &s, "s");
    let m = measured(&report);
    let r = m
        .measurement
        .course
        .recovery
        .as_ref()
        .expect("recovery judged");
    assert_eq!(r.after_end_s, 4.0);
    let t = r.time_s().expect("recovered");
    // Not before the backlog could drain, and well within the rest of the run.
    assert!((1.0..=5.0).contains(&t), "recovered after {t} s: {r:?}");
    assert_passed(&report);
    let table = perfspec::report::console::trial_table(&report);
    assert!(table.contains("recovery after `stress`"), "{table}");
    // The page shades the phases on the charts over time and marks the recovery.
    let html = page(report);
    assert!(html.contains("class=\"band band1\""), "phases shaded");
    assert!(html.contains("recovered ") && html.contains(" after stress"));
}

/// The HTML report of one trial.
fn page(report: perfspec::report::TrialReport) -> String {
    perfspec::report::html::render(&perfspec::report::RunReport {
        started_at: std::time::SystemTime::now(),
        trials: vec![report],
        broken: vec![],
    })
}

#[test]
fn a_capacity_search_brackets_the_known_capacity() {
    let demo = Demo::start(&["--pool-workers", "4", "--pool-ms", "10"]);
    let dir = scratch("capacity");
    let s = spec(
        &dir,
        "capacity",
        &work_spec(
            &demo.url(),
            r#"load = { model = "open", rate = "100/s", max-users = 512 }
        capacity = { from = "100/s", to = "3200/s", precision = "10%" }
        warmup = "500ms"
        duration = "1500ms"
        max-lateness = "20ms"
        assert = ["p95 < 40ms", "error-rate < 1%", "capacity > 250/s"]"#,
        ),
    );
    let t = Instant::now();
    let report = run(&dir, &s, "s");
    let m = measured(&report);
    let c = m.measurement.course.capacity.as_ref().expect("a search");
    let (held, failed) = (c.held.unwrap(), c.failed.unwrap());
    // 400/s lies between the highest level held and the lowest that failed (5 % slack).
    assert!(
        held <= 420.0 && failed >= 380.0,
        "{held} .. {failed}: {c:?}"
    );
    assert!(held >= 250.0, "{c:?}");
    assert_eq!(c.steps[0].level, 100.0);
    assert!(
        c.steps
            .iter()
            .all(|s| s.outcome != StepOutcome::Inconclusive),
        "{c:?}"
    );
    // The result is the run at the level held, with every check on it.
    assert_passed(&report);
    assert!(m.measurement.throughput(&m.measurement.total()) > 0.9 * held);
    assert!(t.elapsed() < Duration::from_secs(90), "{:?}", t.elapsed());
    let json = std::fs::read_to_string(dir.join("out/results/capacity/s.json")).unwrap();
    assert!(json.contains("\"capacity_per_s\""));
    let html = page(report);
    assert!(
        html.contains("Capacity search: latency") && html.contains("Capacity search: throughput")
    );
}

#[test]
fn capacity_is_blessed_and_compared_like_other_metrics() {
    // 5 workers of 20 ms: 250/s; steps of 100/s hold 200/s and fail at 300/s.
    let demo = Demo::start(&["--pool-workers", "5", "--pool-ms", "20"]);
    let dir = scratch("capacity-gate");
    let s = spec(
        &dir,
        "gated",
        &work_spec(
            &demo.url(),
            r#"load = { model = "open", rate = "100/s", max-users = 512 }
        capacity = { from = "100/s", to = "1000/s", search = "step", step = "100/s" }
        warmup = "300ms"
        duration = "1200ms"
        max-lateness = "20ms"
        assert = ["p95 < 60ms"]
        regression = { metrics = ["capacity"] }"#,
        ),
    );
    let baselines = dir.join("baselines");
    let harness = || {
        perfspec::Harness::new()
            .out_dir(dir.join("out"))
            .baselines_dir(&baselines)
    };
    let blessed = harness().bless(1, false).run_scenario(&s, "s").unwrap();
    assert_eq!(measured(&blessed).verdict.status(), Status::Pass);
    let file: serde_json::Value =
        serde_json::from_slice(&std::fs::read(baselines.join("gated/s.json")).unwrap()).unwrap();
    let kept = file["scopes"]["all"]["extra"]["capacity"]["value"][0]
        .as_f64()
        .unwrap();
    assert_eq!(
        Some(kept),
        measured(&blessed)
            .measurement
            .course
            .capacity
            .as_ref()
            .unwrap()
            .value
    );
    let again = harness().run_scenario(&s, "s").unwrap();
    let Some(perfspec::gate::GateOutcome::Compared { changes, .. }) =
        measured(&again).verdict.gate()
    else {
        panic!("not compared: {:?}", measured(&again).verdict.gate());
    };
    let capacity = changes[0].compared.as_ref().expect("compared");
    assert_eq!(changes[0].metric, "capacity");
    assert!((capacity.base - kept).abs() < 1e-6, "{capacity:?}");
}

#[test]
fn a_closed_model_search_raises_users() {
    // 4 workers of 10 ms and no think time: n users wait about n × 2.5 ms.
    let demo = Demo::start(&["--pool-workers", "4", "--pool-ms", "10"]);
    let dir = scratch("capacity-closed");
    let s = spec(
        &dir,
        "capacity",
        &work_spec(
            &demo.url(),
            r#"load = { model = "closed", users = 5 }
        capacity = { from = 5, to = 40, search = "step", step = 5 }
        warmup = "300ms"
        duration = "1s"
        assert = ["p95 < 57ms", "capacity-users >= 10"]"#,
        ),
    );
    let report = run(&dir, &s, "s");
    let m = measured(&report);
    let c = m.measurement.course.capacity.as_ref().expect("a search");
    let held = c.held.unwrap();
    assert!((10.0..=20.0).contains(&held), "{c:?}");
    assert_eq!(c.failed, Some(held + 5.0));
    assert!(c.users && c.value.unwrap() > 200.0, "{c:?}");
}

#[test]
fn abort_on_stops_the_run_within_a_window_of_the_breach() {
    let start = Instant::now();
    let server = Server::http(1, move |_req| async move {
        if start.elapsed() < Duration::from_millis(1500) {
            text(200, "ok")
        } else {
            text(500, "broken")
        }
    });
    let dir = scratch("abort");
    let s = spec(
        &dir,
        "abort",
        &one_request(
            &server.url(),
            "/",
            r#"load = { model = "closed", users = 2, think-time = "5ms" }
        duration = "30s"
        abort-on = ["error-rate over 2s > 50%"]
        assert = ["error-rate < 1%"]"#,
        ),
    );
    let t = Instant::now();
    let report = run(&dir, &s, "s");
    let took = t.elapsed();
    let m = measured(&report);
    let a = m.measurement.course.aborted.as_ref().expect("aborted");
    // The breach starts at 1.5 s; one 2 s window later, plus the collector's second.
    assert!(
        a.at_s < 6.0 && took < Duration::from_secs(10),
        "{a:?} {took:?}"
    );
    assert_eq!(m.verdict.status(), Status::Fail);
    assert!(
        m.verdict
            .problems()
            .iter()
            .any(|p| p.contains("aborted at") && p.contains("error-rate over 2s > 50%")),
        "{:?}",
        m.verdict.problems()
    );
    assert!(m.measurement.window.as_secs_f64() < 6.5);
}

#[test]
fn sut_alive_fails_when_the_target_dies() {
    let dir = scratch("alive");
    let spec_text = |args: &str| {
        format!(
            r#"
        [target]
        command = ["{{bin:testkit-target}}", "--port", "{{port}}"{args}]
        ready = "/health"
        [[request]]
        name = "root"
        path = "/"
        [scenario.s]
        load = {{ model = "closed", users = 2 }}
        duration = "1500ms"
        assert = ["sut.alive"]
        "#
        )
    };
    let healthy = spec(&dir, "healthy", &spec_text(""));
    let report = run(&dir, &healthy, "s");
    assert_eq!(measured(&report).verdict.checks()[0].outcome, Outcome::Pass);
    let dying = spec(&dir, "dying", &spec_text(r#", "--crash-after-ms", "500""#));
    let report = run(&dir, &dying, "s");
    let check = &measured(&report).verdict.checks()[0];
    assert_eq!(check.outcome, Outcome::Fail);
    assert!(
        check
            .note
            .as_deref()
            .unwrap_or("")
            .contains("exited during the run"),
        "{check:?}"
    );
}
