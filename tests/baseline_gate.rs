//! Baselines and the regression gate end to end: bless, compare, confirm, refuse, and the
//! clear errors of missing, corrupt and foreign baselines. A server whose delay can be changed
//! between runs plays the service.

mod common;

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use common::{measured, scratch, spec};
use perfspec::Harness;
use perfspec::compare::Status;
use perfspec::gate::{Decision, GateOutcome};
use perfspec::report::TrialReport;
use testkit::{Server, text};

/// A server that answers after the delay (µs) in `delay`.
fn adjustable(delay: &Arc<AtomicU64>) -> Server {
    let delay = delay.clone();
    Server::http(1, move |_| {
        let us = delay.load(Ordering::Relaxed);
        async move {
            tokio::time::sleep(Duration::from_micros(us)).await;
            text(200, "ok")
        }
    })
}

fn gated(url: &str, extra: &str) -> String {
    format!(
        "[target]\nurl = \"{url}\"\n[[request]]\nname = \"r\"\npath = \"/\"\n[scenario.s]\nload = {{ model = \"closed\", users = 4 }}\nduration = \"1500ms\"\nassert = [\"error-rate < 1%\"]\nregression = {{ metrics = [\"p50\", \"p95\"]{extra} }}\n"
    )
}

fn harness(dir: &Path) -> Harness {
    Harness::new()
        .out_dir(dir.join("out"))
        .baselines_dir(dir.join("baselines"))
        .ci(false)
}

fn baseline(report: &TrialReport) -> &GateOutcome {
    measured(report).verdict.gate().expect("a gate outcome")
}

#[test]
fn bless_then_compare_passes_unchanged_and_catches_a_slowdown() {
    let delay = Arc::new(AtomicU64::new(10_000));
    let server = adjustable(&delay);
    let dir = scratch("gate-flow");
    let s = spec(&dir, "gate", &gated(&server.url(), ""));

    let blessed = harness(&dir).bless(3, false).run_scenario(&s, "s").unwrap();
    assert!(
        matches!(baseline(&blessed), GateOutcome::Blessed { changes, .. } if changes.len() == 2),
        "{:?}",
        baseline(&blessed)
    );
    let file = dir.join("baselines/gate/s.json");
    let b: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(
        (
            b["runs"].as_u64(),
            b["scopes"]["all"]["latency_us"]["p95"]
                .as_array()
                .map(Vec::len)
        ),
        (Some(3), Some(3))
    );

    let same = harness(&dir).run_scenario(&s, "s").unwrap();
    let GateOutcome::Compared {
        changes: checks,
        binding: true,
        ..
    } = baseline(&same)
    else {
        panic!("{:?}", baseline(&same))
    };
    assert!(
        checks
            .iter()
            .all(|c| c.compared.as_ref().unwrap().decision != Decision::Regressed),
        "{checks:?}"
    );
    assert_ne!(measured(&same).verdict.status(), Status::Fail);

    // Twice as slow: regressed, confirmed by a second run (`confirm = 1`, the default), and the
    // test fails.
    delay.store(20_000, Ordering::Relaxed);
    let slow = harness(&dir).run_scenario(&s, "s").unwrap();
    let GateOutcome::Compared {
        changes: checks, ..
    } = baseline(&slow)
    else {
        panic!()
    };
    let p50 = checks[0].compared.as_ref().unwrap();
    assert_eq!(p50.decision, Decision::Regressed, "{p50:?}");
    assert_eq!(p50.runs, (3, 2), "confirmed by a second run");
    assert!(p50.change > 0.6 && p50.interval.0 > 0.10, "{p50:?}");
    assert_eq!(measured(&slow).verdict.status(), Status::Fail);
    let table = perfspec::report::console::trial_table(&slow);
    assert!(
        table.contains("REGRESSED  <--") && table.contains("3 baseline run(s) vs 2 run(s)"),
        "{table}"
    );
}

