//! The JSON files a run writes match the schemas that document them (`schema/*.schema.json`,
//! JSON Schema draft 2020-12): result files of real runs against an in-process server (closed
//! and open model, errors, drops, a target that never answers), the index of a real run, and
//! hand-built reports with resource series and a baseline.

mod common;

use std::path::Path;

use common::{fixtures, scratch, spec};
use libtest_mimic::Arguments;
use perfspec::Harness;
use perfspec::report::{index, json};
use serde_json::Value;
use testkit::{Server, Validator, text};

fn validator(name: &str) -> Validator {
    testkit::schema_validator(
        &Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("schema")
            .join(name),
    )
}

fn assert_valid(v: &Validator, what: &str, text: &str) {
    let instance: Value = serde_json::from_str(text).unwrap();
    let errors: Vec<String> = v
        .iter_errors(&instance)
        .map(|e| format!("  at {}: {e}", e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "{what} does not match its schema:\n{}\n{text}",
        errors.join("\n")
    );
}

fn server() -> Server {
    let n = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    Server::http(1, move |_| {
        let i = n.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        async move {
            if i % 20 == 3 {
                text(500, "oops")
            } else {
                text(200, "ok")
            }
        }
    })
}

fn spec_text(url: &str) -> String {
    format!(
        r#"
        [target]
        url = "{url}"
        [[request]]
        name = "a"
        path = "/a"
        weight = 3
        [[request]]
        name = "b"
        path = "/b"
        [scenario.closed]
        load = {{ model = "closed", users = 2, think-time = "1ms" }}
        warmup = "300ms"
        duration = "1s"
        assert = ["p95 < 1s", "a.p99.9 < 1s", "error-rate < 1%", "throughput > 10/s", "p50 over 1s < 1s"]
        [scenario.open]
        load = {{ model = "open", rate = "400/s", max-users = 1 }}
        duration = "1s"
        assert = ["service.p99 < 1s", "requests >= 1"]
        "#
    )
}

#[test]
fn result_files_of_real_runs_match_the_schema() {
    let v = validator("result.schema.json");
    let server = server();
    let dir = scratch("schema-results");
    let s = spec(&dir, "real", &spec_text(&server.url()));
    let unreachable = spec(
        &dir,
        "down",
        "[target]\nurl = \"http://127.0.0.1:1\"\nready = \"/\"\nready-timeout = \"200ms\"\n[[request]]\nname = \"r\"\npath = \"/\"\n[scenario.s]\nload = { model = \"closed\", users = 1 }\nduration = \"1s\"\n",
    );
    let h = Harness::new().out_dir(dir.join("out"));
    for (spec, scenario, status) in [
        (&s, "closed", None),
        (&s, "open", None),
        (&unreachable, "s", Some("error")),
    ] {
        let report = h.run_scenario(spec, scenario).unwrap();
        let path = dir
            .join("out/results")
            .join(&spec.name)
            .join(format!("{scenario}.json"));
        let text = std::fs::read_to_string(&path).unwrap();
        assert_valid(&v, &path.display().to_string(), &text);
        if let Some(status) = status {
            assert_eq!(report.status_name(), status);
        }
    }
}

/// What stress runs add: phases, a recovery, an abort and a capacity search (which here
/// holds up to its highest level: a lower bound).
#[test]
fn stress_results_with_phases_recovery_an_abort_and_a_capacity_search_match_the_schema() {
    let v = validator("result.schema.json");
    let server = server();
    let dir = scratch("schema-stress");
    let s = spec(
        &dir,
        "stress",
        &format!(
            r#"
        [target]
        url = "{}"
        [[request]]
        name = "a"
        path = "/a"
        [scenario.phased]
        load = {{ model = "open", rate = "100/s", stages = [
          {{ hold = "1300ms", phase = "steady" }},
          {{ hold = "1s", phase = "stress" }},
          {{ hold = "2s", phase = "after" }},
        ] }}
        warmup = "300ms"
        recovery = {{ after = "stress", p95 = "1s", hold = "1s" }}
        abort-on = ["error-rate over 1s > 90%"]
        assert = ["p95 in steady < 1s", "availability > 1%", "recovery-time < 5s", "errors in after >= 0"]
        [scenario.aborted]
        load = {{ model = "closed", users = 2, think-time = "1ms" }}
        duration = "10s"
        abort-on = ["error-rate over 1s > 1%"]
        [scenario.capacity]
        load = {{ model = "closed", users = 1 }}
        capacity = {{ from = 1, to = 3, search = "step", step = 1 }}
        duration = "400ms"
        assert = ["p95 < 1s", "capacity-users >= 1"]
        "#,
            server.url()
        ),
    );
    let h = Harness::new().out_dir(dir.join("out"));
    for scenario in ["phased", "aborted", "capacity"] {
        h.run_scenario(&s, scenario).unwrap();
        let path = dir.join(format!("out/results/stress/{scenario}.json"));
        let text = std::fs::read_to_string(&path).unwrap();
        assert_valid(&v, &path.display().to_string(), &text);
        let parsed: Value = serde_json::from_str(&text).unwrap();
        let course = &parsed["course"];
        match scenario {
            "phased" => assert_eq!(course["phases"].as_array().unwrap().len(), 3),
            "aborted" => assert!(course["aborted"]["at_s"].is_number(), "{course}"),
            _ => assert_eq!(course["capacity"]["steps"].as_array().unwrap().len(), 3),
        }
    }
}

#[test]
fn hand_built_results_with_series_and_baselines_match_the_schema() {
    let v = validator("result.schema.json");
    for (what, report) in [
        ("passing", fixtures::passing()),
        ("failing", fixtures::failing()),
        ("inconclusive", fixtures::inconclusive()),
        ("unmeasured", fixtures::unmeasured()),
    ] {
        let text = json::render(&report);
        assert_valid(&v, what, &text);
        if what == "failing" {
            let parsed: Value = serde_json::from_str(&text).unwrap();
            assert_eq!(parsed["series"][1]["name"], "sut.rss");
            assert_eq!(parsed["series"][1]["unit"], "bytes");
        }
    }
}

#[test]
fn the_run_index_matches_its_schema() {
    let v = validator("index.schema.json");
    assert_valid(&v, "hand-built index", &index::render(&fixtures::run()));

    let server = server();
    let dir = scratch("schema-index");
    let specs = dir.join("perf-specs");
    std::fs::create_dir_all(&specs).unwrap();
    std::fs::write(specs.join("real.toml"), spec_text(&server.url())).unwrap();
    std::fs::write(specs.join("broken.toml"), "[target]\n").unwrap();
    let conclusion = Harness::new()
        .specs_dir(&specs)
        .out_dir(dir.join("out"))
        .run_with(Arguments::from_iter([
            "perf".to_string(),
            "--logfile".into(),
            dir.join("libtest.log").display().to_string(),
        ]));
    assert_eq!(
        conclusion.num_failed, 3,
        "5% errors fail `closed`, drops make `open` inconclusive, and the broken spec"
    );
    let text = std::fs::read_to_string(dir.join("out/index.json")).unwrap();
    assert_valid(&v, "index.json", &text);
    let parsed: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(parsed["trials"].as_array().unwrap().len(), 2);
    assert_eq!(parsed["broken_specs"][0]["name"], "broken");
    assert_eq!(parsed["status"], "fail");
    for t in parsed["trials"].as_array().unwrap() {
        let result = dir.join("out").join(t["result"].as_str().unwrap());
        assert!(
            result.is_file(),
            "{} is listed but missing",
            result.display()
        );
    }
}

/// Everything a result can carry at once: a streamed request with goodput and a
/// `Server-Timing` stage, sampled resources with a (fake) GPU, and a comparison with a
/// baseline blessed a moment before. The series and the baseline view the reports draw come
/// from the same run.
#[test]
fn a_result_with_streams_resources_gpus_and_a_baseline_matches_the_schema() {
    let v = validator("result.schema.json");
    let server = Server::http(1, |_| async {
        let mut r = testkit::sse(testkit::chat_stream(
            std::time::Duration::from_millis(5),
            std::time::Duration::from_millis(2),
            5,
            true,
        ));
        r.headers_mut()
            .insert("server-timing", "retrieve;dur=1.5".parse().unwrap());
        r
    });
    let dir = scratch("schema-full");
    let text = format!(
        r#"
        [target]
        url = "{}"
        pid = {}
        [[request]]
        name = "chat"
        method = "POST"
        path = "/v1/chat/completions"
        json = {{ model = "m", messages = [{{ role = "user", content = "hi" }}], stream = true }}
        stream = "sse"
        [scenario.s]
        load = {{ model = "closed", users = 2 }}
        warmup = "300ms"
        duration = "1500ms"
        goodput = {{ ttft = "1s" }}
        assert = ["ttft.p95 < 1s", "stage.retrieve.p50 < 1s", "sut.cpu.max < 1000%", "gpu.util.max < 90%"]
        regression = {{ metrics = ["p95", "ttft.p95"] }}
        "#,
        server.url(),
        std::process::id()
    );
    let s = spec(&dir, "full", &text);
    let gpu = || {
        let reading = perfspec::resources::GpuReading {
            util_percent: Some(30.0),
            mem_used_bytes: Some(1 << 30),
            sut_mem_bytes: None,
            power_watts: Some(120.0),
            temp_celsius: Some(55.0),
        };
        std::sync::Arc::new(perfspec::resources::FakeGpu::new(vec![vec![reading]]))
    };
    let h = || {
        Harness::new()
            .out_dir(dir.join("out"))
            .baselines_dir(dir.join("baselines"))
            .ci(false)
            .gpu(gpu())
    };
    h().bless(1, true).run_scenario(&s, "s").unwrap();
    let report = h().run_scenario(&s, "s").unwrap();

    let path = dir.join("out/results/full/s.json");
    let text = std::fs::read_to_string(&path).unwrap();
    assert_valid(&v, &path.display().to_string(), &text);
    let parsed: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(parsed["baseline"]["kind"], "compared", "{text}");
    assert!(parsed["requests"][0]["stream"]["ttft"]["p50_us"].is_number());
    assert!(parsed["requests"][0]["stages"]["retrieve"]["p50_us"].is_number());
    assert!(parsed["resources"]["entities"]["gpu0"].is_object());

    let names: Vec<&str> = report.series.iter().map(|s| s.name.as_str()).collect();
    for name in ["sut.cpu", "sut.rss", "system.cpu", "gpu0.util"] {
        assert!(names.contains(&name), "series {name} missing: {names:?}");
    }
    let view = report.baseline.as_ref().expect("a baseline view");
    assert!(view.latency.as_ref().is_some_and(|h| !h.is_empty()));
    assert_eq!(
        view.changes
            .iter()
            .map(|c| c.metric.as_str())
            .collect::<Vec<_>>(),
        ["p95", "ttft.p95"]
    );
    assert!(view.label.contains("baselines"), "{}", view.label);
}
