//! Resources through the real harness: a target that keeps memory per request is flagged as a
//! leak and one that allocates and frees the same amount is not (real child processes); the
//! target's process of a `url` target; the JSON timeline; GPU checks with a fake GPU.

mod common;

use std::sync::Arc;

use common::{measured, run, scratch, spec};
use perfspec::Harness;
use perfspec::assertion::{Check, Outcome};
use perfspec::compare::Status;
use perfspec::report::TrialReport;
use perfspec::resources::{FakeGpu, GpuReading};
use testkit::{Server, text};

/// One user every ~4 ms (a few hundred requests per second at most, fewer on a loaded
/// machine): with 64 KiB per request a leak grows by several MiB per second, far above the
/// limits, while churn stays flat.
fn memory_spec(flag: &str) -> String {
    format!(
        r#"
        [target]
        command = ["{{bin:testkit-target}}", "--port", "{{port}}", "{flag}", "64"]
        ready = "/health"
        [[request]]
        name = "root"
        path = "/"
        [scenario.s]
        load = {{ model = "closed", users = 1, think-time = "4ms" }}
        warmup = "1s"
        duration = "4s"
        assert = [
          "sut.rss.growth < 10%",
          "sut.rss.slope < 1MiB/min",
          "sut.threads.max >= 1",
          "sut.cpu.max < 400%",
          "error-rate < 1%",
        ]
        "#
    )
}

fn check<'a>(report: &'a TrialReport, text: &str) -> &'a Check {
    measured(report)
        .verdict
        .checks()
        .iter()
        .find(|c| c.assertion.text == text)
        .unwrap_or_else(|| panic!("no check {text}"))
}

fn table(report: &TrialReport) -> String {
    perfspec::report::console::trial_table(report)
}

#[test]
fn a_target_that_keeps_memory_per_request_is_a_leak() {
    let dir = scratch("leak");
    let report = run(&dir, &spec(&dir, "leak", &memory_spec("--leak-kib")), "s");
    let m = measured(&report);
    assert_eq!(m.verdict.status(), Status::Fail, "{}", table(&report));
    for text in ["sut.rss.growth < 10%", "sut.rss.slope < 1MiB/min"] {
        assert_eq!(
            check(&report, text).outcome,
            Outcome::Fail,
            "{}",
            table(&report)
        );
    }
    // The requests really were served, and the leak is as large as they imply (a tenth of
    // the kept bytes at least: the fit only sees the measured window).
    let requests = m.measurement.total().requests() as f64;
    assert!(requests > 50.0, "{}", table(&report));
    let slope = check(&report, "sut.rss.slope < 1MiB/min").observed.unwrap();
    let kept_per_s = requests * 64.0 * 1024.0 / m.measurement.window.as_secs_f64();
    assert!(
        slope > kept_per_s / 10.0,
        "slope {slope} B/s, kept {kept_per_s} B/s"
    );
    for text in [
        "sut.threads.max >= 1",
        "sut.cpu.max < 400%",
        "error-rate < 1%",
    ] {
        assert_eq!(
            check(&report, text).outcome,
            Outcome::Pass,
            "{}",
            table(&report)
        );
    }
    let shown = table(&report);
    assert!(shown.contains("resources: every 250ms"), "{shown}");
    assert!(shown.contains("mem growth"), "{shown}");
}

#[test]
fn a_target_that_frees_what_it_allocates_is_not() {
    let dir = scratch("churn");
    let report = run(&dir, &spec(&dir, "churn", &memory_spec("--churn-kib")), "s");
    let m = measured(&report);
    assert_eq!(m.verdict.status(), Status::Pass, "{}", table(&report));
    assert!(m.measurement.total().requests() > 50, "{}", table(&report));

    // The result file has the timeline of every sampled entity, aligned with the load's.
    let json: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("out/results/churn/s.json")).unwrap(),
    )
    .unwrap();
    let r = &json["resources"];
    assert_eq!(r["sample_interval_ms"], 250);
    let sut = &r["entities"]["sut"];
    let timeline = sut["timeline"].as_array().unwrap();
    assert!(timeline.len() >= 16, "{}", timeline.len());
    let t: Vec<f64> = timeline
        .iter()
        .map(|p| p["t_s"].as_f64().unwrap())
        .collect();
    assert!(t[0] < -0.5 && t.windows(2).all(|w| w[0] < w[1]), "{t:?}");
    // The first CPU reading cannot be computed and is dropped; the others are there.
    assert!(timeline[0].get("cpu_percent").is_none());
    assert!(timeline[1]["cpu_percent"].is_number());
    assert!(timeline[1]["rss_bytes"].as_u64().unwrap() > 1024 * 1024);
    assert!(sut["summary"]["cpu_percent"]["max"].is_number());
    assert!(sut["leak"]["rss_growth_fraction"].is_number());
    for entity in ["system", "generator"] {
        assert!(
            r["entities"][entity]["timeline"].as_array().unwrap().len() >= 16,
            "{entity}"
        );
    }
    // Looking must cost little (1 % of a core is the target at 250 ms; bound loosely on a
    // loaded machine).
    let cost = r["sampling"]["cpu_percent"].as_f64().unwrap();
    assert!(cost < 5.0, "sampling cost {cost}% of one core");
}

/// A `url` target served by this test process: `pid` makes it the target's process.
fn url_spec(server: &Server, process: &str, extra: &str, asserts: &str) -> String {
    format!(
        r#"
        [target]
        url = "{}"
        {process}
        [[request]]
        name = "root"
        path = "/"
        [scenario.s]
        load = {{ model = "closed", users = 1, think-time = "5ms" }}
        duration = "1s"
        {extra}
        assert = [{asserts}]
        "#,
        server.url()
    )
}