#[test]
fn a_failing_run_is_not_blessed_unless_forced() {
    let delay = Arc::new(AtomicU64::new(1_000));
    let server = adjustable(&delay);
    let dir = scratch("gate-refuse");
    let text = gated(&server.url(), "").replace("[\"error-rate < 1%\"]", "[\"p50 < 100us\"]");
    let s = spec(&dir, "gate", &text);
    let refused = harness(&dir).bless(1, false).run_scenario(&s, "s").unwrap();
    let m = measured(&refused);
    assert_eq!(m.verdict.status(), Status::Fail);
    assert!(
        m.verdict
            .problems()
            .iter()
            .any(|p| p.contains("not blessed: run 1 ended FAIL") && p.contains("--force")),
        "{:?}",
        m.verdict.problems()
    );
    assert!(!dir.join("baselines/gate/s.json").exists());
    let forced = harness(&dir).bless(1, true).run_scenario(&s, "s").unwrap();
    assert!(matches!(baseline(&forced), GateOutcome::Blessed { .. }));
    assert!(dir.join("baselines/gate/s.json").exists());
}

#[test]
fn a_missing_baseline_says_how_to_bless_and_fails_gated_scenarios_under_ci() {
    let delay = Arc::new(AtomicU64::new(1_000));
    let server = adjustable(&delay);
    let dir = scratch("gate-missing");
    let s = spec(&dir, "gate", &gated(&server.url(), ""));
    let local = harness(&dir).run_scenario(&s, "s").unwrap();
    let GateOutcome::Missing {
        command,
        required: false,
        ..
    } = baseline(&local)
    else {
        panic!("{:?}", baseline(&local))
    };
    assert_eq!(command, "cargo xtask bless-baseline --exact gate::s");
    // A package outside this repository, without a cargo `xtask` alias: the hint is the
    // harness's own form, for the test target that printed it.
    let elsewhere = std::env::temp_dir().join(format!("perfspec-no-xtask-{}", std::process::id()));
    std::fs::create_dir_all(&elsewhere).unwrap();
    let plain = harness(&dir)
        .workspace(&elsewhere)
        .run_scenario(&s, "s")
        .unwrap();
    let _ = std::fs::remove_dir_all(&elsewhere);
    let GateOutcome::Missing { command, .. } = baseline(&plain) else {
        panic!("{:?}", baseline(&plain))
    };
    let has_alias_above = std::env::temp_dir()
        .ancestors()
        .any(|d| d.join(".cargo/config.toml").exists());
    if !has_alias_above {
        assert_eq!(
            command,
            "PERFSPEC_BLESS=3 cargo test --test baseline_gate -- --exact gate::s"
        );
    }
    assert_eq!(measured(&local).verdict.status(), Status::Pass);

    let ci = harness(&dir).ci(true).run_scenario(&s, "s").unwrap();
    assert_eq!(measured(&ci).verdict.status(), Status::Fail);
    assert!(
        measured(&ci).verdict.problems()[0]
            .contains("run `cargo xtask bless-baseline --exact gate::s` and commit the file"),
        "{:?}",
        measured(&ci).verdict.problems()
    );

    // Without a `regression` table the scenario is not gated: under CI it only notes.
    let ungated = spec(
        &dir,
        "plain",
        &gated(&server.url(), "").replace("regression = { metrics = [\"p50\", \"p95\"] }\n", ""),
    );
    let r = harness(&dir).ci(true).run_scenario(&ungated, "s").unwrap();
    assert_eq!(measured(&r).verdict.status(), Status::Pass);
}

#[test]
fn corrupt_and_foreign_baselines() {
    let delay = Arc::new(AtomicU64::new(5_000));
    let server = adjustable(&delay);
    let dir = scratch("gate-bad");
    let s = spec(&dir, "gate", &gated(&server.url(), ""));
    let file = dir.join("baselines/gate/s.json");
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    std::fs::write(
        &file,
        "{\"schema\": \"perfspec-baseline\", \"schema_version\": 1, \"spec\": \n",
    )
    .unwrap();
    let r = harness(&dir).run_scenario(&s, "s").unwrap();
    assert_eq!(measured(&r).verdict.status(), Status::Fail);
    let problem = &measured(&r).verdict.problems()[0];
    assert!(
        problem.contains("gate/s.json:2:") && problem.contains("corrupt"),
        "{problem}"
    );

    // Blessed "elsewhere": a regression only warns by default, fails with host-mismatch = "fail".
    harness(&dir).bless(2, false).run_scenario(&s, "s").unwrap();
    let mut b: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    b["provenance"]["host"]["fingerprint"] = "0000000000000000".into();
    b["provenance"]["host"]["cpu_model"] = "Another CPU".into();
    std::fs::write(&file, serde_json::to_string_pretty(&b).unwrap()).unwrap();
    delay.store(15_000, Ordering::Relaxed);
    let warn = harness(&dir).run_scenario(&s, "s").unwrap();
    let GateOutcome::Compared {
        source:
            perfspec::gate::Source::Baseline {
                other_host: Some(h),
                ..
            },
        binding: false,
        changes: checks,
        ..
    } = baseline(&warn)
    else {
        panic!("{:?}", baseline(&warn))
    };
    assert!(h.contains("Another CPU"), "{h}");
    assert_eq!(
        checks[0].compared.as_ref().unwrap().decision,
        Decision::Regressed
    );
    assert_eq!(
        measured(&warn).verdict.status(),
        Status::Pass,
        "regressions against another machine only warn"
    );
    let strict = spec(
        &dir,
        "gate",
        &gated(&server.url(), ", host-mismatch = \"fail\""),
    );
    let r = harness(&dir).run_scenario(&strict, "s").unwrap();
    assert_eq!(measured(&r).verdict.status(), Status::Fail);
    assert!(
        measured(&r).verdict.problems()[0].contains("host-mismatch = \"fail\""),
        "{:?}",
        measured(&r).verdict.problems()
    );
}

/// A clear regression whose confirmation run cannot measure must not pass: the gate could not
/// finish, so the trial fails, naming the run.
#[test]
fn a_confirmation_run_that_cannot_measure_fails_the_trial() {
    use std::sync::atomic::AtomicBool;
    let delay = Arc::new(AtomicU64::new(5_000));
    let served = Arc::new(AtomicU64::new(0));
    let break_after_load = Arc::new(AtomicBool::new(false));
    let server = {
        let (delay, served, breaking) = (delay.clone(), served.clone(), break_after_load.clone());
        Server::http(1, move |req| {
            let health = req.uri().path() == "/health";
            let us = delay.load(Ordering::Relaxed);
            // Once load has been served in the gated run, the service stops being ready.
            let down =
                health && breaking.load(Ordering::Relaxed) && served.load(Ordering::Relaxed) > 0;
            if !health {
                served.fetch_add(1, Ordering::Relaxed);
            }
            async move {
                if down {
                    return text(503, "down");
                }
                tokio::time::sleep(Duration::from_micros(us)).await;
                text(200, "ok")
            }
        })
    };
    let dir = scratch("gate-confirm-fails");
    let s = spec(
        &dir,
        "gate",
        &gated(&server.url(), "").replace(
            "[[request]]",
            "ready = \"/health\"\nready-timeout = \"1s\"\n[[request]]",
        ),
    );
    harness(&dir).bless(2, false).run_scenario(&s, "s").unwrap();
    delay.store(20_000, Ordering::Relaxed);
    served.store(0, Ordering::Relaxed);
    break_after_load.store(true, Ordering::Relaxed);
    let r = harness(&dir).run_scenario(&s, "s").unwrap();
    let m = measured(&r);
    assert_eq!(
        m.verdict.status(),
        Status::Fail,
        "{:?}",
        m.verdict.problems()
    );
    assert!(
        m.verdict
            .problems()
            .iter()
            .any(|p| p.starts_with("confirmation run 1 could not measure")),
        "{:?}",
        m.verdict.problems()
    );
}