#[test]
fn a_url_target_is_found_by_pid_pid_file_and_name() {
    let server = Server::http(1, |_| async { text(200, "ok") });
    let dir = scratch("url-pid");
    let me = std::process::id();
    let pid_file = dir.join("service.pid");
    std::fs::write(&pid_file, format!("{me}\n")).unwrap();
    for (name, how) in [
        ("by-pid", format!("pid = {me}")),
        ("by-file", "pid-file = \"service.pid\"".to_string()),
    ] {
        let s = spec(
            &dir,
            name,
            &url_spec(
                &server,
                &how,
                "",
                r#""sut.rss.max > 1MiB", "sut.threads.max >= 2""#,
            ),
        );
        let report = run(&dir, &s, "s");
        assert_eq!(
            measured(&report).verdict.status(),
            Status::Pass,
            "{name}: {}",
            table(&report)
        );
    }
    // By name: a copy of `sleep` under a name nothing else on the machine has.
    let name = format!("psleep-{me}");
    let sleeper = dir.join(&name);
    std::fs::copy("/bin/sleep", &sleeper).unwrap();
    let mut child = std::process::Command::new(&sleeper)
        .arg("30")
        .spawn()
        .unwrap();
    let s = spec(
        &dir,
        "by-name",
        &url_spec(
            &server,
            &format!("process-name = \"{name}\""),
            "",
            r#""sut.rss.max > 0B", "sut.processes.max == 1""#,
        ),
    );
    let report = run(&dir, &s, "s");
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(
        measured(&report).verdict.status(),
        Status::Pass,
        "by name: {}",
        table(&report)
    );
    let sut = measured(&report)
        .measurement
        .resources
        .as_ref()
        .unwrap()
        .sut
        .clone();
    assert_eq!(sut, Some(format!("pid {} and descendants", child.id())));

    std::fs::write(&pid_file, "4194305\n").unwrap();
    let s = spec(
        &dir,
        "gone",
        &url_spec(&server, "pid-file = \"service.pid\"", "", ""),
    );
    let report = run(&dir, &s, "s");
    let e = report.outcome.as_ref().unwrap_err();
    assert!(e.contains("is not running"), "{e}");
}

fn reading(util: f64, mem_mib: u64) -> GpuReading {
    GpuReading {
        util_percent: Some(util),
        mem_used_bytes: Some(mem_mib << 20),
        sut_mem_bytes: Some(mem_mib << 19),
        power_watts: Some(150.0),
        temp_celsius: Some(60.0),
    }
}

fn run_with_gpu(name: &str, gpu: FakeGpu, extra: &str, asserts: &str) -> TrialReport {
    let server = Server::http(1, |_| async { text(200, "ok") });
    let dir = scratch(name);
    let s = spec(&dir, name, &url_spec(&server, "", extra, asserts));
    Harness::new()
        .out_dir(dir.join("out"))
        .gpu(Arc::new(gpu))
        .run_scenario(&s, "s")
        .unwrap()
}

#[test]
fn gpu_checks_read_the_fake_devices() {
    let gpu = FakeGpu::new(vec![
        vec![reading(20.0, 1000), reading(40.0, 2000)],
        vec![reading(80.0, 500)],
    ]);
    let report = run_with_gpu(
        "gpu-fake",
        gpu,
        "",
        r#""gpu.util.max < 90%", "gpu0.util.max <= 40%", "gpu1.util.mean > 50%", "gpu.mem.max < 3GiB", "gpu.mem.sut < 2GiB", "gpu.power.mean < 300W", "gpu.temp.max < 85C", "gpu0.util.mean > 50%""#,
    );
    let m = measured(&report);
    let outcomes: Vec<&str> = m
        .verdict
        .checks()
        .iter()
        .map(|c| c.outcome.label())
        .collect();
    assert_eq!(
        outcomes,
        [
            "PASS", "PASS", "PASS", "PASS", "PASS", "PASS", "PASS", "FAIL"
        ],
        "{}",
        table(&report)
    );
    assert_eq!(check(&report, "gpu.util.max < 90%").observed, Some(80.0));
    // The target's memory on every device together: 1000 + 250 MiB.
    assert_eq!(
        check(&report, "gpu.mem.sut < 2GiB").observed,
        Some(1250.0 * 1024.0 * 1024.0)
    );
    assert!(table(&report).contains("util mean"), "{}", table(&report));
}

#[test]
fn without_a_gpu_checks_are_not_measurable_unless_a_gpu_is_required() {
    let asserts = r#""gpu.util.max < 90%", "error-rate < 1%""#;
    let report = run_with_gpu(
        "gpu-none",
        FakeGpu::absent("NVML: driver not loaded"),
        "",
        asserts,
    );
    let m = measured(&report);
    assert_eq!(m.verdict.status(), Status::Pass, "{}", table(&report));
    let c = check(&report, "gpu.util.max < 90%");
    assert!(
        matches!(&c.outcome, Outcome::NotMeasurable(why) if why.contains("driver not loaded")),
        "{c:?}"
    );
    assert!(table(&report).contains("N/A"), "{}", table(&report));

    let report = run_with_gpu(
        "gpu-required",
        FakeGpu::absent("NVML: driver not loaded"),
        "require-gpu = true",
        asserts,
    );
    let m = measured(&report);
    assert_eq!(m.verdict.status(), Status::Fail, "{}", table(&report));
    assert!(
        m.verdict.problems()[0].contains("require-gpu"),
        "{:?}",
        m.verdict.problems()
    );
}
